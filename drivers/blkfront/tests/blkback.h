/*
 * A simulated blkback for blkfront's host tests: the backend domain of
 * //testing/xensim serving one vbd from a memory buffer (the "disk", which
 * the test reads and writes directly, as dom0 would see the file).
 *
 * It runs in the simulator's rounds (sim_set_round_hook): the xenbus
 * handshake of a block backend (details, InitWait; map ring-ref, bind
 * event-channel, Connected; Closing, Closed; InitWait again for a new
 * frontend), then every request on the ring: each segment's grant is
 * mapped (read-only for writes), the bytes copied, the grant unmapped,
 * and a response posted. Faults make it misbehave on purpose.
 */
#ifndef BLKBACK_H
#define BLKBACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BLKBACK_FLUSH (1u << 0)   /* feature-flush-cache = 1 */
#define BLKBACK_BARRIER (1u << 1) /* feature-barrier = 1 */
#define BLKBACK_READONLY (1u << 2)
#define BLKBACK_MULTI_PAGE (1u << 3) /* max-ring-page-order = 3 */
#define BLKBACK_INDIRECT (1u << 4)   /* feature-max-indirect-segments = 32 */
/* Linux's blkback: on the frontend's Closing it only says Closing; it
 * unmaps the ring once the frontend is Closed, then says Closed. */
#define BLKBACK_UNMAP_ON_CLOSED (1u << 5)
/* Hostile: every grant it maps for a request (data pages, the indirect
 * page) stays mapped after it answered OKAY, until blkback_release. */
#define BLKBACK_KEEP_MAPS (1u << 6)
/* Hostile: it touches the whole of every page it maps, not just the
 * sectors the segment names: the rest of a read's page is filled with
 * BLKBACK_WHOLE_PAGE_FILL, a write's page is read whole (blkback_saw). */
#define BLKBACK_WHOLE_PAGE (1u << 7)
#define BLKBACK_WHOLE_PAGE_FILL 0xa5

/* Misbehaviour applied to the next response (then disarmed). */
enum blkback_fault {
    BLKBACK_FAULT_NONE,
    BLKBACK_BAD_ID,       /* id of an entry that is not in flight */
    BLKBACK_ID_RANGE,     /* id far beyond any entry */
    BLKBACK_STALE_GEN,    /* the right entry, an old generation */
    BLKBACK_BAD_STATUS,   /* status 7 */
    BLKBACK_WRONG_OP,     /* operation of another kind */
    BLKBACK_DUPLICATE,    /* the previous response again, in its place */
    BLKBACK_PROD_AHEAD,   /* rsp_prod published 5 beyond the responses */
};

struct blkback_stats {
    uint64_t requests, reads, writes, flushes, barriers, errors;
    uint64_t indirect;  /* indirect requests served */
    uint64_t maps;      /* segment grants mapped */
    uint64_t connects;  /* times the ring was mapped */
    uint32_t ring_pages; /* of the last connection */
    /* Maps that gave it a page it still keeps mapped from an earlier
     * request (BLKBACK_KEEP_MAPS): the frontend reused a page it lost. */
    uint64_t kept_reused;
};

struct blkback;
struct xenabi_blkif_response;

/* A hostile backend's pen (the fuzz target's): every response passes
 * through fn before it is written to the ring. NULL: none. */
typedef void (*blkback_rewrite_fn)(void *arg,
                                   struct xenabi_blkif_response *rsp);
void blkback_set_rewrite(struct blkback *b, blkback_rewrite_fn fn, void *arg);
/* Write `rsp` to the ring as the next response, unasked, and notify (in
 * the next round). */
void blkback_inject(struct blkback *b, const struct xenabi_blkif_response *rsp);

/* The device vbd/<devid> with a zeroed disk of `sectors` 512-byte sectors. */
struct blkback *blkback_create(unsigned devid, uint64_t sectors,
                               uint32_t sector_size, unsigned flags);
uint8_t *blkback_disk(struct blkback *b);
void blkback_fault(struct blkback *b, enum blkback_fault f);
/* While held, requests stay unanswered on the ring. */
void blkback_hold(struct blkback *b, bool hold);
/* Start detaching from the backend side. */
void blkback_close(struct blkback *b);
/* Overwrite a detail node before the frontend connects. */
void blkback_set_node(struct blkback *b, const char *key, const char *value);
int blkback_state(const struct blkback *b);
/* Change the hostile flags (KEEP_MAPS, WHOLE_PAGE) from now on. */
void blkback_set_flags(struct blkback *b, unsigned flags);
/* Mappings kept (BLKBACK_KEEP_MAPS) and not released yet. */
unsigned blkback_kept(const struct blkback *b);
/* The page of kept mapping i (< blkback_kept). */
const void *blkback_kept_page(const struct blkback *b, unsigned i);
/* Is `page` (any address in it) one of the pages it keeps mapped? */
bool blkback_keeps(const struct blkback *b, const void *page);
/* Write `value` over every kept page mapped writable; pages written. */
unsigned blkback_scribble(struct blkback *b, uint8_t value);
/* Unmap every kept mapping (the backend lets go at last). */
void blkback_release(struct blkback *b);
/* Did any write's page, read whole (BLKBACK_WHOLE_PAGE), hold `bytes`? */
bool blkback_saw(const struct blkback *b, const void *bytes, size_t n);
void blkback_get_stats(const struct blkback *b, struct blkback_stats *out);
/* Frees it; call before sim_reset of the next test. */
void blkback_destroy(struct blkback *b);

#endif
