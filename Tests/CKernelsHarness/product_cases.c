// The popcount products on random weights and activations laid out as CPopcountProduct.swift
// hands them over: every activation mode, weight kind, affine or not, group size, and rows
// that are not finite.
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// A row long enough that the NEON path widens its 16-bit counters more than once (every 2048
// lines for a8, 4096 words for a1) and the template takes more than one chunk of 256 groups.
enum { LONG_K = 64 * 8300 + 17 };

static const size_t ks[] = {1, 63, 65, 200, 577, 1000, LONG_K};
static const size_t ns[] = {1, 5, 33, 70};
static const size_t ms[] = {1, 3, 64, 257};
// Words per group; 0 is a legacy format, one group of the whole row. 32 words (G = 2048) is
// one group longer than the short rows, clamped to their data words.
static const size_t group_words[] = {0, 1, 3, 8, 32};
// Binary with 1, 2 or 3 planes; 0 is ternary (planes 0 and 1: nonzero and negative).
static const int kinds[] = {1, 2, 3, 0};

static void *zeroed(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

static void fill_random(uint64_t *words, size_t count) {
    for (size_t i = 0; i < count; i++) words[i] = harness_random();
}

// Activation rows [m, stride, 8] (a8) or [m, stride] (a1): random bits for the K elements,
// 0 in every padding bit (the packer's guarantee, which the kernels rely on); a non-finite
// row is all 0, as packed.
static uint64_t *activations(bool a8, size_t m, size_t k, size_t stride, const bool *finite) {
    const size_t planes = a8 ? 8 : 1, data = (k + 63) / 64;
    uint64_t *words = zeroed(m * stride * planes, sizeof(uint64_t));
    const uint64_t tail = k % 64 ? ((uint64_t)1 << (k % 64)) - 1 : ~(uint64_t)0;
    for (size_t r = 0; r < m; r++) {
        if (!finite[r]) continue;
        for (size_t j = 0; j < data; j++) {
            for (size_t b = 0; b < planes; b++) {
                words[(r * stride + j) * planes + b] = harness_random() & (j + 1 == data ? tail : ~(uint64_t)0);
            }
        }
    }
    return words;
}

// The codes of a8 activation planes as bytes [m, stride · 64] (c_b = 2^b, c_7 = −128), as the
// packer writes them beside the planes.
static int8_t *activation_codes(const uint64_t *words, size_t m, size_t stride) {
    int8_t *codes = zeroed(m * stride * 64, 1);
    for (size_t r = 0; r < m; r++) {
        for (size_t i = 0; i < stride * 64; i++) {
            int code = 0;
            for (int b = 0; b < 8; b++) {
                if (words[(r * stride + i / 64) * 8 + (size_t)b] >> (i % 64) & 1) code += b == 7 ? -128 : 1 << b;
            }
            codes[r * stride * 64 + i] = (int8_t)code;
        }
    }
    return codes;
}

// One call's output, first filled with garbage that every path gets the same of, so that a
// write outside what the call promises shows too.
typedef struct {
    size_t count;
    void *garbage, *expected, *actual;
} output;

static output output_make(size_t count) {
    output o = {count, zeroed(count, 8), zeroed(count, 8), zeroed(count, 8)};
    fill_random(o.garbage, count);
    memcpy(o.expected, o.garbage, count * 8);
    return o;
}

static void *output_fresh(output *o) {
    memcpy(o->actual, o->garbage, o->count * 8);
    return o->actual;
}

static void output_free(output *o) {
    free(o->garbage);
    free(o->expected);
    free(o->actual);
}

// The scalar results of one product, over whole rows (range 0) and over a range of columns
// as a pool's task gets (range 1).
typedef struct {
    const xnor_grouped_product *product;
    const char *name;
    size_t columns[2][2];
    output sums, integers[2], accumulated[2];
} expectation;

static const char *const integer_calls[2] = {"xnor_grouped_integers", "xnor_grouped_integers (column range)"};
static const char *const accumulate_calls[2] = {"xnor_grouped_accumulate", "xnor_grouped_accumulate (column range)"};

static void expect(expectation *e) {
    const xnor_grouped_product *p = e->product;
    const size_t per = (size_t)(p->ternary ? 1 : p->plane_count) * p->groups;
    e->sums = output_make(p->rows * p->groups);
    xnor_group_sums(XNOR_ISA_SCALAR, p, e->sums.expected);
    for (int r = 0; r < 2; r++) {
        const size_t a = e->columns[r][0], b = e->columns[r][1];
        e->integers[r] = output_make(p->rows * (b - a) * per);
        xnor_grouped_integers(XNOR_ISA_SCALAR, p, a, b, e->integers[r].expected);
        e->accumulated[r] = output_make(p->rows * p->n);
        xnor_grouped_accumulate(XNOR_ISA_SCALAR, p, a, b, e->accumulated[r].expected);
    }
}

static void compare_path(expectation *e, const harness_path *path) {
    const xnor_grouped_product *p = e->product;
    xnor_group_sums(path->isa, p, output_fresh(&e->sums));
    harness_expect_int64("xnor_group_sums", path->name, e->name, e->sums.expected, e->sums.actual, e->sums.count);
    for (int r = 0; r < 2; r++) {
        const size_t a = e->columns[r][0], b = e->columns[r][1];
        xnor_grouped_integers(path->isa, p, a, b, output_fresh(&e->integers[r]));
        harness_expect_int64(integer_calls[r], path->name, e->name, e->integers[r].expected, e->integers[r].actual,
                             e->integers[r].count);
        xnor_grouped_accumulate(path->isa, p, a, b, output_fresh(&e->accumulated[r]));
        harness_expect_double(accumulate_calls[r], path->name, e->name, e->accumulated[r].expected, e->accumulated[r].actual,
                              e->accumulated[r].count);
    }
}

static void expectation_free(expectation *e) {
    output_free(&e->sums);
    for (int r = 0; r < 2; r++) {
        output_free(&e->integers[r]);
        output_free(&e->accumulated[r]);
    }
}

static size_t run_case(size_t k, size_t n, size_t m, bool a8, int kind, bool affine, size_t words_per_group) {
    const size_t stride = (k + 511) / 512 * 8, data = (k + 63) / 64;
    const bool ternary = kind == 0;
    const size_t stored_planes = ternary ? 2 : (size_t)kind, scale_planes = ternary ? 1 : (size_t)kind;
    const size_t wpg = words_per_group ? words_per_group : data;
    const size_t groups = words_per_group ? (k + wpg * 64 - 1) / (wpg * 64) : 1;

    char name[160];
    int used = snprintf(name, sizeof name, "K %zu N %zu M %zu %s %s%s ", k, n, m, a8 ? "a8" : "a1",
                        ternary ? "ternary" : kind == 1 ? "binary 1 plane" : kind == 2 ? "binary 2 planes" : "binary 3 planes",
                        affine ? " affine" : "");
    if (words_per_group) {
        snprintf(name + used, sizeof name - (size_t)used, "G %zu (%zu groups)", wpg * 64, groups);
    } else {
        snprintf(name + used, sizeof name - (size_t)used, "legacy (one group of the row)");
    }

    bool *finite = zeroed(m, sizeof(bool));
    // About one row in six is not finite, but never all of them when there are several.
    for (size_t r = 0; r < m; r++) finite[r] = m == 1 || r == 0 || harness_random() % 6 != 0;
    uint64_t *planes[3] = {NULL, NULL, NULL};
    for (size_t q = 0; q < stored_planes; q++) {
        // Every word random, padding too: a file may hold anything there, and a1 masks it.
        planes[q] = zeroed(n * stride, sizeof(uint64_t));
        fill_random(planes[q], n * stride);
    }
    float *alpha = zeroed(scale_planes * n * groups, sizeof(float)), *mu = zeroed(n * groups, sizeof(float));
    for (size_t i = 0; i < scale_planes * n * groups; i++) alpha[i] = harness_float();
    for (size_t i = 0; i < n * groups; i++) mu[i] = harness_float();
    uint64_t *words = activations(a8, m, k, stride, finite);
    int8_t *codes = a8 ? activation_codes(words, m, stride) : NULL;

    // Filled as CPopcountProduct.with does.
    xnor_grouped_product p;
    memset(&p, 0, sizeof p);
    for (size_t q = 0; q < stored_planes; q++) p.planes[q] = planes[q];
    p.plane_count = ternary ? 1 : kind;
    p.ternary = ternary;
    p.affine = affine;
    p.a8 = a8;
    p.n = n;
    p.k = k;
    p.row_stride_words = stride;
    p.groups = groups;
    p.words_per_group = wpg;
    p.alpha = alpha;
    p.mu = mu;
    p.activations = words;
    p.codes = codes;
    p.rows = m;
    p.finite = finite;
    int64_t *sums = zeroed(m * groups, sizeof(int64_t));
    xnor_group_sums(XNOR_ISA_SCALAR, &p, sums);
    p.group_sums = sums;

    const size_t n0 = harness_random() % n, n1 = n0 + 1 + harness_random() % (n - n0);
    expectation e = {.product = &p, .name = name, .columns = {{0, n}, {n0, n1}}};
    expect(&e);
    size_t compared = 0;
    for (size_t i = 0; i < harness_path_count; i++) {
        // A fallback is the scalar code itself: a few small cases show that it is taken.
        if (!harness_paths[i].supported && m > 3) continue;
        compare_path(&e, &harness_paths[i]);
        compared++;
    }

    expectation_free(&e);
    free(sums);
    free(words);
    free(codes);
    free(alpha);
    free(mu);
    for (size_t q = 0; q < stored_planes; q++) free(planes[q]);
    free(finite);
    return compared;
}

size_t harness_product_cases(void) {
    size_t cases = 0;
    for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
        for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++) {
            const size_t k = ks[ki], n = ns[ni];
            // The long rows only at small N and M: they are there for the counters' widths.
            if (k == LONG_K && n > 5) continue;
            for (int a8 = 0; a8 < 2; a8++) {
                for (size_t kind = 0; kind < sizeof kinds / sizeof kinds[0]; kind++) {
                    for (int affine = 0; affine < 2; affine++) {
                        for (size_t g = 0; g < sizeof group_words / sizeof group_words[0]; g++) {
                            // Long rows as one group (the counters) or as many (the chunks).
                            if (k == LONG_K && group_words[g] > 1) continue;
                            size_t m = k == LONG_K ? 3 : ms[harness_random() % (sizeof ms / sizeof ms[0])];
                            if (run_case(k, n, m, a8, kinds[kind], affine, group_words[g])) cases++;
                        }
                    }
                }
            }
        }
    }
    return cases;
}
