#include "link.h"

#include "cobs.h"
#include "crc16.h"
#include "uart.h"

link_result_t link_feed(link_rx_t *rx, uint8_t byte, uint8_t *payload, uint8_t *len)
{
    if (byte != HL_FRAME_DELIMITER) {
        if (rx->skipping) {
            return LINK_MORE;
        }
        if (rx->len == HL_MAX_ENCODED) {
            rx->len = 0;
            rx->skipping = 1;
            return LINK_BAD;
        }
        rx->buf[rx->len++] = byte;
        return LINK_MORE;
    }
    uint8_t encoded = rx->len;
    rx->len = 0;
    rx->skipping = 0;
    if (encoded == 0) {
        return LINK_MORE; /* the gap between two frames */
    }
    int16_t decoded = cobs_decode(rx->buf, encoded, payload);
    if (decoded < 1 + HL_CRC_LEN || crc16(payload, (uint8_t)decoded, HL_CRC_INIT) != 0) {
        return LINK_BAD;
    }
    *len = (uint8_t)(decoded - HL_CRC_LEN);
    return LINK_FRAME;
}

void link_send(const uint8_t *payload, uint8_t len)
{
    uint8_t body[HL_MAX_PAYLOAD + HL_CRC_LEN];
    uint8_t frame[HL_MAX_ENCODED + 2];
    for (uint8_t i = 0; i < len; i++) {
        body[i] = payload[i];
    }
    uint16_t crc = crc16(payload, len, HL_CRC_INIT);
    body[len] = (uint8_t)(crc >> 8);
    body[len + 1] = (uint8_t)crc;
    frame[0] = HL_FRAME_DELIMITER;
    uint8_t n = 1 + cobs_encode(body, len + HL_CRC_LEN, frame + 1);
    frame[n++] = HL_FRAME_DELIMITER;
    uart_write(frame, n);
}
