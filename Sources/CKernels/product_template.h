// The drivers of one instruction-set path, written once. The including file defines
// SUFFIX(name) and the four primitives over one activation row `a` (its words, from word 0):
//
//   a8_negdot(a, w, first, end)     Σ_{j ∈ [first, end)} Σ_b c_b · popcount(a[j·8 + b] AND w[j])
//   a8_ternary(a, nz, ng, first, end)  the same with +(nz AND NOT ng) − (nz AND ng)
//   a8_sum(a, first, end)           Σ_j Σ_b c_b · popcount(a[j·8 + b]), that is Σ q
//   a1_differing(a, w, first, end, tail)  Σ_j popcount((a[j] XOR w[j]) AND mask_j), where
//                                   mask_j is `tail` for the row's last data word, ~0 otherwise
//   a1_negatives(a, first, end)     Σ_j popcount(a[j])
//
// with c_b = 2^b for b < 7 and c_7 = −128. Every integer is exact; the float64 sums follow
// formats/XNORPopcountGemm.md one operation at a time (FP_CONTRACT off: no fused multiply-add).

#pragma STDC FP_CONTRACT OFF

static inline size_t SUFFIX(data_words)(size_t k) { return (k + 63) / 64; }

static inline uint64_t SUFFIX(tail_mask)(size_t k) {
    size_t r = k % 64;
    return r == 0 ? ~(uint64_t)0 : (((uint64_t)1 << r) - 1);
}

static inline int64_t SUFFIX(group_length)(const xnor_grouped_product *p, size_t g) {
    size_t size = p->words_per_group * 64, first = g * size;
    return (int64_t)(p->k - first < size ? p->k - first : size);
}

static inline const uint64_t *SUFFIX(activation_row)(const xnor_grouped_product *p, size_t m) {
    return p->activations + m * p->row_stride_words * (p->a8 ? 8 : 1);
}

// I [planes, g1 − g0] of activation row m and weight row `column`, groups [g0, g1).
static inline void SUFFIX(row_integers)(const xnor_grouped_product *p, size_t m, size_t column, size_t g0, size_t g1,
                                        int64_t *ints) {
    const uint64_t *a = SUFFIX(activation_row)(p, m);
    const size_t data = SUFFIX(data_words)(p->k), row = column * p->row_stride_words;
    const uint64_t tail = SUFFIX(tail_mask)(p->k);
    const int64_t *sums = p->group_sums + m * p->groups;
    const size_t span = g1 - g0;
#ifdef ROW_INTEGERS_A8_BINARY
    if (p->a8 && !p->ternary) {
        ROW_INTEGERS_A8_BINARY(p, a, row, data, sums, g0, g1, ints);
        return;
    }
#endif
    for (size_t g = g0; g < g1; g++) {
        size_t first = g * p->words_per_group, end = first + p->words_per_group;
        if (end > data) end = data;
        if (p->ternary) {
            ints[g - g0] = p->a8 ? SUFFIX(a8_ternary)(a, p->planes[0] + row, p->planes[1] + row, first, end) : 0;
            continue;
        }
        for (int q = 0; q < p->plane_count; q++) {
            const uint64_t *w = p->planes[q] + row;
            if (p->a8) {
                // Σ_{k∈g} b·q = S − 2 Σ_{b=−1} q; activation padding is 0.
                ints[(size_t)q * span + (g - g0)] = sums[g] - 2 * SUFFIX(a8_negdot)(a, w, first, end);
            } else {
                // Weight padding may hold anything in a file; the tail mask keeps it out.
                int64_t differing = SUFFIX(a1_differing)(a, w, first, end, end == data ? tail : ~(uint64_t)0);
                ints[(size_t)q * span + (g - g0)] = SUFFIX(group_length)(p, g) - 2 * differing;
            }
        }
    }
}

void SUFFIX(xnor_group_sums)(const xnor_grouped_product *p, int64_t *sums) {
    const size_t data = SUFFIX(data_words)(p->k);
    for (size_t m = 0; m < p->rows; m++) {
        const uint64_t *a = SUFFIX(activation_row)(p, m);
        for (size_t g = 0; g < p->groups; g++) {
            size_t first = g * p->words_per_group, end = first + p->words_per_group;
            if (end > data) end = data;
            int64_t sum = 0;
            if (p->finite[m]) {
                // Activation padding bits are 0: they never count as −1.
                sum = p->a8 ? SUFFIX(a8_sum)(a, first, end)
                            : SUFFIX(group_length)(p, g) - 2 * SUFFIX(a1_negatives)(a, first, end);
            }
            sums[m * p->groups + g] = sum;
        }
    }
}

void SUFFIX(xnor_grouped_integers)(const xnor_grouped_product *p, size_t n0, size_t n1, int64_t *parts) {
    const size_t per = (size_t)(p->ternary ? 1 : p->plane_count) * p->groups, width = n1 - n0;
    for (size_t m = 0; m < p->rows; m++) {
        if (p->finite[m]) continue;
        for (size_t i = 0; i < width * per; i++) parts[m * width * per + i] = 0;
    }
    size_t start = n0;
#ifdef A8_TILE_INTEGERS
    if (p->a8) {
        for (; start + A8_TILE_WIDTH <= n1; start += A8_TILE_WIDTH) A8_TILE_INTEGERS(p, start, n0, width, parts);
    }
#endif
#ifdef A1_TILE_INTEGERS
    if (!p->a8 && !p->ternary) {
        for (; start + A1_TILE_WIDTH <= n1; start += A1_TILE_WIDTH) A1_TILE_INTEGERS(p, start, n0, width, parts);
    }
#endif
    for (size_t column = start; column < n1; column++) {
        for (size_t m = 0; m < p->rows; m++) {
            if (!p->finite[m]) continue;
            SUFFIX(row_integers)(p, m, column, 0, p->groups, parts + (m * width + (column - n0)) * per);
        }
    }
}

static void SUFFIX(accumulate_columns)(const xnor_grouped_product *p, size_t n0, size_t n1, double *acc) {
    const int planes = p->ternary ? 1 : p->plane_count;
    const size_t groups = p->groups, n = p->n;
    // The integers of up to CHUNK groups at a time, on the stack; the sum runs over the
    // groups in order whatever the chunking.
    enum { CHUNK = 256 };
    int64_t ints[3 * CHUNK];
    size_t start = n0;
#ifdef A8_TILE_ACCUMULATE
    // Whole tiles of columns by the path's own kernel; the rest below.
    if (p->a8) {
        for (; start + A8_TILE_WIDTH <= n1; start += A8_TILE_WIDTH) A8_TILE_ACCUMULATE(p, start, acc);
    }
#endif
#ifdef A1_TILE_ACCUMULATE
    if (!p->a8 && !p->ternary) {
        for (; start + A1_TILE_WIDTH <= n1; start += A1_TILE_WIDTH) A1_TILE_ACCUMULATE(p, start, acc);
    }
#endif
    for (size_t column = start; column < n1; column++) {
        for (size_t m = 0; m < p->rows; m++) {
            if (!p->finite[m]) continue;
            const int64_t *sums = p->group_sums + m * groups;
            double sum = 0;
            for (size_t g0 = 0; g0 < groups; g0 += CHUNK) {
                size_t g1 = g0 + CHUNK < groups ? g0 + CHUNK : groups, span = g1 - g0;
                SUFFIX(row_integers)(p, m, column, g0, g1, ints);
                for (size_t g = g0; g < g1; g++) {
                    for (int q = 0; q < planes; q++) {
                        sum = sum + (double)p->alpha[((size_t)q * n + column) * groups + g] * (double)ints[(size_t)q * span + (g - g0)];
                    }
                    if (p->affine) sum = sum + (double)p->mu[column * groups + g] * (double)sums[g];
                }
            }
            acc[m * n + column] = sum;
        }
    }
}

void SUFFIX(xnor_grouped_accumulate)(const xnor_grouped_product *p, size_t n0, size_t n1, double *acc) {
#ifdef TILED_ACCUMULATE
    // The path's tiled columns by its own kernel; the columns before and after them here.
    size_t t0, t1;
    if (TILED_ACCUMULATE(p, n0, n1, acc, &t0, &t1)) {
        SUFFIX(accumulate_columns)(p, n0, t0, acc);
        SUFFIX(accumulate_columns)(p, t1, n1, acc);
        return;
    }
#endif
    SUFFIX(accumulate_columns)(p, n0, n1, acc);
}
