/*
 * Between the host-buildable part (ports.c) and whoever provides the
 * upcall: the image's init.c, or a host test.
 */
#ifndef EVTCHN_SCHED_INTERNAL_H
#define EVTCHN_SCHED_INTERNAL_H

#include <stdint.h>

/* Upcall interrupts taken from Xen: xenplat_upcall_count() on the
 * image; what the host test's simulated halt delivered on the host. */
uint64_t evtchn_sched_interrupts(void);

#endif /* EVTCHN_SCHED_INTERNAL_H */
