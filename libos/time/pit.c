/*
 * The i8254 programmable interval timer, channel 0, as a free-running
 * reference clock of CALIBRATE_PIT_HZ for measuring the TSC. Polled
 * only: its interrupt (IRQ0) is never unmasked anywhere it could reach
 * the CPU (time_init() masks the APIC's LINT0, the legacy PIC's path).
 * Channel 2 is the classic choice for calibration, but its gate and
 * output live in port 0x61, which QEMU's microvm does not have;
 * channel 0 with latched reads works on microvm, pc and q35.
 */
#include <arch/x86.h>

#include "time_internal.h"

#define PIT_CHANNEL0 0x40
#define PIT_COMMAND 0x43
/* Channel 0, low then high byte, mode 2 (rate generator), binary. */
#define PIT_CMD_CH0_MODE2 0x34
/* Channel 0, latch the count so both bytes come from one instant. */
#define PIT_CMD_CH0_LATCH 0x00
/* Reads that must see the counter move for a PIT to count as present. */
#define PIT_PROBE_READS 4096

uint16_t time_pit_read(void)
{
    outb(PIT_COMMAND, PIT_CMD_CH0_LATCH);
    uint8_t lo = inb(PIT_CHANNEL0);
    uint8_t hi = inb(PIT_CHANNEL0);
    return (uint16_t)(lo | hi << 8);
}

bool time_pit_start(void)
{
    /* Reload value 0 means 65536: the longest period, 55 ms. */
    outb(PIT_COMMAND, PIT_CMD_CH0_MODE2);
    outb(PIT_CHANNEL0, 0);
    outb(PIT_CHANNEL0, 0);

    /*
     * A missing PIT reads as 0xffff forever; a present one counts at
     * 1.19 MHz, far faster than these port reads can be made.
     */
    uint16_t first = time_pit_read();
    for (int i = 0; i < PIT_PROBE_READS; i++)
        if (time_pit_read() != first)
            return true;
    return false;
}
