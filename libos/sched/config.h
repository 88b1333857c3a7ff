/*
 * Sizes fixed at build time; override with copts (see <sched/sched.h>).
 */
#ifndef SCHED_CONFIG_H
#define SCHED_CONFIG_H

/* Threads at once, main included: the size of the thread table. */
#ifndef SCHED_MAX_THREADS
#define SCHED_MAX_THREADS 64
#endif

/* Stacks in the static pool, and their size in bytes. */
#ifndef SCHED_STACK_POOL_COUNT
#define SCHED_STACK_POOL_COUNT 16
#endif
#ifndef SCHED_STACK_SIZE
#define SCHED_STACK_SIZE (32 * 1024)
#endif

/* The smallest stack sched_spawn() accepts, pooled or the caller's. */
#define SCHED_STACK_MIN 4096

_Static_assert(SCHED_MAX_THREADS >= 2 && SCHED_MAX_THREADS <= 65536,
               "SCHED_MAX_THREADS: main plus at least one thread");
_Static_assert(SCHED_STACK_POOL_COUNT >= 0, "SCHED_STACK_POOL_COUNT >= 0");
_Static_assert(SCHED_STACK_SIZE % 16 == 0 && SCHED_STACK_SIZE >= 4096,
               "SCHED_STACK_SIZE: a multiple of 16, at least 4096");

#endif /* SCHED_CONFIG_H */
