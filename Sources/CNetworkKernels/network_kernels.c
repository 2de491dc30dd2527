// The network learner's dense kernels (NeuralNetwork+Batch.swift). Each has two versions, chosen once by the
// CPU: 256-bit AVX vectors, and the baseline's 128-bit ones with tiles sized to its registers. Both versions add
// the same products in the same order, so results do not depend on the CPU.
#include "network_kernels.h"
#include <stddef.h>
#include <string.h>

// Products and sums stay separate instructions (no fused multiply-add), whatever the compiler's default.
#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)

typedef float v8 __attribute__((vector_size(32)));

// Unaligned loads and stores as macros: a function taking or returning a 256-bit vector would have a
// different calling convention in the baseline and the AVX version.
#define LOAD8(p) ({ v8 v_; memcpy(&v_, (p), sizeof v_); v_; })
#define STORE8(p, v) do { v8 s_ = (v); memcpy((p), &s_, sizeof s_); } while (0)

// The tail of a block: eight columns at a time, then one.
#define GATHER_TAIL                                                                               \
    for (; i + 8 <= n; i += 8) {                                                                  \
        v8 a = LOAD8(y + i);                                                                      \
        for (ptrdiff_t s = 0; s < count; s++) {                                                   \
            float cs = coefficients[s];                                                           \
            v8 c = {cs, cs, cs, cs, cs, cs, cs, cs};                                              \
            v8 p = c * LOAD8(packed + sources[s] * n + i);                                        \
            a = a + p;                                                                            \
        }                                                                                         \
        STORE8(y + i, a);                                                                         \
    }                                                                                             \
    for (; i < n; i++) {                                                                          \
        float a = y[i];                                                                           \
        for (ptrdiff_t s = 0; s < count; s++) {                                                   \
            float p = coefficients[s] * packed[sources[s] * n + i];                               \
            a = a + p;                                                                            \
        }                                                                                         \
        y[i] = a;                                                                                 \
    }

#define GATHER_BODY(WIDTH)                                                                        \
    ptrdiff_t i = 0;                                                                                \
    for (; i + (WIDTH) <= n; i += (WIDTH)) {                                                      \
        v8 a[(WIDTH) / 8];                                                                        \
        for (int k = 0; k < (WIDTH) / 8; k++) a[k] = LOAD8(y + i + 8 * k);                        \
        for (ptrdiff_t s = 0; s < count; s++) {                                                     \
            float cs = coefficients[s];                                                           \
            v8 c = {cs, cs, cs, cs, cs, cs, cs, cs};                                              \
            const float *x = packed + sources[s] * n + i;                                         \
            for (int k = 0; k < (WIDTH) / 8; k++) {                                               \
                v8 p = c * LOAD8(x + 8 * k);                                                      \
                a[k] = a[k] + p;                                                                  \
            }                                                                                     \
        }                                                                                         \
        for (int k = 0; k < (WIDTH) / 8; k++) STORE8(y + i + 8 * k, a[k]);                        \
    }                                                                                             \
    GATHER_TAIL

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx")))
static void gather_avx(float *y, ptrdiff_t n, const float *packed, const ptrdiff_t *sources,
                       const float *coefficients, ptrdiff_t count) {
    GATHER_BODY(64)
}
#endif

static void gather_baseline(float *y, ptrdiff_t n, const float *packed, const ptrdiff_t *sources,
                            const float *coefficients, ptrdiff_t count) {
    GATHER_BODY(32)
}

// -1 until the CPU is asked; 0 after coreset_network_kernels_use_avx(0). Read and written atomically (relaxed):
// kernels on other threads may ask while a test switches it, and either version gives the same bits.
static int avx_enabled = -1;

static int has_avx(void) {
#if defined(__x86_64__) || defined(__i386__)
    int enabled = __atomic_load_n(&avx_enabled, __ATOMIC_RELAXED);
    if (enabled < 0) {
        __builtin_cpu_init();
        enabled = __builtin_cpu_supports("avx") ? 1 : 0;
        __atomic_store_n(&avx_enabled, enabled, __ATOMIC_RELAXED);
    }
    return enabled;
#else
    return 0;
#endif
}

int coreset_network_kernels_use_avx(int enabled) {
    int previous = has_avx();
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    __atomic_store_n(&avx_enabled, enabled && __builtin_cpu_supports("avx") ? 1 : 0, __ATOMIC_RELAXED);
#endif
    return previous;
}

ptrdiff_t coreset_gather_block_width(void) { return has_avx() ? 64 : 32; }

void coreset_gather_block(float *y, ptrdiff_t n, const float *packed, const ptrdiff_t *sources,
                          const float *coefficients, ptrdiff_t count) {
#if defined(__x86_64__) || defined(__i386__)
    if (has_avx()) {
        gather_avx(y, n, packed, sources, coefficients, count);
        return;
    }
#endif
    gather_baseline(y, n, packed, sources, coefficients, count);
}

// A dense layer: UNITS units by ROWS rows share their loads. Each sum has eight lanes (column i in lane i mod 8,
// in order), added lane 0 to 7, then the columns past the last multiple of 8, then the bias.
#define DENSE_BODY(UNITS, ROWS)                                                                   \
    ptrdiff_t body = fan_in & ~(ptrdiff_t)7;                                                      \
    for (ptrdiff_t u = 0; u < fan_out; u += (UNITS)) {                                            \
        const float *wr[(UNITS)];                                                                 \
        for (int k = 0; k < (UNITS); k++)                                                         \
            wr[k] = w + (u + k < fan_out ? u + k : fan_out - 1) * fan_in;                         \
        for (ptrdiff_t r = 0; r < rows; r += (ROWS)) {                                            \
            const float *xr[(ROWS)];                                                              \
            for (int q = 0; q < (ROWS); q++)                                                      \
                xr[q] = input + (r + q < rows ? r + q : rows - 1) * fan_in;                       \
            v8 acc[(UNITS)][(ROWS)];                                                              \
            for (int k = 0; k < (UNITS); k++)                                                     \
                for (int q = 0; q < (ROWS); q++) acc[k][q] = (v8){0, 0, 0, 0, 0, 0, 0, 0};        \
            for (ptrdiff_t i = 0; i < body; i += 8) {                                             \
                v8 xv[(ROWS)];                                                                    \
                for (int q = 0; q < (ROWS); q++) xv[q] = LOAD8(xr[q] + i);                        \
                for (int k = 0; k < (UNITS); k++) {                                               \
                    v8 wv = LOAD8(wr[k] + i);                                                     \
                    for (int q = 0; q < (ROWS); q++) {                                            \
                        v8 p = wv * xv[q];                                                        \
                        acc[k][q] = acc[k][q] + p;                                                \
                    }                                                                             \
                }                                                                                 \
            }                                                                                     \
            for (int k = 0; k < (UNITS); k++) {                                                   \
                for (int q = 0; q < (ROWS); q++) {                                                \
                    if (u + k >= fan_out || r + q >= rows) continue;                              \
                    float s = acc[k][q][0];                                                       \
                    for (int t = 1; t < 8; t++) s = s + acc[k][q][t];                             \
                    for (ptrdiff_t i = body; i < fan_in; i++) {                                   \
                        float p = wr[k][i] * xr[q][i];                                            \
                        s = s + p;                                                                \
                    }                                                                             \
                    s = s + bias[u + k];                                                          \
                    output[(r + q) * fan_out + u + k] = rectify && !(s > 0) ? 0 : s;              \
                }                                                                                 \
            }                                                                                     \
        }                                                                                         \
    }

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx")))
static void dense_avx(const float *w, const float *bias, ptrdiff_t fan_in, ptrdiff_t fan_out, const float *input,
                      float *output, ptrdiff_t rows, int rectify) {
    DENSE_BODY(4, 2)
}
#endif

static void dense_baseline(const float *w, const float *bias, ptrdiff_t fan_in, ptrdiff_t fan_out, const float *input,
                           float *output, ptrdiff_t rows, int rectify) {
    DENSE_BODY(2, 2)
}

void coreset_dense_layer(const float *w, const float *bias, ptrdiff_t fan_in, ptrdiff_t fan_out, const float *input,
                         float *output, ptrdiff_t rows, int rectify) {
#if defined(__x86_64__) || defined(__i386__)
    if (has_avx()) {
        dense_avx(w, bias, fan_in, fan_out, input, output, rows, rectify);
        return;
    }
#endif
    dense_baseline(w, bias, fan_in, fan_out, input, output, rows, rectify);
}

// ReLU and its mask, in plain loops the compiler vectorizes (no products, so no version to choose).
void coreset_rectify(float *x, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : 0;
}

void coreset_mask_by_positive(float *d, const float *a, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) d[i] = a[i] > 0 ? d[i] : 0;
}
