/* Least recently used: one list, a hit moves a block to the head, the
 * victim is the tail. */
#include <blkcache/blkcache.h>
#include <stdlib.h>

#include "policy.h"
#include "qlist.h"

struct blkcache_repl {
    struct qlist list;
    struct qlinks links;
};

struct blkcache_repl *blkcache_repl_create(uint32_t blocks)
{
    struct blkcache_repl *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->links.prev = calloc(blocks, sizeof(uint32_t));
    p->links.next = calloc(blocks, sizeof(uint32_t));
    if (p->links.prev == NULL || p->links.next == NULL) {
        blkcache_repl_destroy(p);
        return NULL;
    }
    qlist_init(&p->list);
    return p;
}

void blkcache_repl_destroy(struct blkcache_repl *p)
{
    if (p == NULL)
        return;
    free(p->links.prev);
    free(p->links.next);
    free(p);
}

void blkcache_repl_insert(struct blkcache_repl *p, uint32_t idx,
                          uint64_t sector)
{
    (void)sector;
    qlist_push_head(&p->list, p->links, idx);
}

void blkcache_repl_touch(struct blkcache_repl *p, uint32_t idx)
{
    qlist_unlink(&p->list, p->links, idx);
    qlist_push_head(&p->list, p->links, idx);
}

uint32_t blkcache_repl_victim(struct blkcache_repl *p)
{
    return p->list.tail;
}

void blkcache_repl_evict(struct blkcache_repl *p, uint32_t idx,
                         uint64_t sector)
{
    (void)sector;
    qlist_unlink(&p->list, p->links, idx);
}

void blkcache_repl_drop(struct blkcache_repl *p, uint32_t idx)
{
    qlist_unlink(&p->list, p->links, idx);
}

const char *blkcache_replacement_name(void)
{
    return "lru";
}
