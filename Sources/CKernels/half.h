// IEEE half precision to float32 in portable C, for the paths that run without F16C: every
// fp16 value (subnormals, infinities, NaN) converts exactly.
#ifndef XNOR_HALF_H
#define XNOR_HALF_H

#include <stdint.h>
#include <string.h>

static inline float xnor_half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff, bits;
    if (exponent == 0) {
        if (mantissa == 0) {
            bits = sign;
        } else {
            // Subnormal: normalize.
            exponent = 127 - 15 + 1;
            while (!(mantissa & 0x400)) { mantissa <<= 1; exponent--; }
            bits = sign | (exponent << 23) | ((mantissa & 0x3ff) << 13);
        }
    } else if (exponent == 31) {
        bits = sign | 0x7f800000 | (mantissa << 13);
    } else {
        bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static inline uint16_t xnor_load16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

#endif
