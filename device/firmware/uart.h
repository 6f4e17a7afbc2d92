/* UART0 at the protocol's baud rate, interrupt-driven both ways: the receive
 * interrupt only appends to a ring (parsing happens in the main loop) and the
 * transmit interrupt drains another, so sending never stalls the loop for long. */
#ifndef HAILONG_UART_H
#define HAILONG_UART_H

#include <stdbool.h>
#include <stdint.h>

void uart_init(void);
/* Takes the next received byte; false when none is waiting. */
bool uart_read(uint8_t *byte);
bool uart_rx_pending(void);
/* Queues bytes; waits (feeding the watchdog) only while the transmit ring is full. */
void uart_write(const uint8_t *data, uint8_t len);

#endif
