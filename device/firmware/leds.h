/* The button LEDs: a pattern per LED, drawn by software PWM on PORTB 0..3. */
#ifndef HAILONG_LEDS_H
#define HAILONG_LEDS_H

#include <stdint.h>

#define LED_COUNT 4

void leds_init(void);
void leds_set(uint8_t index, uint8_t pattern, uint32_t now_ms);
void leds_set_all(uint8_t pattern, uint32_t now_ms);
/* Recomputes every LED's level for now_ms (ends CONFIRM after its time). */
void leds_update(uint32_t now_ms, uint8_t brightness);
/* The level (0..255) a pattern shows at `phase_ms` for a set brightness. Pure. */
uint8_t led_level(uint8_t pattern, uint16_t phase_ms, uint8_t brightness);

#endif
