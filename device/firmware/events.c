#include "events.h"

void events_reset(event_ring_t *ring)
{
    for (uint8_t i = 0; i < HL_EVENT_RING_SIZE; i++) {
        ring->slot[i].seq = 0;
    }
    ring->last_seq = 0;
    ring->count = 0;
}

uint8_t events_add(event_ring_t *ring, uint8_t button, uint16_t now_ms)
{
    for (uint8_t i = 0; i < HL_EVENT_RING_SIZE; i++) {
        pending_event_t *e = &ring->slot[i];
        if (e->seq == 0) {
            e->seq = ++ring->last_seq;
            e->button = button;
            e->last_sent_ms = now_ms;
            ring->count++;
            return i;
        }
    }
    return 0xFF;
}

bool events_ack(event_ring_t *ring, uint32_t seq)
{
    if (seq == 0) {
        return false;
    }
    for (uint8_t i = 0; i < HL_EVENT_RING_SIZE; i++) {
        if (ring->slot[i].seq == seq) {
            ring->slot[i].seq = 0;
            ring->count--;
            return true;
        }
    }
    return false;
}

uint8_t events_next_due(const event_ring_t *ring, uint8_t from, uint16_t now_ms,
                        uint16_t interval_ms, bool all)
{
    for (uint8_t i = from; i < HL_EVENT_RING_SIZE; i++) {
        const pending_event_t *e = &ring->slot[i];
        if (e->seq != 0 && (all || (uint16_t)(now_ms - e->last_sent_ms) >= interval_ms)) {
            return i;
        }
    }
    return HL_EVENT_RING_SIZE;
}
