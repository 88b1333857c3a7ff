/*
 * Start-up, the monotonic and wall clocks, and what was found.
 */
#include <arch/x86.h>
#include <boot/boot.h>
#include <platform/xen/pvclock.h>
#include <platform/xen/xen.h>
#include <stdarg.h>
#include <stdio.h>
#include <time/time.h>

#include "hypervisor.h"
#include "time_internal.h"

struct time_state time_state;

_Noreturn void time_panic(const char *fmt, ...)
{
    va_list ap;

    printf("[time] panic: ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    platform_exit(BOOT_EXIT_PANIC);
}

static void cpuid_into(uint32_t leaf, uint32_t subleaf, uint32_t regs[4])
{
    struct cpuid_regs r = cpuid(leaf, subleaf);

    regs[0] = r.eax;
    regs[1] = r.ebx;
    regs[2] = r.ecx;
    regs[3] = r.edx;
}

/*
 * For the pvclock: a TSC read that cannot be hoisted above the loads of
 * the version window before it (LFENCE waits for earlier instructions).
 */
static uint64_t rdtsc_ordered(void *ctx)
{
    (void)ctx;
    __asm__ volatile("lfence" : : : "memory");
    return rdtsc();
}

/*
 * The timer's vectors. The IDT is read-only after the seal, so they go in
 * before it (below), long before time_init() arms the timer; time_init()
 * calls this again, which then only checks them.
 */
static void install_vectors(void)
{
    if (boot_set_interrupt_gate(TIME_TIMER_VECTOR, time_timer_entry) != 0
        || boot_set_interrupt_gate(TIME_SPURIOUS_VECTOR, time_spurious_entry)
               != 0)
        time_panic("cannot install interrupt vectors %#x and %#x",
                   TIME_TIMER_VECTOR, TIME_SPURIOUS_VECTOR);
}

static void time_install_vectors(void)
{
    if (xenplat_mode() != XENPLAT_PV) /* PV: no IDT, Xen's timer */
        install_vectors();
}
BOOT_INIT(time_install_vectors, BOOT_INIT_ORDER_INTERRUPTS);

void time_init(void)
{
    struct time_state *s = &time_state;
    struct hypervisor_id hv;

    if (s->ready || s->initialising)
        return;
    s->initialising = true;
    if (xenplat_mode() == XENPLAT_PV) {
        /* No PIT, RTC, APIC or IDT there: Xen's clocks and timer. */
        time_xen_pv_init();
        s->ready = true;
        s->initialising = false;
        return;
    }
    uint64_t tsc_start = rdtsc();

    time_hypervisor_detect(cpuid_into, &hv);
    for (unsigned i = 0; i < sizeof hv.signature; i++)
        s->info.hypervisor[i] = hv.signature[i];
    s->info.xen = hv.xen;
    s->info.xen_cpuid_base = hv.xen_base;

    s->info.tsc_hz = time_tsc_calibrate(&hv, &s->info.calibration);
    if (!time_scale_make(TIME_NS_PER_S, s->info.tsc_hz, &s->tsc_to_ns))
        time_panic("cannot scale TSC ticks to ns at %llu Hz",
                   (unsigned long long)s->info.tsc_hz);

    install_vectors();
    time_timer_init();

    /* Monotonic time 0 is now. */
    s->tsc_epoch = rdtsc();
    s->info.calibration_ns =
        time_scale_apply(s->tsc_epoch - tsc_start, s->tsc_to_ns);

    struct time_civil now;
    if (time_rtc_read(&now)) {
        s->info.wall_clock = true;
        s->wall_at_zero_ns =
            time_unix_from_civil(&now) * (int64_t)TIME_NS_PER_S;
    }
    s->ready = true;
    s->initialising = false;
}

uint64_t time_monotonic_ns(void)
{
    struct time_state *s = &time_state;
    uint64_t ns, pv;

    if (!s->ready)
        time_init();
    if (!s->pvclock)
        ns = time_scale_apply(rdtsc() - s->tsc_epoch, s->tsc_to_ns);
    else if (xenplat_pvclock_read(s->pvclock, rdtsc_ordered, NULL, &pv))
        ns = xenplat_pvclock_monotonic(pv, s->pvclock_offset, s->last_ns);
    else
        ns = s->last_ns; /* Xen's clock is unreadable: stand still */

    /*
     * Clamp: a pvclock update, or a TSC read the CPU executed early, can
     * come out a little behind the previous result. Unsynchronised,
     * because only one context reads the clock at a time: interrupt
     * handlers run only inside the idle halt (see idle.c).
     */
    if (ns < s->last_ns)
        ns = s->last_ns;
    s->last_ns = ns;
    return ns;
}

bool time_wall_ns(int64_t *ns)
{
    struct time_state *s = &time_state;
    uint64_t mono = time_monotonic_ns();

    if (!s->info.wall_clock)
        return false;
    *ns = s->wall_at_zero_ns + (int64_t)mono;
    return true;
}

void time_use_pvclock(const volatile struct xenabi_vcpu_time_info *ti)
{
    struct time_state *s = &time_state;
    uint64_t mono = time_monotonic_ns();
    uint64_t pv;

    /* On PV the clock has been the pvclock since time_init(). */
    if (s->info.xen_pv)
        return;
    if (!xenplat_pvclock_read(ti, rdtsc_ordered, NULL, &pv)) {
        printf("[time] warning: the pvclock is unreadable (never stops "
               "changing, or invalid); keeping the TSC clock\n");
        return;
    }
    /* Modular arithmetic: correct whichever clock is ahead. */
    s->pvclock_offset = pv - mono;
    s->pvclock = ti;
    s->info.pvclock = true;
}

void time_use_xen_wallclock(const volatile struct xenabi_shared_info *shared)
{
    struct time_state *s = &time_state;
    int64_t wc;

    time_init();
    if (s->info.xen_pv || s->pvclock == NULL
        || !xenplat_wallclock_read(shared, &wc))
        return;
    /* Wall = wc + system time = wc + monotonic + offset. */
    s->wall_at_zero_ns = wc + (int64_t)s->pvclock_offset;
    s->info.wall_clock = true;
    s->info.wall_clock_xen = true;
}

const struct time_info *time_get_info(void)
{
    time_init();
    return &time_state.info;
}

const char *time_calibration_name(enum time_calibration c)
{
    switch (c) {
    case TIME_CALIBRATION_XEN_CPUID: return "xen-cpuid";
    case TIME_CALIBRATION_CPUID_15: return "cpuid-0x15";
    case TIME_CALIBRATION_CPUID_16: return "cpuid-0x16";
    case TIME_CALIBRATION_PIT: return "pit";
    case TIME_CALIBRATION_RTC: return "rtc";
    case TIME_CALIBRATION_XEN_PVCLOCK: return "xen-pvclock";
    }
    return "?";
}

const char *time_timer_mode_name(enum time_timer_mode m)
{
    switch (m) {
    case TIME_TIMER_LAPIC_ONESHOT: return "lapic-oneshot";
    case TIME_TIMER_LAPIC_TSC_DEADLINE: return "lapic-tsc-deadline";
    case TIME_TIMER_XEN_SINGLESHOT: return "xen-singleshot";
    }
    return "?";
}

void time_print_info(void)
{
    const struct time_info *i = time_get_info();
    int64_t wall;

    if (i->xen_pv)
        printf("[time] hypervisor: Xen PV; idle by %s\n",
               i->idle_on_events
                   ? "SCHEDOP_block, ended by any event through the upcall"
                   : "SCHEDOP_poll on the timer's port (events masked)");
    else if (i->xen)
        printf("[time] hypervisor: Xen (CPUID base %#x); idle by HLT, "
               "which Xen turns into SCHEDOP_block\n",
               i->xen_cpuid_base);
    else if (i->hypervisor[0])
        printf("[time] hypervisor: \"%s\" (not Xen); idle by HLT\n",
               i->hypervisor);
    else
        printf("[time] hypervisor: none; idle by HLT\n");
    printf("[time] clock: %s, tsc %llu Hz from %s, calibrated in %llu ms\n",
           i->pvclock ? "xen-pvclock" : "tsc",
           (unsigned long long)i->tsc_hz,
           time_calibration_name(i->calibration),
           (unsigned long long)(i->calibration_ns / TIME_NS_PER_MS));
    if (i->timer_mode == TIME_TIMER_XEN_SINGLESHOT)
        printf("[time] timer: %s, VIRQ_TIMER on event channel port %u\n",
               time_timer_mode_name(i->timer_mode), i->timer_port);
    else if (i->timer_mode == TIME_TIMER_LAPIC_ONESHOT)
        printf("[time] timer: %s at %llu Hz (%s), vector %#x\n",
               time_timer_mode_name(i->timer_mode),
               (unsigned long long)i->timer_hz,
               i->x2apic ? "x2apic" : "xapic", TIME_TIMER_VECTOR);
    else
        printf("[time] timer: %s (%s), vector %#x\n",
               time_timer_mode_name(i->timer_mode),
               i->x2apic ? "x2apic" : "xapic", TIME_TIMER_VECTOR);
    if (time_wall_ns(&wall)) {
        struct time_civil c;

        time_civil_from_unix(wall / (int64_t)TIME_NS_PER_S, &c);
        printf("[time] wall clock: %04d-%02u-%02uT%02u:%02u:%02uZ "
               "(%s)\n",
               (int)c.year, c.month, c.day, c.hour, c.minute, c.second,
               i->wall_clock_xen ? "xen-shared-info" : "cmos-rtc");
    } else {
        printf("[time] wall clock: none\n");
    }
}
