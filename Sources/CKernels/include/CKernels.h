// The C kernels of XNORKit: the popcount products and their thread pool, activation packing,
// and the dot products of block-typed weights.
#include "popcount_kernels.h"
#include "activation_pack.h"
#include "block_dot.h"
#include "weight_pack.h"
#include "ceilings.h"
#include "sigmoid.h"
