#include "cobs.h"

uint8_t cobs_encode(const uint8_t *in, uint8_t len, uint8_t *out)
{
    uint8_t code_at = 0;
    uint8_t code = 1;
    uint8_t o = 1;
    for (uint8_t i = 0; i < len; i++) {
        if (in[i] == 0) {
            out[code_at] = code;
            code_at = o++;
            code = 1;
        } else {
            out[o++] = in[i];
            code++;
        }
    }
    out[code_at] = code;
    return o;
}

int16_t cobs_decode(const uint8_t *in, uint8_t len, uint8_t *out)
{
    uint8_t i = 0;
    int16_t o = 0;
    while (i < len) {
        uint8_t code = in[i++];
        if (code == 0 || (uint16_t)i + code - 1 > len) {
            return -1;
        }
        for (uint8_t k = 1; k < code; k++) {
            uint8_t byte = in[i++];
            if (byte == 0) {
                return -1;
            }
            out[o++] = byte;
        }
        if (code != 0xFF && i < len) {
            out[o++] = 0;
        }
    }
    return o;
}
