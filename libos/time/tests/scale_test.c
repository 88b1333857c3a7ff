/*
 * time_muldiv64 and the fixed-point scales, against exact 128-bit arithmetic
 * (the host compiler has unsigned __int128; the image does not divide
 * with it, which is why the code under test exists).
 */
#include <stdint.h>

#include <stdio.h>
#include <stdlib.h>
#include <testing/check.h>
#include "libos/time/muldiv.h"
#include "libos/time/scale.h"

typedef unsigned __int128 u128;

static void test_muldiv_random(void)
{
    for (int i = 0; i < 200000; i++) {
        uint64_t a = rng_bits(), b = rng_bits(), d = rng_bits();
        u128 exact = d ? (u128)a * b / d : 0;
        u128 rounded = d ? ((u128)a * b + d / 2) / d : 0;
        uint64_t q;
        bool ok = time_muldiv64(a, b, d, &q);

        if (d == 0 || exact > UINT64_MAX) {
            CHECK(!ok);
        } else if (CHECK(ok)) {
            CHECK(q == (uint64_t)exact);
        }
        ok = time_muldiv64_round(a, b, d, &q);
        if (d == 0 || rounded > UINT64_MAX) {
            CHECK(!ok);
        } else if (CHECK(ok)) {
            CHECK(q == (uint64_t)rounded);
        }
    }
}

static void test_muldiv_edges(void)
{
    uint64_t q;

    CHECK(time_muldiv64(UINT64_MAX, UINT64_MAX, UINT64_MAX, &q)
          && q == UINT64_MAX);
    CHECK(!time_muldiv64(UINT64_MAX, 2, 1, &q)); /* 2^65 - 2 overflows */
    CHECK(time_muldiv64(UINT64_C(1) << 63, 2, 2, &q) && q == UINT64_C(1) << 63);
    CHECK(!time_muldiv64(1, 1, 0, &q));
    CHECK(time_muldiv64(0, 12345, 7, &q) && q == 0);
    CHECK(time_muldiv64_round(7, 1, 2, &q) && q == 4); /* 3.5 rounds up */
    CHECK(time_muldiv64_round(5, 1, 3, &q) && q == 2); /* 1.67 */
}

/* Check time_scale_make(num, den) and its promise on applied values. */
static void check_scale(uint64_t num, uint64_t den)
{
    struct time_scale s;

    if (!CHECK(time_scale_make(num, den, &s)))
        return;
    CHECK(s.mul >= (UINT32_C(1) << 31));
    for (int i = 0; i < 50; i++) {
        uint64_t x = rng_bits();

        if (s.shift > 0)
            x >>= s.shift; /* the caller's side of the bargain */
        u128 exact = (u128)x * num / den;
        uint64_t got = time_scale_apply(x, s);

        if (exact > UINT64_MAX)
            continue; /* the result would not fit; not promised */
        CHECK(got <= exact);
        CHECK(exact - got <= (exact >> 31) + 2);
    }
}

static void test_scale_random(void)
{
    /* Ratios across the promised range [2^-32, 2^31). */
    for (int i = 0; i < 20000; i++) {
        uint64_t den = rng_range(1, UINT64_C(1) << 40);
        int exp = (int)rng_range(0, 61) - 31; /* ratio about 2^exp */
        uint64_t num = exp >= 0 ? den << exp : den >> -exp;

        if (num == 0 || (exp > 0 && num >> exp != den))
            continue;
        num += rng_below(num / 2 + 1);
        if ((u128)num >= (u128)den << 31)
            continue;
        check_scale(num, den);
    }
}

static void test_scale_clock_rates(void)
{
    /* The conversions the clock makes, at rates from 1 MHz to 100 GHz. */
    for (int i = 0; i < 5000; i++) {
        uint64_t hz = rng_range(UINT64_C(1000000), UINT64_C(100000000000));

        check_scale(UINT64_C(1000000000), hz); /* TSC ticks -> ns */
        check_scale(hz, UINT64_C(1000000000)); /* ns -> ticks */
    }
    /* A 2.6 GHz TSC: 2.6e9 ticks are one second, to within 2^-31. */
    struct time_scale s;
    CHECK(time_scale_make(1000000000, 2600000000u, &s));
    uint64_t ns = time_scale_apply(2600000000u, s);
    CHECK(ns <= 1000000000 && ns >= 1000000000 - 2);
    CHECK(s.shift == -1 || s.shift == 0);
}

static void test_scale_rejects(void)
{
    struct time_scale s;

    CHECK(!time_scale_make(0, 5, &s));
    CHECK(!time_scale_make(5, 0, &s));
    CHECK(!time_scale_make(UINT64_C(1) << 31, 1, &s)); /* ratio 2^31 */
    CHECK(time_scale_make((UINT64_C(1) << 31) - 1, 1, &s));
    CHECK(!time_scale_make(1, UINT64_C(1) << 33, &s)); /* 2^-33 */
    CHECK(time_scale_make(1, UINT64_C(1) << 32, &s));  /* 2^-32 */
}

int main(void)
{
    rng_seed(20240501);
    test_muldiv_edges();
    test_muldiv_random();
    test_scale_rejects();
    test_scale_random();
    test_scale_clock_rates();
    return check_finish();
}
