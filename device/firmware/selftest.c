/* A check of the firmware's CRC and COBS code on the target itself, run under the
 * emulator by tests/device/test_firmware.py. It sends, over the UART:
 *   "crc " + four hex digits of the CRC of "123456789" (expected: HL_CRC_CHECK), 00,
 *   "cobs ok" or "cobs bad" (an encode/decode round trip), 00,
 *   and a HELLO_REQUEST frame built by link_send, whose bytes the test compares with
 *   the protocol's known answer. */
#include <avr/interrupt.h>
#include <avr/sleep.h>
#include <string.h>

#include "cobs.h"
#include "crc16.h"
#include "link.h"
#include "protocol.h"
#include "uart.h"

#include <avr_mcu_section.h>
AVR_MCU(F_CPU, "atmega328p");

static void send_text(const char *text)
{
    uart_write((const uint8_t *)text, (uint8_t)strlen(text));
    uint8_t end = HL_FRAME_DELIMITER;
    uart_write(&end, 1);
}

static uint8_t cobs_round_trip(void)
{
    static const uint8_t sample[] = {0, 1, 0, 0, 2, 3, 0, 0xFF, 0};
    uint8_t encoded[sizeof sample + 1];
    uint8_t decoded[sizeof sample + 1];
    uint8_t n = cobs_encode(sample, sizeof sample, encoded);
    if (memchr(encoded, 0, n) != NULL) {
        return 0;
    }
    return cobs_decode(encoded, n, decoded) == sizeof sample &&
           memcmp(decoded, sample, sizeof sample) == 0;
}

int main(void)
{
    static const char hex[] = "0123456789ABCDEF";
    uart_init();
    sei();
    uint16_t crc = crc16((const uint8_t *)"123456789", 9, HL_CRC_INIT);
    char text[] = "crc ....";
    for (uint8_t i = 0; i < 4; i++) {
        text[4 + i] = hex[(crc >> (12 - 4 * i)) & 0xF];
    }
    send_text(text);
    send_text(cobs_round_trip() ? "cobs ok" : "cobs bad");
    uint8_t hello_request = HL_MSG_HELLO_REQUEST;
    link_send(&hello_request, sizeof hello_request);
    for (;;) {
        sleep_mode();
    }
}
