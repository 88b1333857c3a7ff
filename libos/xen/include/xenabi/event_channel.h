/*
 * xenabi/event_channel.h - event_channel_op(cmd, arg): Xen's interrupts.
 *
 * An event channel is a port number in a domain. Each end of a connection
 * (another domain, a virtual IRQ such as the timer, another vcpu) signals
 * the other by making its port pending; pending, unmasked ports are
 * reported through the shared info page (<xenabi/shared_info.h>, 2-level
 * ABI). Usual set-up of a split driver: one side allocates an unbound port
 * for the peer and publishes it in xenstore, the other binds to it.
 */
#ifndef XENABI_EVENT_CHANNEL_H
#define XENABI_EVENT_CHANNEL_H

#include <xenabi/types.h>

#define XENABI_EVTCHNOP_BIND_INTERDOMAIN 0
#define XENABI_EVTCHNOP_BIND_VIRQ 1
#define XENABI_EVTCHNOP_BIND_PIRQ 2
#define XENABI_EVTCHNOP_CLOSE 3
#define XENABI_EVTCHNOP_SEND 4
#define XENABI_EVTCHNOP_STATUS 5
#define XENABI_EVTCHNOP_ALLOC_UNBOUND 6
#define XENABI_EVTCHNOP_BIND_IPI 7
#define XENABI_EVTCHNOP_BIND_VCPU 8
#define XENABI_EVTCHNOP_UNMASK 9
#define XENABI_EVTCHNOP_RESET 10
#define XENABI_EVTCHNOP_INIT_CONTROL 11 /* switch to the FIFO ABI */
#define XENABI_EVTCHNOP_EXPAND_ARRAY 12
#define XENABI_EVTCHNOP_SET_PRIORITY 13

/* A fresh port in dom that remote_dom may bind to. */
struct xenabi_evtchn_alloc_unbound {
    xenabi_domid_t dom;        /* in: XENABI_DOMID_SELF */
    xenabi_domid_t remote_dom; /* in: the peer */
    xenabi_evtchn_port_t port; /* out */
};
XENABI_ASSERT_SIZE(struct xenabi_evtchn_alloc_unbound, 8);
XENABI_ASSERT_OFFSET(struct xenabi_evtchn_alloc_unbound, dom, 0);
XENABI_ASSERT_OFFSET(struct xenabi_evtchn_alloc_unbound, remote_dom, 2);
XENABI_ASSERT_OFFSET(struct xenabi_evtchn_alloc_unbound, port, 4);

/* Connect a fresh local port to the peer's unbound port. */
struct xenabi_evtchn_bind_interdomain {
    xenabi_domid_t remote_dom;        /* in */
    uint16_t pad0;
    xenabi_evtchn_port_t remote_port; /* in */
    xenabi_evtchn_port_t local_port;  /* out */
};
XENABI_ASSERT_SIZE(struct xenabi_evtchn_bind_interdomain, 12);
XENABI_ASSERT_OFFSET(struct xenabi_evtchn_bind_interdomain, remote_dom, 0);
XENABI_ASSERT_OFFSET(struct xenabi_evtchn_bind_interdomain, pad0, 2);
XENABI_ASSERT_OFFSET(struct xenabi_evtchn_bind_interdomain, remote_port, 4);
XENABI_ASSERT_OFFSET(struct xenabi_evtchn_bind_interdomain, local_port, 8);

/* A port for a virtual IRQ. Per-vcpu VIRQs (timer) bind once per vcpu. */
struct xenabi_evtchn_bind_virq {
    uint32_t virq;             /* in: XENABI_VIRQ_* */
    uint32_t vcpu;             /* in: global VIRQs must use vcpu 0 */
    xenabi_evtchn_port_t port; /* out */
};
XENABI_ASSERT_SIZE(struct xenabi_evtchn_bind_virq, 12);
XENABI_ASSERT_OFFSET(struct xenabi_evtchn_bind_virq, virq, 0);
XENABI_ASSERT_OFFSET(struct xenabi_evtchn_bind_virq, vcpu, 4);
XENABI_ASSERT_OFFSET(struct xenabi_evtchn_bind_virq, port, 8);

/* A port another vcpu of this domain can signal (inter-processor event). */
struct xenabi_evtchn_bind_ipi {
    uint32_t vcpu;             /* in: the vcpu it notifies */
    xenabi_evtchn_port_t port; /* out */
};
XENABI_ASSERT_SIZE(struct xenabi_evtchn_bind_ipi, 8);
XENABI_ASSERT_OFFSET(struct xenabi_evtchn_bind_ipi, vcpu, 0);
XENABI_ASSERT_OFFSET(struct xenabi_evtchn_bind_ipi, port, 4);

/* CLOSE, SEND and UNMASK take just a local port. */
struct xenabi_evtchn_close {
    xenabi_evtchn_port_t port;
};
XENABI_ASSERT_SIZE(struct xenabi_evtchn_close, 4);
XENABI_ASSERT_OFFSET(struct xenabi_evtchn_close, port, 0);

struct xenabi_evtchn_send {
    xenabi_evtchn_port_t port;
};
XENABI_ASSERT_SIZE(struct xenabi_evtchn_send, 4);
XENABI_ASSERT_OFFSET(struct xenabi_evtchn_send, port, 0);

/* Clears the mask bit and re-raises the upcall if the port is pending. */
struct xenabi_evtchn_unmask {
    xenabi_evtchn_port_t port;
};
XENABI_ASSERT_SIZE(struct xenabi_evtchn_unmask, 4);
XENABI_ASSERT_OFFSET(struct xenabi_evtchn_unmask, port, 0);

/*
 * Route a port's notifications to another vcpu (not allowed for IPI and
 * per-vcpu VIRQ ports).
 */
struct xenabi_evtchn_bind_vcpu {
    xenabi_evtchn_port_t port;
    uint32_t vcpu;
};
XENABI_ASSERT_SIZE(struct xenabi_evtchn_bind_vcpu, 8);
XENABI_ASSERT_OFFSET(struct xenabi_evtchn_bind_vcpu, port, 0);
XENABI_ASSERT_OFFSET(struct xenabi_evtchn_bind_vcpu, vcpu, 4);

/* What a port is connected to. */
#define XENABI_EVTCHNSTAT_CLOSED 0
#define XENABI_EVTCHNSTAT_UNBOUND 1     /* u.unbound */
#define XENABI_EVTCHNSTAT_INTERDOMAIN 2 /* u.interdomain */
#define XENABI_EVTCHNSTAT_PIRQ 3        /* u.pirq */
#define XENABI_EVTCHNSTAT_VIRQ 4        /* u.virq */
#define XENABI_EVTCHNSTAT_IPI 5

struct xenabi_evtchn_status {
    xenabi_domid_t dom;        /* in: XENABI_DOMID_SELF */
    uint16_t pad0;
    xenabi_evtchn_port_t port; /* in */
    uint32_t status;           /* out: XENABI_EVTCHNSTAT_* */
    uint32_t vcpu;             /* out: the vcpu it notifies */
    union {
        struct {
            xenabi_domid_t dom;
            uint16_t pad0;
        } unbound;
        struct {
            xenabi_domid_t dom;
            uint16_t pad0;
            xenabi_evtchn_port_t port;
        } interdomain;
        uint32_t pirq;
        uint32_t virq;
    } u;
};
XENABI_ASSERT_SIZE(struct xenabi_evtchn_status, 24);
XENABI_ASSERT_OFFSET(struct xenabi_evtchn_status, dom, 0);
XENABI_ASSERT_OFFSET(struct xenabi_evtchn_status, pad0, 2);
XENABI_ASSERT_OFFSET(struct xenabi_evtchn_status, port, 4);
XENABI_ASSERT_OFFSET(struct xenabi_evtchn_status, status, 8);
XENABI_ASSERT_OFFSET(struct xenabi_evtchn_status, vcpu, 12);
XENABI_ASSERT_OFFSET(struct xenabi_evtchn_status, u, 16);
XENABI_ASSERT_OFFSET(struct xenabi_evtchn_status, u.unbound.dom, 16);
XENABI_ASSERT_OFFSET(struct xenabi_evtchn_status, u.interdomain.dom, 16);
XENABI_ASSERT_OFFSET(struct xenabi_evtchn_status, u.interdomain.port, 20);
XENABI_ASSERT_OFFSET(struct xenabi_evtchn_status, u.pirq, 16);
XENABI_ASSERT_OFFSET(struct xenabi_evtchn_status, u.virq, 16);

/*
 * Virtual IRQs. "Per vcpu" ones are bound on each vcpu that wants them;
 * the others are global, bound on vcpu 0, and most are for dom0 only.
 */
#define XENABI_VIRQ_TIMER 0        /* per vcpu: the vcpu's timer fired */
#define XENABI_VIRQ_DEBUG 1        /* per vcpu: dump state (Xen console key) */
#define XENABI_VIRQ_CONSOLE 2      /* dom0: input on Xen's console */
#define XENABI_VIRQ_DOM_EXC 3      /* dom0: a domain crashed or shut down */
#define XENABI_VIRQ_TBUF 4         /* dom0: trace records */
#define XENABI_VIRQ_DEBUGGER 6     /* dom0: a domain paused for a debugger */
#define XENABI_VIRQ_XENOPROF 7     /* per vcpu */
#define XENABI_VIRQ_CON_RING 8     /* dom0 */
#define XENABI_VIRQ_PCPU_STATE 9   /* dom0 */
#define XENABI_VIRQ_MEM_EVENT 10   /* dom0 */
#define XENABI_VIRQ_ARGO 11        /* Argo message arrived */
#define XENABI_VIRQ_ENOMEM 12      /* dom0: Xen is short of memory */
#define XENABI_VIRQ_XENPMU 13      /* per vcpu */
#define XENABI_VIRQ_ARCH_0 16      /* 16-23: architecture specific */
#define XENABI_NR_VIRQS 24

#endif /* XENABI_EVENT_CHANNEL_H */
