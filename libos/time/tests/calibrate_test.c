/*
 * Calibration arithmetic: rates, the PIT's wrapping counter, the CPUID
 * frequency leaves, medians; and a whole PIT calibration run against a
 * simulated TSC and PIT of known rates.
 */
#include <stdint.h>

#include <stdio.h>
#include <stdlib.h>
#include <testing/check.h>
#include "libos/time/calibrate.h"

typedef unsigned __int128 u128;

static void test_rate(void)
{
    CHECK(time_calibrate_rate(2600000, 1193182, 1193182) == 2600000);
    CHECK(time_calibrate_rate(52000000, 23863, CALIBRATE_PIT_HZ)
          == (uint64_t)(((u128)52000000 * CALIBRATE_PIT_HZ + 23863 / 2)
                        / 23863));
    CHECK(time_calibrate_rate(5, 0, 1000) == 0);
    CHECK(time_calibrate_rate(UINT64_MAX, 1, 2) == 0); /* overflow */
    for (int i = 0; i < 100000; i++) {
        uint64_t ticks = rng_bits(), ref = rng_bits(), hz = rng_bits();

        if (ref == 0) {
            CHECK(time_calibrate_rate(ticks, ref, hz) == 0);
            continue;
        }
        u128 exact = ((u128)ticks * hz + ref / 2) / ref;
        CHECK(time_calibrate_rate(ticks, ref, hz)
              == (exact > UINT64_MAX ? 0 : (uint64_t)exact));
    }
}

static void test_plausible(void)
{
    CHECK(!time_calibrate_plausible(0));
    CHECK(!time_calibrate_plausible(999999));
    CHECK(time_calibrate_plausible(1000000));
    CHECK(time_calibrate_plausible(UINT64_C(3000000000)));
    CHECK(time_calibrate_plausible(UINT64_C(100000000000)));
    CHECK(!time_calibrate_plausible(UINT64_C(100000000001)));
}

static void test_pit_elapsed(void)
{
    CHECK(time_calibrate_pit_elapsed(100, 100) == 0);
    CHECK(time_calibrate_pit_elapsed(100, 40) == 60);
    CHECK(time_calibrate_pit_elapsed(5, 65530) == 11); /* wrapped through 0 */
    CHECK(time_calibrate_pit_elapsed(0, 65535) == 1);  /* 0 is 65536 */
    CHECK(time_calibrate_pit_elapsed(1, 0) == 1);
    CHECK(time_calibrate_pit_elapsed(65535, 0) == 65535);
}

static void test_cpuid_leaves(void)
{
    /* 24 MHz crystal, ratio 200/2: 2.4 GHz. */
    CHECK(time_calibrate_tsc_leaf15(2, 200, 24000000) == UINT64_C(2400000000));
    /* 25 MHz x 176/2 = 2.2 GHz */
    CHECK(time_calibrate_tsc_leaf15(2, 176, 25000000) == UINT64_C(2200000000));
    CHECK(time_calibrate_tsc_leaf15(0, 200, 24000000) == 0);
    CHECK(time_calibrate_tsc_leaf15(2, 0, 24000000) == 0);
    CHECK(time_calibrate_tsc_leaf15(2, 200, 0) == 0); /* crystal not listed */
    CHECK(time_calibrate_tsc_leaf16(3000) == UINT64_C(3000000000));
    CHECK(time_calibrate_tsc_leaf16(0xabcd0000u | 2100)
          == UINT64_C(2100000000));
    CHECK(time_calibrate_tsc_leaf16(0) == 0);
    CHECK(time_calibrate_tsc_xen_leaf(2893412) == UINT64_C(2893412000));
}

static void test_median(void)
{
    uint64_t one[] = {7};
    uint64_t three[] = {9, 1, 5};
    uint64_t outlier[] = {2600000000u, UINT64_C(47000000000), 2600100000u};
    uint64_t four[] = {4, 3, 2, 1};

    CHECK(time_calibrate_median(one, 1) == 7);
    CHECK(time_calibrate_median(three, 3) == 5);
    CHECK(time_calibrate_median(outlier, 3) == 2600100000u);
    CHECK(time_calibrate_median(four, 4) == 3);
    CHECK(four[0] == 1 && four[3] == 4);
    CHECK(time_calibrate_median(NULL, 0) == 0);
    CHECK(time_calibrate_median(four, 4) == 3); /* already sorted */
    for (int i = 0; i < 1000; i++) {
        uint64_t v[15];
        unsigned n = (unsigned)rng_range(1, 15);

        for (unsigned j = 0; j < n; j++)
            v[j] = rng_below(100);
        uint64_t m = time_calibrate_median(v, n);
        unsigned below = 0, above = 0;
        for (unsigned j = 0; j < n; j++) {
            below += v[j] < m;
            above += v[j] > m;
            if (j > 0)
                CHECK(v[j - 1] <= v[j]);
        }
        CHECK(below <= n / 2 && above <= (n - 1) / 2);
    }
}

static void test_window_ok(void)
{
    struct calibrate_window w = {
        .tsc_ticks = 52000000,
        .counter_ticks = 23864,
        .start_bracket = 52000000 / CALIBRATE_BRACKET_DIVISOR,
        .end_bracket = 52000000 / CALIBRATE_BRACKET_DIVISOR,
        .max_gap = 52000000 / CALIBRATE_GAP_DIVISOR,
    };

    CHECK(time_calibrate_window_ok(&w)); /* exactly at every limit */
    w.start_bracket++;
    CHECK(!time_calibrate_window_ok(&w));
    w.start_bracket--;
    w.end_bracket++;
    CHECK(!time_calibrate_window_ok(&w));
    w.end_bracket--;
    w.max_gap++;
    CHECK(!time_calibrate_window_ok(&w));
    w.max_gap = 0;
    CHECK(time_calibrate_window_ok(&w));
    w.counter_ticks = 0;
    CHECK(!time_calibrate_window_ok(&w));
    w.counter_ticks = 1;
    w.tsc_ticks = 0;
    w.start_bracket = w.end_bracket = 0;
    CHECK(!time_calibrate_window_ok(&w));
}

/*
 * A simulated machine: a TSC at tsc_hz and a PIT at CALIBRATE_PIT_HZ
 * counting down from 65536, over true time in picoseconds. The window
 * below polls the simulated PIT the way tsc.c polls the real one, and
 * the simulated host stalls the vcpu at random moments, for 0.1 to
 * 80 ms: between the TSC reads and the PIT read they bracket, or
 * between polls (long enough to wrap the PIT unseen).
 */
struct machine {
    uint64_t tsc_hz;
    uint64_t tsc_base;
    uint64_t t_ps;       /* now */
    unsigned stall_odds; /* 1 in stall_odds steps stalls; 0: never */
    unsigned stalls;
};

static uint64_t sim_tsc(const struct machine *m)
{
    return m->tsc_base
           + (uint64_t)((u128)m->t_ps * m->tsc_hz / 1000000000000u);
}

static uint16_t sim_pit(const struct machine *m)
{
    return (uint16_t)(-(int64_t)((u128)m->t_ps * CALIBRATE_PIT_HZ
                                 / 1000000000000u));
}

/* Instructions take 50 to 2000 ns; sometimes the host takes longer. */
static void sim_step(struct machine *m)
{
    m->t_ps += rng_range(50000, 2000000);
    if (m->stall_odds && rng_below(m->stall_odds) == 0) {
        m->t_ps += rng_range(100000000, UINT64_C(80000000000));
        m->stalls++;
    }
}

static bool sim_window(void *ctx, struct calibrate_window *w)
{
    struct machine *m = ctx;
    uint64_t first_before, first_after, prev_before, before, after;
    uint16_t prev;

    *w = (struct calibrate_window){0};
    first_before = sim_tsc(m);
    sim_step(m);
    prev = sim_pit(m);
    sim_step(m);
    first_after = sim_tsc(m);
    prev_before = first_before;
    for (;;) {
        sim_step(m);
        before = sim_tsc(m);
        sim_step(m);
        uint16_t now = sim_pit(m);
        sim_step(m);
        after = sim_tsc(m);
        w->counter_ticks += time_calibrate_pit_elapsed(prev, now);
        if (after - prev_before > w->max_gap)
            w->max_gap = after - prev_before;
        prev = now;
        prev_before = before;
        if (w->counter_ticks >= CALIBRATE_PIT_HZ / 50)
            break;
    }
    w->tsc_ticks = (before + (after - before) / 2)
                   - (first_before + (first_after - first_before) / 2);
    w->start_bracket = first_after - first_before;
    w->end_bracket = after - before;
    w->hz = time_calibrate_rate(w->tsc_ticks, w->counter_ticks,
                                CALIBRATE_PIT_HZ);
    return true;
}

static uint64_t error_ppm(uint64_t got, uint64_t want)
{
    uint64_t err = got > want ? got - want : want - got;

    return (uint64_t)((u128)err * 1000000 / want);
}

static void test_pit_quiet(void)
{
    /* An undisturbed machine: every window is good and accurate. */
    for (int run = 0; run < 300; run++) {
        struct machine m = {rng_range(UINT64_C(500000000),
                                      UINT64_C(5000000000)),
                            rng_bits(), rng_below(UINT64_C(1) << 40), 0, 0};
        struct calibrate_window w;

        sim_window(&m, &w);
        CHECK(time_calibrate_window_ok(&w));
        CHECK(error_ppm(w.hz, m.tsc_hz) <= 200);
    }
}

static void test_pit_stalls(void)
{
    /*
     * A busy host: about one step in 20000 stalls, so many windows are
     * hit. Selection must still land within 0.2% (what it promises is
     * 0.1% per end of a good window, from the bracket limits).
     */
    unsigned hit = 0, total = 0;

    for (int run = 0; run < 200; run++) {
        struct machine m = {rng_range(UINT64_C(500000000),
                                      UINT64_C(5000000000)),
                            rng_bits(), rng_below(UINT64_C(1) << 40), 20000,
                            0};
        uint64_t hz = time_calibrate_select(sim_window, &m, 3, 20);

        total++;
        hit += m.stalls > 0;
        if (!CHECK(error_ppm(hz, m.tsc_hz) <= 2000))
            fprintf(stderr, "  %llu Hz measured as %llu after %u stalls\n",
                    (unsigned long long)m.tsc_hz, (unsigned long long)hz,
                    m.stalls);
    }
    /* The test is only worth something if the stalls happened. */
    CHECK(hit * 2 > total);
}

int main(void)
{
    rng_seed(20240503);
    test_rate();
    test_plausible();
    test_pit_elapsed();
    test_cpuid_leaves();
    test_median();
    test_window_ok();
    test_pit_quiet();
    test_pit_stalls();
    return check_finish();
}
