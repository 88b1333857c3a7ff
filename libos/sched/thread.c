/*
 * Thread life: spawn, start, exit, join, free; and stack checks.
 */
#include <sched/sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "list.h"
#include "sched_internal.h"

/*
 * The lowest word of every stack the scheduler knows the bounds of. An
 * overflow that runs over it is caught at the thread's next switch.
 */
#define STACK_CANARY UINT64_C(0x57ac4ca7ca9a7e57)
/* Fresh stacks are filled with this, so the deepest use can be seen. */
#define STACK_FILL 0xa5

static void copy_string(char *dst, size_t size, const char *src)
{
    size_t len = src ? strnlen(src, size - 1) : 0;

    memcpy(dst, src ? src : "", len);
    dst[len] = '\0';
}

static struct sched_thread *free_slot(void)
{
    for (size_t i = 1; i < SCHED_MAX_THREADS; i++)
        if (!sched_core.threads[i].in_use)
            return &sched_core.threads[i];
    return NULL;
}

/* A fresh stack: fill pattern, canary, and the first context. */
static void prepare_stack(struct sched_thread *t)
{
    memset(t->stack, STACK_FILL, t->stack_size);
    *(uint64_t *)(void *)t->stack = STACK_CANARY;
    sched_context_prepare(&t->context, t->stack, t->stack_size, t);
}

static bool valid_attr(const struct sched_attr *a)
{
    if (a->priority < SCHED_PRIORITY_MIN || a->priority > SCHED_PRIORITY_MAX)
        return false;
    if (a->stack
        && ((uintptr_t)a->stack % 16 != 0 || a->stack_size < SCHED_STACK_MIN))
        return false;
    return true;
}

struct sched_thread *sched_spawn(const char *name, sched_fn fn, void *arg,
                                 const struct sched_attr *attr)
{
    static const struct sched_attr defaults = {
        .priority = SCHED_PRIORITY_DEFAULT,
    };
    const struct sched_attr *a = attr ? attr : &defaults;

    sched_enter();
    if (!fn || !valid_attr(a))
        return NULL;
    struct sched_thread *t = free_slot();
    if (!t)
        return NULL;

    uint8_t *stack = a->stack;
    size_t stack_size = a->stack_size & ~(size_t)15;
    if (!stack) {
        stack = sched_stack_alloc();
        stack_size = SCHED_STACK_SIZE;
        if (!stack)
            return NULL;
    }

    memset(t, 0, sizeof *t);
    t->in_use = true;
    t->id = sched_core.next_id++;
    t->priority = a->priority;
    t->detached = a->detached;
    copy_string(t->name, sizeof t->name, name ? name : "thread");
    copy_string(t->tag, sizeof t->tag, a->tag);
    t->fn = fn;
    t->arg = arg;
    t->stack = stack;
    t->stack_size = stack_size;
    t->pooled_stack = a->stack == NULL;
    list_init(&t->link);
    sched_timer_init(&t->timer);
    sched_waitq_init(&t->joiners);
    prepare_stack(t);
    sched_make_ready(t, false);
    return t;
}

_Noreturn void sched_thread_start(struct sched_thread *t)
{
    /* The thread we switched away from may have exited detached. */
    if (sched_core.reap) {
        sched_free_thread(sched_core.reap);
        sched_core.reap = NULL;
    }
    sched_exit(t->fn(t->arg));
}

_Noreturn void sched_exit(int status)
{
    sched_enter();
    struct sched_thread *self = sched_core.current;

    if (self == &sched_core.threads[0])
        exit(status); /* main: the program ends, as when main() returns */
    self->exit_status = status;
    self->state = SCHED_DEAD;
    sched_wake_all(&self->joiners);
    /* Its stack is in use until the switch away: free it after that. */
    if (self->detached)
        sched_core.reap = self;
    sched_schedule();
    sched_panic("dead thread %s was scheduled", self->name);
}

int sched_join(struct sched_thread *t, int *status)
{
    sched_enter();
    if (!t || t == sched_core.current || t == &sched_core.threads[0]
        || !t->in_use || t->detached || t->joining)
        return -1;
    t->joining = true;
    while (t->state != SCHED_DEAD)
        sched_wait(&t->joiners);
    if (status)
        *status = t->exit_status;
    sched_free_thread(t);
    return 0;
}

void sched_free_thread(struct sched_thread *t)
{
    sched_check_stack(t);
    if (t->pooled_stack)
        sched_stack_free(t->stack);
    t->in_use = false;
}

const char *sched_thread_name(const struct sched_thread *t)
{
    return t->name;
}

uint32_t sched_thread_id(const struct sched_thread *t)
{
    return t->id;
}

size_t sched_stack_used(const struct sched_thread *t)
{
    if (!t->stack)
        return 0;
    /* The fill pattern survives above the deepest point ever reached. */
    size_t untouched = sizeof(uint64_t);
    while (untouched < t->stack_size && t->stack[untouched] == STACK_FILL)
        untouched++;
    return t->stack_size - untouched;
}

void sched_check_stack(const struct sched_thread *t)
{
    if (t->stack && *(const uint64_t *)(const void *)t->stack != STACK_CANARY)
        sched_panic("thread %u (%s) overflowed its %zu-byte stack at %p",
                    (unsigned)t->id, t->name, t->stack_size,
                    (const void *)t->stack);
}
