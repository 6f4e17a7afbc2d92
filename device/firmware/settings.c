#include "settings.h"

#include <avr/eeprom.h>
#include <string.h>

#include "crc16.h"

typedef struct {
    settings_t values;
    uint16_t crc;
} stored_settings_t;

static uint16_t settings_crc(const settings_t *s)
{
    return crc16((const uint8_t *)s, sizeof *s, HL_CRC_INIT);
}

static void settings_default(settings_t *s)
{
    memset(s, 0, sizeof *s);
    s->debounce_ms = HL_DEBOUNCE_MS_DEFAULT;
    s->led_brightness = HL_LED_BRIGHTNESS_DEFAULT;
}

void settings_load(settings_t *s)
{
    stored_settings_t stored;
    eeprom_read_block(&stored, (const void *)EE_SETTINGS_ADDR, sizeof stored);
    if (stored.crc == settings_crc(&stored.values) && settings_valid(&stored.values)) {
        *s = stored.values;
    } else {
        settings_default(s);
    }
}

static bool utf8_valid(const uint8_t *text, uint8_t len)
{
    uint8_t i = 0;
    while (i < len) {
        uint8_t lead = text[i++];
        uint8_t follow;
        if (lead < 0x80) {
            continue;
        } else if ((lead & 0xE0) == 0xC0 && lead >= 0xC2) {
            follow = 1;
        } else if ((lead & 0xF0) == 0xE0) {
            follow = 2;
        } else if ((lead & 0xF8) == 0xF0 && lead <= 0xF4) {
            follow = 3;
        } else {
            return false;
        }
        if (i + follow > len) {
            return false;
        }
        uint8_t second = text[i];
        /* overlong 3/4-byte forms, UTF-16 surrogates, and code points above U+10FFFF */
        if ((lead == 0xE0 && second < 0xA0) || (lead == 0xED && second >= 0xA0) ||
            (lead == 0xF0 && second < 0x90) || (lead == 0xF4 && second >= 0x90)) {
            return false;
        }
        while (follow--) {
            if ((text[i++] & 0xC0) != 0x80) {
                return false;
            }
        }
    }
    return true;
}

bool settings_valid(const settings_t *s)
{
    if (s->debounce_ms < HL_DEBOUNCE_MS_MIN || s->debounce_ms > HL_DEBOUNCE_MS_MAX) {
        return false;
    }
    uint8_t len = 0;
    while (len < HL_LABEL_LEN && s->label[len] != 0) {
        len++;
    }
    for (uint8_t i = len; i < HL_LABEL_LEN; i++) {
        if (s->label[i] != 0) {
            return false; /* a NUL inside the label, not padding */
        }
    }
    return utf8_valid(s->label, len);
}

bool settings_store(const settings_t *s)
{
    stored_settings_t now;
    eeprom_read_block(&now, (const void *)EE_SETTINGS_ADDR, sizeof now);
    stored_settings_t wanted = {*s, settings_crc(s)};
    if (memcmp(&now, &wanted, sizeof now) == 0) {
        return false;
    }
    eeprom_update_block(&wanted, (void *)EE_SETTINGS_ADDR, sizeof wanted);
    return true;
}

void serial_load(uint8_t out[HL_SERIAL_LEN])
{
    eeprom_read_block(out, (const void *)EE_SERIAL_ADDR, HL_SERIAL_LEN);
    if (out[0] == 0xFF || out[0] == 0) {
        memset(out, 0, HL_SERIAL_LEN);
        memcpy(out, DEFAULT_SERIAL, sizeof DEFAULT_SERIAL - 1);
        return;
    }
    for (uint8_t i = 0; i < HL_SERIAL_LEN; i++) {
        if (out[i] == 0xFF) {
            out[i] = 0; /* a serial shorter than the field, written without padding */
        }
    }
}

uint32_t boot_counter_next(void)
{
    uint32_t count = eeprom_read_dword((const uint32_t *)EE_BOOT_COUNT_ADDR) + 1;
    eeprom_write_dword((uint32_t *)EE_BOOT_COUNT_ADDR, count);
    return count;
}
