#include "leds.h"

#include <avr/interrupt.h>
#include <avr/io.h>

#include "protocol.h"

#define LED_MASK 0x0F       /* PB0..PB3 */
#define PWM_STEPS 32        /* 4 kHz tick / 32 steps = 125 Hz, no visible flicker */
#define GLOW_PERIOD_MS 2048 /* IDLE: one slow breath */
#define BLINK_HALF_MS 125   /* ERROR: 4 Hz blink */

static uint8_t pattern[LED_COUNT];
static uint32_t confirm_until[LED_COUNT];
static volatile uint8_t duty[LED_COUNT]; /* 0..PWM_STEPS, read by the PWM interrupt */

void leds_init(void)
{
    DDRB |= LED_MASK;
    PORTB &= (uint8_t)~LED_MASK;
    /* Timer2, CTC, /64 prescaler: 16 MHz / 64 / 63 = 3.97 kHz PWM tick. */
    TCCR2A = _BV(WGM21);
    TCCR2B = _BV(CS22);
    OCR2A = 62;
    TIMSK2 = _BV(OCIE2A);
}

ISR(TIMER2_COMPA_vect)
{
    static uint8_t phase;
    uint8_t on = 0;
    for (uint8_t i = 0; i < LED_COUNT; i++) {
        if (duty[i] > phase) {
            on |= (uint8_t)(1 << i);
        }
    }
    PORTB = (PORTB & (uint8_t)~LED_MASK) | on;
    phase = (uint8_t)((phase + 1) % PWM_STEPS);
}

void leds_set(uint8_t index, uint8_t new_pattern, uint32_t now_ms)
{
    pattern[index] = new_pattern;
    confirm_until[index] = now_ms + HL_CONFIRM_MS;
}

void leds_set_all(uint8_t new_pattern, uint32_t now_ms)
{
    for (uint8_t i = 0; i < LED_COUNT; i++) {
        leds_set(i, new_pattern, now_ms);
    }
}

uint8_t led_level(uint8_t which, uint16_t phase_ms, uint8_t brightness)
{
    switch (which) {
    case HL_LED_ON:
        return brightness;
    case HL_LED_CONFIRM:
        return 0xFF;
    case HL_LED_IDLE: {
        /* triangle wave between a quarter and the full set brightness */
        uint16_t t = phase_ms % GLOW_PERIOD_MS;
        uint16_t ramp = t < GLOW_PERIOD_MS / 2 ? t : GLOW_PERIOD_MS - t; /* 0..1024 */
        uint16_t low = brightness / 4;
        return (uint8_t)(low + (uint32_t)(brightness - low) * ramp / (GLOW_PERIOD_MS / 2));
    }
    case HL_LED_DISABLED:
        return brightness / 16; /* a faint steady glow: powered, not taking ratings */
    case HL_LED_ERROR:
        return (phase_ms / BLINK_HALF_MS) % 2 ? 0 : 0xFF;
    default:
        return 0;
    }
}

void leds_update(uint32_t now_ms, uint8_t brightness)
{
    for (uint8_t i = 0; i < LED_COUNT; i++) {
        if (pattern[i] == HL_LED_CONFIRM && (int32_t)(now_ms - confirm_until[i]) >= 0) {
            pattern[i] = HL_LED_IDLE;
        }
        uint8_t level = led_level(pattern[i], (uint16_t)now_ms, brightness);
        duty[i] = (uint8_t)(((uint16_t)level * PWM_STEPS + 127) / 255);
    }
}
