#include "uart.h"

#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/wdt.h>

#include "protocol.h"

#define BAUD HL_BAUDRATE
/* 115200 from 16 MHz is 2.1 % fast with U2X (UBRR 16), as on every Arduino; the
 * USB-serial bridge and the 8N1 frame tolerate that. */
#define BAUD_TOL 3
#include <util/setbaud.h>

/* 256-entry rings indexed by uint8_t: the indices wrap by themselves. */
static volatile uint8_t rx_buf[256];
static volatile uint8_t rx_head, rx_tail;
static volatile uint8_t tx_buf[256];
static volatile uint8_t tx_head, tx_tail;

void uart_init(void)
{
    UBRR0H = UBRRH_VALUE;
    UBRR0L = UBRRL_VALUE;
#if USE_2X
    UCSR0A = _BV(U2X0);
#else
    UCSR0A = 0;
#endif
    UCSR0C = _BV(UCSZ01) | _BV(UCSZ00); /* 8N1 */
    UCSR0B = _BV(RXEN0) | _BV(TXEN0) | _BV(RXCIE0);
}

ISR(USART_RX_vect)
{
    uint8_t byte = UDR0;
    uint8_t next = rx_head + 1;
    if (next == rx_tail) {
        return; /* ring full: the byte is lost and its frame fails the CRC */
    }
    rx_buf[rx_head] = byte;
    rx_head = next;
}

ISR(USART_UDRE_vect)
{
    if (tx_head == tx_tail) {
        UCSR0B &= ~_BV(UDRIE0);
        return;
    }
    UDR0 = tx_buf[tx_tail++];
}

bool uart_rx_pending(void)
{
    return rx_head != rx_tail;
}

bool uart_read(uint8_t *byte)
{
    if (rx_head == rx_tail) {
        return false;
    }
    *byte = rx_buf[rx_tail];
    rx_tail++;
    return true;
}

void uart_write(const uint8_t *data, uint8_t len)
{
    while (len--) {
        uint8_t next = tx_head + 1;
        while (next == tx_tail) {
            wdt_reset();
        }
        tx_buf[tx_head] = *data++;
        tx_head = next;
        UCSR0B |= _BV(UDRIE0);
    }
}
