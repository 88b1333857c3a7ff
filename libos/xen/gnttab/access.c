/*
 * Granting and revoking access: the protocol of a version 1 grant entry.
 */
#include <hypervisor/hypervisor.h>

#include "internal.h"

/* Take the reference at the head of the free list; GNTTAB_NO_REF if none. */
static uint32_t alloc_ref(void)
{
    struct gnttab_state *s = &gnttab_state;
    uint32_t ref = s->free_head;
    if (ref == GNTTAB_NO_REF)
        return ref;
    s->free_head = s->refs[ref].next_free;
    if (s->free_head == GNTTAB_NO_REF)
        s->free_tail = GNTTAB_NO_REF;
    return ref;
}

int gnttab_grant_access(xenabi_domid_t domid, xenabi_pfn_t frame,
                        bool readonly, const char *tag,
                        xenabi_grant_ref_t *ref)
{
    struct gnttab_state *s = &gnttab_state;
    if (!gnttab_ready())
        return -XENABI_ENOTCONN;
    if (frame > UINT32_MAX || domid >= XENABI_DOMID_FIRST_RESERVED)
        return -XENABI_EINVAL;
    uint32_t r = alloc_ref();
    if (r == GNTTAB_NO_REF) {
        s->stats.exhausted++;
        return -XENABI_ENOSPC;
    }

    s->refs[r] = (struct gnttab_record){
        .tag = tag != NULL ? tag : "(untagged)",
        .frame = (uint32_t)frame,
        .next_free = GNTTAB_NO_REF,
        .domid = domid,
        .state = GNTTAB_REF_LIVE,
        .readonly = readonly,
    };

    struct xenabi_grant_entry_v1 *e = &s->table[r];
    e->domid = domid;
    e->frame = (uint32_t)frame;
    /*
     * The flags make the entry valid, so they go last: the peer (through
     * Xen) must never see PERMIT_ACCESS next to a stale frame or domid.
     */
    uint16_t flags = XENABI_GTF_PERMIT_ACCESS;
    if (readonly)
        flags |= XENABI_GTF_READONLY;
    __atomic_store_n(&e->flags, flags, __ATOMIC_RELEASE);

    s->stats.granted++;
    s->stats.in_use++;
    if (s->stats.in_use > s->stats.peak)
        s->stats.peak = s->stats.in_use;
    *ref = r;
    return 0;
}

static struct gnttab_record *live_record(xenabi_grant_ref_t ref)
{
    struct gnttab_state *s = &gnttab_state;
    if (ref >= s->nr_refs)
        return NULL;
    struct gnttab_record *rec = &s->refs[ref];
    if (rec->state != GNTTAB_REF_LIVE && rec->state != GNTTAB_REF_DEFERRED)
        return NULL;
    return rec;
}

/*
 * Clear the entry's flags unless Xen says the peer is using the page.
 * The compare-and-swap closes the race with a map that starts right now:
 * either Xen set READING/WRITING first and we see it, or our zero lands
 * first and Xen refuses the map.
 */
static int revoke(xenabi_grant_ref_t ref)
{
    struct gnttab_state *s = &gnttab_state;
    uint16_t *flags = &s->table[ref].flags;
    uint16_t seen = __atomic_load_n(flags, __ATOMIC_ACQUIRE);
    do {
        if (seen & (XENABI_GTF_READING | XENABI_GTF_WRITING)) {
            s->stats.busy++;
            return -XENABI_EBUSY;
        }
    } while (!__atomic_compare_exchange_n(flags, &seen, 0, false,
                                          __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));

    if (s->refs[ref].state == GNTTAB_REF_DEFERRED)
        s->stats.deferred--;
    s->stats.in_use--;
    s->stats.ended++;
    gnttab_free_ref(ref);
    return 0;
}

int gnttab_end_access(xenabi_grant_ref_t ref)
{
    if (!gnttab_ready())
        return -XENABI_ENOTCONN;
    if (live_record(ref) == NULL)
        return -XENABI_EINVAL;
    return revoke(ref);
}

int gnttab_end_access_deferred(xenabi_grant_ref_t ref)
{
    if (!gnttab_ready())
        return -XENABI_ENOTCONN;
    struct gnttab_record *rec = live_record(ref);
    if (rec == NULL)
        return -XENABI_EINVAL;
    int rc = revoke(ref);
    if (rc != -XENABI_EBUSY)
        return rc;
    if (rec->state != GNTTAB_REF_DEFERRED) {
        rec->state = GNTTAB_REF_DEFERRED;
        gnttab_state.stats.deferred++;
    }
    return 1;
}

unsigned gnttab_reclaim_deferred(void)
{
    struct gnttab_state *s = &gnttab_state;
    if (!gnttab_ready())
        return 0;
    for (uint32_t ref = 0; ref < s->nr_refs && s->stats.deferred > 0; ref++)
        if (s->refs[ref].state == GNTTAB_REF_DEFERRED)
            (void)revoke(ref);
    return s->stats.deferred;
}
