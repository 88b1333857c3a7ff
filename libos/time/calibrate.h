/*
 * The arithmetic of calibration, apart from the devices it reads, so the
 * host tests can check it: counter rates from two readings, the i8254's
 * wrapping down-counter, the CPUID frequency leaves, medians. Pure.
 */
#ifndef TIME_CALIBRATE_H
#define TIME_CALIBRATE_H

#include <stdbool.h>
#include <stdint.h>

/* The i8254 PIT's input clock: 105/88 MHz, 1193181.8 Hz (rounded). */
#define CALIBRATE_PIT_HZ UINT64_C(1193182)

/* Frequencies outside this range are treated as measurement failures. */
#define CALIBRATE_MIN_HZ UINT64_C(1000000)      /* 1 MHz */
#define CALIBRATE_MAX_HZ UINT64_C(100000000000) /* 100 GHz */

/*
 * The rate of a counter that advanced `ticks` while a reference clock of
 * `ref_hz` advanced `ref_ticks`: ticks * ref_hz / ref_ticks, rounded to
 * the nearest Hz. 0 if ref_ticks is 0 or the result overflows.
 */
uint64_t time_calibrate_rate(uint64_t ticks, uint64_t ref_ticks,
                             uint64_t ref_hz);

/* Within [CALIBRATE_MIN_HZ, CALIBRATE_MAX_HZ]? */
bool time_calibrate_plausible(uint64_t hz);

/*
 * Ticks a PIT channel counted from reading `earlier` to reading `later`.
 * In mode 2 with a reload value of 0 (65536) the counter runs down
 * through 65535..1, 0 and around again, so the difference modulo 65536
 * is exact as long as fewer than 65536 ticks (55 ms) pass between reads.
 */
uint32_t time_calibrate_pit_elapsed(uint16_t earlier, uint16_t later);

/*
 * CPUID leaf 0x15 (Intel SDM vol. 2, CPUID): the TSC runs at
 * crystal_hz (ECX) * numerator (EBX) / denominator (EAX). 0 when the
 * leaf leaves any of them 0 ("not enumerated").
 */
uint64_t time_calibrate_tsc_leaf15(uint32_t eax, uint32_t ebx, uint32_t ecx);

/*
 * CPUID leaf 0x16: EAX bits 15:0 are the processor's base frequency in
 * MHz, which is the TSC's rate on CPUs with an invariant TSC. 0 when 0.
 */
uint64_t time_calibrate_tsc_leaf16(uint32_t eax);

/* Xen's CPUID time leaf, sub-leaf 0: ECX is the guest TSC rate in kHz. */
uint64_t time_calibrate_tsc_xen_leaf(uint32_t ecx);

/*
 * One measurement window: the TSC against another counter (the PIT, to
 * learn the TSC's rate; or the APIC timer, to learn its rate from the
 * TSC's). Each reading of the other counter is bracketed by two TSC
 * reads; the TSC value used is the bracket's midpoint, so it is off by
 * at most half the bracket.
 */
struct calibrate_window {
    uint64_t tsc_ticks;     /* TSC between the two end readings */
    uint64_t counter_ticks; /* the other counter, same interval */
    uint64_t start_bracket; /* TSC ticks around the first reading */
    uint64_t end_bracket;   /* ... and around the last */
    uint64_t max_gap;       /* most TSC ticks between two consecutive
                             * readings, bracket to bracket; 0 if the
                             * counter cannot wrap within the window */
    uint64_t hz;            /* the rate the window measured */
};

/*
 * Is a window sharp enough to use? Under emulation the host can stop
 * the vcpu at any instruction for milliseconds: between a TSC read and
 * the counter read it brackets (the reading is then off by the stall),
 * or between two polls of the PIT (which then wraps unseen and loses
 * 55 ms). So each bracket must be within 1/CALIBRATE_BRACKET_DIVISOR of
 * the window (0.1% error at most), and no gap longer than
 * 1/CALIBRATE_GAP_DIVISOR of it. A window that lost a wrap is at least
 * 20 + 55 ms long with a gap of at least 55 ms, so the gap test rejects
 * it, and still does with up to three wraps lost in separate gaps; more
 * separate stalls than that in one window is what the median of three
 * windows is for. A clean 20 ms window may still have 5 ms gaps, which
 * a busy build machine produces all the time.
 */
#define CALIBRATE_BRACKET_DIVISOR 1000
#define CALIBRATE_GAP_DIVISOR 4
bool time_calibrate_window_ok(const struct calibrate_window *w);

/* Measures one window into *w; false if the counter does not count. */
typedef bool (*calibrate_measure_fn)(void *ctx, struct calibrate_window *w);

#define CALIBRATE_MAX_ATTEMPTS 32

/*
 * Measure up to `attempts` (<= CALIBRATE_MAX_ATTEMPTS) windows, stopping
 * once `wanted` of them are good (time_calibrate_window_ok()), and return the
 * median rate of the good ones; if none is good (a host too busy for
 * any clean window), the median of all of them. 0 if `measure` fails.
 */
uint64_t time_calibrate_select(calibrate_measure_fn measure, void *ctx,
                               unsigned wanted, unsigned attempts);

/* The median of `count` values (the upper one of an even count); sorts
 * them in place. 0 for no values. */
uint64_t time_calibrate_median(uint64_t *values, unsigned count);

#endif /* TIME_CALIBRATE_H */
