/*
 * gnttab/gnttab.h - sharing our pages with other domains (grant tables,
 * version 1), with accounting that makes leaked grants visible.
 *
 * To let a backend map one of our pages, grant it access and send it the
 * returned reference (usually through xenstore). To take the page back,
 * end the access: that fails with -XENABI_EBUSY while the peer still has
 * the page mapped or is copying to/from it (Xen marks the entry
 * GTF_READING / GTF_WRITING), because reusing a page the peer can still
 * write would corrupt whatever we put there next. A driver tearing down
 * a connection the backend has not released yet uses
 * gnttab_end_access_deferred() and reclaims later.
 *
 *     xenabi_grant_ref_t ref;
 *     gnttab_grant_access(backend_id, xen_ptr_to_frame(ring), false,
 *                         "netfront.tx-ring", &ref);
 *     ... write ref to xenstore; the backend maps it ...
 *     if (gnttab_end_access(ref) == -XENABI_EBUSY) ... still mapped ...
 *
 * Every grant carries a tag (who granted it, e.g. "blkfront.req"); the
 * statistics count grants in use and the peak, and gnttab_outstanding()
 * lists the grants still live with their tags, so a driver that forgets
 * to end access shows up by name.
 *
 * Functions return 0 on success and -XENABI_E* on failure; before
 * gnttab_init() succeeded they fail with -XENABI_ENOTCONN. Not for use
 * from event handlers (interrupt context) on the image.
 */
#ifndef GNTTAB_GNTTAB_H
#define GNTTAB_GNTTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xenabi/errno.h>
#include <xenabi/grant_table.h>
#include <xenabi/types.h>

/*
 * Grant table frames we map (fewer if Xen allows fewer): 512 entries
 * each, of which the first 8 are the toolstack's.
 */
#define GNTTAB_MAX_FRAMES 4
#define GNTTAB_MAX_REFS (GNTTAB_MAX_FRAMES * XENABI_GRANT_ENTRIES_PER_FRAME)

/*
 * Ask Xen for the table's size (GNTTABOP_query_size), map up to
 * GNTTAB_MAX_FRAMES frames into pages of ours (XENMEM_add_to_physmap) and
 * put every non-reserved entry on the free list. Calling it again resets
 * the accounting; call it only with no grant live.
 */
int gnttab_init(void);

bool gnttab_ready(void);

/*
 * Let domain `domid` map (or copy) our frame `frame`, read-only if asked.
 * `tag` names the granter in leak reports; it must stay valid as long as
 * the grant does (a string literal, typically). On success *ref is the
 * reference to hand to the peer. -XENABI_ENOSPC when no entry is free,
 * -XENABI_EINVAL for a frame that does not fit an entry (>= 2^32) or a
 * reserved domid.
 */
int gnttab_grant_access(xenabi_domid_t domid, xenabi_pfn_t frame,
                        bool readonly, const char *tag,
                        xenabi_grant_ref_t *ref);

/*
 * Revoke a grant and free its reference. -XENABI_EBUSY if the peer still
 * uses the page (the grant stays live: try again after the peer unmapped
 * it); -XENABI_EINVAL for a reference that is not live.
 */
int gnttab_end_access(xenabi_grant_ref_t ref);

/*
 * Revoke now if possible, otherwise remember to: the grant is marked
 * deferred, stays live and listed, and gnttab_reclaim_deferred() retries
 * it. Returns 0 if revoked now, 1 if deferred.
 */
int gnttab_end_access_deferred(xenabi_grant_ref_t ref);

/* Retry every deferred revocation; returns how many are still deferred. */
unsigned gnttab_reclaim_deferred(void);

struct gnttab_stats {
    uint32_t capacity;    /* usable references (excluding reserved ones) */
    uint32_t in_use;      /* live grants, deferred ones included */
    uint32_t peak;        /* highest in_use since gnttab_init */
    uint32_t deferred;    /* live grants waiting for the peer to unmap */
    uint64_t granted;     /* successful gnttab_grant_access calls */
    uint64_t ended;       /* successful revocations */
    uint64_t busy;        /* revocations refused because the peer held it */
    uint64_t exhausted;   /* gnttab_grant_access calls failed with ENOSPC */
};

void gnttab_get_stats(struct gnttab_stats *out);

/* One live grant, as the leak report shows it. */
struct gnttab_grant_info {
    xenabi_grant_ref_t ref;
    xenabi_domid_t domid;
    bool readonly;
    bool deferred;
    xenabi_pfn_t frame;
    const char *tag;
};

/*
 * The live grants in reference order: fills out[0 .. min(n, max) - 1] and
 * returns n, the number of live grants (so gnttab_outstanding(NULL, 0)
 * just counts them).
 */
size_t gnttab_outstanding(struct gnttab_grant_info *out, size_t max);

/*
 * Print the live grants with printf, one line each:
 *     gnttab: leak: ref 9 dom 0 frame 0x1234 rw "netfront.tx-ring"
 * and return how many there were. For end-of-test and shutdown checks.
 */
size_t gnttab_report_leaks(void);

/*
 * The accounting a clean shutdown must leave at zero, for a log: the
 * leaks (gnttab_report_leaks), then one line
 *     WHO: gnttab: N grants outstanding (D deferred); G granted, E ended,
 *     B refused while the peer held them, peak P
 * and, if N > 0, "WHO: the peer still maps our grants". Returns N.
 */
size_t gnttab_print_summary(const char *who);

#endif /* GNTTAB_GNTTAB_H */
