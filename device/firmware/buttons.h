/* Button debouncing as a pure function over a table of per-button states, so it
 * can be compiled for the host and tested there (tests/device/test_firmware.py).
 *
 * A press is reported on the first edge (no latency for the citizen); the release
 * is debounced: a button counts as released only after its contact has read open
 * for debounce_ms without interruption, so contact bounce and a held button make
 * one press. */
#ifndef HAILONG_BUTTONS_H
#define HAILONG_BUTTONS_H

#include <stdint.h>

typedef struct {
    uint8_t down;       /* 1 from the reported press until the release is debounced */
    uint16_t last_down; /* when the contact last read closed (ms, wrapping) */
} button_state_t;

/* Feeds one sample of every contact (bit i set = button i+1 closed) at now_ms;
 * returns the buttons newly pressed (same bit layout). */
uint8_t debounce_step(button_state_t *table, uint8_t count, uint8_t closed, uint16_t now_ms,
                      uint8_t debounce_ms);

#endif
