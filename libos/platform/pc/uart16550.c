/*
 * Polled 16550 UART driver for COM1. Register offsets and bits are those
 * of the National Semiconductor PC16550D data sheet.
 */
#include <platform/pc/uart16550.h>

#include <arch/x86.h>
#include <stdint.h>

#define COM1 0x3f8

/* Register offsets from the base port. */
#define UART_THR 0 /* transmit holding (write, DLAB=0) */
#define UART_DLL 0 /* divisor latch low (DLAB=1) */
#define UART_IER 1 /* interrupt enable (DLAB=0) */
#define UART_DLM 1 /* divisor latch high (DLAB=1) */
#define UART_FCR 2 /* FIFO control (write) */
#define UART_LCR 3 /* line control */
#define UART_MCR 4 /* modem control */
#define UART_LSR 5 /* line status */

#define LCR_8N1 0x03  /* 8 data bits, no parity, 1 stop bit */
#define LCR_DLAB 0x80 /* next two registers are the baud divisor */
#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define FCR_CLEAR_TX 0x04
#define FCR_TRIGGER_14 0xc0
#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define LSR_THRE 0x20 /* transmit holding register empty */

/* The UART clock is 1.8432 MHz / 16 = 115200: divisor 1 is full speed. */
#define BAUD_DIVISOR 1

void uart16550_init(void)
{
    outb(COM1 + UART_IER, 0x00); /* polled: the UART raises no IRQs */
    outb(COM1 + UART_LCR, LCR_DLAB);
    outb(COM1 + UART_DLL, BAUD_DIVISOR & 0xff);
    outb(COM1 + UART_DLM, BAUD_DIVISOR >> 8);
    outb(COM1 + UART_LCR, LCR_8N1); /* also clears DLAB */
    outb(COM1 + UART_FCR,
         FCR_ENABLE | FCR_CLEAR_RX | FCR_CLEAR_TX | FCR_TRIGGER_14);
    /* Some terminals and hardware flow control need DTR/RTS asserted. */
    outb(COM1 + UART_MCR, MCR_DTR | MCR_RTS);
}

static void put_byte(uint8_t byte)
{
    /*
     * Wait until the holding register is empty. If no UART is present
     * the port reads as 0xff, so THRE looks set and we never hang.
     */
    while (!(inb(COM1 + UART_LSR) & LSR_THRE))
        pause();
    outb(COM1 + UART_THR, byte);
}

void uart16550_write(const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '\n')
            put_byte('\r');
        put_byte((uint8_t)buf[i]);
    }
}
