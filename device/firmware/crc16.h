/* CRC-16/CCITT-FALSE, the protocol's frame check (see docs/device-protocol.md). */
#ifndef HAILONG_CRC16_H
#define HAILONG_CRC16_H

#include <stdint.h>

uint16_t crc16(const uint8_t *data, uint8_t len, uint16_t crc);

#endif
