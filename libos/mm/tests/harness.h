/*
 * What the host tests of //libos/mm share: checks that count failures
 * instead of stopping, a memory arena from the host, a fault recorder
 * and a seeded random number generator.
 */
#ifndef MM_TESTS_HARNESS_H
#define MM_TESTS_HARNESS_H

#include <mm/mm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MiB (UINT64_C(1) << 20)

/* A check reports its location and the expression, and counting goes on. */
#define CHECK(cond) harness_check((cond), #cond, __FILE__, __LINE__)
#define CHECK_EQ(a, b)                                                      \
    harness_check_eq((uint64_t)(a), (uint64_t)(b), #a " == " #b, __FILE__, \
                     __LINE__)

bool harness_check(bool ok, const char *what, const char *file, int line);
bool harness_check_eq(uint64_t a, uint64_t b, const char *what,
                      const char *file, int line);

/* Run one test function, printing its name. */
#define RUN(test) harness_run(test, #test)
void harness_run(void (*test)(void), const char *name);

/* Print the summary; the process exit status (0: all checks passed). */
int harness_finish(void);

/*
 * `mib` MiB of host memory, 2 MiB aligned and filled with 0xa5 (so code
 * that forgets to initialise something, or to zero what it promises to
 * zero, is caught). Replaces the previous arena.
 */
struct mm_region harness_arena(size_t mib);

/* ---- faults ---------------------------------------------------------- */

struct harness_faults {
    unsigned count;
    struct mm_fault_report last;
};
extern struct harness_faults harness_faults;

/* Install the recording fault handler and clear the record. */
void harness_record_faults(void);

/*
 * Exactly one fault since the last call (or harness_record_faults), of
 * this kind, for this pointer, in this function.
 */
#define CHECK_FAULT(kind, ptr, function)                                \
    harness_check_fault((kind), (ptr), (function), __FILE__, __LINE__)
bool harness_check_fault(enum mm_fault kind, const void *ptr,
                         const char *function, const char *file, int line);

/* ---- random numbers (splitmix64: tiny, and the same everywhere) ------- */

uint64_t rng_next(uint64_t *state);
/* Uniform in [0, n), n > 0. */
uint64_t rng_below(uint64_t *state, uint64_t n);

#endif /* MM_TESTS_HARNESS_H */
