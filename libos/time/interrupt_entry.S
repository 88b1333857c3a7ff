/*
 * IDT entry points of the wake-up timer's vectors: the C handlers in
 * idle.c, called with everything preserved (<arch/interrupt_entry.h>).
 */
#include <arch/interrupt_entry.h>

    interrupt_entry time_timer_entry, time_timer_interrupt
    interrupt_entry time_spurious_entry, time_spurious_interrupt

    .section .note.GNU-stack, "", @progbits
