/* The unacknowledged presses, kept until the host's ACK and resent meanwhile.
 * Pure C (no hardware), compiled for the host too and tested there. */
#ifndef HAILONG_EVENTS_H
#define HAILONG_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "protocol.h"

typedef struct {
    uint32_t seq; /* 0 = free slot */
    uint16_t last_sent_ms;
    uint8_t button;
} pending_event_t;

typedef struct {
    pending_event_t slot[HL_EVENT_RING_SIZE];
    uint32_t last_seq;
    uint8_t count;
} event_ring_t;

void events_reset(event_ring_t *ring);
/* Keeps a new press; returns the slot, or 0xFF when the ring is full (the press is
 * dropped and never confirmed, as the protocol says). */
uint8_t events_add(event_ring_t *ring, uint8_t button, uint16_t now_ms);
/* Forgets an acknowledged press; false if it was not kept. */
bool events_ack(event_ring_t *ring, uint32_t seq);
/* The next kept press at or after slot `from` that is due for resending at now_ms
 * (all kept presses when `all`); returns HL_EVENT_RING_SIZE when there is none. */
uint8_t events_next_due(const event_ring_t *ring, uint8_t from, uint16_t now_ms,
                        uint16_t interval_ms, bool all);

#endif
