/*
 * platform/pc/uart16550.h - the early console on PC-like machines: a
 * polled 16550 UART on COM1 (I/O port 0x3f8), 115200 baud, 8 data bits,
 * no parity, 1 stop bit.
 *
 * Polled means no interrupts: every write busy-waits until the UART can
 * take another byte, so output is never lost and works before (and
 * without) any interrupt set-up. Not safe for concurrent use; the
 * library OS is single-threaded at this point.
 */
#ifndef PLATFORM_PC_UART16550_H
#define PLATFORM_PC_UART16550_H

#include <stddef.h>

/*
 * Program the UART (115200 8N1, FIFOs on, interrupts off). Call once
 * before the first write; calling it again is harmless.
 */
void uart16550_init(void);

/*
 * Write `len` bytes from `buf`. Each "\n" goes out as "\r\n" so that
 * serial terminals return the carriage. NUL bytes are sent as-is.
 * The signature matches libc_set_output() in <libc/hooks.h>.
 */
void uart16550_write(const char *buf, size_t len);

#endif /* PLATFORM_PC_UART16550_H */
