/*
 * Simulated event channels: the guest's ports (whose pending and mask
 * bits live in its shared info page, 2-level ABI) and the backend
 * domain's ports (plain flags and a callback).
 */
#include <string.h>

#include <hypervisor/hypervisor.h>

#include "internal.h"

#define GUEST_PORTS XENABI_EVTCHN_2L_NR_CHANNELS
#define BACKEND_PORTS 256

enum port_state { FREE, UNBOUND, INTERDOMAIN, VIRQ };

struct guest_port {
    uint8_t state;
    uint32_t peer;  /* INTERDOMAIN: backend port */
    uint32_t virq;
};

struct backend_port {
    uint8_t state;
    uint32_t peer; /* INTERDOMAIN: guest port */
    sim_port_fn fn;
    void *arg;
    bool pending;
    bool eager; /* fn runs inside the guest's send: a server on another CPU */
    uint64_t received;
};

static struct {
    /* Xen's shared info for the guest: ours until the guest maps it. */
    struct xenabi_shared_info *shared;
    _Alignas(XENABI_PAGE_SIZE) uint8_t own_page[XENABI_PAGE_SIZE];
    struct guest_port guest[GUEST_PORTS];
    struct backend_port backend[BACKEND_PORTS];
} ev;

void sim_evtchn_reset(void)
{
    memset(&ev, 0, sizeof(ev));
    ev.shared = (struct xenabi_shared_info *)(void *)ev.own_page;
}

struct xenabi_shared_info *sim_shared_info(void)
{
    return ev.shared;
}

long sim_map_shared_info(xenabi_pfn_t gfn)
{
    void *page = xen_frame_to_ptr(gfn);
    if (page == NULL)
        return -XENABI_EINVAL;
    /* The page keeps Xen's contents; only where the guest sees it moves. */
    if (page != (void *)ev.shared) {
        memcpy(page, ev.shared, sizeof(struct xenabi_shared_info));
        ev.shared = page;
    }
    return 0;
}

bool sim_guest_upcall_pending(void)
{
    return __atomic_load_n(&ev.shared->vcpu_info[0].evtchn_upcall_pending,
                           __ATOMIC_SEQ_CST) != 0;
}

bool sim_guest_port_pending(uint32_t port)
{
    return port < GUEST_PORTS
           && (__atomic_load_n(&ev.shared->evtchn_pending[port / 64],
                               __ATOMIC_SEQ_CST)
               >> (port % 64) & 1);
}

bool sim_guest_port_masked(uint32_t port)
{
    return port < GUEST_PORTS
           && (__atomic_load_n(&ev.shared->evtchn_mask[port / 64],
                               __ATOMIC_SEQ_CST)
               >> (port % 64) & 1);
}

/* Xen's 2-level "set pending": the order the guest's upcall relies on. */
static void raise_guest(uint32_t port)
{
    struct xenabi_shared_info *s = ev.shared;
    uint64_t bit = UINT64_C(1) << (port % 64);
    uint64_t old = __atomic_fetch_or(&s->evtchn_pending[port / 64], bit,
                                     __ATOMIC_SEQ_CST);
    if (old & bit)
        return; /* already pending: events do not queue */
    if (__atomic_load_n(&s->evtchn_mask[port / 64], __ATOMIC_SEQ_CST) & bit)
        return; /* masked: stays pending until unmasked */
    uint64_t sel_bit = UINT64_C(1) << (port / 64);
    uint64_t sel = __atomic_fetch_or(&s->vcpu_info[0].evtchn_pending_sel,
                                     sel_bit, __ATOMIC_SEQ_CST);
    if (!(sel & sel_bit))
        __atomic_store_n(&s->vcpu_info[0].evtchn_upcall_pending, 1,
                         __ATOMIC_SEQ_CST);
}

/* Lowest free port from 1 up (0 is never used, as in Xen). */
static long alloc_guest_port(void)
{
    for (uint32_t p = 1; p < GUEST_PORTS; p++)
        if (ev.guest[p].state == FREE)
            return p;
    return -XENABI_ENOSPC;
}

static long alloc_backend_port(void)
{
    for (uint32_t p = 1; p < BACKEND_PORTS; p++)
        if (ev.backend[p].state == FREE)
            return p;
    return -XENABI_ENOSPC;
}

static bool is_self(xenabi_domid_t dom)
{
    return dom == XENABI_DOMID_SELF || dom == SIM_GUEST_DOMID;
}

static long guest_op(uint32_t cmd, void *arg)
{
    switch (cmd) {
    case XENABI_EVTCHNOP_ALLOC_UNBOUND: {
        struct xenabi_evtchn_alloc_unbound op;
        memcpy(&op, arg, sizeof(op));
        if (!is_self(op.dom))
            return -XENABI_EPERM;
        if (op.remote_dom != SIM_BACKEND_DOMID)
            return -XENABI_ESRCH; /* the only other domain there is */
        long p = alloc_guest_port();
        if (p < 0)
            return p;
        ev.guest[p] = (struct guest_port){.state = UNBOUND};
        op.port = (uint32_t)p;
        memcpy(arg, &op, sizeof(op));
        return 0;
    }
    case XENABI_EVTCHNOP_BIND_INTERDOMAIN: {
        struct xenabi_evtchn_bind_interdomain op;
        memcpy(&op, arg, sizeof(op));
        if (op.remote_dom != SIM_BACKEND_DOMID)
            return -XENABI_ESRCH;
        if (op.remote_port >= BACKEND_PORTS
            || ev.backend[op.remote_port].state != UNBOUND)
            return -XENABI_EINVAL;
        long p = alloc_guest_port();
        if (p < 0)
            return p;
        ev.guest[p] = (struct guest_port){.state = INTERDOMAIN,
                                          .peer = op.remote_port};
        ev.backend[op.remote_port].state = INTERDOMAIN;
        ev.backend[op.remote_port].peer = (uint32_t)p;
        op.local_port = (uint32_t)p;
        memcpy(arg, &op, sizeof(op));
        /* Xen raises the new port, so no event before the bind is lost. */
        raise_guest((uint32_t)p);
        return 0;
    }
    case XENABI_EVTCHNOP_BIND_VIRQ: {
        struct xenabi_evtchn_bind_virq op;
        memcpy(&op, arg, sizeof(op));
        if (op.virq >= XENABI_NR_VIRQS || op.vcpu != 0)
            return -XENABI_EINVAL;
        for (uint32_t q = 1; q < GUEST_PORTS; q++)
            if (ev.guest[q].state == VIRQ && ev.guest[q].virq == op.virq)
                return -XENABI_EEXIST;
        long p = alloc_guest_port();
        if (p < 0)
            return p;
        ev.guest[p] = (struct guest_port){.state = VIRQ, .virq = op.virq};
        op.port = (uint32_t)p;
        memcpy(arg, &op, sizeof(op));
        return 0;
    }
    case XENABI_EVTCHNOP_CLOSE: {
        struct xenabi_evtchn_close op;
        memcpy(&op, arg, sizeof(op));
        if (op.port >= GUEST_PORTS || ev.guest[op.port].state == FREE)
            return -XENABI_EINVAL;
        struct guest_port *g = &ev.guest[op.port];
        if (g->state == INTERDOMAIN) {
            /* The peer's end goes back to waiting for a new partner. */
            ev.backend[g->peer].state = UNBOUND;
            ev.backend[g->peer].peer = 0;
        }
        *g = (struct guest_port){0};
        return 0;
    }
    case XENABI_EVTCHNOP_SEND: {
        struct xenabi_evtchn_send op;
        memcpy(&op, arg, sizeof(op));
        if (op.port >= GUEST_PORTS)
            return -XENABI_EINVAL;
        struct guest_port *g = &ev.guest[op.port];
        switch (g->state) {
        case INTERDOMAIN: {
            struct backend_port *b = &ev.backend[g->peer];
            b->received++;
            if (b->eager && b->fn != NULL) {
                b->fn(g->peer, b->arg);
                return 0;
            }
            b->pending = true;
            return 0;
        }
        case UNBOUND:
            return 0; /* nobody listens yet: Xen drops it too */
        default:
            return -XENABI_EINVAL;
        }
    }
    case XENABI_EVTCHNOP_UNMASK: {
        struct xenabi_evtchn_unmask op;
        memcpy(&op, arg, sizeof(op));
        if (op.port >= GUEST_PORTS)
            return -XENABI_EINVAL;
        struct xenabi_shared_info *s = ev.shared;
        uint64_t bit = UINT64_C(1) << (op.port % 64);
        uint64_t old = __atomic_fetch_and(&s->evtchn_mask[op.port / 64], ~bit,
                                          __ATOMIC_SEQ_CST);
        /* Re-raise what arrived while masked (Xen's evtchn_2l_unmask). */
        if ((old & bit)
            && (__atomic_load_n(&s->evtchn_pending[op.port / 64],
                                __ATOMIC_SEQ_CST)
                & bit)) {
            uint64_t sel_bit = UINT64_C(1) << (op.port / 64);
            uint64_t sel = __atomic_fetch_or(
                &s->vcpu_info[0].evtchn_pending_sel, sel_bit,
                __ATOMIC_SEQ_CST);
            if (!(sel & sel_bit))
                __atomic_store_n(&s->vcpu_info[0].evtchn_upcall_pending, 1,
                                 __ATOMIC_SEQ_CST);
        }
        return 0;
    }
    default:
        return -XENABI_ENOSYS;
    }
}

long sim_evtchn_op(uint32_t cmd, void *arg)
{
    return guest_op(cmd, arg);
}

bool sim_evtchn_round(void)
{
    bool progress = false;
    for (uint32_t p = 1; p < BACKEND_PORTS; p++) {
        struct backend_port *b = &ev.backend[p];
        if (!b->pending)
            continue;
        b->pending = false;
        progress = true;
        if (b->fn != NULL)
            b->fn(p, b->arg);
    }
    return progress;
}

void sim_evtchn_set_eager(uint32_t port, bool eager)
{
    if (port > 0 && port < BACKEND_PORTS)
        ev.backend[port].eager = eager;
}

uint32_t sim_evtchn_bind_store(sim_port_fn fn, void *arg)
{
    /* Guest port SIM_STORE_PORT, bound before the guest "boots". */
    uint32_t b = (uint32_t)alloc_backend_port();
    ev.backend[b] = (struct backend_port){
        .state = INTERDOMAIN, .peer = SIM_STORE_PORT, .fn = fn, .arg = arg};
    ev.guest[SIM_STORE_PORT] = (struct guest_port){.state = INTERDOMAIN,
                                                   .peer = b};
    return b;
}

/* ---- the backend domain's side ------------------------------------------------ */

int sim_evtchn_alloc_unbound(sim_port_fn fn, void *arg, uint32_t *port)
{
    long p = alloc_backend_port();
    if (p < 0)
        return (int)p;
    ev.backend[p] = (struct backend_port){.state = UNBOUND, .fn = fn,
                                          .arg = arg};
    *port = (uint32_t)p;
    return 0;
}

int sim_evtchn_bind(uint32_t guest_port, sim_port_fn fn, void *arg,
                    uint32_t *port)
{
    if (guest_port >= GUEST_PORTS || ev.guest[guest_port].state != UNBOUND)
        return -XENABI_EINVAL;
    long p = alloc_backend_port();
    if (p < 0)
        return (int)p;
    ev.backend[p] = (struct backend_port){
        .state = INTERDOMAIN, .peer = guest_port, .fn = fn, .arg = arg};
    ev.guest[guest_port].state = INTERDOMAIN;
    ev.guest[guest_port].peer = (uint32_t)p;
    *port = (uint32_t)p;
    return 0;
}

int sim_evtchn_notify(uint32_t port)
{
    if (port >= BACKEND_PORTS)
        return -XENABI_EINVAL;
    struct backend_port *b = &ev.backend[port];
    if (b->state == UNBOUND)
        return 0;
    if (b->state != INTERDOMAIN)
        return -XENABI_EINVAL;
    raise_guest(b->peer);
    return 0;
}

int sim_evtchn_close(uint32_t port)
{
    if (port >= BACKEND_PORTS || ev.backend[port].state == FREE)
        return -XENABI_EINVAL;
    struct backend_port *b = &ev.backend[port];
    if (b->state == INTERDOMAIN) {
        ev.guest[b->peer].state = UNBOUND;
        ev.guest[b->peer].peer = 0;
    }
    *b = (struct backend_port){0};
    return 0;
}

uint64_t sim_evtchn_received(uint32_t port)
{
    return port < BACKEND_PORTS ? ev.backend[port].received : 0;
}

uint32_t sim_evtchn_peer(uint32_t port)
{
    if (port >= BACKEND_PORTS || ev.backend[port].state != INTERDOMAIN)
        return 0;
    return ev.backend[port].peer;
}

int sim_raise_virq(uint32_t virq)
{
    for (uint32_t p = 1; p < GUEST_PORTS; p++)
        if (ev.guest[p].state == VIRQ && ev.guest[p].virq == virq) {
            raise_guest(p);
            return 0;
        }
    return -XENABI_ENOENT;
}
