/*
 * 2Q, the full version of Johnson and Shasha (VLDB 1994).
 *
 * Resident blocks are on one of two lists: A1in, a FIFO of blocks seen
 * once, and Am, an LRU of blocks asked for again after they had left
 * A1in. A1out remembers the sectors (not the data) of the last blocks
 * evicted from A1in. A miss on a sector in A1out goes to Am; any other
 * miss goes to A1in; a hit in A1in changes nothing (a burst of
 * references to a new block counts once). The victim comes from A1in
 * while it holds more than Kin blocks, else from Am. A one-off scan
 * therefore only cycles A1in and leaves Am, the hot set, alone.
 *
 * Kin = blocks / 4 and Kout = blocks / 2 (at least 1 each), the sizes
 * the paper recommends.
 */
#include <blkcache/blkcache.h>
#include <stdlib.h>

#include "policy.h"
#include "qlist.h"

enum where { NOWHERE, A1IN, AM };

struct blkcache_repl {
    uint32_t blocks, kin, kout;
    struct qlist a1in, am;
    struct qlinks links; /* resident blocks, by index */
    uint8_t *where;      /* enum where, by index */
    /* A1out: kout ghost nodes (a sector each) on a FIFO, found by a
     * chained hash on the sector. */
    struct qlist a1out, ghost_free;
    struct qlinks glinks;
    uint64_t *gsector;
    uint32_t *gchain; /* next node in the same bucket */
    uint32_t *bucket; /* first node, per bucket */
    uint32_t nbuckets; /* a power of two */
};

static uint32_t hash(const struct blkcache_repl *p, uint64_t sector)
{
    return (uint32_t)((sector * UINT64_C(0x9e3779b97f4a7c15)) >> 32)
           & (p->nbuckets - 1);
}

struct blkcache_repl *blkcache_repl_create(uint32_t blocks)
{
    struct blkcache_repl *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->blocks = blocks;
    p->kin = blocks / 4 > 0 ? blocks / 4 : 1;
    p->kout = blocks / 2 > 0 ? blocks / 2 : 1;
    p->nbuckets = 1;
    while (p->nbuckets < p->kout)
        p->nbuckets <<= 1;
    p->links.prev = calloc(blocks, sizeof(uint32_t));
    p->links.next = calloc(blocks, sizeof(uint32_t));
    p->where = calloc(blocks, 1);
    p->glinks.prev = calloc(p->kout, sizeof(uint32_t));
    p->glinks.next = calloc(p->kout, sizeof(uint32_t));
    p->gsector = calloc(p->kout, sizeof(uint64_t));
    p->gchain = calloc(p->kout, sizeof(uint32_t));
    p->bucket = calloc(p->nbuckets, sizeof(uint32_t));
    if (p->links.prev == NULL || p->links.next == NULL || p->where == NULL
        || p->glinks.prev == NULL || p->glinks.next == NULL
        || p->gsector == NULL || p->gchain == NULL || p->bucket == NULL) {
        blkcache_repl_destroy(p);
        return NULL;
    }
    qlist_init(&p->a1in);
    qlist_init(&p->am);
    qlist_init(&p->a1out);
    qlist_init(&p->ghost_free);
    for (uint32_t b = 0; b < p->nbuckets; b++)
        p->bucket[b] = QLIST_NONE;
    for (uint32_t g = 0; g < p->kout; g++)
        qlist_push_head(&p->ghost_free, p->glinks, g);
    return p;
}

void blkcache_repl_destroy(struct blkcache_repl *p)
{
    if (p == NULL)
        return;
    free(p->links.prev);
    free(p->links.next);
    free(p->where);
    free(p->glinks.prev);
    free(p->glinks.next);
    free(p->gsector);
    free(p->gchain);
    free(p->bucket);
    free(p);
}

/* ---- A1out ------------------------------------------------------------ */

static uint32_t ghost_find(const struct blkcache_repl *p, uint64_t sector)
{
    for (uint32_t g = p->bucket[hash(p, sector)]; g != QLIST_NONE;
         g = p->gchain[g])
        if (p->gsector[g] == sector)
            return g;
    return QLIST_NONE;
}

static void ghost_remove(struct blkcache_repl *p, uint32_t g)
{
    uint32_t *link = &p->bucket[hash(p, p->gsector[g])];
    while (*link != g)
        link = &p->gchain[*link];
    *link = p->gchain[g];
    qlist_unlink(&p->a1out, p->glinks, g);
    qlist_push_head(&p->ghost_free, p->glinks, g);
}

static void ghost_add(struct blkcache_repl *p, uint64_t sector)
{
    if (ghost_find(p, sector) != QLIST_NONE)
        return;
    if (p->ghost_free.count == 0)
        ghost_remove(p, p->a1out.tail); /* the oldest is forgotten */
    uint32_t g = p->ghost_free.head;
    qlist_unlink(&p->ghost_free, p->glinks, g);
    p->gsector[g] = sector;
    uint32_t b = hash(p, sector);
    p->gchain[g] = p->bucket[b];
    p->bucket[b] = g;
    qlist_push_head(&p->a1out, p->glinks, g);
}

/* ---- resident blocks ---------------------------------------------------- */

static struct qlist *list_of(struct blkcache_repl *p, uint32_t idx)
{
    return p->where[idx] == AM ? &p->am : &p->a1in;
}

void blkcache_repl_insert(struct blkcache_repl *p, uint32_t idx,
                          uint64_t sector)
{
    uint32_t g = ghost_find(p, sector);
    if (g != QLIST_NONE) {
        ghost_remove(p, g);
        p->where[idx] = AM;
        qlist_push_head(&p->am, p->links, idx);
    } else {
        p->where[idx] = A1IN;
        qlist_push_head(&p->a1in, p->links, idx);
    }
}

void blkcache_repl_touch(struct blkcache_repl *p, uint32_t idx)
{
    if (p->where[idx] == AM) {
        qlist_unlink(&p->am, p->links, idx);
        qlist_push_head(&p->am, p->links, idx);
    }
}

uint32_t blkcache_repl_victim(struct blkcache_repl *p)
{
    if (p->a1in.count > p->kin || p->am.count == 0)
        return p->a1in.tail;
    return p->am.tail;
}

void blkcache_repl_evict(struct blkcache_repl *p, uint32_t idx,
                         uint64_t sector)
{
    if (p->where[idx] == A1IN)
        ghost_add(p, sector);
    blkcache_repl_drop(p, idx);
}

void blkcache_repl_drop(struct blkcache_repl *p, uint32_t idx)
{
    qlist_unlink(list_of(p, idx), p->links, idx);
    p->where[idx] = NOWHERE;
}

const char *blkcache_replacement_name(void)
{
    return "2q";
}
