/*
 * Private to //libos/mm: reporting a misused pointer.
 */
#ifndef MM_FAULT_H
#define MM_FAULT_H

#include <mm/mm.h>

/*
 * Count the fault and hand it to the installed handler, or trap if there
 * is none. Returns only if the handler does; the caller then abandons
 * the operation without touching the heap.
 */
void fault_report(enum mm_fault fault, const void *ptr, const char *function);

/* Faults reported since the last fault_reset(). */
uint64_t fault_count(void);
void fault_reset(void);

#endif /* MM_FAULT_H */
