/*
 * Stopping the machine. QEMU's isa-debug-exit device turns a write to
 * its port into process exit, which is how tests get a status out of
 * the guest; without the device the write is ignored and we halt.
 */
#include <arch/x86.h>
#include <boot/boot.h>
#include <platform/xen/boot.h>
#include <platform/xen/xen.h>
#include <stdarg.h>
#include <stdio.h>

#include "boot_internal.h"

_Noreturn void platform_exit(int status)
{
    uint8_t code = (uint8_t)status;

    /* Harnesses match this exact line to tell a guest exit from a crash. */
    printf("[boot] exit status %u\n", (unsigned)code);
    /* On Xen: SCHEDOP_shutdown, poweroff for 0, crash otherwise. */
    if (xenplat_on_xen())
        xenplat_shutdown(code);
    if (xenplat_mode() == XENPLAT_PV)
        xenplat_pv_halt(); /* Xen refused; no port I/O or hlt in ring 3 */
    outb(BOOT_DEBUG_EXIT_PORT, code);
    for (;;) {
        cli();
        hlt();
    }
}

_Noreturn void boot_panic(const char *fmt, ...)
{
    va_list ap;

    printf("[boot] panic: ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    platform_exit(BOOT_EXIT_PANIC);
}
