/*
 * The fault handler. A function pointer, like libc's hooks: the core
 * links and runs on the host, and what a fault does (print and exit on
 * an image, record it in a test) is decided by whoever installs it.
 */
#include <mm/mm.h>
#include <stdint.h>

#include "fault.h"

static mm_fault_handler handler;
static uint64_t faults;

mm_fault_handler mm_set_fault_handler(mm_fault_handler fn)
{
    mm_fault_handler previous = handler;

    handler = fn;
    return previous;
}

void fault_report(enum mm_fault fault, const void *ptr, const char *function)
{
    struct mm_fault_report report = {fault, ptr, function};

    faults++;
    if (!handler)
        __builtin_trap(); /* nobody to tell: stop before the heap is hurt */
    handler(&report);
}

uint64_t fault_count(void)
{
    return faults;
}

void fault_reset(void)
{
    faults = 0;
}

const char *mm_fault_name(enum mm_fault fault)
{
    switch (fault) {
    case MM_FAULT_NONE: return "none";
    case MM_FAULT_DOUBLE_FREE: return "double free";
    case MM_FAULT_INTERIOR: return "interior pointer";
    case MM_FAULT_FOREIGN: return "foreign pointer";
    case MM_FAULT_CORRUPT: return "corrupt heap metadata";
    default: return "?";
    }
}
