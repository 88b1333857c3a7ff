/*
 * What every policy must do, booted in QEMU: yielding round robin among
 * equals, sleeping in deadline order, halting when idle, waits with and
 * without timeouts, exit and join, detached threads, the stack pool, and
 * the statistics table. Linked once per policy (tests/BUILD.bazel); all
 * threads have the default priority, so both policies give the same
 * output. Ends with the
 * harness's summary line.
 */
#include <sched/sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <testing/check.h>
#include <time/time.h>

#include "trace.h"

#define MS TIME_NS_PER_MS
/* More than the default stack pool (16) and thread table (64) allow. */
#define SCHED_PROBE_MAX 80


/* ---- yield ---------------------------------------------------------- */

static int yielder(void *arg)
{
    const char *name = arg;
    char word[8];

    for (int round = 0; round < 3; round++) {
        snprintf(word, sizeof word, "%s%d", name, round);
        trace(word);
        sched_yield();
    }
    return 0;
}

static void test_yield(void)
{
    struct sched_thread *t[3];

    trace_reset();
    t[0] = sched_spawn("A", yielder, "A", NULL);
    t[1] = sched_spawn("B", yielder, "B", NULL);
    t[2] = sched_spawn("C", yielder, "C", NULL);
    for (int i = 0; i < 3; i++)
        sched_join(t[i], NULL);
    trace_print("yield order");
}

/* ---- registers across switches -------------------------------------- */

int sched_test_callee_saved(uint64_t seed); /* registers.S */

static int register_checker(void *arg)
{
    uint64_t seed = (uint64_t)(uintptr_t)arg;
    int changed = 0;

    for (int round = 0; round < 4; round++)
        changed += sched_test_callee_saved(seed + (uint64_t)round * 0x100);
    return changed;
}

/*
 * Four threads (main is one) switch among each other with different
 * values in every callee-saved register and different rounding modes in
 * MXCSR and the x87 control word; none may see another's.
 */
static void test_registers(void)
{
    struct sched_thread *t[3];
    int changed = 0;

    for (int i = 0; i < 3; i++)
        t[i] = sched_spawn("registers", register_checker,
                           (void *)(uintptr_t)(0x1000 * (i + 1) + i + 1),
                           NULL);
    changed += register_checker((void *)(uintptr_t)0x7000);
    for (int i = 0; i < 3; i++) {
        int status = 0;

        sched_join(t[i], &status);
        changed += status;
    }
    printf("registers: %d changed across switches\n", changed);
    check_verdict(changed == 0, "callee-saved state survives switches");
}

/* ---- a deadline that passes while a thread runs ---------------------- */

static int late_sleeper(void *arg)
{
    sched_sleep_until(*(const uint64_t *)arg);
    trace("sleeper");
    return 0;
}

/* The sleeper's deadline passes while main runs: at main's yield the
 * sleeper becomes runnable first, so it runs before main continues. */
static void test_yield_after_deadline(void)
{
    uint64_t deadline = time_monotonic_ns() + 5 * MS;

    trace_reset();
    struct sched_thread *t = sched_spawn("late", late_sleeper, &deadline,
                                         NULL);
    sched_yield(); /* it goes to sleep */
    while (time_monotonic_ns() < deadline + 1 * MS)
        ; /* busy: no yield point */
    sched_yield();
    trace("main");
    sched_join(t, NULL);
    trace_print("deadline then yield");
}

/* ---- sleep ---------------------------------------------------------- */

struct sleeper {
    const char *name;
    uint64_t ns;
    uint64_t took;
};

static int sleeper(void *arg)
{
    struct sleeper *s = arg;
    uint64_t t0 = time_monotonic_ns();

    sched_sleep_ns(s->ns);
    s->took = time_monotonic_ns() - t0;
    trace(s->name);
    return 0;
}

static void test_sleep_order(void)
{
    static struct sleeper s[] = {
        {"s50", 50 * MS, 0}, {"s10", 10 * MS, 0}, {"s40", 40 * MS, 0},
        {"s20", 20 * MS, 0}, {"s30", 30 * MS, 0},
    };
    struct sched_thread *t[5];
    bool on_time = true;

    trace_reset();
    for (int i = 0; i < 5; i++)
        t[i] = sched_spawn(s[i].name, sleeper, &s[i], NULL);
    for (int i = 0; i < 5; i++) {
        sched_join(t[i], NULL);
        on_time &= s[i].took >= s[i].ns;
    }
    trace_print("sleep order");
    check_verdict(on_time, "no sleeper woke early");
}

/* Same deadline: they wake in the order they went to sleep. */
static uint64_t tie_deadline;

static int tie_sleeper(void *arg)
{
    sched_sleep_until(tie_deadline);
    trace(arg);
    return 0;
}

static void test_sleep_ties(void)
{
    static const char *names[] = {"first", "second", "third"};
    struct sched_thread *t[3];

    trace_reset();
    tie_deadline = time_monotonic_ns() + 15 * MS;
    /* They run, and so go to sleep, in spawn order. */
    for (int i = 0; i < 3; i++)
        t[i] = sched_spawn(names[i], tie_sleeper, (void *)names[i], NULL);
    for (int i = 0; i < 3; i++)
        sched_join(t[i], NULL);
    trace_print("tie order");
}

/* ---- idle ----------------------------------------------------------- */

static void test_idle(void)
{
    struct sched_summary before, after;

    sched_get_summary(&before);
    uint64_t t0 = time_monotonic_ns();
    sched_sleep_ns(200 * MS);
    uint64_t took = time_monotonic_ns() - t0;
    sched_get_summary(&after);

    uint64_t halts = after.idle_blocks - before.idle_blocks;
    uint64_t idle = after.idle_ns - before.idle_ns;
    printf("idle: sleep 200 ms took %llu us, %llu halts, idle %llu us\n",
           (unsigned long long)(took / 1000), (unsigned long long)halts,
           (unsigned long long)(idle / 1000));
    check_verdict(took >= 200 * MS, "slept at least 200 ms");
    check_verdict(halts >= 1 && halts <= 4, "halted, not spinning");
    check_verdict(idle + MS >= 200 * MS, "the CPU was idle the whole time");
}

/* ---- wait queues ---------------------------------------------------- */

static struct sched_waitq queue; /* zeroed: a valid empty queue */

struct waiter {
    uint64_t timeout;
    int result;
    uint64_t took;
};

static int waiter(void *arg)
{
    struct waiter *w = arg;
    uint64_t t0 = time_monotonic_ns();

    w->result = sched_wait_timeout(&queue, w->timeout);
    w->took = time_monotonic_ns() - t0;
    return 0;
}

static int waker(void *arg)
{
    (void)arg;
    sched_sleep_ns(10 * MS);
    return (int)sched_wake_one(&queue);
}

static void test_wait(void)
{
    struct waiter lonely = {30 * MS, -1, 0};
    struct sched_thread *t = sched_spawn("lonely", waiter, &lonely, NULL);
    sched_join(t, NULL);
    printf("wait 30 ms, nobody wakes: %s after %llu us\n",
           lonely.result == SCHED_TIMED_OUT ? "timed out" : "woken",
           (unsigned long long)(lonely.took / 1000));
    check_verdict(lonely.result == SCHED_TIMED_OUT && lonely.took >= 30 * MS,
            "times out, not early");

    struct waiter patient = {1000 * MS, -1, 0};
    int woke = 0;
    t = sched_spawn("patient", waiter, &patient, NULL);
    struct sched_thread *w = sched_spawn("waker", waker, NULL, NULL);
    sched_join(t, NULL);
    sched_join(w, &woke);
    printf("wait 1 s, woken after 10 ms: %s after %llu us\n",
           patient.result == SCHED_WOKEN ? "woken" : "timed out",
           (unsigned long long)(patient.took / 1000));
    check_verdict(patient.result == SCHED_WOKEN && woke == 1
                && patient.took >= 10 * MS && patient.took < 500 * MS,
            "woken before the timeout");

    /* A deadline already past: no wait at all. */
    check_verdict(sched_wait_until(&queue, time_monotonic_ns()) == SCHED_TIMED_OUT,
            "a past deadline returns at once");
    check_verdict(sched_wake_all(&queue) == 0, "nobody left waiting");
}

/* ---- exit, join, detach, pool --------------------------------------- */

static _Noreturn void deep_exit(int status)
{
    sched_exit(status);
}

static int returns_42(void *arg)
{
    (void)arg;
    return 42;
}

static int exits_7(void *arg)
{
    (void)arg;
    deep_exit(7);
}

static int detached_runs;

static int detached_body(void *arg)
{
    (void)arg;
    sched_yield();
    detached_runs++;
    return 0;
}

static int blocker(void *arg)
{
    sched_wait(arg);
    return 0;
}

static void test_lifecycle(void)
{
    int a = -1, b = -1;
    struct sched_thread *ta = sched_spawn("ret42", returns_42, NULL, NULL);
    struct sched_thread *tb = sched_spawn("exit7", exits_7, NULL, NULL);
    check_verdict(sched_join(ta, &a) == 0 && sched_join(tb, &b) == 0 && a == 42
                && b == 7,
            "join returns the exit status");
    check_verdict(sched_join(sched_self(), NULL) == -1,
            "a thread cannot join itself");

    /* Detached threads free their slot and stack on exit: far more of
     * them than the pool has stacks, a few at a time. */
    struct sched_attr detached = {
        .priority = SCHED_PRIORITY_DEFAULT, .detached = true, .tag = "det"};
    bool spawned_all = true;
    for (int i = 0; i < 100; i++) {
        struct sched_thread *t = sched_spawn("detached", detached_body,
                                             NULL, &detached);
        spawned_all &= t != NULL;
        if (i % 4 == 3)
            sched_sleep_ns(1 * MS);
    }
    sched_sleep_ns(5 * MS);
    check_verdict(spawned_all && detached_runs == 100,
            "100 detached threads ran and were reaped");
    check_verdict(sched_join(sched_spawn("d", detached_body, NULL, &detached),
                       NULL) == -1,
            "a detached thread cannot be joined");
    sched_sleep_ns(1 * MS);

    /* The pool runs dry, then refills when threads are joined. */
    static struct sched_waitq hold;
    struct sched_thread *held[SCHED_PROBE_MAX];
    int n = 0;
    while (n < SCHED_PROBE_MAX
           && (held[n] = sched_spawn("held", blocker, &hold, NULL)) != NULL)
        n++;
    printf("stack pool: %d threads spawned before it ran dry\n", n);
    sched_yield(); /* let them all block */
    sched_wake_all(&hold);
    for (int i = 0; i < n; i++)
        sched_join(held[i], NULL);
    struct sched_thread *again = sched_spawn("again", returns_42, NULL, NULL);
    check_verdict(n == 16 && again != NULL && sched_join(again, NULL) == 0,
            "16 pooled stacks, reusable after join");
}

/* ---- statistics ----------------------------------------------------- */

static int ticker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 5; i++)
        sched_sleep_ns(1 * MS);
    sched_sleep_ns(1000 * MS); /* still asleep when the table prints */
    return 0;
}

static int finished(void *arg)
{
    (void)arg;
    return 3;
}

/* A thread in every state, then the table. */
static void test_stats(void)
{
    static struct sched_waitq never;
    struct sched_attr demo = {.priority = SCHED_PRIORITY_DEFAULT,
                              .tag = "demo"};

    struct sched_thread *tick = sched_spawn("ticker", ticker, NULL, &demo);
    struct sched_thread *blocked = sched_spawn("blocked", blocker, &never,
                                               &demo);
    struct sched_thread *done = sched_spawn("finished", finished, NULL,
                                            &demo);
    sched_sleep_ns(20 * MS); /* ticker ticks, blocked blocks, done ends */
    struct sched_thread *fresh = sched_spawn("fresh", finished, NULL, &demo);

    struct sched_thread_stats stats[8];
    size_t n = sched_stats(stats, 8);
    bool ticked = false;
    for (size_t i = 0; i < n && i < 8; i++)
        if (stats[i].id == sched_thread_id(tick))
            ticked = stats[i].wakeups == 5 && stats[i].switches >= 1
                     && stats[i].state == SCHED_SLEEPING;
    check_verdict(n == 5 && ticked, "sched_stats() sees every thread");
    sched_print_stats();

    sched_wake_all(&never);
    int status = 0;
    sched_join(blocked, NULL);
    sched_join(done, &status);
    sched_join(fresh, NULL);
    (void)tick; /* left asleep: the program ends before it wakes */
    check_verdict(status == 3, "a dead thread's status waits for its join");
}

int main(void)
{
    printf("sched test, policy %s\n", sched_policy_name());
    test_yield();
    test_registers();
    test_yield_after_deadline();
    test_sleep_order();
    test_sleep_ties();
    test_idle();
    test_wait();
    test_lifecycle();
    test_stats();
    return check_finish();
}
