#include "harness.h"

#include <mm/mm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned checks, failures;
static void *arena;

bool harness_check(bool ok, const char *what, const char *file, int line)
{
    checks++;
    if (!ok) {
        failures++;
        printf("%s:%d: FAIL: %s\n", file, line, what);
    }
    return ok;
}

bool harness_check_eq(uint64_t a, uint64_t b, const char *what,
                      const char *file, int line)
{
    checks++;
    if (a != b) {
        failures++;
        printf("%s:%d: FAIL: %s (%llu != %llu, %#llx != %#llx)\n", file, line,
               what, (unsigned long long)a, (unsigned long long)b,
               (unsigned long long)a, (unsigned long long)b);
    }
    return a == b;
}

void harness_run(void (*test)(void), const char *name)
{
    unsigned before = failures;

    printf("-- %s\n", name);
    test();
    if (failures != before)
        printf("-- %s: %u failures\n", name, failures - before);
}

int harness_finish(void)
{
    free(arena);
    arena = NULL;
    printf("%u checks, %u failures\n", checks, failures);
    return failures == 0 && checks > 0 ? 0 : 1;
}

struct mm_region harness_arena(size_t mib)
{
    size_t bytes = mib * MiB;

    free(arena);
    arena = aligned_alloc(MM_EXTENT_SIZE, bytes);
    if (!arena) {
        printf("cannot allocate a %zu MiB arena\n", mib);
        exit(2);
    }
    memset(arena, 0xa5, bytes);
    return (struct mm_region){(uintptr_t)arena, bytes};
}

struct harness_faults harness_faults;

static void record(const struct mm_fault_report *report)
{
    harness_faults.count++;
    harness_faults.last = *report;
}

void harness_record_faults(void)
{
    mm_set_fault_handler(record);
    memset(&harness_faults, 0, sizeof harness_faults);
}

bool harness_check_fault(enum mm_fault kind, const void *ptr,
                         const char *function, const char *file, int line)
{
    const struct mm_fault_report *r = &harness_faults.last;
    bool ok = harness_faults.count == 1 && r->fault == kind && r->ptr == ptr
              && r->function && strcmp(r->function, function) == 0;

    checks++;
    if (!ok) {
        failures++;
        printf("%s:%d: FAIL: expected one %s of %p in %s(); got %u faults, "
               "last %s of %p in %s()\n",
               file, line, mm_fault_name(kind), ptr, function,
               harness_faults.count, mm_fault_name(r->fault), r->ptr,
               r->function ? r->function : "-");
    }
    memset(&harness_faults, 0, sizeof harness_faults);
    return ok;
}

uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

uint64_t rng_below(uint64_t *state, uint64_t n)
{
    /* The modulo bias is ~n / 2^64: irrelevant for test sizes. */
    return rng_next(state) % n;
}
