// The Sigmoid kernel's vector loop: the operations of Runtime's SigmoidExponential and
// SigmoidKernel.value, 16 floats at a time, bit for bit.
#ifndef XNOR_SIGMOID_H
#define XNOR_SIGMOID_H

#include <stddef.h>

// y[i] = 1 / (1 + e^−x) for x ≥ 0, e^x / (1 + e^x) otherwise, for the first whole multiple of
// 16 elements when this CPU has AVX-512 (F, DQ); returns how many it wrote (0 without AVX-512),
// the caller computing the rest.
size_t xnor_sigmoid(const float *x, float *y, size_t count);

// Entry i (0 … 31) of the exponential's table, 2^(i/32).
double xnor_sigmoid_exp_entry(int i);

#endif
