/*
 * Waiting for events without interrupts (see poll_wait.h).
 *
 * No upcall vector is registered (HVM_PARAM_CALLBACK_IRQ), so Xen never
 * interrupts us: it only sets the port's pending bit in the shared info
 * page (and, for an unmasked port, vcpu 0's evtchn_pending_sel and
 * evtchn_upcall_pending), which evtchn_dispatch() reads just as well
 * from thread context. SCHEDOP_block would put the vcpu to sleep with
 * nothing to wake it (no callback to deliver), so instead we sleep in
 * SCHEDOP_poll on every unmasked port (the ports someone handles: the
 * xenstore ring, the vif), which Xen ends as soon as one of them becomes
 * pending, or at a deadline on Xen's system time (the pvclock in the
 * shared info page) as a safety net.
 */
#include "poll_wait.h"

#include <evtchn/evtchn.h>
#include <hypervisor/hypervisor.h>
#include <xenabi/shared_info.h>

/* SCHEDOP_poll accepts at most 128 ports. */
#define POLL_MAX_PORTS 128
/* The safety net: wake up at least this often. */
#define POLL_TIMEOUT_NS 100000000ULL /* 100 ms */

static struct poll_wait_stats stats;

static uint64_t rdtsc_now(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

/* Xen's system time (ns since Xen booted) from vcpu 0's pvclock; 0 if
 * Xen has not filled it in. */
static uint64_t xen_system_time(const struct xenabi_shared_info *sh)
{
    const volatile struct xenabi_vcpu_time_info *t = &sh->vcpu_info[0].time;
    for (;;) {
        uint32_t v = t->version;
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        uint64_t stamp = t->tsc_timestamp, sys = t->system_time;
        uint32_t mul = t->tsc_to_system_mul;
        int8_t shift = t->tsc_shift;
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if ((v & 1) != 0 || v != t->version)
            continue;
        if (mul == 0)
            return 0;
        uint64_t now = rdtsc_now();
        return sys + xenabi_pvclock_scale(now > stamp ? now - stamp : 0, mul,
                                          shift);
    }
}

static int poll_wait(void *arg)
{
    (void)arg;
    stats.waits++;
    if (evtchn_dispatch() > 0)
        return 0;
    struct xenabi_shared_info *sh = evtchn_shared_info();
    if (sh == NULL)
        return -XENABI_ENOTCONN;

    xenabi_evtchn_port_t ports[POLL_MAX_PORTS];
    uint32_t n = 0;
    for (unsigned p = 1; p < EVTCHN_NR_PORTS && n < POLL_MAX_PORTS; p++) {
        uint64_t mask = __atomic_load_n(&sh->evtchn_mask[p / 64],
                                        __ATOMIC_SEQ_CST);
        if ((mask >> (p % 64) & 1) == 0)
            ports[n++] = (xenabi_evtchn_port_t)p;
    }
    uint64_t now = xen_system_time(sh);
    struct xenabi_sched_poll op = {
        .ports = xenabi_handle(ports),
        .nr_ports = n,
        .timeout = now != 0 ? now + POLL_TIMEOUT_NS : 0,
    };
    long rc = -XENABI_EINVAL;
    if (n > 0 && op.timeout != 0)
        rc = xen_sched_op(XENABI_SCHEDOP_POLL, &op);
    if (rc < 0) {
        /* Nothing to poll on (or Xen refused): just give the cpu away. */
        stats.yields++;
        (void)xen_sched_op(XENABI_SCHEDOP_YIELD, NULL);
    } else {
        stats.polls++;
    }
    if (evtchn_dispatch() > 0)
        stats.woken++;
    return 0;
}

uint64_t poll_wait_now_ns(void)
{
    struct xenabi_shared_info *sh = evtchn_shared_info();
    return sh != NULL ? xen_system_time(sh) : 0;
}

void poll_wait_install(void)
{
    evtchn_set_wait(poll_wait, NULL);
}

void poll_wait_get_stats(struct poll_wait_stats *out)
{
    *out = stats;
}
