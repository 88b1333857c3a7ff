/* The harness of <testing/check.h>. */
#include <testing/check.h>

#include <stdio.h>
#include <stdlib.h>

static unsigned long checks, failures, tests;
static uint64_t rng_state;

bool check_true(bool ok, const char *what, const char *file, int line)
{
    checks++;
    if (!ok) {
        failures++;
        printf("FAIL %s:%d: %s\n", file, line, what);
    }
    return ok;
}

bool check_eq(uint64_t a, uint64_t b, const char *what, const char *file,
              int line)
{
    checks++;
    if (a != b) {
        failures++;
        printf("FAIL %s:%d: %s (%lld != %lld, %#llx != %#llx)\n", file, line,
               what, (long long)a, (long long)b, (unsigned long long)a,
               (unsigned long long)b);
    }
    return a == b;
}

bool check_verdict(bool ok, const char *what)
{
    checks++;
    printf("  %s: %s\n", what, ok ? "ok" : "FAILED");
    if (!ok)
        failures++;
    return ok;
}

static void (*fixture_begin)(const char *name);
static void (*fixture_end)(const char *name);

void check_set_fixture(void (*begin)(const char *name),
                       void (*end)(const char *name))
{
    fixture_begin = begin;
    fixture_end = end;
}

void check_run(void (*test)(void), const char *name)
{
    unsigned long before = failures;

    printf("--- %s\n", name);
    if (fixture_begin)
        fixture_begin(name);
    test();
    if (fixture_end)
        fixture_end(name);
    tests++;
    if (failures != before)
        printf("--- %s: %lu failures\n", name, failures - before);
}

unsigned long check_failures(void)
{
    return failures;
}

int check_finish(void)
{
    printf("%lu tests, %lu checks, %lu failures\n", tests, checks, failures);
    if (checks == 0)
        printf("FAIL: nothing was checked\n");
    return failures == 0 && checks > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

void rng_set(uint64_t seed)
{
    rng_state = seed;
}

void rng_seed(uint64_t default_seed)
{
    rng_state = default_seed;
#if __STDC_HOSTED__
    const char *env = getenv("TEST_SEED");
    if (env)
        rng_state = strtoull(env, NULL, 0);
#endif
    printf("seed %llu (TEST_SEED=n replays a seed)\n",
           (unsigned long long)rng_state);
}

uint64_t rng_next(void)
{
    uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

uint64_t rng_below(uint64_t n)
{
    return rng_next() % n;
}

uint64_t rng_range(uint64_t lo, uint64_t hi)
{
    return lo + rng_below(hi - lo + 1);
}

uint64_t rng_bits(void)
{
    unsigned bits = (unsigned)rng_range(1, 64);

    return bits == 64 ? rng_next() : rng_next() & ((UINT64_C(1) << bits) - 1);
}
