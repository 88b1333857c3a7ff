/*
 * Connecting to xenstored: where the ring is, and the store event channel.
 */
#include <string.h>

#include <evtchn/evtchn.h>
#include <hypervisor/hypervisor.h>

#include "internal.h"

struct xs_state xs_state;

/*
 * Runs in event context: only note it. The ring is read in thread
 * context (xs_rx_pump from a waiting request or xs_poll); a scheduler
 * would wake the waiting thread here.
 */
static void store_event(xenabi_evtchn_port_t port, void *arg)
{
    (void)port;
    (void)arg;
}

int xs_init(void)
{
    struct xs_state *s = &xs_state;
    memset(s, 0, sizeof(*s));
    s->next_req_id = 1;
    if (!evtchn_ready())
        return -XENABI_ENOTCONN;

    uint64_t pfn, port;
    long rc = xen_hvm_get_param(XENABI_HVM_PARAM_STORE_PFN, &pfn);
    if (rc == 0)
        rc = xen_hvm_get_param(XENABI_HVM_PARAM_STORE_EVTCHN, &port);
    if (rc < 0)
        return (int)rc;
    if (port == 0 || port >= EVTCHN_NR_PORTS)
        return -XENABI_EINVAL;
    struct xenabi_xenstore_domain_interface *intf = xen_frame_to_ptr(pfn);
    if (intf == NULL)
        return -XENABI_EFAULT;

    /*
     * Start from the indices in the page (someone may have used the ring
     * before us, a boot loader for instance), but only if they make sense.
     */
    uint32_t req_cons = __atomic_load_n(&intf->req_cons, __ATOMIC_ACQUIRE);
    uint32_t req_prod = __atomic_load_n(&intf->req_prod, __ATOMIC_ACQUIRE);
    uint32_t rsp_cons = __atomic_load_n(&intf->rsp_cons, __ATOMIC_ACQUIRE);
    uint32_t rsp_prod = __atomic_load_n(&intf->rsp_prod, __ATOMIC_ACQUIRE);
    if (req_prod - req_cons > XENABI_XENSTORE_RING_SIZE
        || rsp_prod - rsp_cons > XENABI_XENSTORE_RING_SIZE)
        return -XENABI_EIO;
    s->req_prod = req_prod;
    s->rsp_cons = rsp_cons;
    s->port = (xenabi_evtchn_port_t)port;

    int err = evtchn_set_handler(s->port, store_event, NULL);
    if (err == 0)
        err = evtchn_unmask(s->port);
    if (err < 0)
        return err;
    s->intf = intf;
    return 0;
}

bool xs_ready(void)
{
    return xs_state.intf != NULL;
}

uint32_t xs_port(void)
{
    return xs_state.intf != NULL ? xs_state.port : 0;
}

void xs_get_stats(struct xs_stats *out)
{
    *out = xs_state.stats;
}
