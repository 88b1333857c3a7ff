/*
 * Time on Xen PV: the pvclock from the start, the wall clock from the
 * shared info page, and the idle through Xen's single-shot timer and
 * SCHEDOP_poll / SCHEDOP_block. Selected at run time by xenplat_mode():
 * the same image uses the devices under QEMU and PVH.
 *
 * Layering: the Xen side (the pvclock and wall clock readers, the idle
 * step, the timer's hypercalls) is //libos/platform/xen's
 * (<platform/xen/pvclock.h>, idle.h, pv_timer.h); this file keeps the
 * clock's state and statistics. The Xen layer (//libos/xen/evtchn_sched)
 * tells it when the upcall can end its blocks (time_xen_idle_on_events).
 */
#include <arch/x86.h>
#include <platform/xen/pv.h>
#include <platform/xen/pv_timer.h>
#include <platform/xen/pvclock.h>
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

#include "time_internal.h"

/*
 * The platform's set_timer, counted: a deadline Xen says has passed, and
 * the deadline armed (to tell early timer events in the statistics).
 */
static long set_timer_counted(void *ctx, uint64_t at)
{
    long rc = xenplat_pv_idle_ops.set_timer(ctx, at);

    if (rc == -XENABI_ETIME)
        time_state.stats.timer_past++;
    time_state.xen_armed = rc == 0 ? at - time_state.xen_idle.offset : 0;
    return rc;
}

static uint64_t rdtsc_ordered(void *ctx)
{
    (void)ctx;
    __asm__ volatile("lfence" : : : "memory");
    return rdtsc();
}

/* VIRQ_TIMER on a port of our own, masked: the idle polls it. */
static uint32_t bind_timer(void)
{
    struct xenplat_pv_timer timer = {0};
    long rc = xenplat_pv_timer_bind(&timer);

    if (rc == -XENABI_ERANGE)
        time_panic("pv: Xen bound VIRQ_TIMER to port %u, beyond the 2-level "
                   "event channel ABI",
                   timer.port);
    if (rc < 0)
        time_panic("pv: binding VIRQ_TIMER to an event channel failed: %ld",
                   rc);
    if (timer.stop_periodic_rc < 0)
        printf("[time] warning: pv: stopping Xen's periodic timer failed "
               "(%ld); the idle wakes every 10 ms\n",
               timer.stop_periodic_rc);
    return timer.port;
}

void time_xen_pv_init(void)
{
    struct time_state *s = &time_state;

    volatile struct xenabi_shared_info *shared = xenplat_pv_shared_info();
    if (shared == NULL)
        time_panic("pv: no shared info page (the PV boot path maps it)");
    const volatile struct xenabi_vcpu_time_info *ti =
        &shared->vcpu_info[0].time;

    /* A PV guest's CPUID shows no Xen leaves: Xen is where we booted. */
    memcpy(s->info.hypervisor, "XenVMMXenVMM", 13);
    s->info.xen = true;
    s->info.xen_pv = true;

    uint64_t pv;
    if (!xenplat_pvclock_read(ti, rdtsc_ordered, NULL, &pv))
        time_panic("pv: the pvclock is unreadable (never stops changing, or "
                   "invalid)");
    s->info.tsc_hz =
        xenplat_pvclock_tsc_hz(ti->tsc_to_system_mul, ti->tsc_shift);
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
    if (xenplat_wallclock_read(shared, &wc)) {
        s->info.wall_clock = true;
        s->info.wall_clock_xen = true;
        s->wall_at_zero_ns = wc + (int64_t)pv;
    }

    s->info.timer_mode = TIME_TIMER_XEN_SINGLESHOT;
    s->info.timer_port = bind_timer();
    s->xen_idle = (struct xenplat_idle){
        .timer_port = s->info.timer_port,
        .on_events = false,
        .offset = pv,
    };
}

void time_xen_pv_block_until(uint64_t deadline_ns, uint64_t now_ns)
{
    struct time_state *s = &time_state;

    struct xenplat_idle_ops ops = xenplat_pv_idle_ops;

    ops.set_timer = set_timer_counted;
    long rc = xenplat_idle_wait(&s->xen_idle, &ops, deadline_ns, now_ns);
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
