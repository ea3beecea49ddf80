// The two ceilings `xnor bench` shows the kernels against, measured in the same run: the
// read bandwidth of a buffer far larger than the caches, and the popcount peak in cache.
#ifndef XNOR_CEILINGS_H
#define XNOR_CEILINGS_H

#include <stddef.h>
#include <stdint.h>

#include "popcount_kernels.h"

// Reads words [w0, w1) of `buffer` once (the sum is returned so the reads are not removed).
uint64_t xnor_read_words(xnor_isa isa, const uint64_t *buffer, size_t w0, size_t w1);
// Popcounts the `words` words of an in-cache buffer `repeats` times; returns the total count.
uint64_t xnor_popcount_words(xnor_isa isa, const uint64_t *buffer, size_t words, size_t repeats);

#endif
