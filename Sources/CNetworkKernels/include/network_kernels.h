/*
 * network_kernels.h: the network learner's dense kernels in C, so it can run 256-bit vectors where the
 * CPU has them (AVX) while the Swift code stays built for baseline x86-64. Not part of the public C API.
 */
#ifndef CORESET_NETWORK_KERNELS_H
#define CORESET_NETWORK_KERNELS_H

#include <stddef.h>

/* Runs the AVX versions when `enabled` and the CPU has AVX, else the baseline ones (for tests that compare
 * them); returns whether AVX was in use. Kernels running meanwhile on other threads give the same bits either way. */
int coreset_network_kernels_use_avx(int enabled);

/* Columns per block that coreset_gather_block wants (64 with AVX, 32 without); any width is correct. */
ptrdiff_t coreset_gather_block_width(void);

/*
 * For i < n: y[i] = ((y[i] + c[0] * x0[i]) + c[1] * x1[i]) + ..., x_s = packed + sources[s] * n, for
 * s < count: each term a product, then a sum, in order, never fused, so every CPU gets the same bits.
 */
void coreset_gather_block(float *y, ptrdiff_t n, const float *packed, const ptrdiff_t *sources,
                          const float *coefficients, ptrdiff_t count);

/*
 * A dense layer stored output-major, for `rows` input rows: output[r * fan_out + u] = Σ_i w[u * fan_in + i] *
 * input[r * fan_in + i] + bias[u], set to 0 unless positive when `rectify`. The sum runs in eight lanes
 * (column i in lane i mod 8, in order), added lane 0 to 7, then the columns past the last multiple of 8, then
 * the bias: the same on every CPU and for every row count.
 */
void coreset_dense_layer(const float *w, const float *bias, ptrdiff_t fan_in, ptrdiff_t fan_out, const float *input,
                         float *output, ptrdiff_t rows, int rectify);

/* x[i] = x[i] if x[i] > 0, else 0 (NaN too), for i < n. */
void coreset_rectify(float *x, ptrdiff_t n);

/* d[i] = d[i] if a[i] > 0, else 0, for i < n: the ReLU's derivative applied to a back-propagated error. */
void coreset_mask_by_positive(float *d, const float *a, ptrdiff_t n);

#endif
