/*
 * State of the grant table library, shared by its source files.
 *
 * What we granted is recorded twice: in the shared entry (for Xen and the
 * peer) and in a private record (for us). Bookkeeping only ever reads the
 * private record; the shared entry is read only for the flags Xen owns.
 */
#ifndef GNTTAB_INTERNAL_H
#define GNTTAB_INTERNAL_H

#include <gnttab/gnttab.h>

enum gnttab_ref_state {
    GNTTAB_REF_UNUSABLE = 0, /* reserved for the toolstack, or not mapped */
    GNTTAB_REF_FREE,
    GNTTAB_REF_LIVE,
    GNTTAB_REF_DEFERRED, /* live; revocation waits for the peer */
};

struct gnttab_record {
    const char *tag;
    uint32_t frame;
    uint32_t next_free; /* free list link, GNTTAB_NO_REF at the tail */
    xenabi_domid_t domid;
    uint8_t state;      /* enum gnttab_ref_state */
    bool readonly;
};

#define GNTTAB_NO_REF UINT32_MAX

struct gnttab_state {
    struct xenabi_grant_entry_v1 *table; /* NULL until gnttab_init succeeds */
    uint32_t nr_refs;                    /* entries in the mapped frames */
    /* FIFO: a freed reference is reused as late as possible. */
    uint32_t free_head, free_tail;
    struct gnttab_record refs[GNTTAB_MAX_REFS];
    struct gnttab_stats stats;
};

extern struct gnttab_state gnttab_state;

/* Put `ref` at the tail of the free list. */
void gnttab_free_ref(xenabi_grant_ref_t ref);

#endif /* GNTTAB_INTERNAL_H */
