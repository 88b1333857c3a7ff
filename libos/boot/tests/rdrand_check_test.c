/*
 * RDRAND health checks (//libos/boot:core) against a scripted RDRAND:
 * the failure modes of broken parts are refused and never reach the
 * caller, a working one passes, and a fault is final.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <testing/check.h>

#include "libos/boot/rdrand_check.h"

/*
 * A scripted instruction: each call takes the next entry; `fails[i]`
 * nonzero makes call i report CF=0. Past the script, calls keep failing.
 */
struct script {
    const uint64_t *values;
    const uint8_t *fails; /* NULL: every call delivers */
    size_t len, calls;
};

static int scripted(void *ctx, uint64_t *out)
{
    struct script *s = ctx;
    size_t i = s->calls++;

    if (i >= s->len || (s->fails && s->fails[i]))
        return 0;
    *out = s->values[i];
    return 1;
}

/* A working generator: a different value every time (seeded). */
static int good(void *ctx, uint64_t *out)
{
    (void)ctx;
    uint64_t v;
    do
        v = rng_next();
    while (v == 0 || v == UINT64_MAX);
    *out = v;
    return 1;
}

static void test_working_rdrand(void)
{
    struct rdrand_health h = {0};
    uint64_t prev = 0, v = 0;

    CHECK(rdrand_self_test(&h, true, good, NULL));
    CHECK(h.tested);
    CHECK_EQ(h.fault, RDRAND_FAULT_NONE);
    for (int i = 0; i < 10000; i++) {
        CHECK(rdrand_draw(&h, good, NULL, &v));
        CHECK(v != prev);
        prev = v;
    }
    CHECK_EQ(h.fault, RDRAND_FAULT_NONE);
    CHECK(rdrand_fault_text(RDRAND_FAULT_NONE)[0] == '\0');
}

static void test_absent(void)
{
    struct rdrand_health h = {0};
    struct script s = {0};
    uint64_t v;

    CHECK(!rdrand_self_test(&h, false, scripted, &s));
    CHECK_EQ(h.fault, RDRAND_FAULT_ABSENT);
    CHECK(!rdrand_draw(&h, scripted, &s, &v));
    CHECK_EQ(s.calls, 0); /* the instruction is never executed */
}

/* The self-test sees `values` (all delivered); it must fail with `want`. */
static void expect_self_test_fault(const uint64_t *values, size_t len,
                                   enum rdrand_fault want)
{
    struct rdrand_health h = {0};
    struct script s = {values, NULL, len, 0};
    uint64_t v = 0x1234;

    CHECK(!rdrand_self_test(&h, true, scripted, &s));
    CHECK_EQ(h.fault, want);
    /* Final: no further draw, not even of a good value. */
    size_t calls = s.calls;
    CHECK(!rdrand_draw(&h, good, NULL, &v));
    CHECK_EQ(v, 0x1234);
    CHECK_EQ(s.calls, calls);
    CHECK(rdrand_fault_text(want)[0] != '\0');
}

static void test_all_ones(void)
{
    /* AMD family 15h/16h after resume: CF=1 and ~0 forever. */
    static const uint64_t ones[] = {UINT64_MAX, UINT64_MAX, UINT64_MAX};
    expect_self_test_fault(ones, 3, RDRAND_FAULT_ONES);
    /* Late in the self-test, after good values. */
    static const uint64_t late[] = {0x0123456789abcdef, 0x1111, UINT64_MAX};
    expect_self_test_fault(late, 3, RDRAND_FAULT_ONES);
}

static void test_all_zeros(void)
{
    static const uint64_t zeros[] = {0, 0, 0};
    expect_self_test_fault(zeros, 3, RDRAND_FAULT_ZEROS);
    static const uint64_t late[] = {0x5555, 0};
    expect_self_test_fault(late, 2, RDRAND_FAULT_ZEROS);
}

static void test_repeated(void)
{
    /* A stuck output that is neither 0 nor ~0. */
    static const uint64_t stuck[] = {0x9e3779b97f4a7c15, 0x9e3779b97f4a7c15,
                                     0x9e3779b97f4a7c15};
    expect_self_test_fault(stuck, 3, RDRAND_FAULT_REPEATED);
    static const uint64_t late[] = {1, 2, 2};
    expect_self_test_fault(late, 3, RDRAND_FAULT_REPEATED);
}

static void test_no_value(void)
{
    /* CF=0 on every try: ten instructions, then the fault. */
    struct rdrand_health h = {0};
    struct script s = {0};
    CHECK(!rdrand_self_test(&h, true, scripted, &s));
    CHECK_EQ(h.fault, RDRAND_FAULT_NO_VALUE);
    CHECK_EQ(s.calls, RDRAND_RETRIES);
}

static void test_transient_failures_retried(void)
{
    /* Nine CF=0 then a value: still fine (Intel's advice: ten tries). */
    static uint64_t values[RDRAND_RETRIES * 3];
    static uint8_t fails[RDRAND_RETRIES * 3];
    for (size_t i = 0; i < RDRAND_RETRIES * 3; i++) {
        fails[i] = i % RDRAND_RETRIES != RDRAND_RETRIES - 1;
        values[i] = 0x1000 + i;
    }
    struct rdrand_health h = {0};
    struct script s = {values, fails, RDRAND_RETRIES * 3, 0};
    CHECK(rdrand_self_test(&h, true, scripted, &s));
    CHECK_EQ(h.fault, RDRAND_FAULT_NONE);
    CHECK_EQ(s.calls, RDRAND_RETRIES * 3);
}

static void test_fault_after_self_test(void)
{
    /* Good through the self-test, then the same value twice. */
    static const uint64_t values[] = {10, 20, 30, 40, 40, 50};
    struct rdrand_health h = {0};
    struct script s = {values, NULL, 6, 0};
    uint64_t v = 0;

    CHECK(rdrand_self_test(&h, true, scripted, &s));
    CHECK(rdrand_draw(&h, scripted, &s, &v));
    CHECK_EQ(v, 40);
    v = 0;
    CHECK(!rdrand_draw(&h, scripted, &s, &v));
    CHECK_EQ(v, 0); /* the repeated value is not handed out */
    CHECK_EQ(h.fault, RDRAND_FAULT_REPEATED);
    CHECK(!rdrand_draw(&h, scripted, &s, &v));
    CHECK_EQ(s.calls, 5); /* 50 is never drawn */
}

static void test_random_bad_patterns(void)
{
    /* Any of the three patterns anywhere in a good run is caught there. */
    for (int round = 0; round < 2000; round++) {
        uint64_t values[16];
        size_t at = (size_t)rng_below(16);
        enum rdrand_fault want;

        for (size_t i = 0; i < 16; i++)
            values[i] = 0x100 + i * 0x10001 + (uint64_t)round;
        switch (rng_below(3)) {
        case 0: values[at] = 0; want = RDRAND_FAULT_ZEROS; break;
        case 1: values[at] = UINT64_MAX; want = RDRAND_FAULT_ONES; break;
        default:
            if (at == 0)
                at = 1;
            values[at] = values[at - 1];
            want = RDRAND_FAULT_REPEATED;
        }
        struct rdrand_health h = {0};
        struct script s = {values, NULL, 16, 0};
        uint64_t v;
        size_t good_draws = 0;

        if (rdrand_self_test(&h, true, scripted, &s)) {
            good_draws = RDRAND_SELF_TEST_DRAWS;
            while (rdrand_draw(&h, scripted, &s, &v)) {
                CHECK(v != 0 && v != UINT64_MAX);
                good_draws++;
            }
        }
        CHECK_EQ(h.fault, want);
        CHECK_EQ(s.calls, at + 1);
        CHECK(good_draws <= at);
    }
}

int main(void)
{
    rng_seed(20261206);
    RUN(test_working_rdrand);
    RUN(test_absent);
    RUN(test_all_ones);
    RUN(test_all_zeros);
    RUN(test_repeated);
    RUN(test_no_value);
    RUN(test_transient_failures_retried);
    RUN(test_fault_after_self_test);
    RUN(test_random_bad_patterns);
    return check_finish();
}
