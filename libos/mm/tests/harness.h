/*
 * What the host tests of //libos/mm share beyond <testing/check.h>: a
 * memory arena from the host and a fault recorder.
 */
#ifndef MM_TESTS_HARNESS_H
#define MM_TESTS_HARNESS_H

#include <mm/mm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <testing/check.h>

#define MiB (UINT64_C(1) << 20)

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

#endif /* MM_TESTS_HARNESS_H */
