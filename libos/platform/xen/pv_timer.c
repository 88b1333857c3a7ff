/*
 * The Xen PV timer and blocking (<platform/xen/pv_timer.h>): the real
 * hypercalls behind the idle step of idle.c.
 */
#include <platform/xen/idle.h>
#include <platform/xen/pv.h>
#include <platform/xen/pv_timer.h>
#include <platform/xen/xen.h>
#include <stdint.h>
#include <xenabi/errno.h>
#include <xenabi/event_channel.h>
#include <xenabi/hypercall.h>
#include <xenabi/sched.h>
#include <xenabi/shared_info.h>
#include <xenabi/types.h>
#include <xenabi/vcpu.h>

static long set_timer(void *ctx, uint64_t at)
{
    (void)ctx;
    /* "future": Xen says -ETIME instead of firing at once (idle.c). */
    struct xenabi_vcpu_set_singleshot_timer t = {
        .timeout_abs_ns = at,
        .flags = XENABI_VCPU_SSHOTTMR_FUTURE,
    };
    return xenplat_hypercall(XENABI_HYPERCALL_VCPU_OP,
                             XENABI_VCPUOP_SET_SINGLESHOT_TIMER, 0,
                             xenabi_handle(&t), 0, 0);
}

static long stop_timer(void *ctx)
{
    (void)ctx;
    return xenplat_hypercall(XENABI_HYPERCALL_VCPU_OP,
                             XENABI_VCPUOP_STOP_SINGLESHOT_TIMER, 0, 0, 0, 0);
}

static long block(void *ctx)
{
    (void)ctx;
    return xenplat_hypercall(XENABI_HYPERCALL_SCHED_OP, XENABI_SCHEDOP_BLOCK,
                             0, 0, 0, 0);
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
    volatile struct xenabi_shared_info *shared = xenplat_pv_shared_info();

    if (shared != NULL && port < XENABI_EVTCHN_2L_NR_CHANNELS)
        __atomic_fetch_and(&shared->evtchn_pending[port / 64],
                           ~(UINT64_C(1) << (port % 64)), __ATOMIC_SEQ_CST);
}

static void mask_events(void *ctx)
{
    (void)ctx;
    xenplat_mask_events();
}

const struct xenplat_idle_ops xenplat_pv_idle_ops = {
    .set_timer = set_timer,
    .stop_timer = stop_timer,
    .block = block,
    .poll = poll,
    .clear_pending = clear_pending,
    .mask_events = mask_events,
};

long xenplat_pv_timer_bind(struct xenplat_pv_timer *out)
{
    volatile struct xenabi_shared_info *shared = xenplat_pv_shared_info();
    struct xenabi_evtchn_bind_virq op = {.virq = XENABI_VIRQ_TIMER};

    if (shared == NULL)
        return -XENABI_ENOSYS;
    long rc = xenplat_hypercall(XENABI_HYPERCALL_EVENT_CHANNEL_OP,
                                XENABI_EVTCHNOP_BIND_VIRQ,
                                xenabi_handle(&op), 0, 0, 0);
    if (rc < 0)
        return rc;
    out->port = op.port; /* copied once: Xen wrote it into our struct */
    if (out->port >= XENABI_EVTCHN_2L_NR_CHANNELS)
        return -XENABI_ERANGE;
    __atomic_fetch_or(&shared->evtchn_mask[out->port / 64],
                      UINT64_C(1) << (out->port % 64), __ATOMIC_SEQ_CST);
    out->stop_periodic_rc =
        xenplat_hypercall(XENABI_HYPERCALL_VCPU_OP,
                          XENABI_VCPUOP_STOP_PERIODIC_TIMER, 0, 0, 0, 0);
    return 0;
}
