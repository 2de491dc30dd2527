/*
 * network_kernels.h: the network learner's gather kernel in C, so it can run 256-bit vectors where the
 * CPU has them (AVX) while the Swift code stays built for baseline x86-64. Not part of the public C API.
 */
#ifndef CORESET_NETWORK_KERNELS_H
#define CORESET_NETWORK_KERNELS_H

#include <stddef.h>

/* Columns per block that coreset_gather_block wants (64 with AVX, 32 without); any width is correct. */
ptrdiff_t coreset_gather_block_width(void);

/*
 * For i < n: y[i] = ((y[i] + c[0] * x0[i]) + c[1] * x1[i]) + ..., x_s = packed + sources[s] * n, for
 * s < count: each term a product, then a sum, in order, never fused, so every CPU gets the same bits.
 */
void coreset_gather_block(float *y, ptrdiff_t n, const float *packed, const ptrdiff_t *sources,
                          const float *coefficients, ptrdiff_t count);

#endif
