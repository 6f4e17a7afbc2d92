/* Frames on the line: 00 | COBS(payload | CRC-16 high byte first) | 00. */
#ifndef HAILONG_LINK_H
#define HAILONG_LINK_H

#include <stdint.h>

#include "protocol.h"

typedef enum {
    LINK_MORE,  /* no complete frame yet */
    LINK_FRAME, /* a frame whose CRC checked: its payload is in the caller's buffer */
    LINK_BAD    /* a frame was lost (COBS, CRC, too short or too long): answer BAD_FRAME */
} link_result_t;

typedef struct {
    uint8_t buf[HL_MAX_ENCODED];
    uint8_t len;
    uint8_t skipping; /* an over-long frame was reported; wait for the next delimiter */
} link_rx_t;

/* Feeds one received byte; on LINK_FRAME, payload (room for HL_MAX_PAYLOAD +
 * HL_CRC_LEN bytes) holds *len payload bytes. */
link_result_t link_feed(link_rx_t *rx, uint8_t byte, uint8_t *payload, uint8_t *len);
void link_send(const uint8_t *payload, uint8_t len);

#endif
