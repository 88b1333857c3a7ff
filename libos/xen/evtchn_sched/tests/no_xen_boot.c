/*
 * The glue in an image booted by QEMU, not Xen: evtchn_sched_init says
 * "not on Xen" and changes nothing, the upcall cannot be registered, the
 * port waits refuse, the clock stays the TSC's, and the scheduler (with
 * its timer-driven idle halt) works as without the glue.
 */
#include <evtchn_sched/evtchn_sched.h>
#include <platform/xen/xen.h>
#include <sched/sched.h>
#include <stdio.h>
#include <time/time.h>

static void never_called(void)
{
    printf("FAIL: upcall called\n");
}

static int sleeper(void *arg)
{
    (void)arg;
    sched_sleep_ns(20 * TIME_NS_PER_MS);
    return 7;
}

int main(void)
{
    printf("evtchn_sched_init: %d\n", evtchn_sched_init());
    printf("xenplat_set_upcall: %d\n", xenplat_set_upcall(never_called));
    printf("evtchn_sched_wait: %d\n", evtchn_sched_wait(1, TIME_NEVER));
    printf("evtchn_sched_wait_any: %d\n", evtchn_sched_wait_any(TIME_NEVER));
    printf("clock: %s\n", time_get_info()->pvclock ? "xen-pvclock" : "tsc");

    uint64_t t0 = time_monotonic_ns();
    int status = -1;
    struct sched_thread *t = sched_spawn("sleeper", sleeper, NULL, NULL);
    if (t == NULL || sched_join(t, &status) != 0)
        printf("FAIL: spawn or join\n");
    uint64_t took = time_monotonic_ns() - t0;
    printf("sleeper: status %d after %s 20 ms\n", status,
           took >= 20 * TIME_NS_PER_MS ? "at least" : "less than");
    printf("upcalls taken: %llu\n",
           (unsigned long long)xenplat_upcall_count());
    return 0;
}
