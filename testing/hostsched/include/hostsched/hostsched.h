/*
 * The platform under //libos/sched's core in the host tests: a simulated
 * monotonic clock and an idle halt in which the simulated Xen's events
 * arrive as the upcall (//testing/hostsched).
 */
#ifndef HOSTSCHED_HOSTSCHED_H
#define HOSTSCHED_HOSTSCHED_H

#include <stdint.h>

/* At monotonic time `at_ns`, the backend signals its port `backend_port`
 * (sim_evtchn_notify), as if Xen delivered it while the CPU halted. */
void host_event_at(uint64_t at_ns, uint32_t backend_port);

/* Drop the scheduled events; zero the counters. */
void host_reset(void);

struct host_stats {
    uint64_t halts;      /* time_block_until calls that halted */
    uint64_t interrupts; /* upcalls the halt delivered */
    uint64_t injected;   /* scheduled events fired */
};

void host_get_stats(struct host_stats *out);

#endif
