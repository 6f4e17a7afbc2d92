#include "buttons.h"

uint8_t debounce_step(button_state_t *table, uint8_t count, uint8_t closed, uint16_t now_ms,
                      uint8_t debounce_ms)
{
    uint8_t pressed = 0;
    for (uint8_t i = 0; i < count; i++) {
        button_state_t *b = &table[i];
        uint8_t contact = (closed >> i) & 1;
        if (contact) {
            if (!b->down) {
                b->down = 1;
                pressed |= (uint8_t)(1 << i);
            }
            b->last_down = now_ms;
        } else if (b->down && (uint16_t)(now_ms - b->last_down) >= debounce_ms) {
            b->down = 0;
        }
    }
    return pressed;
}
