/*
 * Binding, closing, notifying and masking ports: thin wrappers around
 * event_channel_op, plus the handler table.
 */
#include <string.h>

#include <hypervisor/hypervisor.h>

#include "internal.h"

struct evtchn_state evtchn_state;

/*
 * Xen places the shared info page over a page of ours; .bss keeps it out
 * of the way of everything else and page alignment is what Xen needs.
 */
static _Alignas(XENABI_PAGE_SIZE) uint8_t shared_info_page[XENABI_PAGE_SIZE];

int evtchn_init(void)
{
    struct evtchn_state *s = &evtchn_state;

    memset(s, 0, sizeof(*s));
    long rc = xen_add_to_physmap(XENABI_XENMAPSPACE_SHARED_INFO, 0,
                                 xen_ptr_to_frame(shared_info_page));
    if (rc < 0)
        return (int)rc;
    struct xenabi_shared_info *shared =
        (struct xenabi_shared_info *)(void *)shared_info_page;
    /*
     * Xen does not mask ports for us, and a port left unmasked without a
     * handler would only produce spurious upcalls: start from all masked,
     * and let each user unmask the ports it handles.
     */
    for (unsigned w = 0; w < XENABI_EVTCHN_2L_WORDS; w++)
        __atomic_store_n(&shared->evtchn_mask[w], ~UINT64_C(0),
                         __ATOMIC_SEQ_CST);
    s->shared = shared;
    return 0;
}

bool evtchn_ready(void)
{
    return evtchn_state.shared != NULL;
}

struct xenabi_shared_info *evtchn_shared_info(void)
{
    return evtchn_state.shared;
}

static int check_port(xenabi_evtchn_port_t port)
{
    if (!evtchn_ready())
        return -XENABI_ENOTCONN;
    if (port >= EVTCHN_NR_PORTS)
        return -XENABI_EINVAL;
    return 0;
}

/*
 * A port Xen just gave us. Xen hands out the lowest free port, so one at
 * or above EVTCHN_NR_PORTS means our table is full: give it back.
 */
static int take_new_port(xenabi_evtchn_port_t port,
                         xenabi_evtchn_port_t *out)
{
    if (port >= EVTCHN_NR_PORTS) {
        struct xenabi_evtchn_close close = {.port = port};
        (void)xen_event_channel_op(XENABI_EVTCHNOP_CLOSE, &close);
        return -XENABI_ENOSPC;
    }
    /* New ports start masked and unhandled, whatever a former user left. */
    __atomic_fetch_or(&evtchn_state.shared->evtchn_mask[evtchn_word(port)],
                      evtchn_bit(port), __ATOMIC_SEQ_CST);
    evtchn_state.ports[port] = (struct evtchn_port_slot){0};
    *out = port;
    return 0;
}

int evtchn_alloc_unbound(xenabi_domid_t remote, xenabi_evtchn_port_t *port)
{
    if (!evtchn_ready())
        return -XENABI_ENOTCONN;
    struct xenabi_evtchn_alloc_unbound op = {
        .dom = XENABI_DOMID_SELF,
        .remote_dom = remote,
    };
    long rc = xen_event_channel_op(XENABI_EVTCHNOP_ALLOC_UNBOUND, &op);
    if (rc < 0)
        return (int)rc;
    return take_new_port(op.port, port);
}

int evtchn_bind_interdomain(xenabi_domid_t remote,
                            xenabi_evtchn_port_t remote_port,
                            xenabi_evtchn_port_t *port)
{
    if (!evtchn_ready())
        return -XENABI_ENOTCONN;
    struct xenabi_evtchn_bind_interdomain op = {
        .remote_dom = remote,
        .remote_port = remote_port,
    };
    long rc = xen_event_channel_op(XENABI_EVTCHNOP_BIND_INTERDOMAIN, &op);
    if (rc < 0)
        return (int)rc;
    return take_new_port(op.local_port, port);
}

int evtchn_bind_virq(uint32_t virq, xenabi_evtchn_port_t *port)
{
    if (!evtchn_ready())
        return -XENABI_ENOTCONN;
    if (virq >= XENABI_NR_VIRQS)
        return -XENABI_EINVAL;
    struct xenabi_evtchn_bind_virq op = {.virq = virq, .vcpu = 0};
    long rc = xen_event_channel_op(XENABI_EVTCHNOP_BIND_VIRQ, &op);
    if (rc < 0)
        return (int)rc;
    return take_new_port(op.port, port);
}

int evtchn_close(xenabi_evtchn_port_t port)
{
    int rc = check_port(port);
    if (rc < 0)
        return rc;
    /* Masked before the handler goes, so no event finds a half-closed port. */
    evtchn_mask(port);
    evtchn_state.ports[port] = (struct evtchn_port_slot){0};
    struct xenabi_evtchn_close op = {.port = port};
    long xrc = xen_event_channel_op(XENABI_EVTCHNOP_CLOSE, &op);
    /* An event that raced the close is stale now: drop it. */
    __atomic_fetch_and(&evtchn_state.shared->evtchn_pending[evtchn_word(port)],
                       ~evtchn_bit(port), __ATOMIC_SEQ_CST);
    return xrc < 0 ? (int)xrc : 0;
}

int evtchn_notify(xenabi_evtchn_port_t port)
{
    int rc = check_port(port);
    if (rc < 0)
        return rc;
    struct xenabi_evtchn_send op = {.port = port};
    long xrc = xen_event_channel_op(XENABI_EVTCHNOP_SEND, &op);
    return xrc < 0 ? (int)xrc : 0;
}

int evtchn_raise(xenabi_evtchn_port_t port)
{
    int rc = check_port(port);
    if (rc < 0)
        return rc;
    struct xenabi_shared_info *shared = evtchn_state.shared;
    unsigned w = evtchn_word(port);
    uint64_t bit = evtchn_bit(port);
    /* Xen's order: the port, then (if unmasked) the selector, the flag. */
    __atomic_fetch_or(&shared->evtchn_pending[w], bit, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&shared->evtchn_mask[w], __ATOMIC_SEQ_CST) & bit)
        return 0;
    struct xenabi_vcpu_info *vcpu = &shared->vcpu_info[0];
    __atomic_fetch_or(&vcpu->evtchn_pending_sel, UINT64_C(1) << w,
                      __ATOMIC_SEQ_CST);
    __atomic_store_n(&vcpu->evtchn_upcall_pending, 1, __ATOMIC_SEQ_CST);
    return 0;
}

int evtchn_set_handler(xenabi_evtchn_port_t port, evtchn_handler_fn fn,
                       void *arg)
{
    int rc = check_port(port);
    if (rc < 0)
        return rc;
    struct evtchn_port_slot *slot = &evtchn_state.ports[port];
    /*
     * On the image this can race the upcall: clear fn first so a dispatch
     * in between sees "no handler" rather than the new fn with the old arg.
     */
    __atomic_store_n(&slot->fn, NULL, __ATOMIC_SEQ_CST);
    slot->arg = arg;
    __atomic_store_n(&slot->fn, fn, __ATOMIC_SEQ_CST);
    return 0;
}

int evtchn_mask(xenabi_evtchn_port_t port)
{
    int rc = check_port(port);
    if (rc < 0)
        return rc;
    __atomic_fetch_or(&evtchn_state.shared->evtchn_mask[evtchn_word(port)],
                      evtchn_bit(port), __ATOMIC_SEQ_CST);
    return 0;
}

int evtchn_unmask(xenabi_evtchn_port_t port)
{
    int rc = check_port(port);
    if (rc < 0)
        return rc;
    struct xenabi_evtchn_unmask op = {.port = port};
    long xrc = xen_event_channel_op(XENABI_EVTCHNOP_UNMASK, &op);
    return xrc < 0 ? (int)xrc : 0;
}

void evtchn_get_stats(struct evtchn_stats *out)
{
    *out = evtchn_state.stats;
}
