/*
 * The TSC's frequency: asked of CPUID where the CPU or hypervisor
 * states it, otherwise measured against a clock of known rate. The
 * order and the reasons are in <time/time.h>.
 */
#include <arch/x86.h>
#include <xenabi/cpuid.h>

#include "calibrate.h"
#include "time_internal.h"

/*
 * PIT windows: 20 ms each (well below the counter's 55 ms period). A
 * window the host disturbed is thrown away (time_calibrate_window_ok()); the
 * median of the first PIT_WINDOWS good ones wins (time_calibrate_select()).
 */
#define PIT_WINDOW_TICKS (CALIBRATE_PIT_HZ / 50)
#define PIT_WINDOWS 3
#define PIT_ATTEMPTS 20
/* Give up on a window after this many TSC ticks (10 s at 100 GHz). */
#define PIT_WINDOW_TSC_LIMIT UINT64_C(1000000000000)

/* One PIT reading between two TSC reads. */
struct pit_sample {
    uint16_t count;
    uint64_t before, after;
};

static void pit_sample(struct pit_sample *s)
{
    s->before = rdtsc();
    s->count = time_pit_read();
    s->after = rdtsc();
}

static uint64_t midpoint(const struct pit_sample *s)
{
    return s->before + (s->after - s->before) / 2;
}

/* Poll the PIT until PIT_WINDOW_TICKS have passed; false if it stops. */
static bool pit_window(void *ctx, struct calibrate_window *w)
{
    struct pit_sample first, prev, now;

    (void)ctx;
    pit_sample(&first);
    prev = first;
    *w = (struct calibrate_window){0};
    for (;;) {
        pit_sample(&now);
        w->counter_ticks += time_calibrate_pit_elapsed(prev.count, now.count);
        if (now.after - prev.before > w->max_gap)
            w->max_gap = now.after - prev.before;
        prev = now;
        if (w->counter_ticks >= PIT_WINDOW_TICKS)
            break;
        if (now.after - first.before > PIT_WINDOW_TSC_LIMIT)
            return false;
    }
    w->tsc_ticks = midpoint(&now) - midpoint(&first);
    w->start_bracket = first.after - first.before;
    w->end_bracket = now.after - now.before;
    w->hz = time_calibrate_rate(w->tsc_ticks, w->counter_ticks,
                                CALIBRATE_PIT_HZ);
    return true;
}

/* One RTC second in TSC ticks: slow (1-2 s), the last resort. */
static uint64_t measure_with_rtc(void)
{
    uint64_t first, second;

    if (!time_rtc_next_update(&first) || !time_rtc_next_update(&second))
        return 0;
    return second - first;
}

uint64_t time_tsc_calibrate(const struct hypervisor_id *hv,
                            enum time_calibration *how)
{
    uint64_t hz;

    if (hv->xen
        && hv->xen_max_leaf >= hv->xen_base + XENABI_CPUID_LEAF_TIME) {
        uint32_t khz = cpuid(hv->xen_base + XENABI_CPUID_LEAF_TIME, 0).ecx;

        hz = time_calibrate_tsc_xen_leaf(khz);
        if (time_calibrate_plausible(hz)) {
            *how = TIME_CALIBRATION_XEN_CPUID;
            return hz;
        }
    }

    uint32_t max_leaf = cpuid(0, 0).eax;
    if (max_leaf >= 0x15) {
        struct cpuid_regs r = cpuid(0x15, 0);

        hz = time_calibrate_tsc_leaf15(r.eax, r.ebx, r.ecx);
        if (time_calibrate_plausible(hz)) {
            *how = TIME_CALIBRATION_CPUID_15;
            return hz;
        }
    }
    if (max_leaf >= 0x16) {
        hz = time_calibrate_tsc_leaf16(cpuid(0x16, 0).eax);
        if (time_calibrate_plausible(hz)) {
            *how = TIME_CALIBRATION_CPUID_16;
            return hz;
        }
    }
    if (time_pit_start()) {
        hz = time_calibrate_select(pit_window, NULL, PIT_WINDOWS, PIT_ATTEMPTS);
        if (time_calibrate_plausible(hz)) {
            *how = TIME_CALIBRATION_PIT;
            return hz;
        }
    }
    hz = measure_with_rtc();
    if (time_calibrate_plausible(hz)) {
        *how = TIME_CALIBRATION_RTC;
        return hz;
    }
    time_panic("no way to learn the TSC frequency: no Xen or CPUID "
               "frequency leaf, no i8254 PIT and no CMOS RTC (QEMU: do "
               "not start microvm with pit=off and rtc=off)");
}
