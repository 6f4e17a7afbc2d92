/* Consistent Overhead Byte Stuffing for frames shorter than 254 bytes. */
#ifndef HAILONG_COBS_H
#define HAILONG_COBS_H

#include <stdint.h>

/* Writes len + 1 bytes to out (which must have room for them); returns that count. */
uint8_t cobs_encode(const uint8_t *in, uint8_t len, uint8_t *out);

/* Decodes in place-safe into out (room for len bytes); returns the decoded length,
 * or -1 when the input is not valid COBS (a zero byte, or a code running past the end). */
int16_t cobs_decode(const uint8_t *in, uint8_t len, uint8_t *out);

#endif
