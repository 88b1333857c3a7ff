/*
 * <testing/check.h>: the one check harness of the project's C tests, on
 * the host and inside a test image alike.
 *
 * - CHECK(cond) and CHECK_EQ(a, b) record a failure with its location
 *   and go on, so one run shows every broken check.
 * - RUN(test) runs one test function, printing its name, between the
 *   hooks of a fixture if one is set (check_set_fixture): linking the
 *   simulated hypervisor (//testing/xensim) sets one, so each test starts
 *   on a fresh simulator and fails on a guest violation.
 * - A seeded generator (splitmix64) makes random sequences reproducible:
 *   rng_seed() prints the seed, and on the host TEST_SEED=n replays one.
 * - check_finish() prints the summary and gives the exit status: non-zero
 *   on a failure and also when nothing was checked (a test that checks
 *   nothing cannot fail, so it must not pass).
 */
#ifndef TESTING_CHECK_H
#define TESTING_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#define CHECK(cond) check_true((cond), #cond, __FILE__, __LINE__)
/* The same, described in words instead of the expression. */
#define CHECK_MSG(cond, what) check_true((cond), (what), __FILE__, __LINE__)
#define CHECK_EQ(a, b)                                                     \
    check_eq((uint64_t)(a), (uint64_t)(b), #a " == " #b, __FILE__, __LINE__)

bool check_true(bool ok, const char *what, const char *file, int line);
bool check_eq(uint64_t a, uint64_t b, const char *what, const char *file,
              int line);

/* A named property checked and printed either way ("  what: ok" or
 * "  what: FAILED"): for boot tests whose console output is the report. */
bool check_verdict(bool ok, const char *what);

#define RUN(test) check_run(test, #test)
void check_run(void (*test)(void), const char *name);

/* Hooks run before and after each RUN (NULL: none). */
void check_set_fixture(void (*begin)(const char *name),
                       void (*end)(const char *name));

/* Failures so far (a test may stop early once something broke). */
unsigned long check_failures(void);

/* "<tests> tests, <checks> checks, <failures> failures"; the exit status. */
int check_finish(void);

/* ---- random numbers ------------------------------------------------ */

/* Seeds the generator with default_seed, or on the host with TEST_SEED
 * from the environment; prints the seed. */
void rng_seed(uint64_t default_seed);
/* Seeds it silently (for tests that loop over many seeds). */
void rng_set(uint64_t seed);
uint64_t rng_next(void);
/* Uniform in [0, n); n > 0. Modulo bias is irrelevant here. */
uint64_t rng_below(uint64_t n);
/* Uniform in [lo, hi]. */
uint64_t rng_range(uint64_t lo, uint64_t hi);
/* A value with a random number (1..64) of significant bits: small and
 * large magnitudes alike. */
uint64_t rng_bits(void);

#endif /* TESTING_CHECK_H */
