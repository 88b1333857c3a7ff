/*
 * The wake-up timer in nanoseconds, on top of the local APIC timer:
 * TSC-deadline mode when the CPU has it (an absolute TSC value, no rate
 * to measure), else one-shot mode with the APIC timer's rate measured
 * against the TSC.
 */
#include <arch/x86.h>

#include "calibrate.h"
#include "time_internal.h"

/*
 * One-shot calibration: windows of 10 ms of TSC; as for the PIT, a
 * window the host disturbed is discarded and the median of the first
 * three good ones wins (of all of them, if fewer are good).
 */
#define MEASURE_WINDOWS 3
#define MEASURE_ATTEMPTS 20
#define MEASURE_WINDOW_DIVISOR 100

/*
 * Deadlines further out than this are armed at this distance: the CPU
 * wakes early and its waiter arms again. Keeps ns-to-ticks products far
 * from overflow at any plausible rate (2^40 ns is about 18 minutes).
 */
#define MAX_ARM_NS (UINT64_C(1) << 40)

/* The APIC timer's count between two TSC reads; TSC midpoint. */
static uint32_t timer_sample(uint64_t *tsc, uint64_t *bracket)
{
    uint64_t before = rdtsc();
    uint32_t count = time_lapic_timer_current();
    uint64_t after = rdtsc();

    *tsc = before + (after - before) / 2;
    *bracket = after - before;
    return count;
}

static bool measure_window(void *ctx, struct calibrate_window *w)
{
    uint64_t tsc_hz = *(const uint64_t *)ctx;
    uint64_t tsc0, tsc1;

    *w = (struct calibrate_window){0};
    time_lapic_timer_measure_start();
    uint32_t count0 = timer_sample(&tsc0, &w->start_bracket);
    while (rdtsc() - tsc0 < tsc_hz / MEASURE_WINDOW_DIVISOR)
        pause();
    uint32_t count1 = timer_sample(&tsc1, &w->end_bracket);
    time_lapic_timer_stop();

    /* A 32-bit count at <= 10 GHz cannot run out in 10 ms: no gaps. */
    w->tsc_ticks = tsc1 - tsc0;
    w->counter_ticks = count0 - count1; /* it counts down */
    w->hz = time_calibrate_rate(w->counter_ticks, w->tsc_ticks, tsc_hz);
    return true;
}

void time_timer_init(void)
{
    struct time_state *s = &time_state;
    uint64_t tsc_hz = s->info.tsc_hz;

    time_lapic_init();
    s->info.x2apic = time_lapic_x2apic();
    if (time_lapic_has_tsc_deadline()) {
        s->info.timer_mode = TIME_TIMER_LAPIC_TSC_DEADLINE;
        if (!time_scale_make(tsc_hz, TIME_NS_PER_S, &s->ns_to_tsc))
            time_panic("cannot scale ns to TSC ticks at %llu Hz",
                       (unsigned long long)tsc_hz);
        return;
    }

    s->info.timer_mode = TIME_TIMER_LAPIC_ONESHOT;
    s->info.timer_hz = time_calibrate_select(measure_window, &tsc_hz,
                                             MEASURE_WINDOWS, MEASURE_ATTEMPTS);
    if (!time_calibrate_plausible(s->info.timer_hz))
        time_panic("the APIC timer does not count (%llu Hz)",
                   (unsigned long long)s->info.timer_hz);
    if (!time_scale_make(s->info.timer_hz, TIME_NS_PER_S, &s->ns_to_timer))
        time_panic("cannot scale ns to APIC timer ticks at %llu Hz",
                   (unsigned long long)s->info.timer_hz);
}

void time_timer_arm(uint64_t deadline_ns, uint64_t now_ns)
{
    struct time_state *s = &time_state;
    uint64_t delta = deadline_ns - now_ns;

    if (delta > MAX_ARM_NS)
        delta = MAX_ARM_NS;
    if (s->info.timer_mode == TIME_TIMER_LAPIC_TSC_DEADLINE) {
        /* +1: the scale rounds down, and early is worse than late. */
        time_lapic_timer_tsc_deadline(rdtsc()
                                      + time_scale_apply(delta, s->ns_to_tsc)
                                      + 1);
        return;
    }
    uint64_t ticks = time_scale_apply(delta, s->ns_to_timer) + 1;
    if (ticks > LAPIC_TIMER_MAX_TICKS)
        ticks = LAPIC_TIMER_MAX_TICKS;
    time_lapic_timer_oneshot((uint32_t)ticks);
}

void time_timer_disarm(void)
{
    time_lapic_timer_stop();
}
