#include "crc16.h"

#include <util/crc16.h>

/* avr-libc's XMODEM update is the CCITT polynomial without reflection; seeded with
 * HL_CRC_INIT by the caller it is CRC-16/CCITT-FALSE. */
uint16_t crc16(const uint8_t *data, uint8_t len, uint16_t crc)
{
    while (len--) {
        crc = _crc_xmodem_update(crc, *data++);
    }
    return crc;
}
