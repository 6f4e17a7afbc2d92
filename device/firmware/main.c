/* Hài Lòng rating box firmware for an ATmega328P at 16 MHz (Arduino Uno / Nano).
 *
 * Buttons 1..4 on PD2..PD5 (to ground, internal pull-ups), their LEDs on PB0..PB3.
 * The behaviour follows device/box_model.py; every protocol number comes from the
 * generated protocol.h. See the "Firmware" section of docs/device-protocol.md. */
#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/sleep.h>
#include <avr/wdt.h>
#include <string.h>
#include <util/atomic.h>

#include "buttons.h"
#include "events.h"
#include "leds.h"
#include "link.h"
#include "protocol.h"
#include "settings.h"
#include "uart.h"

/* Tells simavr which MCU and clock this ELF is for (a section that is not flashed). */
#include <avr_mcu_section.h>
AVR_MCU(F_CPU, "atmega328p");

#define MODEL "hailong-box"
#define FIRMWARE_VERSION "hl-1.0.0"
#define BUTTON_COUNT 4
#define BUTTON_SHIFT 2 /* PD2..PD5 */
#define BUTTON_MASK (((1 << BUTTON_COUNT) - 1) << BUTTON_SHIFT)
#define NOISE_SAMPLES 32

static volatile uint32_t ticks_ms;
static event_ring_t ring;
static button_state_t button_table[BUTTON_COUNT];
static settings_t settings;
static uint8_t serial_number[HL_SERIAL_LEN];
static uint32_t boot_nonce;
static uint32_t last_host_frame_ms;
static uint8_t host_present;

/* A watchdog reset leaves the watchdog running with its shortest timeout: stop it
 * before the C runtime's start-up can take that long. */
void early_watchdog_off(void) __attribute__((naked, used, section(".init3")));
void early_watchdog_off(void)
{
    MCUSR = 0;
    wdt_disable();
}

ISR(TIMER0_COMPA_vect)
{
    ticks_ms++;
}

static uint32_t now_ms(void)
{
    uint32_t now;
    ATOMIC_BLOCK(ATOMIC_RESTORESTATE)
    {
        now = ticks_ms;
    }
    return now;
}

static void put_u32(uint8_t *at, uint32_t value)
{
    for (uint8_t i = 0; i < sizeof value; i++) {
        at[i] = (uint8_t)(value >> (8 * i));
    }
}

static uint32_t get_u32(const uint8_t *at)
{
    uint32_t value = 0;
    for (uint8_t i = sizeof value; i-- > 0;) {
        value = (value << 8) | at[i];
    }
    return value;
}

/* The boot nonce: the low half is the EEPROM boot counter, so two boots of one box
 * never share a nonce before 65,536 boots; the high half is noise from the ADC on
 * the unconnected pin A0, so a box whose EEPROM was erased (a chip erase when
 * reflashing) still does not repeat the nonces of its earlier life. */
static uint32_t draw_boot_nonce(void)
{
    uint32_t hash = 2166136261UL; /* FNV-1a over the samples */
    ADMUX = _BV(REFS0);           /* AVcc reference, channel ADC0 */
    ADCSRA = _BV(ADEN) | _BV(ADPS2) | _BV(ADPS1) | _BV(ADPS0);
    for (uint8_t i = 0; i < NOISE_SAMPLES; i++) {
        ADCSRA |= _BV(ADSC);
        while (ADCSRA & _BV(ADSC)) {
        }
        hash = (hash ^ ADC ^ TCNT0) * 16777619UL;
    }
    ADCSRA = 0;
    uint32_t nonce = (hash & 0xFFFF0000UL) | (boot_counter_next() & 0xFFFFU);
    return nonce ? nonce : 1;
}

static void send_error(uint8_t code, uint8_t ref_type)
{
    uint8_t msg[HL_ERROR_LEN];
    msg[0] = HL_MSG_ERROR;
    msg[HL_ERROR_CODE_OFS] = code;
    msg[HL_ERROR_REF_TYPE_OFS] = ref_type;
    link_send(msg, sizeof msg);
}

static void send_hello(void)
{
    uint8_t msg[HL_HELLO_LEN];
    memset(msg, 0, sizeof msg);
    msg[0] = HL_MSG_HELLO;
    msg[HL_HELLO_PROTOCOL_OFS] = HL_PROTOCOL_VERSION;
    msg[HL_HELLO_BUTTONS_OFS] = BUTTON_COUNT;
    put_u32(msg + HL_HELLO_BOOT_NONCE_OFS, boot_nonce);
    memcpy(msg + HL_HELLO_MODEL_OFS, MODEL, sizeof MODEL - 1);
    memcpy(msg + HL_HELLO_FIRMWARE_OFS, FIRMWARE_VERSION, sizeof FIRMWARE_VERSION - 1);
    memcpy(msg + HL_HELLO_SERIAL_OFS, serial_number, HL_HELLO_SERIAL_SIZE);
    link_send(msg, sizeof msg);
}

static void send_event(pending_event_t *e, uint32_t now)
{
    uint8_t msg[HL_BUTTON_EVENT_LEN];
    msg[0] = HL_MSG_BUTTON_EVENT;
    put_u32(msg + HL_BUTTON_EVENT_BOOT_NONCE_OFS, boot_nonce);
    put_u32(msg + HL_BUTTON_EVENT_SEQ_OFS, e->seq);
    msg[HL_BUTTON_EVENT_BUTTON_OFS] = e->button;
    e->last_sent_ms = (uint16_t)now;
    link_send(msg, sizeof msg);
}

static void send_settings(void)
{
    uint8_t msg[HL_SETTINGS_LEN];
    msg[0] = HL_MSG_SETTINGS;
    msg[HL_SETTINGS_DEBOUNCE_MS_OFS] = settings.debounce_ms;
    msg[HL_SETTINGS_LED_BRIGHTNESS_OFS] = settings.led_brightness;
    memcpy(msg + HL_SETTINGS_LABEL_OFS, settings.label, HL_SETTINGS_LABEL_SIZE);
    link_send(msg, sizeof msg);
}

static void resend_events(uint32_t now, uint8_t all)
{
    for (uint8_t i = 0;; i++) {
        i = events_next_due(&ring, i, (uint16_t)now, HL_RETRANSMIT_MS, all);
        if (i >= HL_EVENT_RING_SIZE) {
            return;
        }
        send_event(&ring.slot[i], now);
    }
}

static uint8_t expected_length(uint8_t type)
{
    switch (type) {
    case HL_MSG_HELLO_REQUEST:
        return HL_HELLO_REQUEST_LEN;
    case HL_MSG_PING:
        return HL_PING_LEN;
    case HL_MSG_ACK:
        return HL_ACK_LEN;
    case HL_MSG_LED:
        return HL_LED_LEN;
    case HL_MSG_SET_SETTINGS:
        return HL_SET_SETTINGS_LEN;
    case HL_MSG_GET_SETTINGS:
        return HL_GET_SETTINGS_LEN;
    default:
        return 0; /* unknown here, including every box-to-host type */
    }
}

/* Checks a frame's content; answers ERROR and returns false when it is not a valid
 * host message. Only valid messages count as signs of a living host. */
static uint8_t frame_valid(const uint8_t *p, uint8_t len)
{
    uint8_t type = p[0];
    uint8_t want = expected_length(type);
    if (want == 0) {
        send_error(HL_ERR_UNKNOWN_TYPE, type);
        return 0;
    }
    if (len != want) {
        send_error(HL_ERR_BAD_LENGTH, type);
        return 0;
    }
    uint8_t ok = 1;
    if (type == HL_MSG_LED) {
        ok = p[HL_LED_BUTTON_OFS] <= HL_MAX_BUTTONS && p[HL_LED_PATTERN_OFS] <= HL_LED_ERROR;
    } else if (type == HL_MSG_SET_SETTINGS) {
        settings_t wanted;
        wanted.debounce_ms = p[HL_SET_SETTINGS_DEBOUNCE_MS_OFS];
        wanted.led_brightness = p[HL_SET_SETTINGS_LED_BRIGHTNESS_OFS];
        memcpy(wanted.label, p + HL_SET_SETTINGS_LABEL_OFS, HL_SET_SETTINGS_LABEL_SIZE);
        ok = settings_valid(&wanted);
    }
    if (!ok) {
        send_error(HL_ERR_BAD_VALUE, type);
    }
    return ok;
}

static void handle_led(const uint8_t *p, uint32_t now)
{
    uint8_t button = p[HL_LED_BUTTON_OFS];
    uint8_t pattern = p[HL_LED_PATTERN_OFS];
    if (button > BUTTON_COUNT) {
        send_error(HL_ERR_BAD_VALUE, HL_MSG_LED);
    } else if (button == HL_ALL_BUTTONS) {
        leds_set_all(pattern, now);
    } else {
        leds_set(button - 1, pattern, now);
    }
}

static void handle_frame(const uint8_t *p, uint8_t len, uint32_t now)
{
    if (!frame_valid(p, len)) {
        return;
    }
    last_host_frame_ms = now;
    host_present = 1;
    switch (p[0]) {
    case HL_MSG_HELLO_REQUEST:
        send_hello();
        resend_events(now, 1); /* a host that just connected gets what it missed */
        break;
    case HL_MSG_PING: {
        uint8_t pong[HL_PONG_LEN];
        pong[0] = HL_MSG_PONG;
        memcpy(pong + HL_PONG_TOKEN_OFS, p + HL_PING_TOKEN_OFS, sizeof(uint32_t));
        pong[HL_PONG_PENDING_OFS] = ring.count; /* at most HL_EVENT_RING_SIZE < 255 */
        link_send(pong, sizeof pong);
        break;
    }
    case HL_MSG_ACK:
        if (get_u32(p + HL_ACK_BOOT_NONCE_OFS) == boot_nonce) {
            events_ack(&ring, get_u32(p + HL_ACK_SEQ_OFS));
        }
        break;
    case HL_MSG_LED:
        handle_led(p, now);
        break;
    case HL_MSG_SET_SETTINGS:
        settings.debounce_ms = p[HL_SET_SETTINGS_DEBOUNCE_MS_OFS];
        settings.led_brightness = p[HL_SET_SETTINGS_LED_BRIGHTNESS_OFS];
        memcpy(settings.label, p + HL_SET_SETTINGS_LABEL_OFS, HL_SET_SETTINGS_LABEL_SIZE);
        settings_store(&settings);
        send_settings();
        break;
    case HL_MSG_GET_SETTINGS:
        send_settings();
        break;
    }
}

static void poll_line(link_rx_t *rx, uint32_t now)
{
    uint8_t byte, len;
    uint8_t payload[HL_MAX_PAYLOAD + HL_CRC_LEN];
    while (uart_read(&byte)) {
        switch (link_feed(rx, byte, payload, &len)) {
        case LINK_FRAME:
            handle_frame(payload, len, now);
            break;
        case LINK_BAD:
            send_error(HL_ERR_BAD_FRAME, 0);
            break;
        case LINK_MORE:
            break;
        }
    }
}

static void poll_buttons(uint32_t now)
{
    uint8_t closed = (uint8_t)((~PIND & BUTTON_MASK) >> BUTTON_SHIFT);
    uint8_t pressed =
        debounce_step(button_table, BUTTON_COUNT, closed, (uint16_t)now, settings.debounce_ms);
    for (uint8_t i = 0; i < BUTTON_COUNT; i++) {
        if (pressed & (1 << i)) {
            uint8_t slot = events_add(&ring, i + 1, (uint16_t)now);
            if (slot < HL_EVENT_RING_SIZE) {
                send_event(&ring.slot[slot], now);
            }
        }
    }
}

static void init_hardware(void)
{
    DDRD &= (uint8_t)~BUTTON_MASK;
    PORTD |= BUTTON_MASK; /* pull-ups: a button closes its pin to ground */
    /* Buttons 1 and 2 sit on INT0/INT1, unused: sense edges rather than the low level,
     * which simavr would otherwise poll for as long as a button is held. */
    EICRA = _BV(ISC01) | _BV(ISC11);
    /* Timer0, CTC, /64 prescaler, 250 counts: the 1 ms tick. */
    TCCR0A = _BV(WGM01);
    TCCR0B = _BV(CS01) | _BV(CS00);
    OCR0A = F_CPU / 64 / 1000 - 1;
    TIMSK0 = _BV(OCIE0A);
    uart_init();
    leds_init();
    set_sleep_mode(SLEEP_MODE_IDLE);
}

int main(void)
{
    init_hardware();
    settings_load(&settings);
    serial_load(serial_number);
    events_reset(&ring);
    sei();
    boot_nonce = draw_boot_nonce();
    uint32_t now = now_ms();
    leds_set_all(HL_LED_DISABLED, now);
    last_host_frame_ms = now;
    send_hello();
    wdt_enable(WDTO_500MS);

    link_rx_t rx = {0};
    for (;;) {
        wdt_reset();
        now = now_ms();
        poll_line(&rx, now);
        poll_buttons(now);
        resend_events(now, 0);
        if (host_present && now - last_host_frame_ms >= HL_HOST_TIMEOUT_MS) {
            host_present = 0; /* a crashed kiosk leaves no button that looks ready */
            leds_set_all(HL_LED_DISABLED, now);
        }
        leds_update(now, settings.led_brightness);
        /* Sleep until the next interrupt (the 1 ms tick at the latest), unless a byte
         * arrived since the line was polled. */
        cli();
        if (!uart_rx_pending()) {
            sleep_enable();
            sei();
            sleep_cpu();
            sleep_disable();
        }
        sei();
    }
}
