#include <platform/xen/idle.h>

#include <xenabi/errno.h>

uint64_t xenplat_idle_system_time(const struct xenplat_idle *idle,
                                  uint64_t ns)
{
    /* Modular, like the offset itself (time_use_pvclock). */
    return ns + idle->offset;
}

static long poll_port(const struct xenplat_idle *idle,
                      const struct xenplat_idle_ops *ops,
                      uint64_t deadline_ns)
{
    uint64_t timeout = 0; /* none */

    if (deadline_ns != XENPLAT_IDLE_NEVER) {
        timeout = xenplat_idle_system_time(idle, deadline_ns);
        if (timeout == 0)
            timeout = 1; /* 0 would mean "no timeout" */
    }
    /* A stale pending bit would end the poll at once, every time. */
    ops->clear_pending(ops->ctx, idle->timer_port);
    long rc = ops->poll(ops->ctx, idle->timer_port, timeout);
    return rc < 0 ? rc : XENPLAT_IDLE_POLL;
}

static long block_vcpu(const struct xenplat_idle *idle,
                       const struct xenplat_idle_ops *ops,
                       uint64_t deadline_ns)
{
    long rc = deadline_ns == XENPLAT_IDLE_NEVER
                  ? ops->stop_timer(ops->ctx)
                  : ops->set_timer(ops->ctx, xenplat_idle_system_time(
                                                 idle, deadline_ns));
    if (rc == -XENABI_ETIME)
        return XENPLAT_IDLE_NONE; /* past by Xen's clock: nothing to wait */
    if (rc < 0)
        return rc;
    /*
     * The timer first, then the block: a timer that fires in between
     * leaves its event pending, and Xen's block then returns at once.
     */
    rc = ops->block(ops->ctx);
    /* Xen unmasked delivery for the block; whatever it returned, mask. */
    ops->mask_events(ops->ctx);
    return rc < 0 ? rc : XENPLAT_IDLE_BLOCK;
}

long xenplat_idle_wait(const struct xenplat_idle *idle,
                       const struct xenplat_idle_ops *ops,
                       uint64_t deadline_ns, uint64_t now_ns)
{
    if (deadline_ns <= now_ns)
        return XENPLAT_IDLE_NONE;
    if (idle->on_events)
        return block_vcpu(idle, ops, deadline_ns);
    return poll_port(idle, ops, deadline_ns);
}
