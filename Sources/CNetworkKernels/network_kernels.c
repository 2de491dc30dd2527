// The gather kernel of NeuralNetwork+Batch.swift: one block of a target row plus its terms. Two versions,
// chosen once by the CPU: 256-bit AVX vectors with a block of 64 columns in eight registers, and the
// baseline's 128-bit ones with a block of 32 in eight. Both add the same products in the same order.
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

static int has_avx(void) {
#if defined(__x86_64__) || defined(__i386__)
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx") ? 1 : 0;
    }
    return cached;
#else
    return 0;
#endif
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
