/* hailong-box-sim: runs the real firmware image (an AVR ELF) in simavr, in real
 * time, behind a pseudo-terminal, with buttons you can press.
 *
 *   hailong-box-sim FIRMWARE.elf --link PATH [--serial S] [--seed N]
 *                   [--drop PCT] [--corrupt PCT]
 *
 * Commands on stdin, one per line: press N | hold N MS | reboot | unplug | replug |
 * garbage N | garbage-box N | leds MS | quit. Events on stdout, one JSON object per line:
 * every frame the box sends ("tx") or receives ("rx") as hex, button edges, line
 * changes. tests/device and device/emulator.py decode the frames.
 *
 * Everything runs on one thread: simavr is not thread-safe, so the pty, stdin and
 * the button pins are all serviced between batches of avr_run() (about 1 ms of
 * emulated time each), and the loop sleeps whenever the emulation is ahead of the
 * wall clock, so the firmware's millisecond timers match the host's timeouts.
 *
 * The harness makes its own pty rather than using simavr's uart_pty part: that part
 * owns the pty from a second thread, for the life of the process, under a fixed link
 * name, while "unplug" must make the port vanish (as a USB-serial adapter does) and
 * "replug" bring a new one back under the same link.
 *
 * The line between the UART and the pty is frame-aware: bytes are passed on at each
 * 0x00 delimiter, which is what lets --drop and --corrupt lose or damage whole frames
 * in either direction, like the simulator's knobs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "avr_adc.h"
#include "avr_eeprom.h"
#include "avr_ioport.h"
#include "avr_uart.h"
#include "sim_avr.h"
#include "sim_elf.h"
#include "sim_time.h"

#define BUTTONS 4
#define BUTTON_FIRST_PIN 2 /* PD2..PD5, as in main.c */
#define LINE_MAX 1024       /* a longer run without a delimiter is passed on as is */
#define FEED_MAX 8192
#define SERIAL_FIELD 20     /* HL_SERIAL_LEN; EEPROM address 0 (settings.h) */
#define REPRESS_GAP_MS 250  /* above the longest debounce: the next press of a button */
#define PRESS_MS 60         /* how long `press` holds a button down */

static avr_t *avr;
static uint64_t rng_state;
static double drop_pct, corrupt_pct;

/* --- output ------------------------------------------------------------------- */

static void emit(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static void hex(char *out, const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        sprintf(out + 2 * i, "%02x", data[i]);
    }
    out[2 * len] = 0;
}

static uint32_t rng_from(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return (uint32_t)((*state * 2685821657736338717ULL) >> 32);
}

static uint32_t rng(void)
{
    return rng_from(&rng_state);
}

/* The fate of a frame (passed, lost, damaged) is drawn from a stream of its own
 * direction and message type, so with a given seed the n-th ACK, say, meets the same
 * fate in every run, however the timing interleaves the other frames. */
static uint64_t fate_state[2][256];

static void fate_seed(void)
{
    for (int d = 0; d < 2; d++) {
        for (int t = 0; t < 256; t++) {
            fate_state[d][t] = (rng_state ^ ((uint64_t)(d * 256 + t + 1) << 40)) | 1;
            for (int warm = 0; warm < 16; warm++) {
                rng_from(&fate_state[d][t]); /* part seeds that differ in a few bits */
            }
        }
    }
}

static double monotonic_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* --- the pseudo-terminal: the USB-serial line --------------------------------- */

static const char *link_path;
static int master = -1, slave = -1;

static void plug(void)
{
    master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) || unlockpt(master)) {
        perror("posix_openpt");
        exit(1);
    }
    const char *name = ptsname(master);
    /* Keep the slave open so the line stays up while no host has it open. */
    slave = open(name, O_RDWR | O_NOCTTY);
    struct termios tio;
    tcgetattr(slave, &tio);
    cfmakeraw(&tio);
    tcsetattr(slave, TCSANOW, &tio);
    fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
    /* Re-point the link atomically: a host polling it never sees it half made. */
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.%d.tmp", link_path, (int)getpid());
    unlink(tmp);
    if (symlink(name, tmp) || rename(tmp, link_path)) {
        perror(link_path);
        exit(1);
    }
}

static void unplug(void)
{
    if (master < 0) {
        return;
    }
    unlink(link_path);
    close(master);
    close(slave);
    master = slave = -1;
}

static void line_write(const uint8_t *data, size_t len)
{
    if (master < 0) {
        return; /* nobody on the line: the bytes are lost, as on a real UART */
    }
    if (write(master, data, len) < 0 && errno == EAGAIN) {
        emit("{\"event\": \"line_full\", \"bytes\": %zu}", len);
    }
}

/* --- frames in both directions ------------------------------------------------ */

typedef struct {
    const char *direction; /* "tx": box to host, "rx": host to box */
    uint8_t buf[LINE_MAX];
    size_t len;
} line_t;

static line_t to_host = {"tx", {0}, 0};
static line_t to_box = {"rx", {0}, 0};
static uint8_t feed[FEED_MAX]; /* bytes waiting to enter the UART */
static size_t feed_head, feed_tail;
static int uart_xoff;
static avr_irq_t *uart_input;

/* A frame received for the box is reported once the box has it: when its last byte
 * has gone through the UART (at most BYTE_US each) and the main loop has had time to
 * act on it. Reporting it when it merely entered the line would let a test see an
 * "ack" before the box could have dropped the press it acknowledges. */
#define BYTE_US 100          /* 10 bits at 115200 baud is 87 us */
#define PROCESSING_US 3000   /* the main loop, even behind a full transmit ring */
#define NOTES 64

typedef struct {
    char text[2 * LINE_MAX + 96];
    uint64_t last_byte; /* the frame's delimiter, counted over all bytes queued */
    avr_cycle_count_t due;
    int scheduled;
} note_t;

static note_t notes[NOTES];
static size_t note_head, note_tail;
static uint64_t queued_bytes, fed_bytes;
static avr_cycle_count_t rx_clock; /* when the last byte fed is through the UART */

static void deliver(line_t *line, const uint8_t *data, size_t len)
{
    if (line == &to_host) {
        line_write(data, len);
        return;
    }
    for (size_t i = 0; i < len && (feed_head + 1) % FEED_MAX != feed_tail; i++) {
        feed[feed_head] = data[i];
        feed_head = (feed_head + 1) % FEED_MAX;
        queued_bytes++;
    }
}

static void note_add(const char *text)
{
    if ((note_head + 1) % NOTES == note_tail) {
        emit("%s", text); /* too many frames in flight to keep: report it now */
        return;
    }
    note_t *note = &notes[note_head];
    snprintf(note->text, sizeof note->text, "%s", text);
    note->last_byte = queued_bytes;
    note->scheduled = 0;
    note_head = (note_head + 1) % NOTES;
}

static void notes_schedule(void)
{
    for (size_t i = note_tail; i != note_head; i = (i + 1) % NOTES) {
        note_t *note = &notes[i];
        if (!note->scheduled && note->last_byte <= fed_bytes) {
            note->due = rx_clock + avr_usec_to_cycles(avr, PROCESSING_US);
            note->scheduled = 1;
        }
    }
}

static void notes_service(void)
{
    while (note_tail != note_head && notes[note_tail].scheduled &&
           notes[note_tail].due <= avr->cycle) {
        emit("%s", notes[note_tail].text);
        note_tail = (note_tail + 1) % NOTES;
    }
}

/* A frame ended (or the buffer filled): pass it on, lost or damaged as the knobs say. */
static void flush_frame(line_t *line, int delimited)
{
    static const uint8_t delimiter = 0;
    char event[2 * LINE_MAX + 96] = "";
    int arrives = 0; /* the box will get this frame intact: report it when it has */
    if (line->len > 0) {
        char text[2 * LINE_MAX + 1];
        hex(text, line->buf, line->len);
        /* COBS: byte 0 is a code, byte 1 the message type (never 0) */
        uint64_t *fate = &fate_state[line == &to_box][line->len > 1 ? line->buf[1] : 0];
        double roll = (rng_from(fate) % 10000) / 100.0;
        if (delimited && roll < drop_pct) {
            snprintf(event, sizeof event,
                     "{\"event\": \"dropped\", \"direction\": \"%s\", \"data\": \"%s\"}",
                     line->direction, text);
        } else {
            if (delimited && roll < drop_pct + corrupt_pct) {
                line->buf[rng_from(fate) % line->len] ^= (uint8_t)(1 + rng_from(fate) % 255);
                snprintf(event, sizeof event,
                         "{\"event\": \"corrupted\", \"direction\": \"%s\", \"data\": \"%s\"}",
                         line->direction, text);
            } else {
                snprintf(event, sizeof event, "{\"event\": \"%s\", \"data\": \"%s\"%s}",
                         line->direction, text,
                         line == &to_host && master < 0 ? ", \"unplugged\": true" : "");
                arrives = line == &to_box;
            }
            deliver(line, line->buf, line->len);
        }
        line->len = 0;
    }
    if (delimited) {
        deliver(line, &delimiter, 1);
    }
    if (arrives) {
        note_add(event);
    } else if (*event) {
        emit("%s", event);
    }
}

static void line_byte(line_t *line, uint8_t byte)
{
    if (byte == 0) {
        flush_frame(line, 1);
        return;
    }
    line->buf[line->len++] = byte;
    if (line->len == LINE_MAX) {
        flush_frame(line, 0);
    }
}

static void uart_output(avr_irq_t *irq, uint32_t value, void *param)
{
    (void)irq;
    (void)param;
    line_byte(&to_host, (uint8_t)value);
}

static void uart_xon(avr_irq_t *irq, uint32_t value, void *param)
{
    (void)irq;
    (void)value;
    (void)param;
    uart_xoff = 0;
}

static void uart_xoff_cb(avr_irq_t *irq, uint32_t value, void *param)
{
    (void)irq;
    (void)value;
    (void)param;
    uart_xoff = 1;
}

static void feed_uart(void)
{
    while (!uart_xoff && feed_tail != feed_head) {
        uint8_t byte = feed[feed_tail];
        feed_tail = (feed_tail + 1) % FEED_MAX;
        avr_raise_irq(uart_input, byte);
        fed_bytes++;
        rx_clock = (rx_clock > avr->cycle ? rx_clock : avr->cycle) +
                   avr_usec_to_cycles(avr, BYTE_US);
    }
    notes_schedule();
}

static void read_line(void)
{
    uint8_t data[512];
    ssize_t n;
    while (master >= 0 && (n = read(master, data, sizeof data)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            line_byte(&to_box, data[i]);
        }
    }
}

static void garbage(line_t *line, size_t count)
{
    uint8_t data[4096];
    count = count > sizeof data ? sizeof data : count;
    for (size_t i = 0; i < count; i++) {
        data[i] = (uint8_t)rng();
    }
    deliver(line, data, count);
    emit("{\"event\": \"garbage\", \"bytes\": %zu, \"direction\": \"%s\"}", count,
         line->direction);
}

/* --- buttons: a contact to ground on PD2..PD5, bouncing when it moves ----------- */

typedef struct {
    int number;           /* 1-based */
    int active;           /* a press is being played */
    int step;             /* index into the current edge script */
    uint32_t hold_ms;
    int queued[64];       /* hold times of presses waiting for their turn */
    int queued_count;
    avr_cycle_count_t free_at; /* a person's next press of this button, at the earliest */
    avr_irq_t *pin;
} button_t;

static button_t buttons[BUTTONS];

/* Contact bounce: the first edge, then two short reversals, in microseconds. */
static const struct {
    uint32_t after_us;
    int level;
} press_script[] = {{0, 0}, {300, 1}, {250, 0}}, release_script[] = {{0, 1}, {400, 0}, {500, 1}};

#define SCRIPT_LEN 3

static avr_cycle_count_t button_step(avr_t *a, avr_cycle_count_t when, void *param);

static void button_start(button_t *b)
{
    b->hold_ms = (uint32_t)b->queued[0];
    memmove(b->queued, b->queued + 1, sizeof(int) * (size_t)--b->queued_count);
    b->active = 1;
    b->step = 0;
    emit("{\"event\": \"button\", \"button\": %d, \"state\": \"down\"}", b->number);
    avr_cycle_timer_register(avr, 1, button_step, b);
}

/* Plays the press script, waits hold_ms, plays the release script. */
static avr_cycle_count_t button_step(avr_t *a, avr_cycle_count_t when, void *param)
{
    button_t *b = param;
    int s = b->step++;
    if (s < SCRIPT_LEN) {
        avr_raise_irq(b->pin, (uint32_t)press_script[s].level);
        uint32_t next_us = s + 1 < SCRIPT_LEN ? press_script[s + 1].after_us : b->hold_ms * 1000;
        return when + avr_usec_to_cycles(a, next_us);
    }
    s -= SCRIPT_LEN;
    avr_raise_irq(b->pin, (uint32_t)release_script[s].level);
    if (s + 1 < SCRIPT_LEN) {
        return when + avr_usec_to_cycles(a, release_script[s + 1].after_us);
    }
    b->active = 0;
    b->free_at = when + avr_usec_to_cycles(a, REPRESS_GAP_MS * 1000);
    emit("{\"event\": \"button\", \"button\": %d, \"state\": \"up\"}", b->number);
    return 0;
}

static void buttons_service(void)
{
    for (int i = 0; i < BUTTONS; i++) {
        button_t *b = &buttons[i];
        if (!b->active && b->queued_count > 0 && avr->cycle >= b->free_at) {
            button_start(b);
        }
    }
}

static void buttons_release_all(void)
{
    for (int i = 0; i < BUTTONS; i++) {
        button_t *b = &buttons[i];
        avr_cycle_timer_cancel(avr, button_step, b);
        b->active = 0;
        b->queued_count = 0;
        b->free_at = 0;
        /* Open contact: the pull-up holds the pin high. A reset clears the port's
         * registers but not the IRQ's remembered level, and simavr ignores a raise to
         * the remembered level: go through 0 (no instruction runs in between). */
        avr_raise_irq(b->pin, 0);
        avr_raise_irq(b->pin, 1);
    }
}

/* --- the ADC: noise on the unconnected pin A0, the nonce's entropy -------------- */

static avr_irq_t *adc_irq;

static void adc_triggered(avr_irq_t *irq, uint32_t value, void *param)
{
    (void)irq;
    (void)value;
    (void)param;
    avr_raise_irq(adc_irq + ADC_IRQ_ADC0, 2000 + rng() % 1000); /* millivolts */
}

/* --- LEDs on PB0..PB3: the share of time each pin was high over a window ------- */

#define LED_FIRST_PIN 0

typedef struct {
    int level;
    avr_cycle_count_t since; /* when the level last changed */
    avr_cycle_count_t high;  /* cycles spent high in the window so far */
} led_t;

static led_t leds[BUTTONS];
static avr_cycle_count_t led_window_start;
static int led_measuring;

static void led_changed(avr_irq_t *irq, uint32_t value, void *param)
{
    (void)irq;
    led_t *led = param;
    if (led->level) {
        led->high += avr->cycle - led->since;
    }
    led->since = avr->cycle;
    led->level = value != 0;
}

static avr_cycle_count_t led_window_end(avr_t *a, avr_cycle_count_t when, void *param)
{
    (void)param;
    char text[128];
    size_t at = 0;
    double window = (double)(when - led_window_start);
    for (int i = 0; i < BUTTONS; i++) {
        led_t *led = &leds[i];
        if (led->level) {
            led->high += when - led->since;
        }
        led->since = when;
        at += (size_t)snprintf(text + at, sizeof text - at, "%s%.1f", i ? ", " : "",
                               window > 0 ? 100.0 * (double)led->high / window : 0.0);
    }
    (void)a;
    led_measuring = 0;
    emit("{\"event\": \"leds\", \"duty\": [%s]}", text);
    return 0;
}

static void leds_measure(long ms)
{
    if (led_measuring) {
        emit("{\"event\": \"command_error\", \"detail\": \"already measuring the LEDs\"}");
        return;
    }
    for (int i = 0; i < BUTTONS; i++) {
        leds[i].high = 0;
        leds[i].since = avr->cycle;
    }
    led_window_start = avr->cycle;
    led_measuring = 1;
    avr_cycle_timer_register(avr, avr_usec_to_cycles(avr, (uint32_t)ms * 1000), led_window_end,
                             NULL);
}

/* --- commands ------------------------------------------------------------------- */

static double anchor_wall;
static avr_cycle_count_t anchor_cycle;

static void reanchor(void)
{
    anchor_wall = monotonic_s();
    anchor_cycle = avr->cycle;
}

static void reboot(void)
{
    avr_cycle_timer_cancel(avr, led_window_end, NULL);
    if (led_measuring) {
        led_measuring = 0;
        emit("{\"event\": \"command_error\", \"detail\": \"LED measurement cut by the reboot\"}");
    }
    avr_reset(avr); /* power cycle: registers and RAM start over, the EEPROM stays */
    to_box.len = 0;
    feed_head = feed_tail = 0;
    note_head = note_tail = 0; /* frames on their way in are lost with the power */
    queued_bytes = fed_bytes = 0;
    rx_clock = 0;
    uart_xoff = 0;
    buttons_release_all();
    reanchor();
    emit("{\"event\": \"reset\"}");
}

static int parse_button(const char *word, int *out)
{
    char *end;
    long n = strtol(word, &end, 10);
    if (*word == 0 || *end != 0 || n < 1 || n > BUTTONS) {
        emit("{\"event\": \"command_error\", \"detail\": \"the button must be from 1 to %d\"}",
             BUTTONS);
        return 0;
    }
    *out = (int)n;
    return 1;
}

static int parse_count(const char *word, long *out)
{
    char *end;
    long n = word ? strtol(word, &end, 10) : -1;
    if (!word || *word == 0 || *end != 0 || n < 0 || n > 600000) {
        emit("{\"event\": \"command_error\", \"detail\": \"expected a whole number\"}");
        return 0;
    }
    *out = n;
    return 1;
}

static void queue_press(int number, long hold_ms)
{
    button_t *b = &buttons[number - 1];
    if (b->queued_count == (int)(sizeof b->queued / sizeof b->queued[0])) {
        emit("{\"event\": \"command_error\", \"detail\": \"too many presses queued\"}");
        return;
    }
    b->queued[b->queued_count++] = (int)hold_ms;
}

/* Runs one command line; returns 0 when asked to quit. */
static int command(char *text)
{
    char *words[3] = {0};
    int n = 0;
    for (char *w = strtok(text, " \t\r\n"); w && n < 3; w = strtok(NULL, " \t\r\n")) {
        words[n++] = w;
    }
    if (n == 0) {
        return 1;
    }
    int button;
    long count;
    const char *name = words[0];
    if (!strcmp(name, "press") && n == 2) {
        if (parse_button(words[1], &button)) {
            queue_press(button, PRESS_MS);
        }
    } else if (!strcmp(name, "hold") && n == 3) {
        if (parse_button(words[1], &button) && parse_count(words[2], &count)) {
            queue_press(button, count);
        }
    } else if (!strcmp(name, "reboot") && n == 1) {
        reboot();
    } else if (!strcmp(name, "unplug") && n == 1) {
        unplug();
        emit("{\"event\": \"unplugged\"}");
    } else if (!strcmp(name, "replug") && n == 1) {
        unplug();
        plug();
        emit("{\"event\": \"replugged\", \"path\": \"%s\"}", link_path);
    } else if (!strcmp(name, "garbage") && n == 2) {
        if (parse_count(words[1], &count)) {
            garbage(&to_host, (size_t)count);
        }
    } else if (!strcmp(name, "garbage-box") && n == 2) {
        if (parse_count(words[1], &count)) {
            garbage(&to_box, (size_t)count);
        }
    } else if (!strcmp(name, "leds") && n == 2) {
        if (parse_count(words[1], &count) && count > 0 && count <= 10000) {
            leds_measure(count);
        }
    } else if (!strcmp(name, "quit") && n == 1) {
        return 0;
    } else {
        emit("{\"event\": \"command_error\", \"detail\": \"commands: press N | hold N MS | "
             "reboot | unplug | replug | garbage N | garbage-box N | leds MS | quit\"}");
    }
    return 1;
}

static int read_commands(void)
{
    static char buf[4096];
    static size_t len;
    ssize_t n = read(STDIN_FILENO, buf + len, sizeof buf - 1 - len);
    if (n <= 0) {
        return n < 0 && errno == EAGAIN; /* end of input: our parent is gone */
    }
    len += (size_t)n;
    char *start = buf, *nl;
    while ((nl = memchr(start, '\n', (size_t)(buf + len - start)))) {
        *nl = 0;
        if (!command(start)) {
            return 0;
        }
        start = nl + 1;
    }
    len = (size_t)(buf + len - start);
    memmove(buf, start, len);
    if (len == sizeof buf - 1) {
        len = 0; /* a line longer than any command */
    }
    return 1;
}

/* --- set-up and the real-time loop ---------------------------------------------- */

static void no_sleep(avr_t *a, avr_cycle_count_t how_long)
{
    (void)a;
    (void)how_long; /* the loop below keeps time against the wall clock */
}

static void usage(void)
{
    fprintf(stderr, "usage: hailong-box-sim FIRMWARE.elf --link PATH [--serial S] [--seed N] "
                    "[--drop PCT] [--corrupt PCT]\n");
    exit(2);
}

static void provision_serial(const char *serial)
{
    uint8_t field[SERIAL_FIELD] = {0};
    if (strlen(serial) > SERIAL_FIELD) {
        fprintf(stderr, "the serial number has at most %d bytes\n", SERIAL_FIELD);
        exit(2);
    }
    memcpy(field, serial, strlen(serial));
    avr_eeprom_desc_t desc = {.ee = field, .offset = 0, .size = SERIAL_FIELD};
    avr_ioctl(avr, AVR_IOCTL_EEPROM_SET, &desc);
}

int main(int argc, char **argv)
{
    const char *firmware_path = NULL, *serial = NULL;
    rng_state = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ 0x9E3779B97F4A7C15ULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--link") && i + 1 < argc) {
            link_path = argv[++i];
        } else if (!strcmp(argv[i], "--serial") && i + 1 < argc) {
            serial = argv[++i];
        } else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            rng_state = strtoull(argv[++i], NULL, 10) * 0x9E3779B97F4A7C15ULL + 1;
        } else if (!strcmp(argv[i], "--drop") && i + 1 < argc) {
            drop_pct = atof(argv[++i]);
        } else if (!strcmp(argv[i], "--corrupt") && i + 1 < argc) {
            corrupt_pct = atof(argv[++i]);
        } else if (argv[i][0] != '-' && !firmware_path) {
            firmware_path = argv[i];
        } else {
            usage();
        }
    }
    if (!firmware_path || !link_path) {
        usage();
    }
    fate_seed();

    /* simavr reports what it loaded on stdout; stdout is for JSON lines only. */
    int json_out = dup(STDOUT_FILENO);
    dup2(STDERR_FILENO, STDOUT_FILENO);
    elf_firmware_t firmware;
    memset(&firmware, 0, sizeof firmware);
    if (elf_read_firmware(firmware_path, &firmware)) {
        fprintf(stderr, "cannot read the firmware %s\n", firmware_path);
        return 1;
    }
    avr = avr_make_mcu_by_name(firmware.mmcu);
    if (!avr) {
        fprintf(stderr, "unknown MCU '%s' in %s\n", firmware.mmcu, firmware_path);
        return 1;
    }
    avr_init(avr);
    avr->log = LOG_ERROR;
    avr_load_firmware(avr, &firmware);
    fflush(stdout);
    dup2(json_out, STDOUT_FILENO);
    close(json_out);
    avr->sleep = no_sleep;
    if (serial) {
        provision_serial(serial);
    }

    avr_irq_t *uart = avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), 0);
    uart_input = uart + UART_IRQ_INPUT;
    avr_irq_register_notify(uart + UART_IRQ_OUTPUT, uart_output, NULL);
    avr_irq_register_notify(uart + UART_IRQ_OUT_XON, uart_xon, NULL);
    avr_irq_register_notify(uart + UART_IRQ_OUT_XOFF, uart_xoff_cb, NULL);
    /* Our own pacing, not the UART's: the loop sleeps against the wall clock. */
    uint32_t flags = 0;
    avr_ioctl(avr, AVR_IOCTL_UART_GET_FLAGS('0'), &flags);
    flags &= ~(uint32_t)(AVR_UART_FLAG_POLL_SLEEP | AVR_UART_FLAG_STDIO);
    avr_ioctl(avr, AVR_IOCTL_UART_SET_FLAGS('0'), &flags);

    adc_irq = avr_io_getirq(avr, AVR_IOCTL_ADC_GETIRQ, 0);
    avr_irq_register_notify(adc_irq + ADC_IRQ_OUT_TRIGGER, adc_triggered, NULL);
    for (int i = 0; i < BUTTONS; i++) {
        buttons[i].number = i + 1;
        buttons[i].pin = avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ('D'), BUTTON_FIRST_PIN + i);
    }
    buttons_release_all();
    for (int i = 0; i < BUTTONS; i++) {
        avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ('B'), LED_FIRST_PIN + i),
                                led_changed, &leds[i]);
    }

    fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
    plug();
    emit("{\"event\": \"ready\", \"path\": \"%s\", \"frequency\": %u}", link_path,
         (unsigned)avr->frequency);

    const avr_cycle_count_t batch = avr->frequency / 1000;
    reanchor();
    for (;;) {
        double now = monotonic_s();
        avr_cycle_count_t due = anchor_cycle + (avr_cycle_count_t)((now - anchor_wall) * avr->frequency);
        if (due > avr->cycle + 2 * (avr_cycle_count_t)avr->frequency) {
            /* Stopped for seconds (a suspended process): go on from now. Shorter stalls
             * of a busy machine are caught up, at about ten emulated seconds per second
             * of CPU, so the box's clock keeps to the host's. */
            reanchor();
            due = avr->cycle + batch;
        }
        avr_cycle_count_t until = avr->cycle + batch < due ? avr->cycle + batch : due;
        while (avr->cycle < until) {
            int state = avr_run(avr);
            if (state == cpu_Done || state == cpu_Crashed) {
                emit("{\"event\": \"stopped\", \"state\": \"%s\"}",
                     state == cpu_Done ? "done" : "crashed");
                unplug();
                return 1;
            }
        }
        feed_uart();
        notes_service();
        buttons_service();

        struct pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {master, POLLIN, 0}};
        int ahead = avr->cycle >= due;
        int ready = poll(fds, master >= 0 ? 2 : 1, ahead ? 1 : 0);
        if (ready > 0 && (fds[0].revents & (POLLIN | POLLHUP)) && !read_commands()) {
            break;
        }
        if (ready > 0 && master >= 0 && (fds[1].revents & POLLIN)) {
            read_line();
        }
    }
    unplug();
    emit("{\"event\": \"quit\"}");
    return 0;
}
