/*
 * The simulated grant table: the guest's table frames (placed with
 * XENMEM_add_to_physmap), and the backend domain mapping grants the way
 * Xen checks them.
 */
#include <string.h>

#include <hypervisor/hypervisor.h>

#include "internal.h"

#define MAX_FRAMES 8
#define MAX_REFS (MAX_FRAMES * XENABI_GRANT_ENTRIES_PER_FRAME)

static struct {
    uint32_t max_frames; /* what query_size reports */
    uint32_t nr_frames;
    struct xenabi_grant_entry_v1 *frames[MAX_FRAMES];
    /* Mappings per reference, as Xen's pin counts. */
    uint16_t ro_maps[MAX_REFS];
    uint16_t rw_maps[MAX_REFS];
    uint32_t map_frame[MAX_REFS]; /* the frame Xen pinned at the last map */
    uint32_t mapped;
    bool reported[MAX_REFS]; /* a violation is reported once per ref */
} gt;

void sim_gnttab_reset(void)
{
    memset(&gt, 0, sizeof(gt));
    gt.max_frames = 4;
}

void sim_gnttab_set_max_frames(uint32_t frames)
{
    if (frames > MAX_FRAMES)
        sim_fatal("sim_gnttab_set_max_frames(%u): at most %d", frames,
                  MAX_FRAMES);
    gt.max_frames = frames;
}

long sim_gnttab_op(uint32_t cmd, void *arg, uint32_t count)
{
    if (cmd != XENABI_GNTTABOP_QUERY_SIZE)
        return -XENABI_ENOSYS;
    if (count != 1)
        return -XENABI_EINVAL;
    struct xenabi_gnttab_query_size q;
    memcpy(&q, arg, sizeof(q));
    if (q.dom != XENABI_DOMID_SELF && q.dom != SIM_GUEST_DOMID) {
        q.status = XENABI_GNTST_PERMISSION_DENIED;
    } else {
        q.nr_frames = gt.nr_frames;
        q.max_nr_frames = gt.max_frames;
        q.status = XENABI_GNTST_OKAY;
    }
    memcpy(arg, &q, sizeof(q));
    return 0;
}

long sim_map_grant_frame(uint64_t idx, xenabi_pfn_t gfn)
{
    if (idx >= gt.max_frames)
        return -XENABI_EINVAL;
    /* Xen only grows the table one frame at a time. */
    if (idx > gt.nr_frames)
        return -XENABI_EINVAL;
    void *page = xen_frame_to_ptr(gfn);
    if (page == NULL)
        return -XENABI_EINVAL;
    if (idx == gt.nr_frames) {
        memset(page, 0, XENABI_PAGE_SIZE); /* a new frame is all invalid */
        gt.nr_frames++;
    } else {
        memcpy(page, gt.frames[idx], XENABI_PAGE_SIZE);
    }
    gt.frames[idx] = page;
    return 0;
}

static struct xenabi_grant_entry_v1 *entry(uint32_t ref)
{
    if (ref >= gt.nr_frames * XENABI_GRANT_ENTRIES_PER_FRAME)
        return NULL;
    return &gt.frames[ref / XENABI_GRANT_ENTRIES_PER_FRAME]
                     [ref % XENABI_GRANT_ENTRIES_PER_FRAME];
}

int sim_gnttab_map(uint32_t ref, bool readonly, void **page)
{
    struct xenabi_grant_entry_v1 *e = entry(ref);
    if (e == NULL)
        return XENABI_GNTST_BAD_GNTREF;
    if (gt.ro_maps[ref] + gt.rw_maps[ref] == UINT16_MAX)
        return XENABI_GNTST_NO_SPACE;

    uint16_t flags = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);
    for (;;) {
        /* Read the guest's entry once per attempt, after its flags. */
        xenabi_domid_t domid = __atomic_load_n(&e->domid, __ATOMIC_ACQUIRE);
        uint32_t frame = __atomic_load_n(&e->frame, __ATOMIC_ACQUIRE);
        if ((flags & XENABI_GTF_TYPE_MASK) != XENABI_GTF_PERMIT_ACCESS)
            return XENABI_GNTST_GENERAL_ERROR;
        if (domid != SIM_BACKEND_DOMID)
            return XENABI_GNTST_PERMISSION_DENIED;
        if (!readonly && (flags & XENABI_GTF_READONLY))
            return XENABI_GNTST_PERMISSION_DENIED;
        void *p = xen_frame_to_ptr(frame);
        if (p == NULL)
            return XENABI_GNTST_BAD_PAGE;
        /*
         * Mark the entry in use, as Xen does, with a compare-and-swap: if
         * the guest revoked it meanwhile, look again.
         */
        uint16_t in_use = flags | XENABI_GTF_READING;
        if (!readonly)
            in_use |= XENABI_GTF_WRITING;
        if (__atomic_compare_exchange_n(&e->flags, &flags, in_use, false,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            if (readonly)
                gt.ro_maps[ref]++;
            else
                gt.rw_maps[ref]++;
            gt.map_frame[ref] = frame;
            gt.mapped++;
            *page = p;
            return XENABI_GNTST_OKAY;
        }
    }
}

int sim_gnttab_unmap(uint32_t ref, bool readonly)
{
    struct xenabi_grant_entry_v1 *e = entry(ref);
    uint16_t *count = readonly ? gt.ro_maps : gt.rw_maps;
    if (e == NULL || count[ref] == 0)
        return XENABI_GNTST_BAD_HANDLE;
    count[ref]--;
    gt.mapped--;
    uint16_t clear = 0;
    if (gt.rw_maps[ref] == 0)
        clear |= XENABI_GTF_WRITING;
    if (gt.rw_maps[ref] + gt.ro_maps[ref] == 0)
        clear |= XENABI_GTF_READING;
    __atomic_fetch_and(&e->flags, (uint16_t)~clear, __ATOMIC_ACQ_REL);
    return XENABI_GNTST_OKAY;
}

uint32_t sim_gnttab_mapped(void)
{
    return gt.mapped;
}

/* Does the guest page of `frame` overlap [lo, hi)? */
static bool frame_in(uint32_t frame, uintptr_t lo, uintptr_t hi)
{
    const void *page = xen_frame_to_ptr(frame);
    if (page == NULL)
        return false;
    uintptr_t p = (uintptr_t)page;
    return p < hi && lo < p + XENABI_PAGE_SIZE;
}

uint32_t sim_gnttab_grants_on(const void *p, size_t len)
{
    uintptr_t lo = (uintptr_t)p, hi = lo + len;
    uint32_t n = 0;
    uint32_t refs = gt.nr_frames * XENABI_GRANT_ENTRIES_PER_FRAME;
    for (uint32_t ref = 0; ref < refs; ref++) {
        const struct xenabi_grant_entry_v1 *e = entry(ref);
        uint16_t flags = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);
        uint32_t frame = __atomic_load_n(&e->frame, __ATOMIC_ACQUIRE);
        bool permits = (flags & XENABI_GTF_TYPE_MASK)
                           == XENABI_GTF_PERMIT_ACCESS
                       && e->domid == SIM_BACKEND_DOMID;
        bool mapped = gt.ro_maps[ref] + gt.rw_maps[ref] != 0;
        if ((permits && frame_in(frame, lo, hi))
            || (mapped && frame_in(gt.map_frame[ref], lo, hi)))
            n++;
    }
    return n;
}

bool sim_gnttab_round(void)
{
    /*
     * Xen itself never lets a guest revoke a mapped grant (the guest's
     * compare-and-swap fails on READING/WRITING); a guest that clears the
     * flags with a plain store would win that race on real hardware.
     * Catch it: a mapped entry must still permit access.
     */
    uint32_t refs = gt.nr_frames * XENABI_GRANT_ENTRIES_PER_FRAME;
    for (uint32_t ref = 0; ref < refs; ref++) {
        if (gt.ro_maps[ref] + gt.rw_maps[ref] == 0)
            continue;
        uint16_t flags = __atomic_load_n(&entry(ref)->flags, __ATOMIC_ACQUIRE);
        if ((flags & XENABI_GTF_TYPE_MASK) != XENABI_GTF_PERMIT_ACCESS
            && !gt.reported[ref]) {
            gt.reported[ref] = true;
            sim_violation("grant ref %u revoked while the backend maps it",
                          ref);
        }
    }
    return false;
}
