/*
 * Doubly linked lists threaded through arrays by index, for the
 * replacement policies: O(1) push, unlink and tail, no allocation.
 * Each list node is an index into the caller's prev[]/next[] arrays.
 */
#ifndef BLKCACHE_QLIST_H
#define BLKCACHE_QLIST_H

#include <stdint.h>

#define QLIST_NONE UINT32_MAX

struct qlist {
    uint32_t head, tail; /* most recent at head */
    uint32_t count;
};

struct qlinks {
    uint32_t *prev, *next;
};

static inline void qlist_init(struct qlist *l)
{
    l->head = l->tail = QLIST_NONE;
    l->count = 0;
}

static inline void qlist_push_head(struct qlist *l, struct qlinks k,
                                   uint32_t i)
{
    k.prev[i] = QLIST_NONE;
    k.next[i] = l->head;
    if (l->head != QLIST_NONE)
        k.prev[l->head] = i;
    else
        l->tail = i;
    l->head = i;
    l->count++;
}

static inline void qlist_unlink(struct qlist *l, struct qlinks k, uint32_t i)
{
    if (k.prev[i] != QLIST_NONE)
        k.next[k.prev[i]] = k.next[i];
    else
        l->head = k.next[i];
    if (k.next[i] != QLIST_NONE)
        k.prev[k.next[i]] = k.prev[i];
    else
        l->tail = k.prev[i];
    k.prev[i] = k.next[i] = QLIST_NONE;
    l->count--;
}

#endif /* BLKCACHE_QLIST_H */
