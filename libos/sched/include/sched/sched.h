/*
 * sched/sched.h - cooperative threads: an event loop in the MirageOS
 * spirit.
 *
 * Threads are cheap (a slot in a static table and a stack) and never
 * preempted: a thread runs until it reaches a yield point (sched_yield,
 * a sleep, a wait, a join, or its exit). Timers and interrupts only make
 * threads runnable; the switch happens at the next yield point. When no
 * thread is runnable the CPU halts until the earliest timer or any
 * interrupt (time_block_until() in <time/time.h>: HLT with a one-shot
 * APIC timer armed, under QEMU and on Xen alike; on Xen PVH that HLT is
 * Xen's SCHEDOP_block). Single vcpu.
 *
 * Event channels: //libos/xen/evtchn_sched (a separate component, so the
 * scheduler does not depend on Xen) lets a thread wait on a port
 * (evtchn_sched_wait), wakes waiters from Xen's upcall with
 * sched_wake_all(), and makes the drivers' evtchn_wait() park only the
 * calling thread.
 *
 * Policies. This header is implemented twice; an image links exactly
 * one, chosen by its Bazel deps:
 *
 *   //libos/sched:fifo      (also //libos/sched) round robin: runnable
 *                           threads run in the order they became
 *                           runnable; priorities are recorded but
 *                           ignored.
 *   //libos/sched:priority  fixed priorities: the runnable thread with
 *                           the highest priority runs; first come,
 *                           first served within a priority. A woken
 *                           high-priority thread waits for the running
 *                           thread's next yield point (no preemption).
 *
 * Library code that only needs the interface depends on
 * //libos/sched:headers and leaves the choice to the image. The policies
 * fill the component slot "sched_policy", which the interface requires:
 * unikernel_image rejects an image with two policies, or with the
 * interface and none, at analysis time.
 *
 * Threads and stacks. At most SCHED_MAX_THREADS threads exist at once,
 * including "main" (the boot thread that called main(), adopted by
 * sched_init() with the boot stack). Stacks come from a pool of
 * SCHED_STACK_POOL_COUNT stacks of SCHED_STACK_SIZE bytes each, or from
 * the caller (struct sched_attr). The pool is carved at boot out of
 * //libos/mm extents of the stack role (so an image that uses the
 * scheduler links an allocator), before the page tables are sealed: each
 * pooled stack has an unmapped guard page below it, and the pool's place
 * is randomised at every boot (the extent, a page offset inside it, and
 * the order of the slots). Defaults: 64 threads, 16 pooled stacks of
 * 32 KiB (one 2 MiB extent). Change them with copts, for instance in
 * .bazelrc:
 *
 *     build --per_file_copt=libos/sched/.*@-DSCHED_STACK_SIZE=65536
 *
 * (SCHED_MAX_THREADS, SCHED_STACK_POOL_COUNT and SCHED_STACK_SIZE; the
 * stack size must be a multiple of 16 and at least 4096, and the pool at
 * most BOOT_GUARD_PAGES_MAX - 8 stacks.) An overflow of a pooled stack
 * faults at the overflowing instruction ("... in a thread stack's guard
 * page: a stack overflow"). Each stack's lowest word also holds a canary
 * checked at every switch, which catches overruns of caller-provided
 * stacks (they have no guard page) and of pooled ones that jump past
 * the guard. Stacks also serve interrupt handlers (the image has no red
 * zone), which take about 700 bytes.
 *
 * Interrupts. The image runs with interrupts masked; they are taken
 * only while the CPU halts in the idle loop. So the scheduler needs no
 * locks, and an interrupt handler may call sched_wake_one() and
 * sched_wake_all() (nothing else here). Every other function must be
 * called from a thread, with interrupts masked; the scheduler stops the
 * image with a message if it finds them enabled.
 *
 * Deadlock: when every thread waits without a deadline and nothing
 * can interrupt (no event channel upcall, no device), the CPU halts for
 * good;
 * the scheduler cannot tell that from waiting for the network.
 *
 * Everything initialises itself on first use (sched_init()).
 */
#ifndef SCHED_SCHED_H
#define SCHED_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCHED_NAME_MAX 24 /* bytes of a thread's name, including NUL */
#define SCHED_TAG_MAX 12  /* bytes of its tag, including NUL */

/* Priorities (//libos/sched:priority); larger runs first. */
#define SCHED_PRIORITY_MIN 0
#define SCHED_PRIORITY_MAX 31
#define SCHED_PRIORITY_DEFAULT 16

/* A thread; handles stay valid until the thread is joined (or, if
 * detached, exits). */
struct sched_thread;

/* A thread's body. Returning from it is sched_exit(return value). */
typedef int (*sched_fn)(void *arg);

/* Options for sched_spawn(); NULL means all defaults. */
struct sched_attr {
    int priority;     /* SCHED_PRIORITY_MIN..MAX; note that a zeroed
                       * struct means priority 0, the lowest */
    const char *tag;  /* a group label for statistics ("net", ...);
                       * copied, truncated; NULL: none */
    bool detached;    /* freed when it exits; cannot be joined */
    void *stack;      /* NULL: take one from the pool; else the caller's
                       * memory, 16-byte aligned, which must stay valid
                       * until the thread is joined (or exits, if
                       * detached) */
    size_t stack_size; /* bytes at `stack`; >= 4096 */
};

/*
 * Adopt the calling code as thread "main" (priority default) and set up
 * the scheduler and the clock (time_init()). Runs once; every function
 * below calls it first, so calling it is optional.
 */
void sched_init(void);

/*
 * A new runnable thread running fn(arg), named `name` (copied, truncated
 * to SCHED_NAME_MAX - 1 bytes; NULL: "thread"). It runs when the caller
 * reaches a yield point and the policy picks it. NULL if the thread
 * table or the stack pool is full, or attr is invalid.
 */
struct sched_thread *sched_spawn(const char *name, sched_fn fn, void *arg,
                                 const struct sched_attr *attr);

/* The running thread. */
struct sched_thread *sched_self(void);

/* Its name, its numeric id (0 for main, then 1, 2, ... never reused). */
const char *sched_thread_name(const struct sched_thread *t);
uint32_t sched_thread_id(const struct sched_thread *t);

/* Let other runnable threads run; returns when the policy picks the
 * caller again (at once if no other thread is runnable). */
void sched_yield(void);

/* Block for at least `ns` nanoseconds / until monotonic time `deadline`
 * (time_monotonic_ns()); other threads run meanwhile. Threads whose
 * deadlines pass together become runnable in deadline order (ties: in
 * the order they went to sleep). */
void sched_sleep_ns(uint64_t ns);
void sched_sleep_until(uint64_t deadline_ns);

/*
 * End the calling thread with `status`, waking its joiner. Called from
 * main, it ends the program instead: exit(status), as returning from
 * main() does.
 */
_Noreturn void sched_exit(int status);

/*
 * Wait for thread t to end, store its status in *status (if not NULL)
 * and free it; t is invalid afterwards. 0 on success; -1 if t is the
 * caller, detached, or already being joined by another thread.
 */
int sched_join(struct sched_thread *t, int *status);

/* ---- Waiting for a wake-up source ------------------------------------- */

/*
 * A list of threads waiting for something: data on a ring, an event
 * channel port, a lock, the end of another thread. The owner of the
 * something calls sched_wake_one() or sched_wake_all() when it happens;
 * an event-channel layer does so from its interrupt handler.
 *
 * A wake-up with nobody waiting is not remembered: check the condition,
 * then wait, in a loop. Nothing can wake the queue between the check and
 * sched_wait(), because interrupt handlers run only while the CPU idles.
 *
 *     while (!ring_has_data(ring))
 *         sched_wait(&ring->readers);
 *
 * A zeroed struct is an empty queue, so static queues need no set-up.
 * Only the scheduler touches the fields.
 */
struct sched_link {
    struct sched_link *prev, *next;
};

struct sched_waitq {
    struct sched_link waiters;
};

/* Make q empty (equivalent to zeroing it). */
void sched_waitq_init(struct sched_waitq *q);

/* Block until woken. */
void sched_wait(struct sched_waitq *q);

/* What a wait with a deadline returns. */
#define SCHED_WOKEN 0
#define SCHED_TIMED_OUT 1

/* Block until woken or until monotonic time `deadline_ns` / for at most
 * `timeout_ns`: SCHED_WOKEN or SCHED_TIMED_OUT. */
int sched_wait_until(struct sched_waitq *q, uint64_t deadline_ns);
int sched_wait_timeout(struct sched_waitq *q, uint64_t timeout_ns);

/* Make the longest-waiting thread (all threads) of q runnable. Returns
 * the number woken. Callable from interrupt handlers. */
size_t sched_wake_one(struct sched_waitq *q);
size_t sched_wake_all(struct sched_waitq *q);

/* ---- Statistics -------------------------------------------------------- */

enum sched_state {
    SCHED_RUNNING = 1, /* the caller of sched_stats() */
    SCHED_READY,       /* runnable, waiting for the CPU */
    SCHED_SLEEPING,    /* sched_sleep_*() */
    SCHED_WAITING,     /* sched_wait*() or sched_join() */
    SCHED_DEAD,        /* exited, not yet joined */
};

/* "running", "ready", "sleeping", "waiting", "dead". */
const char *sched_state_name(enum sched_state state);

/* One thread, as sched_stats() saw it. */
struct sched_thread_stats {
    uint32_t id;
    char name[SCHED_NAME_MAX];
    char tag[SCHED_TAG_MAX];
    int priority;
    enum sched_state state;
    uint64_t switches;   /* context switches to it (a thread that blocks
                          * and is woken while nothing else ran keeps
                          * the CPU without a switch) */
    uint64_t run_ns;     /* time it ran, switches and idling excluded */
    uint64_t wakeups;    /* times a timer or a wake made it runnable */
    size_t stack_size;   /* 0 for main (the boot stack) */
    size_t stack_used;   /* deepest use so far (bytes), if stack_size */
};

/* The scheduler as a whole. */
struct sched_summary {
    const char *policy;   /* "fifo" or "priority" */
    size_t threads;       /* in the table now, dead ones included */
    uint64_t switches;    /* context switches since sched_init() */
    uint64_t idle_ns;     /* time the CPU spent halted */
    uint64_t idle_blocks; /* halts */
    uint64_t uptime_ns;   /* since sched_init() */
};

/*
 * Copy the statistics of up to `max` threads into out[], in id order;
 * return how many threads there are (which may exceed max).
 */
size_t sched_stats(struct sched_thread_stats *out, size_t max);

void sched_get_summary(struct sched_summary *out);

/* The policy linked into the image: "fifo" or "priority". */
const char *sched_policy_name(void);

/*
 * Print a summary line and a table of all threads, "[sched] ..." first:
 *
 * [sched] policy fifo, 2 threads, 57 switches, idle 212 ms in 9 halts, ...
 * [sched]  id name     tag   prio state    switches     run_us  stack
 * [sched]   0 main     -       16 running        12       1830  -
 * [sched]   1 ticker   demo    16 sleeping        6         41  1184/32768
 *
 * (names and tags are padded to their full widths).
 */
void sched_print_stats(void);

#endif /* SCHED_SCHED_H */
