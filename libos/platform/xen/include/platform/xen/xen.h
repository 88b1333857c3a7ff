/*
 * platform/xen/xen.h - running as a Xen PVH (or PV) guest: the public side
 * of //libos/platform/xen.
 *
 * The boot path looks for Xen before it prints anything: CPUID leaves
 * 0x40000000, 0x40000100, ... (<xenabi/cpuid.h>) up to the first one whose
 * signature is "XenVMMXenVMM". On Xen it
 *
 *   - installs the hypercall page: a page-aligned page reserved in the
 *     image's text (section .text.hypercall_page, mapped read + execute);
 *     its physical address goes to the MSR named by CPUID base + 2, and
 *     Xen writes the call stubs into it (the hypervisor writes guest
 *     memory directly, so the read-only mapping is no obstacle);
 *   - sends the console to Xen instead of COM1 (a PVH guest has no
 *     emulated UART): every byte goes to the PV console ring
 *     (HVM_PARAM_CONSOLE_PFN/EVTCHN; xenconsoled, `xl console`, and
 *     /var/log/xen/console/guest-NAME.log with xenconsoled --log=guest) and
 *     to Xen's debug port 0xe9 (`xl dmesg`, as "(dN) ..." lines, when Xen
 *     runs with guest_loglvl=all);
 *   - ends the domain through SCHEDOP_shutdown in platform_exit(), after
 *     the line "[boot] exit status N": reason SHUTDOWN_poweroff for status
 *     0 and SHUTDOWN_crash for any other status. The exact status is the
 *     console line; the shutdown reason says only "success" or "failure"
 *     to the toolstack (so `on_crash` in the domain config applies);
 *   - prints "[boot] xen: entry to main N us" just before main(): the time
 *     from the first instruction of _start_pvh, by the TSC and the
 *     frequency Xen reports (CPUID base + 3).
 *
 * As a Xen PV guest (entered at _start_pv, <platform/xen/pv.h>) the same
 * holds, except that Xen filled the hypercall page when it built the domain,
 * the console ring comes from start_info, and nothing is written to port 0xe9
 * (port I/O faults in a PV guest): the console is the ring alone.
 *
 * Not on Xen (QEMU), nothing of this happens: COM1 and isa-debug-exit are
 * used as before, and xenplat_hypercall() fails with -XENABI_ENOSYS.
 */
#ifndef PLATFORM_XEN_XEN_H
#define PLATFORM_XEN_XEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The console ring's output, handed over to a driver (//drivers/xencons:
 * stdout): from this call on the early console writes nothing more into
 * the ring, so the driver is its only producer (two producers would race
 * for out_prod; both write through <platform/xen/console_ring.h>). Port
 * 0xe9 stays the platform's (xenplat_debug_write), and platform_exit()
 * still waits for the ring to drain (up to the driver's last byte) before
 * the domain ends. Call it after the driver attached and before it
 * writes.
 */
void xenplat_console_handover(void);

/* Xen's debug port 0xe9 (`xl dmesg`) on PVH; nothing elsewhere. */
void xenplat_debug_write(const char *buf, size_t len);

/* Whether the image runs on Xen with the hypercall page installed. */
bool xenplat_on_xen(void);

/* How the image was booted: on bare (virtual) hardware, PVH or PV. */
enum xenplat_mode {
    XENPLAT_NONE = 0, /* not on Xen: QEMU, or hardware */
    XENPLAT_PVH = 1,  /* _start_pvh on Xen: an HVM container */
    XENPLAT_PV = 2,   /* _start_pv: a 64-bit PV guest, in ring 3 */
};
enum xenplat_mode xenplat_mode(void);

/* Xen's version (major << 16 | minor), or 0 when not on Xen. */
uint32_t xenplat_version(void);

/*
 * Hypercall `nr` with up to five arguments, as <xenabi/hypercall.h>
 * describes (xen_hypercall() in <hypervisor/hypervisor.h> for the library
 * OS is this function on Xen, through //libos/platform/xen:hypervisor).
 * Returns -XENABI_ENOSYS when not on Xen or `nr` has no stub.
 */
long xenplat_hypercall(unsigned int nr, uint64_t a1, uint64_t a2,
                       uint64_t a3, uint64_t a4, uint64_t a5);

/*
 * The event-channel upcall: have Xen call fn() (the event-channel
 * library's dispatcher, evtchn_dispatch() or a wrapper) whenever events
 * are pending for vcpu 0 and the guest has interrupts enabled, which in
 * this library OS is only inside the idle halt (<time/time.h>). fn runs
 * in interrupt context, interrupts masked, on the interrupted stack; it
 * must clear vcpu 0's evtchn_upcall_pending (evtchn_dispatch does), or
 * it is entered again at once. NULL turns upcalls off.
 *
 * On Xen PVH (upcall.c): HVM_PARAM_CALLBACK_IRQ with callback type
 * "vector" (needs XENFEAT_hvm_callback_vector) and an interrupt gate at
 * XENPLAT_UPCALL_VECTOR that saves every register and the x87/SSE state
 * around fn. Xen injects that vector directly, not through the emulated
 * local APIC, so no EOI is written.
 *
 * On Xen PV: the event callback (CALLBACKOP_register, CALLBACKTYPE_event)
 * at an entry in pv_entry.S that pops the %rcx/%r11 Xen pushes on top of
 * the iret frame, saves the same registers and x87/SSE state around fn,
 * and returns through HYPERVISOR_iret, which restores the upcall mask
 * from the saved RFLAGS.IF (Xen sets IF there to "events were
 * unmasked"). "Interrupts enabled" is vcpu 0's evtchn_upcall_mask being
 * clear: Xen enters PV guests with it set, and in this library OS only
 * SCHEDOP_block clears it (libos/time's idle on PV, which sets it again
 * afterwards with xenplat_mask_events). The entry stays registered
 * (Xen cannot unregister it); with fn NULL it returns with events
 * masked and leaves them pending. Xen's failsafe callback (a segment
 * register it could not reload on the way back) is registered at boot
 * and reports "[boot] panic: pv: Xen's failsafe callback ..." instead of
 * a silent crash.
 *
 * Returns 0; -XENABI_ENOSYS when not on Xen; -XENABI_EOPNOTSUPP when Xen
 * (PVH) lacks the callback vector feature; or Xen's error. Call with
 * interrupts masked.
 */
#define XENPLAT_UPCALL_VECTOR 0xf3
int xenplat_set_upcall(void (*fn)(void));

/* Upcall interrupts taken so far (each may dispatch many events). */
uint64_t xenplat_upcall_count(void);

/*
 * Whether an interrupt could be taken now: RFLAGS.IF under QEMU and on
 * PVH; on PV, where ring 3 always runs with RFLAGS.IF set, whether
 * vcpu 0's evtchn_upcall_mask is clear. The library OS keeps them off
 * except inside the idle (<time/time.h>).
 */
bool xenplat_interrupts_enabled(void);

/*
 * PV: set vcpu 0's evtchn_upcall_mask again, the PV "cli" (SCHEDOP_block
 * clears it). Does nothing elsewhere.
 */
void xenplat_mask_events(void);

#endif /* PLATFORM_XEN_XEN_H */
