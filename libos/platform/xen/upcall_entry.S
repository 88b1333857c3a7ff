/*
 * The IDT entry of Xen's event-channel upcall vector on PVH
 * (<platform/xen/xen.h>, XENPLAT_UPCALL_VECTOR; upcall.c installs it).
 *
 * Xen raises the vector whenever vcpu 0's evtchn_upcall_pending is set
 * and the guest has interrupts enabled; in this library OS that is only
 * inside the idle halt, but the entry cannot know where it interrupted,
 * so it keeps everything (<arch/interrupt_entry.h>). No EOI: the
 * callback-vector type is injected by Xen directly, not through the
 * emulated local APIC.
 */
#include <arch/interrupt_entry.h>

    interrupt_entry xenplat_upcall_entry, xenplat_upcall

    .section .note.GNU-stack, "", @progbits
