/*
 * Xen PVH support in the boot path: find Xen, install the hypercall page,
 * the Xen console (PV console ring + debug port 0xe9), shutdown, and the
 * entry-to-main time. See <platform/xen/xen.h>.
 */
#include <arch/x86.h>
#include <platform/xen/console_ring.h>
#include <platform/xen/hypercall_stats.h>
#include <platform/xen/xen.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <xenabi/console.h>
#include <xenabi/cpuid.h>
#include <xenabi/errno.h>
#include <xenabi/event_channel.h>
#include <xenabi/hvm.h>
#include <xenabi/hypercall.h>
#include <xenabi/sched.h>
#include <xenabi/version.h>

#include "internal.h"

/* Xen's "debug console" I/O port: each line shows in `xl dmesg`. */
#define XEN_DEBUG_PORT 0xe9

static bool on_xen;
static enum xenplat_mode mode; /* XENPLAT_NONE until found */
static uint32_t xen_base;    /* the CPUID base of Xen's leaves */
static uint32_t xen_version; /* major << 16 | minor */
/* The console ring, written through the shared writer until hand-over. */
static struct xenabi_console_interface *ring_page;
static struct xenplat_console_ring ring;
static bool ring_up;          /* attached, and a daemon reads it */
static bool ring_handed_over; /* a driver produces into it now */
static uint32_t ring_port;

bool xenplat_on_xen(void)
{
    return on_xen;
}

enum xenplat_mode xenplat_mode(void)
{
    return mode;
}

uint32_t xenplat_version(void)
{
    return on_xen ? xen_version : 0;
}

long xenplat_hypercall(unsigned int nr, uint64_t a1, uint64_t a2,
                       uint64_t a3, uint64_t a4, uint64_t a5)
{
    if (!on_xen || nr >= XENABI_HYPERCALL_MAX)
        return -XENABI_ENOSYS;
    xenplat_hcstats_count(nr, a1);
    return xenplat_hypercall_raw(nr, a1, a2, a3, a4, a5);
}

static long hvm_get_param(uint32_t index, uint64_t *value)
{
    struct xenabi_hvm_param p = {.domid = XENABI_DOMID_SELF, .index = index};
    long rc = xenplat_hypercall(XENABI_HYPERCALL_HVM_OP,
                                XENABI_HVMOP_GET_PARAM, xenabi_handle(&p), 0,
                                0, 0);
    if (rc == 0)
        *value = p.value;
    return rc;
}

static void ring_notify(void)
{
    struct xenabi_evtchn_send send = {.port = ring_port};

    xenplat_hypercall(XENABI_HYPERCALL_EVENT_CHANNEL_OP,
                      XENABI_EVTCHNOP_SEND, xenabi_handle(&send), 0, 0, 0);
}

static void yield(void)
{
    xenplat_hypercall(XENABI_HYPERCALL_SCHED_OP, XENABI_SCHEDOP_YIELD, 0, 0,
                      0, 0);
}

/*
 * Wait (yielding to dom0's xenconsoled) until the ring has room for one
 * byte, or, with `drain`, until it is empty. Gives up on the ring after
 * many rounds, or at once if the daemon's index is impossible, so a
 * domain without a (sane) console daemon still runs and exits.
 */
#define RING_PATIENCE 200000
static bool ring_wait(bool drain)
{
    for (unsigned tries = 0; tries < RING_PATIENCE; tries++) {
        long pending = xenplat_console_ring_pending(&ring);

        if (pending < 0)
            break;
        if (drain ? pending == 0 : pending < XENABI_CONSOLE_OUT_SIZE)
            return true;
        ring_notify();
        yield();
    }
    ring_up = false; /* nobody reads it: stop using it */
    return false;
}

static void ring_write(const char *buf, size_t len)
{
    while (ring_up && !ring_handed_over && len) {
        if (!ring_wait(false))
            return;
        long n = xenplat_console_ring_put(&ring, buf, len);
        if (n < 0) {
            ring_up = false;
            return;
        }
        buf += n;
        len -= (size_t)n;
        ring_notify();
    }
}

static void ring_attach(struct xenabi_console_interface *page, uint32_t port)
{
    if (page == NULL)
        return;
    ring_page = page;
    ring_port = port;
    xenplat_console_ring_attach(&ring, page);
    ring_up = true;
}

void xenplat_debug_write(const char *buf, size_t len)
{
    for (size_t i = 0; i < len && mode == XENPLAT_PVH; i++)
        if (buf[i] != '\r')
            outb(XEN_DEBUG_PORT, (uint8_t)buf[i]);
}

/* The console on Xen; replaces COM1 (//libos/platform/pc) in libc. */
void xenplat_console_write(const char *buf, size_t len)
{
    xenplat_debug_write(buf, len);
    ring_write(buf, len);
}

void xenplat_console_handover(void)
{
    ring_handed_over = true;
}

static bool find_xen(void)
{
    for (uint32_t base = XENABI_CPUID_FIRST_BASE;
         base < XENABI_CPUID_SEARCH_LIMIT; base += XENABI_CPUID_BASE_STEP) {
        struct cpuid_regs r = cpuid(base, 0);

        if (r.ebx == XENABI_CPUID_SIGNATURE_EBX
            && r.ecx == XENABI_CPUID_SIGNATURE_ECX
            && r.edx == XENABI_CPUID_SIGNATURE_EDX
            && r.eax >= base + XENABI_CPUID_LEAF_HYPERCALL) {
            xen_base = base;
            return true;
        }
    }
    return false;
}

bool xenplat_init(void)
{
    if (!find_xen())
        return false;
    xen_version = cpuid(xen_base + XENABI_CPUID_LEAF_VERSION, 0).eax;

    /* EAX: number of hypercall pages (we use the first); EBX: the MSR. */
    struct cpuid_regs hc = cpuid(xen_base + XENABI_CPUID_LEAF_HYPERCALL, 0);
    if (hc.eax < 1)
        return false;
    wrmsr(hc.ebx, (uint64_t)(uintptr_t)boot_hypercall_page);
    on_xen = true;
    mode = XENPLAT_PVH;

    uint64_t pfn = 0, port = 0;
    if (hvm_get_param(XENABI_HVM_PARAM_CONSOLE_PFN, &pfn) == 0 && pfn != 0
        && pfn < (BOOT_IDENTITY_MAP_LIMIT >> 12)
        && hvm_get_param(XENABI_HVM_PARAM_CONSOLE_EVTCHN, &port) == 0) {
        ring_attach((struct xenabi_console_interface *)(uintptr_t)(pfn << 12),
                    (uint32_t)port);
    }
    return true;
}

/*
 * The PV boot path (pv.c) found Xen by being entered at _start_pv: the
 * hypercall page is filled already, the console ring is the one in
 * start_info (`console` mapped, or NULL), and there is no port 0xe9.
 */
void xenplat_init_pv(struct xenabi_console_interface *console,
                     uint32_t port)
{
    on_xen = true;
    mode = XENPLAT_PV;
    xen_version = (uint32_t)xenplat_hypercall(
        XENABI_HYPERCALL_XEN_VERSION, XENABI_XENVER_VERSION, 0, 0, 0, 0);
    ring_attach(console, port);
}

/* Called by boot_pvh() on Xen, after the init, before the banner. */
void xenplat_report(void)
{
    if (mode == XENPLAT_PV) {
        printf("[boot] xen: Xen %u.%u (PV), hypercall page %p, console: "
               "%s\n",
               xen_version >> 16, xen_version & 0xffff,
               (void *)boot_hypercall_page, ring_up ? "PV ring" : "none");
        return;
    }
    printf("[boot] xen: Xen %u.%u (PVH), CPUID base %#x, hypercall page "
           "%p, console: %s port 0xe9\n",
           xen_version >> 16, xen_version & 0xffff, xen_base,
           (void *)boot_hypercall_page, ring_up ? "PV ring +" : "no PV ring,");
}

/* Print the TSC time from _start_pvh to now (just before main()). */
void xenplat_report_main(void)
{
    uint64_t now = rdtsc();
    /*
     * CPUID base + 3, sub-leaf 0: ECX = the guest's TSC frequency, kHz. A
     * PV guest's CPUID shows no Xen leaves: its vcpu_time_info says.
     */
    uint32_t khz = mode == XENPLAT_PV
                       ? xenplat_pv_tsc_khz()
                       : cpuid(xen_base + XENABI_CPUID_LEAF_TIME, 0).ecx;

    if (khz == 0 || boot_entry_tsc == 0 || now < boot_entry_tsc) {
        printf("[boot] xen: entry to main: unknown (TSC %u kHz)\n", khz);
        return;
    }
    uint64_t us = (now - boot_entry_tsc) * 1000 / khz;
    printf("[boot] xen: entry to main %llu us\n", (unsigned long long)us);
}

/*
 * End the domain: drain the console ring first (xenconsoled must read it
 * before the domain is gone), then SCHEDOP_shutdown. Returns only if Xen
 * refused.
 */
static bool reboot_requested;

void xenplat_request_reboot(void)
{
    reboot_requested = true;
}

void xenplat_shutdown(uint8_t status)
{
    struct xenabi_sched_shutdown arg = {
        .reason = status != 0          ? XENABI_SHUTDOWN_CRASH
                  : reboot_requested ? XENABI_SHUTDOWN_REBOOT
                                     : XENABI_SHUTDOWN_POWEROFF,
    };

    if (ring_up) {
        /* After the hand-over the driver's published index is the end. */
        if (ring_handed_over)
            xenplat_console_ring_attach(&ring, ring_page);
        ring_wait(true);
    }
    xenplat_hypercall(XENABI_HYPERCALL_SCHED_OP, XENABI_SCHEDOP_SHUTDOWN,
                      xenabi_handle(&arg), 0, 0, 0);
}
