/*
 * What <time/time.h> and <boot/boot.h> give the scheduler on the image,
 * for the host: see <hostsched/hostsched.h>.
 *
 * The idle halt is modelled on the image's: the CPU "halts" with
 * interrupts enabled, and the halt ends with the first interrupt. Here
 * the interrupts are the upcall, raised whenever vcpu 0's
 * evtchn_upcall_pending is set in the simulator's shared info page (as
 * Xen's callback vector is), and the wake-up timer, which moves the
 * simulated clock to the deadline. Before deciding, the backend domain
 * takes its rounds (sim_run), and events the test scheduled for a time
 * up to the deadline are fired, the clock moving to each.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <boot/boot.h>
#include <evtchn/evtchn.h>
#include <evtchn_sched/evtchn_sched.h>
#include <time/time.h>
#include <xensim/sim.h>

#include <hostsched/hostsched.h>
#include "libos/xen/evtchn_sched/internal.h"

#define MAX_SCHEDULED 32

static uint64_t now_ns;
static struct {
    uint64_t at;
    uint32_t port;
    bool used;
} scheduled[MAX_SCHEDULED];
static struct host_stats stats;

void host_event_at(uint64_t at_ns, uint32_t backend_port)
{
    for (unsigned i = 0; i < MAX_SCHEDULED; i++)
        if (!scheduled[i].used) {
            scheduled[i].at = at_ns;
            scheduled[i].port = backend_port;
            scheduled[i].used = true;
            return;
        }
    fprintf(stderr, "host_event_at: more than %d scheduled events\n",
            MAX_SCHEDULED);
    abort();
}

void host_reset(void)
{
    for (unsigned i = 0; i < MAX_SCHEDULED; i++)
        scheduled[i].used = false;
    stats = (struct host_stats){0};
}

void host_get_stats(struct host_stats *out)
{
    *out = stats;
}

uint64_t evtchn_sched_interrupts(void)
{
    return stats.interrupts;
}

void time_init(void)
{
}

uint64_t time_monotonic_ns(void)
{
    return now_ns;
}

static bool upcall_pending(void)
{
    struct xenabi_shared_info *sh = evtchn_shared_info();
    return sh != NULL
           && __atomic_load_n(&sh->vcpu_info[0].evtchn_upcall_pending,
                              __ATOMIC_SEQ_CST);
}

/* The earliest scheduled event due by `deadline`, or -1. */
static int next_due(uint64_t deadline)
{
    int best = -1;
    for (int i = 0; i < MAX_SCHEDULED; i++)
        if (scheduled[i].used && scheduled[i].at <= deadline
            && (best < 0 || scheduled[i].at < scheduled[best].at))
            best = i;
    return best;
}

void time_block_until(uint64_t deadline_ns)
{
    if (deadline_ns <= now_ns)
        return;
    stats.halts++;
    for (;;) {
        (void)sim_run();
        if (upcall_pending()) {
            stats.interrupts++;
            evtchn_sched_upcall();
            return;
        }
        int i = next_due(deadline_ns);
        if (i >= 0) {
            if (scheduled[i].at > now_ns)
                now_ns = scheduled[i].at;
            scheduled[i].used = false;
            stats.injected++;
            (void)sim_evtchn_notify(scheduled[i].port);
            continue;
        }
        if (deadline_ns == TIME_NEVER) {
            /* On the image: halted for good. Here: a failed test. */
            printf("FAIL: every thread waits and nothing can wake them "
                   "(halt without deadline at %llu ns)\n",
                   (unsigned long long)now_ns);
            fflush(stdout);
            _Exit(3);
        }
        now_ns = deadline_ns; /* the wake-up timer */
        return;
    }
}

_Noreturn void platform_exit(int status)
{
    fflush(stdout);
    _Exit(status);
}
