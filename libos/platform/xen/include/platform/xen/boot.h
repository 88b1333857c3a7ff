/*
 * platform/xen/boot.h - what the boot path (//libos/boot) asks of the
 * Xen platform: the one-way hook from boot into //libos/platform/xen.
 * Not for applications or drivers (they use <platform/xen/xen.h>).
 *
 * _start_pvh (libos/boot/entry.S) is the PVH boot protocol that Xen and
 * QEMU share, so it stays in the boot path; from its C half, boot_pvh()
 * asks xenplat_init() whether this is Xen. _start_pv is Xen's alone and
 * lives in this package (pv_entry.S, pv.c); it calls back into the boot
 * path through <boot/platform.h>.
 */
#ifndef PLATFORM_XEN_BOOT_H
#define PLATFORM_XEN_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Entered at _start_pvh: look for Xen (CPUID, which changes nothing);
 * on Xen install the hypercall page and find the console ring. False
 * when not on Xen (QEMU): then nothing was touched.
 */
bool xenplat_init(void);

/* The early console on Xen: port 0xe9 (PVH) and the console ring. */
void xenplat_console_write(const char *buf, size_t len);

/* "[boot] xen: ..." lines: after the init, and just before main(). */
void xenplat_report(void);
void xenplat_report_main(void);

/*
 * End the domain: drain the console ring, then SCHEDOP_shutdown
 * (poweroff for status 0, or reboot after xenplat_request_reboot();
 * crash otherwise). Returns only if Xen refused.
 */
void xenplat_shutdown(uint8_t status);

/* Make a later exit with status 0 end the domain as a reboot (the
 * toolstack's `xl reboot`, //libos/platform/xen:control). */
void xenplat_request_reboot(void);

/* PV: stop for good where cli/hlt cannot run (ring 3): shutdown(crash). */
_Noreturn void xenplat_pv_halt(void);

/* PV: whether [addr, addr + len) is mapped and readable (pv_paging.c). */
bool xenplat_pv_paging_readable(uint64_t addr, uint64_t len);

/*
 * PV: the address of the last page fault, vcpu_info.arch.cr2 in the
 * shared info page (reading %cr2 faults in ring 3); 0 if unknown.
 */
uint64_t xenplat_pv_fault_address(void);

#endif /* PLATFORM_XEN_BOOT_H */
