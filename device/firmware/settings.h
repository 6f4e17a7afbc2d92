/* What the box keeps in EEPROM: its settings (with a CRC, defaults when it fails),
 * its serial number (written once when the box is made) and a boot counter.
 *
 * Layout, from address 0 (the emulator harness writes the serial number there):
 *   serial[HL_SERIAL_LEN] (0xFF in the first byte = never written: DEFAULT_SERIAL)
 *   boot counter, u32
 *   settings: debounce_ms u8, led_brightness u8, label[HL_LABEL_LEN], CRC-16 u16 */
#ifndef HAILONG_SETTINGS_H
#define HAILONG_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>

#include "protocol.h"

#define DEFAULT_SERIAL "HLFW0001"
#define EE_SERIAL_ADDR 0
#define EE_BOOT_COUNT_ADDR (EE_SERIAL_ADDR + HL_SERIAL_LEN)
#define EE_SETTINGS_ADDR (EE_BOOT_COUNT_ADDR + sizeof(uint32_t))

typedef struct {
    uint8_t debounce_ms;
    uint8_t led_brightness;
    uint8_t label[HL_LABEL_LEN]; /* NUL-padded UTF-8 */
} settings_t;

void settings_load(settings_t *s);
/* The protocol's rules: debounce in range, label valid UTF-8, NUL only as padding. */
bool settings_valid(const settings_t *s);
/* Writes the EEPROM only where a byte changed (cells wear out); true if any did. */
bool settings_store(const settings_t *s);
void serial_load(uint8_t out[HL_SERIAL_LEN]);
/* Increments the boot counter in EEPROM and returns the new value. */
uint32_t boot_counter_next(void);

#endif
