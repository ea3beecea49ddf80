// The popcount products of XNORPopcountGemm (formats/XNORPopcountGemm.md) in C, one path per
// instruction set, chosen at run time (never by -march at build time), and a persistent
// thread pool that splits them. BitPacking's Swift code is the reference every path is
// tested against, bit for bit.
#ifndef XNOR_POPCOUNT_KERNELS_H
#define XNOR_POPCOUNT_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    XNOR_ISA_SCALAR = 0,
    // AVX2 with a nibble-table popcount for a8, POPCNT for a1.
    XNOR_ISA_AVX2 = 1,
    // AVX-512F/DQ/BW with VPOPCNTDQ: one 64-byte line of a8 activation planes per weight word.
    XNOR_ISA_AVX512 = 2,
    // aarch64 NEON: CNT on 16-byte vectors, two a8 planes per register.
    XNOR_ISA_NEON = 3,
    // The AVX-512 path whose a8 products are int8 dot products (VPDPBUSD) of the activation
    // codes with the weight bits expanded to bytes: the same integers, fewer operations.
    XNOR_ISA_AVX512_VNNI = 4,
} xnor_isa;

// Whether `isa` has every instruction of `base` (AVX-512 VNNI ⊃ AVX-512 ⊃ AVX2 ⊃ scalar), so a
// kernel written for `base` serves it.
bool xnor_isa_includes(xnor_isa isa, xnor_isa base);

// The best path this CPU and OS support.
xnor_isa xnor_isa_best(void);
// Whether `isa` runs here.
bool xnor_isa_supported(xnor_isa isa);

// One product of packed weights [N, K] with packed activations [M, K], in grouped form: every
// integer part is over one group of `words_per_group` 64-bit words of a row. The legacy
// formats are one group of the whole row.
typedef struct {
    // Binary: plane_count sign planes. Ternary: the nonzero and the negative plane.
    const uint64_t *planes[3];
    int plane_count;
    bool ternary;
    bool affine;
    // a8: [M, row_stride_words, 8] words; a1: [M, row_stride_words].
    bool a8;
    size_t n;
    size_t k;
    size_t row_stride_words;
    size_t groups;
    size_t words_per_group;
    // Scales α [(p · n + column) · groups + g] and offsets μ [column · groups + g] as float32;
    // only xnor_grouped_accumulate reads them.
    const float *alpha;
    const float *mu;
    const uint64_t *activations;
    // a8 only, may be NULL: the codes q as bytes, [M, row_stride_words · 64], padding 0. The
    // VNNI path multiplies these; without them it takes the AVX-512 popcounts.
    const int8_t *codes;
    size_t rows;
    // Rows with a non-finite value are skipped: their outputs are left as they are.
    const bool *finite;
    // S [M, groups] from xnor_group_sums (read by the a8 binary products and the affine term).
    const int64_t *group_sums;
    // May be NULL: the planes, scales and offsets of the first `tiled_columns` columns (a
    // multiple of XNOR_TILE_COLUMNS) as xnor_tile_columns lays them out. The VNNI path's a8
    // accumulations read these instead of the planes; every other entry ignores them.
    const uint64_t *tiled_planes;
    const float *tiled_alpha;
    const float *tiled_mu;
    size_t tiled_columns;
} xnor_grouped_product;

// Output columns side by side in a tile: one VPDPBUSD gives their 16 partial sums.
enum { XNOR_TILE_COLUMNS = 16 };

// Lays out the first `tiles` · 16 rows of `stored_planes` planes (each N rows of `stride`
// words, `data_words` of them holding inputs) for the VNNI products: tile T, group g (words
// [g · words_per_group, end)), stored plane s, word j, then t = 0 … 15, each word holding
// nibble t of the 16 rows' word j (row i in bits 4i … 4i + 3), that is inputs 64j + 4t … + 3
// of every row of the tile. out holds tiles · stored_planes · data_words · 16 words.
void xnor_tile_columns(const uint64_t *const *planes, int stored_planes, size_t tiles, size_t stride, size_t data_words,
                       size_t words_per_group, uint64_t *out);

// S[m, g] = Σ_{k ∈ g} q[m, k] (a8) or Σ x_sign (a1: group length − 2 · negatives), into
// sums [M, groups]; 0 for non-finite rows.
void xnor_group_sums(xnor_isa isa, const xnor_grouped_product *product, int64_t *sums);

// The exact integer parts I [m, column, plane, group] of columns [n0, n1), into
// parts [M, n1 − n0, planes, groups] (ternary: one plane).
void xnor_grouped_integers(xnor_isa isa, const xnor_grouped_product *product, size_t n0, size_t n1, int64_t *parts);

// acc [m, column] for columns [n0, n1) of every finite row, in float64 and in the order of
// formats/XNORPopcountGemm.md: for g, for p: acc += α · I; then, when affine, acc += μ · S.
// acc is [M, N], row-major; other columns are not touched.
void xnor_grouped_accumulate(xnor_isa isa, const xnor_grouped_product *product, size_t n0, size_t n1, double *acc);

// The legacy formats' outputs of columns [n0, n1) from their integers I [rows, n1 − n0]:
// output[m · n + c] = float32(((w_c · a_m) or (w_c / a_m)) · I, then · output_scale, + bias[c]),
// each step in float64 (formats/XNORPopcountGemm.md); w_c is weight_scales[c] per row, else
// weight_scales[0] (float32, any alignment); output_scale and bias may be NULL. Rows that are not finite are not touched.
void xnor_legacy_finish(const int64_t *integers, size_t rows, size_t n0, size_t n1, const bool *finite, const void *weight_scales,
                        bool per_row_weight_scale, const float *activation_scales, bool divide, const float *output_scale,
                        const float *bias, float *output, size_t n);

// A persistent pool of worker threads. The caller's thread takes part in every run.
typedef struct xnor_pool xnor_pool;

// xnor_grouped_accumulate over every column, one range per thread of `pool` (NULL: the calling
// thread alone), each range whole tiles of XNOR_TILE_COLUMNS columns, as equal as they divide.
// A column's sum does not depend on the range it falls in.
void xnor_grouped_accumulate_pooled(xnor_pool *pool, xnor_isa isa, const xnor_grouped_product *product, double *acc);

// xnor_grouped_integers over every column, in ranges of `width` columns handed to `pool`:
// range r, columns [n0, n1) with n0 = r · width, writes its [M, n1 − n0, per] block (per: the
// integer parts of one output) at parts + M · per · n0. The blocks together fill [M, N, per].
void xnor_grouped_integers_pooled(xnor_pool *pool, xnor_isa isa, const xnor_grouped_product *product, size_t width, size_t per,
                                  int64_t *parts);
// threads ≥ 1 (the caller counts as one); NULL if a thread could not be started.
xnor_pool *xnor_pool_create(int threads);
void xnor_pool_destroy(xnor_pool *pool);
int xnor_pool_threads(const xnor_pool *pool);
// Calls task(context, i) for every i in [0, tasks), spread over the pool, and returns when
// all have returned. Not reentrant: one run at a time per pool.
void xnor_pool_run(xnor_pool *pool, size_t tasks, void (*task)(void *context, size_t index), void *context);

#endif
