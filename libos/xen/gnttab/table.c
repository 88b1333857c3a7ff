/*
 * Mapping the grant table frames and the free list of references.
 */
#include <string.h>

#include <hypervisor/hypervisor.h>

#include "internal.h"

struct gnttab_state gnttab_state;

/*
 * Xen puts the grant table frames over pages of ours (HVM/PVH guests).
 * One array keeps the entries contiguous, so a reference indexes it
 * directly.
 */
static _Alignas(XENABI_PAGE_SIZE)
    uint8_t table_pages[GNTTAB_MAX_FRAMES][XENABI_PAGE_SIZE];

int gnttab_init(void)
{
    struct gnttab_state *s = &gnttab_state;
    memset(s, 0, sizeof(*s));
    s->free_head = s->free_tail = GNTTAB_NO_REF;

    struct xenabi_gnttab_query_size q = {.dom = XENABI_DOMID_SELF};
    long rc = xen_grant_table_op(XENABI_GNTTABOP_QUERY_SIZE, &q, 1);
    if (rc < 0)
        return (int)rc;
    if (q.status != XENABI_GNTST_OKAY)
        return -XENABI_EIO;
    uint32_t frames = q.max_nr_frames < GNTTAB_MAX_FRAMES ? q.max_nr_frames
                                                          : GNTTAB_MAX_FRAMES;
    if (frames == 0)
        return -XENABI_ENOSPC;

    /* Xen grows the table to each frame index we map. */
    for (uint32_t i = 0; i < frames; i++) {
        rc = xen_add_to_physmap(XENABI_XENMAPSPACE_GRANT_TABLE, i,
                                xen_ptr_to_frame(table_pages[i]));
        if (rc < 0) {
            if (i == 0)
                return (int)rc;
            frames = i; /* use what we got */
            break;
        }
    }

    s->nr_refs = frames * (uint32_t)XENABI_GRANT_ENTRIES_PER_FRAME;
    /* Entries 0-7 belong to the toolstack (console, xenstore rings). */
    for (uint32_t ref = XENABI_GNTTAB_NR_RESERVED_ENTRIES; ref < s->nr_refs;
         ref++)
        gnttab_free_ref(ref);
    s->stats.capacity = s->nr_refs - XENABI_GNTTAB_NR_RESERVED_ENTRIES;
    s->table = (struct xenabi_grant_entry_v1 *)(void *)table_pages;
    return 0;
}

bool gnttab_ready(void)
{
    return gnttab_state.table != NULL;
}

void gnttab_free_ref(xenabi_grant_ref_t ref)
{
    struct gnttab_state *s = &gnttab_state;
    s->refs[ref] = (struct gnttab_record){
        .state = GNTTAB_REF_FREE,
        .next_free = GNTTAB_NO_REF,
    };
    if (s->free_tail == GNTTAB_NO_REF)
        s->free_head = ref;
    else
        s->refs[s->free_tail].next_free = ref;
    s->free_tail = ref;
}
