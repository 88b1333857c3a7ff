/*
 * A tiny harness for the host unit tests: CHECK() records and reports
 * a failure without stopping, a seeded generator makes random sequences
 * reproducible (the seed is printed; TEST_SEED=n in the environment
 * replays one), and check_finish() turns the count into the exit status.
 */
#ifndef TESTING_CHECK_H
#define TESTING_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static unsigned long check_count;
static unsigned long check_failures;

static inline bool check_at(bool ok, const char *what, const char *file,
                            int line)
{
    check_count++;
    if (!ok) {
        check_failures++;
        if (check_failures <= 20)
            fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
    }
    return ok;
}

#define CHECK(cond) check_at((cond), #cond, __FILE__, __LINE__)

static uint64_t rng_state;

static inline void rng_seed(uint64_t default_seed)
{
    const char *env = getenv("TEST_SEED");

    rng_state = env ? strtoull(env, NULL, 0) : default_seed;
    printf("seed %llu (TEST_SEED=n replays a seed)\n",
           (unsigned long long)rng_state);
}

/* splitmix64: small, fast, and good enough for test inputs. */
static inline uint64_t rng_next(void)
{
    uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Uniform in [0, n); n > 0. Modulo bias is irrelevant here. */
static inline uint64_t rng_below(uint64_t n)
{
    return rng_next() % n;
}

/* Uniform in [lo, hi]. */
static inline uint64_t rng_range(uint64_t lo, uint64_t hi)
{
    return lo + rng_below(hi - lo + 1);
}

/* A value with a random number of significant bits (1..64): covers
 * small and large magnitudes alike. */
static inline uint64_t rng_bits(void)
{
    unsigned bits = (unsigned)rng_range(1, 64);

    return bits == 64 ? rng_next() : rng_next() & ((UINT64_C(1) << bits) - 1);
}

static inline int check_finish(const char *name)
{
    printf("%s: %lu checks, %lu failures\n", name, check_count,
           check_failures);
    return check_failures ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif /* TESTING_CHECK_H */
