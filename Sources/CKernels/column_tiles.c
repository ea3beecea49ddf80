// The VNNI layout of grouped planes (xnor_tile_columns): a transpose of 4-bit nibbles between
// 16 rows, done once when the weights are loaded.
#include "popcount_kernels.h"

void xnor_tile_columns(const uint64_t *const *planes, int stored_planes, size_t tiles, size_t stride, size_t data_words,
                       size_t words_per_group, uint64_t *out) {
    for (size_t tile = 0; tile < tiles; tile++) {
        uint64_t *tile_out = out + tile * (size_t)stored_planes * data_words * XNOR_TILE_COLUMNS;
        for (size_t first = 0; first < data_words; first += words_per_group) {
            const size_t end = first + words_per_group < data_words ? first + words_per_group : data_words, length = end - first;
            uint64_t *group_out = tile_out + first * (size_t)stored_planes * XNOR_TILE_COLUMNS;
            for (int s = 0; s < stored_planes; s++) {
                const uint64_t *rows = planes[s] + tile * XNOR_TILE_COLUMNS * stride;
                for (size_t j = 0; j < length; j++) {
                    uint64_t *words = group_out + ((size_t)s * length + j) * XNOR_TILE_COLUMNS;
                    for (int t = 0; t < XNOR_TILE_COLUMNS; t++) {
                        uint64_t word = 0;
                        for (int i = 0; i < XNOR_TILE_COLUMNS; i++) word |= (rows[(size_t)i * stride + first + j] >> (4 * t) & 0xF) << (4 * i);
                        words[t] = word;
                    }
                }
            }
        }
    }
}
