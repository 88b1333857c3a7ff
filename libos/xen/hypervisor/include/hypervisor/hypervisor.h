/*
 * hypervisor/hypervisor.h - the only privileged things the Xen platform
 * core (//libos/xen/evtchn, gnttab, xenstore, xenbus) ever does: call Xen,
 * and turn guest frame numbers into pointers and back.
 *
 * Everything else in those libraries is plain protocol logic over shared
 * memory, so it builds and runs on the host. Whoever links an image (or a
 * host test) provides the three functions below, once:
 *
 *   - inside an image on Xen: //libos/platform/xen:hypervisor, which calls
 *     through the hypercall page the Xen platform installs
 *     (<platform/xen/xen.h>), with frames mapped virtual == physical on PVH,
 *     and machine frames (with HVMOP_get_param and XENMEM_add_to_physmap
 *     answered from start_info and by mapping) on PV; the same image not on
 *     Xen gets -XENABI_ENOSYS, as with :absent;
 *   - inside an image not on Xen: //libos/xen/hypervisor:absent, where
 *     every hypercall fails with -XENABI_ENOSYS, so the libraries' init
 *     functions report "not on Xen" and nothing else happens;
 *   - on the host: //testing/xensim, a deterministic simulated hypervisor
 *     with a second domain that runs xenstored and device backends.
 *
 * The alternatives define the same symbols; an image links exactly one
 * (they carry the tag "unikernel_slot:xen_hypervisor").
 */
#ifndef HYPERVISOR_HYPERVISOR_H
#define HYPERVISOR_HYPERVISOR_H

#include <stdint.h>

#include <xenabi/errno.h>
#include <xenabi/event_channel.h>
#include <xenabi/grant_table.h>
#include <xenabi/hvm.h>
#include <xenabi/hypercall.h>
#include <xenabi/memory.h>
#include <xenabi/sched.h>
#include <xenabi/types.h>

/*
 * Hypercall `nr` (XENABI_HYPERCALL_*) with up to five arguments, following
 * <xenabi/hypercall.h>: pointers are passed as xenabi_handle() values and
 * must stay valid for the call. Returns Xen's result: >= 0 on success,
 * -XENABI_E* on failure. Must be callable before anything else in these
 * libraries is initialised.
 *
 * One extension the simulator uses and real Xen never does: SCHEDOP_block
 * may fail with -XENABI_ETIMEDOUT to say "nothing in the system can ever
 * wake you", so a test that would hang on real Xen fails instead.
 */
long xen_hypercall(unsigned int nr, uint64_t a1, uint64_t a2, uint64_t a3,
                   uint64_t a4, uint64_t a5);

/*
 * Where guest frame `gfn` is mapped in this address space, or NULL if it
 * is not. Used for pages whose frame number comes from Xen (the xenstore
 * ring's HVM_PARAM_STORE_PFN). A "frame" is what Xen and other domains
 * use: guest-physical on HVM/PVH, a machine frame on PV.
 */
void *xen_frame_to_ptr(xenabi_pfn_t gfn);

/*
 * The guest frame behind `page` (4 KiB aligned memory of this domain).
 * Used to hand our own pages to Xen: the shared info page, grant table
 * frames, and the frames drivers grant to backends.
 */
xenabi_pfn_t xen_ptr_to_frame(const void *page);

/* ---- typed wrappers: one per hypercall the core uses --------------------- */

static inline long xen_event_channel_op(uint32_t cmd, void *arg)
{
    return xen_hypercall(XENABI_HYPERCALL_EVENT_CHANNEL_OP, cmd,
                         xenabi_handle(arg), 0, 0, 0);
}

static inline long xen_grant_table_op(uint32_t cmd, void *args,
                                      uint32_t count)
{
    return xen_hypercall(XENABI_HYPERCALL_GRANT_TABLE_OP, cmd,
                         xenabi_handle(args), count, 0, 0);
}

static inline long xen_memory_op(uint32_t cmd, void *arg)
{
    return xen_hypercall(XENABI_HYPERCALL_MEMORY_OP, cmd, xenabi_handle(arg),
                         0, 0, 0);
}

static inline long xen_hvm_op(uint32_t cmd, void *arg)
{
    return xen_hypercall(XENABI_HYPERCALL_HVM_OP, cmd, xenabi_handle(arg), 0,
                         0, 0);
}

static inline long xen_sched_op(uint32_t cmd, void *arg)
{
    return xen_hypercall(XENABI_HYPERCALL_SCHED_OP, cmd, xenabi_handle(arg),
                         0, 0, 0);
}

/* HVMOP_get_param for this domain; *value is written only on success. */
static inline long xen_hvm_get_param(uint32_t index, uint64_t *value)
{
    struct xenabi_hvm_param p = {
        .domid = XENABI_DOMID_SELF,
        .index = index,
    };
    long rc = xen_hvm_op(XENABI_HVMOP_GET_PARAM, &p);
    if (rc == 0)
        *value = p.value;
    return rc;
}

/* Put frame `idx` of `space` (XENABI_XENMAPSPACE_*) at our frame `gfn`. */
static inline long xen_add_to_physmap(uint32_t space, uint64_t idx,
                                      xenabi_pfn_t gfn)
{
    struct xenabi_add_to_physmap a = {
        .domid = XENABI_DOMID_SELF,
        .space = space,
        .idx = idx,
        .gpfn = gfn,
    };
    return xen_memory_op(XENABI_XENMEM_ADD_TO_PHYSMAP, &a);
}

#endif /* HYPERVISOR_HYPERVISOR_H */
