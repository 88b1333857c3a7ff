#include "harness.h"

#include <mm/mm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *arena;

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

    if (!check_true(ok, "one expected fault", file, line)) {
        printf("%s:%d: FAIL: expected one %s of %p in %s(); got %u faults, "
               "last %s of %p in %s()\n",
               file, line, mm_fault_name(kind), ptr, function,
               harness_faults.count, mm_fault_name(r->fault), r->ptr,
               r->function ? r->function : "-");
    }
    memset(&harness_faults, 0, sizeof harness_faults);
    return ok;
}
