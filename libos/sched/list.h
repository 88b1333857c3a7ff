/*
 * Intrusive circular doubly-linked lists of struct sched_link (declared
 * in <sched/sched.h>, because wait queues embed one). A list is a head
 * link; an empty list's head points at itself. A link that is on no list
 * also points at itself, so membership is a pointer comparison.
 */
#ifndef SCHED_LIST_H
#define SCHED_LIST_H

#include <sched/sched.h>
#include <stdbool.h>
#include <stddef.h>

/* The structure of type `type` whose member `member` is at `ptr`. */
#define SCHED_CONTAINER_OF(ptr, type, member) \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

static inline void list_init(struct sched_link *head)
{
    head->prev = head;
    head->next = head;
}

static inline bool list_empty(const struct sched_link *head)
{
    return head->next == head;
}

/* Is this link (not head) on a list? */
static inline bool list_linked(const struct sched_link *link)
{
    return link->next != link;
}

static inline void list_push_back(struct sched_link *head,
                                  struct sched_link *link)
{
    link->prev = head->prev;
    link->next = head;
    head->prev->next = link;
    head->prev = link;
}

static inline void list_remove(struct sched_link *link)
{
    link->prev->next = link->next;
    link->next->prev = link->prev;
    list_init(link);
}

/* Remove and return the first link; NULL if the list is empty. */
static inline struct sched_link *list_pop_front(struct sched_link *head)
{
    struct sched_link *first = head->next;

    if (first == head)
        return NULL;
    list_remove(first);
    return first;
}

#endif /* SCHED_LIST_H */
