/*
 * Time on Xen PV: the pvclock from the start, the wall clock from the
 * shared info page, and the idle through Xen's single-shot timer and
 * SCHEDOP_poll / SCHEDOP_block (the pure part is xen_idle.c; the reasons
 * are in <time/time.h> and xen_idle.h). Selected at run time by
 * xenplat_mode(): the same image uses the devices under QEMU and PVH.
 *
 * Layering: //libos/time sits below the event-channel library, so it
 * binds VIRQ_TIMER and makes its hypercalls through <platform/xen/xen.h> itself,
 * and the Xen layer (//libos/xen/evtchn_sched) tells it when the upcall
 * can end its blocks (time_xen_idle_on_events).
 */
#include <arch/x86.h>
#include <platform/xen/pv.h>
#include <platform/xen/xen.h>
#include <stdio.h>
#include <string.h>
#include <time/time.h>
#include <xenabi/errno.h>
#include <xenabi/event_channel.h>
#include <xenabi/hypercall.h>
#include <xenabi/sched.h>
#include <xenabi/shared_info.h>
#include <xenabi/types.h>
#include <xenabi/vcpu.h>

#include "pvclock.h"
#include "time_internal.h"

static volatile struct xenabi_shared_info *shared;

static uint64_t rdtsc_ordered(void *ctx)
{
    (void)ctx;
    __asm__ volatile("lfence" : : : "memory");
    return rdtsc();
}

static long set_timer(void *ctx, uint64_t at)
{
    (void)ctx;
    /* "future": Xen says -ETIME instead of firing at once (xen_idle.c). */
    struct xenabi_vcpu_set_singleshot_timer t = {
        .timeout_abs_ns = at,
        .flags = XENABI_VCPU_SSHOTTMR_FUTURE,
    };
    long rc = xenplat_hypercall(XENABI_HYPERCALL_VCPU_OP,
                                 XENABI_VCPUOP_SET_SINGLESHOT_TIMER, 0,
                                 xenabi_handle(&t), 0, 0);
    if (rc == -XENABI_ETIME)
        time_state.stats.timer_past++;
    time_state.xen_armed = rc == 0 ? at - time_state.xen_idle.offset : 0;
    return rc;
}

static long stop_timer(void *ctx)
{
    (void)ctx;
    return xenplat_hypercall(XENABI_HYPERCALL_VCPU_OP,
                              XENABI_VCPUOP_STOP_SINGLESHOT_TIMER, 0, 0, 0,
                              0);
}

static long block(void *ctx)
{
    (void)ctx;
    return xenplat_hypercall(XENABI_HYPERCALL_SCHED_OP,
                              XENABI_SCHEDOP_BLOCK, 0, 0, 0, 0);
}

static long poll(void *ctx, uint32_t port, uint64_t timeout)
{
    (void)ctx;
    xenabi_evtchn_port_t ports[1] = {port};
    struct xenabi_sched_poll p = {
        .ports = xenabi_handle(ports),
        .nr_ports = 1,
        .timeout = timeout,
    };
    return xenplat_hypercall(XENABI_HYPERCALL_SCHED_OP, XENABI_SCHEDOP_POLL,
                              xenabi_handle(&p), 0, 0, 0);
}

static void clear_pending(void *ctx, uint32_t port)
{
    (void)ctx;
    __atomic_fetch_and(&shared->evtchn_pending[port / 64],
                       ~(UINT64_C(1) << (port % 64)), __ATOMIC_SEQ_CST);
}

static void mask_events(void *ctx)
{
    (void)ctx;
    xenplat_mask_events();
}

static const struct time_xen_idle_ops xen_ops = {
    .set_timer = set_timer,
    .stop_timer = stop_timer,
    .block = block,
    .poll = poll,
    .clear_pending = clear_pending,
    .mask_events = mask_events,
};

/* VIRQ_TIMER on a port of our own, masked: the idle polls it. */
static uint32_t bind_timer(void)
{
    struct xenabi_evtchn_bind_virq op = {.virq = XENABI_VIRQ_TIMER};
    long rc = xenplat_hypercall(XENABI_HYPERCALL_EVENT_CHANNEL_OP,
                                 XENABI_EVTCHNOP_BIND_VIRQ,
                                 xenabi_handle(&op), 0, 0, 0);
    if (rc < 0)
        time_panic("pv: binding VIRQ_TIMER to an event channel failed: %ld",
                   rc);
    if (op.port >= XENABI_EVTCHN_2L_NR_CHANNELS)
        time_panic("pv: Xen bound VIRQ_TIMER to port %u, beyond the 2-level "
                   "event channel ABI",
                   op.port);
    /*
     * Masked: a poll sees it anyway, and until the Xen layer handles it
     * its events should not raise the upcall. The 100 Hz periodic timer
     * a PV vcpu starts with would only wake the idle for nothing.
     */
    __atomic_fetch_or(&shared->evtchn_mask[op.port / 64],
                      UINT64_C(1) << (op.port % 64), __ATOMIC_SEQ_CST);
    rc = xenplat_hypercall(XENABI_HYPERCALL_VCPU_OP,
                            XENABI_VCPUOP_STOP_PERIODIC_TIMER, 0, 0, 0, 0);
    if (rc < 0)
        printf("[time] warning: pv: stopping Xen's periodic timer failed "
               "(%ld); the idle wakes every 10 ms\n",
               rc);
    return op.port;
}

void time_xen_pv_init(void)
{
    struct time_state *s = &time_state;

    shared = xenplat_pv_shared_info();
    if (shared == NULL)
        time_panic("pv: no shared info page (the PV boot path maps it)");
    const volatile struct xenabi_vcpu_time_info *ti =
        &shared->vcpu_info[0].time;

    /* A PV guest's CPUID shows no Xen leaves: Xen is where we booted. */
    memcpy(s->info.hypervisor, "XenVMMXenVMM", 13);
    s->info.xen = true;
    s->info.xen_pv = true;

    uint64_t pv;
    if (!time_pvclock_read(ti, rdtsc_ordered, NULL, &pv))
        time_panic("pv: the pvclock is unreadable (never stops changing, or "
                   "invalid)");
    s->info.tsc_hz =
        time_pvclock_tsc_hz(ti->tsc_to_system_mul, ti->tsc_shift);
    s->info.calibration = TIME_CALIBRATION_XEN_PVCLOCK;
    if (!time_scale_make(TIME_NS_PER_S, s->info.tsc_hz, &s->tsc_to_ns))
        time_panic("pv: cannot scale TSC ticks to ns at %llu Hz (pvclock "
                   "mul %u shift %d)",
                   (unsigned long long)s->info.tsc_hz,
                   (unsigned)ti->tsc_to_system_mul, (int)ti->tsc_shift);

    /* Monotonic time 0 is now: system time `pv`. */
    s->tsc_epoch = rdtsc();
    s->pvclock = ti;
    s->pvclock_offset = pv;
    s->info.pvclock = true;

    int64_t wc;
    if (time_xen_wallclock_read(shared, &wc)) {
        s->info.wall_clock = true;
        s->info.wall_clock_xen = true;
        s->wall_at_zero_ns = wc + (int64_t)pv;
    }

    s->info.timer_mode = TIME_TIMER_XEN_SINGLESHOT;
    s->info.timer_port = bind_timer();
    s->xen_idle = (struct time_xen_idle){
        .timer_port = s->info.timer_port,
        .on_events = false,
        .offset = pv,
    };
}

void time_xen_pv_block_until(uint64_t deadline_ns, uint64_t now_ns)
{
    struct time_state *s = &time_state;

    long rc = time_xen_idle_wait(&s->xen_idle, &xen_ops, deadline_ns, now_ns);
    if (rc < 0)
        time_panic("pv: the idle's %s failed: %ld",
                   s->xen_idle.on_events ? "single-shot timer or "
                                           "SCHEDOP_block"
                                         : "SCHEDOP_poll",
                   rc);
}

bool time_xen_timer_port(uint32_t *port)
{
    struct time_state *s = &time_state;

    time_init();
    if (!s->info.xen_pv)
        return false;
    *port = s->info.timer_port;
    return true;
}

void time_xen_timer_event(void)
{
    struct time_state *s = &time_state;

    s->stats.timer_interrupts++;
    /* For the record: an event before the deadline it was armed for. */
    uint64_t now = time_monotonic_ns();
    if (s->xen_armed != 0 && now < s->xen_armed) {
        s->stats.timer_early++;
        if (s->xen_armed - now > s->stats.timer_early_max_ns)
            s->stats.timer_early_max_ns = s->xen_armed - now;
    }
}

void time_xen_idle_on_events(bool on)
{
    struct time_state *s = &time_state;

    time_init();
    if (!s->info.xen_pv)
        return;
    s->xen_idle.on_events = on;
    s->info.idle_on_events = on;
}
