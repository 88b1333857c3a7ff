/*
 * The pvclock reader: its arithmetic against exact 128-bit math, and
 * its version protocol against a simulated hypervisor that rewrites the
 * structure while the reader is in the middle of copying it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <platform/xen/pvclock.h>
#include <testing/check.h>

typedef unsigned __int128 u128;

/* Xen's formula, from its definition, in 128 bits. */
static uint64_t reference_ns(uint64_t system_time, uint64_t tsc_timestamp,
                             uint32_t mul, int8_t shift, uint64_t tsc)
{
    uint64_t delta = tsc > tsc_timestamp ? tsc - tsc_timestamp : 0;

    if (shift < 0)
        delta >>= -shift;
    else
        delta <<= shift;
    return system_time + (uint64_t)(((u128)delta * mul) >> 32);
}

/*
 * The scale Xen publishes for a TSC of `hz` (its set_time_scale(): halve
 * or double the rate into (10^9, 2 * 10^9], then mul = 10^9 * 2^32 / rate),
 * so the tests need no scale code of the guest's.
 */
struct xen_scale {
    uint32_t mul;
    int8_t shift;
};

static struct xen_scale xen_scale_for(uint64_t hz)
{
    const uint64_t ns_per_s = 1000000000u;
    uint64_t rate = hz;
    int8_t shift = 0;

    while (rate > 2 * ns_per_s) {
        rate >>= 1;
        shift--;
    }
    while (rate <= ns_per_s) {
        rate <<= 1;
        shift++;
    }
    return (struct xen_scale){(uint32_t)((ns_per_s << 32) / rate), shift};
}

static void test_scaling_random(void)
{
    for (int i = 0; i < 200000; i++) {
        struct xenabi_vcpu_time_info t;

        memset(&t, 0, sizeof t);
        t.system_time = rng_bits() >> 2;
        t.tsc_timestamp = rng_bits();
        t.tsc_to_system_mul = (uint32_t)rng_next();
        t.tsc_shift = (int8_t)((int)rng_range(0, 8) - 5); /* -5..3 */
        uint64_t tsc = t.tsc_timestamp + (rng_bits() >> 8);

        CHECK(xenplat_pvclock_ns_at(&t, tsc)
              == reference_ns(t.system_time, t.tsc_timestamp,
                              t.tsc_to_system_mul, t.tsc_shift, tsc));
    }
}

static void test_scaling_cases(void)
{
    struct xenabi_vcpu_time_info t;
    struct xen_scale s = xen_scale_for(3000000000u);

    /* What Xen publishes for a 3 GHz TSC: one second of ticks is 1e9 ns. */
    memset(&t, 0, sizeof t);
    t.tsc_to_system_mul = s.mul;
    t.tsc_shift = s.shift;
    t.system_time = 5000;
    t.tsc_timestamp = 1000;
    uint64_t ns = xenplat_pvclock_ns_at(&t, 1000 + 3000000000u);
    CHECK(ns >= 5000 + 1000000000 - 2 && ns <= 5000 + 1000000000);

    /* A TSC older than the timestamp counts as no time. */
    CHECK(xenplat_pvclock_ns_at(&t, 999) == 5000);
    CHECK(xenplat_pvclock_ns_at(&t, 0) == 5000);

    /* Negative shift: a 2^35 Hz-ish TSC halved before multiplying. */
    t.tsc_shift = -1;
    t.tsc_to_system_mul = 0x80000000u; /* 0.5 */
    t.tsc_timestamp = 0;
    t.system_time = 0;
    CHECK(xenplat_pvclock_ns_at(&t, 400) == 100); /* (400 >> 1) * 0.5 */
    t.tsc_shift = 2;
    CHECK(xenplat_pvclock_ns_at(&t, 400) == 800); /* (400 << 2) * 0.5 */
}

/*
 * The simulated hypervisor. The reader calls read_tsc() after copying
 * the fields and before re-reading the version: the script decides what
 * Xen does to the structure at that moment, on each call.
 */
enum action {
    NOTHING,        /* no update */
    START_UPDATE,   /* make version odd and scribble half the fields */
    FINISH_UPDATE,  /* complete fields, version even again */
    WHOLE_UPDATE,   /* a complete update: version += 2, new fields */
};

struct hypervisor {
    volatile struct xenabi_vcpu_time_info *ti;
    const enum action *script;
    unsigned steps;
    unsigned calls;
    uint64_t tsc;
    uint64_t next_system_time;
};

static void publish(struct hypervisor *h)
{
    h->ti->tsc_timestamp = h->tsc;
    h->ti->system_time = h->next_system_time;
    h->ti->tsc_to_system_mul = 0x80000000u; /* 0.5 ns per tick */
    h->ti->tsc_shift = 0;
}

static uint64_t fake_tsc(void *ctx)
{
    struct hypervisor *h = ctx;
    enum action a = h->calls < h->steps ? h->script[h->calls] : NOTHING;

    h->calls++;
    h->tsc += 10;
    switch (a) {
    case NOTHING:
        break;
    case START_UPDATE:
        h->ti->version++;
        h->ti->system_time = 0xdeadbeef; /* half-written garbage */
        break;
    case FINISH_UPDATE:
        h->next_system_time += 1000000;
        publish(h);
        h->ti->version++;
        break;
    case WHOLE_UPDATE:
        h->ti->version++;
        h->next_system_time += 1000000;
        publish(h);
        h->ti->version++;
        break;
    }
    return h->tsc;
}

static uint64_t run_script(const enum action *script, unsigned steps,
                           bool start_odd, unsigned *calls, bool *ok)
{
    static volatile struct xenabi_vcpu_time_info ti;
    struct hypervisor h = {&ti, script, steps, 0, 1000, 7000000};
    uint64_t ns = 0;

    ti.version = 2;
    publish(&h);
    if (start_odd)
        ti.version = 3;
    *ok = xenplat_pvclock_read(&ti, fake_tsc, &h, &ns);
    *calls = h.calls;
    return ns;
}

static void test_protocol(void)
{
    unsigned calls;
    bool ok;
    uint64_t ns;

    /* Quiet structure: one attempt; 0.5 ns per tick since the stamp. */
    ns = run_script(NULL, 0, false, &calls, &ok);
    CHECK(ok && calls == 1);
    CHECK(ns == 7000000 + (1010 - 1000) / 2);

    /* An update completes during the first attempt: retry, new fields. */
    static const enum action whole[] = {WHOLE_UPDATE};
    ns = run_script(whole, 1, false, &calls, &ok);
    CHECK(ok && calls == 2);
    /* Fields published at tsc 1010, read at tsc 1020. */
    CHECK(ns == 8000000 + (1020 - 1010) / 2);

    /* An update starts during the first attempt and ends in the second:
     * both are torn, the third is clean and never sees the garbage. */
    static const enum action split[] = {START_UPDATE, FINISH_UPDATE};
    ns = run_script(split, 2, false, &calls, &ok);
    CHECK(ok && calls == 3);
    CHECK(ns == 8000000 + (1030 - 1020) / 2);

    /* The reader arrives while version is odd: it must not use it. */
    static const enum action finish[] = {FINISH_UPDATE};
    ns = run_script(finish, 1, true, &calls, &ok);
    CHECK(ok && calls == 2);
    CHECK(ns == 8000000 + (1020 - 1010) / 2);

    /* An invalid shift: refused, never applied (it would be undefined). */
    {
        static volatile struct xenabi_vcpu_time_info bad;
        struct hypervisor h = {&bad, NULL, 0, 0, 1000, 7000000};

        bad.version = 2;
        publish(&h);
        bad.tsc_shift = 32;
        CHECK(!xenplat_pvclock_read(&bad, fake_tsc, &h, &ns));
        bad.tsc_shift = -32;
        CHECK(!xenplat_pvclock_read(&bad, fake_tsc, &h, &ns));
        bad.tsc_shift = 31;
        CHECK(xenplat_pvclock_read(&bad, fake_tsc, &h, &ns));
        bad.tsc_shift = -31;
        CHECK(xenplat_pvclock_read(&bad, fake_tsc, &h, &ns));
    }

    /* A writer that never finishes: give up, do not hang. */
    static const enum action start[] = {START_UPDATE};
    ns = run_script(start, 1, false, &calls, &ok);
    CHECK(!ok);
    CHECK(calls == PVCLOCK_MAX_ATTEMPTS);
}

/*
 * Random scripts, checked against a model of the protocol: attempt i
 * reads the version before Xen's action i and succeeds if that version
 * was even and action i left the structure alone. The model predicts
 * the number of attempts and which update the result comes from.
 */
static void test_protocol_random(void)
{
    for (int i = 0; i < 5000; i++) {
        enum action script[8];
        unsigned steps = (unsigned)rng_range(0, 8);
        bool open = false; /* an update started and not finished */

        for (unsigned s = 0; s < steps; s++) {
            if (open)
                script[s] = rng_below(2) ? FINISH_UPDATE : NOTHING;
            else
                script[s] = (enum action)rng_range(NOTHING, WHOLE_UPDATE);
            if (!open && script[s] == FINISH_UPDATE)
                script[s] = NOTHING;
            if (script[s] == START_UPDATE)
                open = true;
            if (script[s] == FINISH_UPDATE)
                open = false;
        }

        /* The model. */
        bool odd = false, expect_ok = false;
        unsigned updates = 0, expect_calls = 0;
        for (unsigned call = 0; call < PVCLOCK_MAX_ATTEMPTS; call++) {
            enum action a = call < steps ? script[call] : NOTHING;

            if (!odd && a == NOTHING) {
                expect_ok = true;
                expect_calls = call + 1;
                break;
            }
            if (a == START_UPDATE)
                odd = true;
            if (a == FINISH_UPDATE || a == WHOLE_UPDATE) {
                odd = false;
                updates++;
            }
            if (call >= steps && odd) {
                expect_calls = PVCLOCK_MAX_ATTEMPTS;
                break; /* never finishes */
            }
        }

        /* A stuck writer costs PVCLOCK_MAX_ATTEMPTS calls: sample those. */
        if (!expect_ok && rng_below(50) != 0)
            continue;
        unsigned calls;
        bool ok;
        uint64_t ns = run_script(script, steps, false, &calls, &ok);

        CHECK(ok == expect_ok);
        CHECK(calls == expect_calls);
        if (!ok || !expect_ok)
            continue;
        /* The last update published at tsc 1000 + 10 * k for some k, and
         * the read's TSC is 10 ticks (5 ns) later than the latest action. */
        CHECK(ns / 1000000 == 7 + updates);
        CHECK(ns % 1000000 <= 5 * (calls + 1));
    }
}

/*
 * The TSC rate a pvclock scale describes: for rates Xen could publish,
 * the scale made from a rate (as Xen makes it) gives the rate back to
 * within the scale's rounding (mul is truncated: a few ppm at worst).
 */
static void test_tsc_hz(void)
{
    CHECK(xenplat_pvclock_tsc_hz(0, 0) == 0);
    CHECK(xenplat_pvclock_tsc_hz(1u << 31, 40) == 0);
    CHECK(xenplat_pvclock_tsc_hz(1u << 31, -40) == 0);
    /* mul 2^31, shift 1: ns = ticks, so 1 GHz exactly. */
    CHECK(xenplat_pvclock_tsc_hz(1u << 31, 1) == 1000000000u);
    /* mul 2^31, shift 0: ns = ticks / 2, 2 GHz. */
    CHECK(xenplat_pvclock_tsc_hz(1u << 31, 0) == 2000000000u);
    for (int i = 0; i < 20000; i++) {
        uint64_t hz = rng_range(1000000, 10000000000u); /* 1 MHz..10 GHz */
        struct xen_scale sc = xen_scale_for(hz);
        uint64_t back = xenplat_pvclock_tsc_hz(sc.mul, sc.shift);
        uint64_t diff = back > hz ? back - hz : hz - back;
        CHECK(diff <= hz / 100000 + 1); /* 10 ppm */
    }
}

/* Steps back of Xen's clock: never below the last value, never a wrap. */
static void test_monotonic(void)
{
    uint64_t off = UINT64_C(150000000000); /* Xen up 150 s at our zero */
    CHECK(xenplat_pvclock_monotonic(off, off, 0) == 0);
    CHECK(xenplat_pvclock_monotonic(off + 500, off, 0) == 500);
    /* 2 us back, just after the zero: stands still, no 2^64 jump. */
    CHECK(xenplat_pvclock_monotonic(off - 2000, off, 0) == 0);
    CHECK(xenplat_pvclock_monotonic(off - 2000, off, 700) == 700);
    /* Back, but still above zero: the last value. */
    CHECK(xenplat_pvclock_monotonic(off + 400, off, 500) == 500);
    /* An offset that wrapped (the PVH switch takes pv - mono): modular. */
    CHECK(xenplat_pvclock_monotonic(5, UINT64_MAX - 4, 0) == 10);
    for (int i = 0; i < 100000; i++) {
        uint64_t o = rng_next(), last = rng_below(UINT64_C(1) << 62);
        uint64_t pv = o + last + rng_below(1000000) - 500000;
        uint64_t m = xenplat_pvclock_monotonic(pv, o, last);
        CHECK(m >= last && m <= last + 500000);
    }
}

/* The wall clock under its version, and what makes it invalid. */
static void test_wallclock(void)
{
    static struct xenabi_shared_info si;
    int64_t ns = -1;

    memset(&si, 0, sizeof si);
    CHECK(!xenplat_wallclock_read(&si, &ns)); /* never set */
    CHECK(ns == -1);
    si.wc_version = 2;
    si.wc_sec = 1700000000u;
    si.wc_nsec = 123456789;
    CHECK(xenplat_wallclock_read(&si, &ns));
    CHECK(ns == INT64_C(1700000000123456789));
    /* Seconds beyond 2106 need wc_sec_hi. */
    si.wc_sec_hi = 1;
    si.wc_sec = 5;
    si.wc_nsec = 0;
    CHECK(xenplat_wallclock_read(&si, &ns));
    CHECK(ns == ((INT64_C(1) << 32) + 5) * 1000000000);
    si.wc_sec_hi = 0;
    si.wc_nsec = 1000000000u; /* out of range */
    CHECK(!xenplat_wallclock_read(&si, &ns));
    si.wc_nsec = 0;
    si.wc_version = 3; /* Xen in the middle of an update, forever */
    CHECK(!xenplat_wallclock_read(&si, &ns));
}

int main(void)
{
    rng_seed(20240502);
    test_tsc_hz();
    test_monotonic();
    test_wallclock();
    test_scaling_cases();
    test_scaling_random();
    test_protocol();
    test_protocol_random();
    return check_finish();
}
