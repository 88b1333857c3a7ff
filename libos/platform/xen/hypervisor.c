/*
 * The hypervisor of an image booted on Xen, as a PVH guest or as a PV
 * guest: hypercalls go through the boot path's hypercall page
 * (<platform/xen/xen.h>). Not on Xen (the same image under QEMU),
 * xenplat_hypercall() fails with -XENABI_ENOSYS, exactly like :absent,
 * so this is the choice for images that may run on either.
 *
 * Frames are what Xen and the other domains see:
 *   - PVH: guest-physical frames, and the boot path maps virtual ==
 *     physical, so a frame is the address >> 12;
 *   - PV: machine frames (grants carry them, start_info names the rings
 *     by them), translated through <platform/xen/pv.h>.
 *
 * The Xen libraries use two calls a PV guest does not have: HVMOP_get_param
 * (the xenstore and console rings) and XENMEM_add_to_physmap (the shared
 * info page, grant table frames). On PV this file answers them the PV way
 * instead, so the libraries, and the simulator they are tested against,
 * keep one protocol:
 *   - get_param STORE_PFN/STORE_EVTCHN/CONSOLE_PFN/CONSOLE_EVTCHN: from
 *     start_info (the "PFN" is then a machine frame, which
 *     xen_frame_to_ptr() takes on PV);
 *   - add_to_physmap SHARED_INFO: the shared info's machine frame (from
 *     start_info) mapped over the page named by gpfn;
 *   - add_to_physmap GRANT_TABLE idx: GNTTABOP_setup_table for idx + 1
 *     frames, then frame idx mapped over the page named by gpfn.
 * Any other HVM op gets -XENABI_ENOSYS on PV, as Xen itself would answer.
 */
#include <hypervisor/hypervisor.h>
#include <platform/xen/pv.h>
#include <platform/xen/xen.h>
#include <stddef.h>

/* Enough for GNTTAB_MAX_FRAMES (//libos/xen/gnttab) and then some. */
#define PV_GRANT_FRAMES_MAX 64

static long pv_get_param(struct xenabi_hvm_param *p)
{
    struct xenplat_pv_rings rings;

    if (!xenplat_pv_rings(&rings) || p->domid != XENABI_DOMID_SELF)
        return -XENABI_EINVAL;
    switch (p->index) {
    case XENABI_HVM_PARAM_STORE_PFN: p->value = rings.store_mfn; return 0;
    case XENABI_HVM_PARAM_STORE_EVTCHN: p->value = rings.store_evtchn; return 0;
    case XENABI_HVM_PARAM_CONSOLE_PFN: p->value = rings.console_mfn; return 0;
    case XENABI_HVM_PARAM_CONSOLE_EVTCHN:
        p->value = rings.console_evtchn;
        return 0;
    default: return -XENABI_EINVAL;
    }
}

static long grant_frame(uint64_t idx, uint64_t *mfn)
{
    static xenabi_pfn_t frames[PV_GRANT_FRAMES_MAX];
    struct xenabi_gnttab_setup_table setup = {
        .dom = XENABI_DOMID_SELF,
        .nr_frames = (uint32_t)idx + 1,
        .frame_list = xenabi_handle(frames),
    };

    if (idx >= PV_GRANT_FRAMES_MAX)
        return -XENABI_EINVAL;
    long rc = xenplat_hypercall(XENABI_HYPERCALL_GRANT_TABLE_OP,
                                XENABI_GNTTABOP_SETUP_TABLE,
                                xenabi_handle(&setup), 1, 0, 0);
    if (rc < 0)
        return rc;
    if (setup.status != XENABI_GNTST_OKAY)
        return -XENABI_EINVAL;
    *mfn = frames[idx];
    return 0;
}

static long pv_add_to_physmap(const struct xenabi_add_to_physmap *a)
{
    struct xenplat_pv_rings rings;
    void *page = xen_frame_to_ptr(a->gpfn);
    uint64_t mfn;
    long rc;

    if (page == NULL || a->domid != XENABI_DOMID_SELF
        || !xenplat_pv_rings(&rings))
        return -XENABI_EINVAL;
    switch (a->space) {
    case XENABI_XENMAPSPACE_SHARED_INFO:
        mfn = rings.shared_info >> XENABI_PAGE_SHIFT;
        break;
    case XENABI_XENMAPSPACE_GRANT_TABLE:
        rc = grant_frame(a->idx, &mfn);
        if (rc < 0)
            return rc;
        break;
    default:
        return -XENABI_ENOSYS;
    }
    return xenplat_pv_map_frame(page, mfn);
}

long xen_hypercall(unsigned int nr, uint64_t a1, uint64_t a2, uint64_t a3,
                   uint64_t a4, uint64_t a5)
{
    if (xenplat_mode() == XENPLAT_PV) {
        if (nr == XENABI_HYPERCALL_HVM_OP)
            return a1 == XENABI_HVMOP_GET_PARAM
                       ? pv_get_param((struct xenabi_hvm_param *)(uintptr_t)a2)
                       : -XENABI_ENOSYS;
        if (nr == XENABI_HYPERCALL_MEMORY_OP
            && a1 == XENABI_XENMEM_ADD_TO_PHYSMAP)
            return pv_add_to_physmap(
                (const struct xenabi_add_to_physmap *)(uintptr_t)a2);
    }
    return xenplat_hypercall(nr, a1, a2, a3, a4, a5);
}

void *xen_frame_to_ptr(xenabi_pfn_t frame)
{
    if (xenplat_mode() == XENPLAT_PV) {
        uint64_t pfn = xenplat_pv_mfn_to_pfn(frame);
        return pfn == UINT64_MAX ? NULL
                                 : (void *)(uintptr_t)(pfn << XENABI_PAGE_SHIFT);
    }
    return (void *)(uintptr_t)(frame << XENABI_PAGE_SHIFT);
}

xenabi_pfn_t xen_ptr_to_frame(const void *page)
{
    uint64_t pfn = (uintptr_t)page >> XENABI_PAGE_SHIFT;

    if (xenplat_mode() == XENPLAT_PV)
        return xenplat_pv_pfn_to_mfn(pfn);
    return pfn;
}
