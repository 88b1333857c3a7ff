/*
 * The port's sys_arch (libos/net/sys_arch.c) on the scheduler's host
 * runtime (//testing/hostsched, a simulated clock): semaphore counts,
 * mailbox full and empty, timeouts, the mutex between threads, threads.
 */
#include <stdio.h>

#include "lwip/err.h"
#include "lwip/sys.h"

#include <sched/sched.h>
#include <testing/check.h>
#include <time/time.h>

#define MS TIME_NS_PER_MS

static uint64_t now_ms(void)
{
    return time_monotonic_ns() / MS;
}

/* ---- semaphores ---------------------------------------------------------- */

static sys_sem_t sem;

static int signal_after_20ms(void *arg)
{
    (void)arg;
    sched_sleep_ns(20 * MS);
    sys_sem_signal(&sem);
    return 0;
}

static void test_sem_counts_and_timeouts(void)
{
    CHECK_EQ(sys_sem_new(&sem, 2), ERR_OK);
    CHECK(sys_sem_valid(&sem));
    uint64_t t0 = now_ms();
    CHECK_EQ(sys_arch_sem_wait(&sem, 0), 0); /* count 2 -> 1 */
    CHECK_EQ(sys_arch_sem_wait(&sem, 10), 0); /* 1 -> 0, no wait */
    CHECK_EQ(now_ms(), t0);
    /* Empty: times out after 50 ms, not earlier. */
    CHECK_EQ(sys_arch_sem_wait(&sem, 50), SYS_ARCH_TIMEOUT);
    CHECK(now_ms() - t0 >= 50);
    /* Signalled by another thread after 20 ms: the wait says 20 ms. */
    struct sched_thread *t = sched_spawn("signaller", signal_after_20ms,
                                         NULL, NULL);
    uint64_t t1 = now_ms();
    u32_t waited = sys_arch_sem_wait(&sem, 1000);
    CHECK(waited != SYS_ARCH_TIMEOUT);
    CHECK_EQ(waited, 20);
    CHECK_EQ(now_ms() - t1, 20);
    sched_join(t, NULL);
    /* Signals are counted, not lost when nobody waits. */
    sys_sem_signal(&sem);
    sys_sem_signal(&sem);
    CHECK_EQ(sys_arch_sem_wait(&sem, 1), 0);
    CHECK_EQ(sys_arch_sem_wait(&sem, 1), 0);
    CHECK_EQ(sys_arch_sem_wait(&sem, 1), SYS_ARCH_TIMEOUT);
    sys_sem_free(&sem);
    CHECK(!sys_sem_valid(&sem));
}

/* ---- mailboxes ------------------------------------------------------------- */

static sys_mbox_t mbox;
static int tokens[8];

static void test_mbox_full_and_empty(void)
{
    CHECK_EQ(sys_mbox_new(&mbox, 2), ERR_OK);
    CHECK(sys_mbox_valid(&mbox));
    void *msg = &tokens[7];
    CHECK_EQ(sys_arch_mbox_tryfetch(&mbox, &msg), SYS_MBOX_EMPTY);
    CHECK_EQ(sys_mbox_trypost(&mbox, &tokens[0]), ERR_OK);
    CHECK_EQ(sys_mbox_trypost(&mbox, &tokens[1]), ERR_OK);
    CHECK_EQ(sys_mbox_trypost(&mbox, &tokens[2]), ERR_MEM); /* full */
    CHECK_EQ(sys_mbox_trypost_fromisr(&mbox, &tokens[2]), ERR_MEM);
    CHECK_EQ(sys_arch_mbox_tryfetch(&mbox, &msg), 0);
    CHECK(msg == &tokens[0]); /* first in, first out */
    CHECK_EQ(sys_mbox_trypost(&mbox, &tokens[3]), ERR_OK); /* wraps */
    CHECK_EQ(sys_arch_mbox_fetch(&mbox, &msg, 0), 0);
    CHECK(msg == &tokens[1]);
    CHECK_EQ(sys_arch_mbox_fetch(&mbox, &msg, 5), 0);
    CHECK(msg == &tokens[3]);
    uint64_t t0 = now_ms();
    CHECK_EQ(sys_arch_mbox_fetch(&mbox, &msg, 30), SYS_ARCH_TIMEOUT);
    CHECK(msg == NULL);
    CHECK(now_ms() - t0 >= 30);
    sys_mbox_free(&mbox);
    CHECK(!sys_mbox_valid(&mbox));
}

static int posted;

static int poster(void *arg)
{
    (void)arg;
    for (int i = 0; i < 6; i++) {
        sys_mbox_post(&mbox, &tokens[i]); /* blocks while full */
        posted++;
    }
    return 0;
}

static void test_mbox_post_blocks_while_full(void)
{
    CHECK_EQ(sys_mbox_new(&mbox, 2), ERR_OK);
    posted = 0;
    struct sched_thread *t = sched_spawn("poster", poster, NULL, NULL);
    sched_sleep_ns(10 * MS);
    CHECK_EQ(posted, 2); /* the third post waits for room */
    for (int i = 0; i < 6; i++) {
        void *msg = NULL;
        CHECK(sys_arch_mbox_fetch(&mbox, &msg, 100) != SYS_ARCH_TIMEOUT);
        CHECK(msg == &tokens[i]);
    }
    sched_join(t, NULL);
    CHECK_EQ(posted, 6);
    sys_mbox_free(&mbox);
}

/* A fetch with no timeout wakes when a message comes, and says how long
 * it waited. */
static int post_after_40ms(void *arg)
{
    (void)arg;
    sched_sleep_ns(40 * MS);
    sys_mbox_post(&mbox, &tokens[5]);
    return 0;
}

static void test_mbox_fetch_waits(void)
{
    CHECK_EQ(sys_mbox_new(&mbox, 0), ERR_OK); /* 0: the default size */
    struct sched_thread *t = sched_spawn("late poster", post_after_40ms,
                                         NULL, NULL);
    void *msg = NULL;
    CHECK_EQ(sys_arch_mbox_fetch(&mbox, &msg, 0), 40);
    CHECK(msg == &tokens[5]);
    sched_join(t, NULL);
    for (int i = 0; i < SYS_ARCH_MBOX_DEFAULT_SIZE; i++)
        CHECK_EQ(sys_mbox_trypost(&mbox, &tokens[0]), ERR_OK);
    CHECK_EQ(sys_mbox_trypost(&mbox, &tokens[0]), ERR_MEM);
    sys_mbox_free(&mbox);
}

/* ---- mutexes ---------------------------------------------------------------- */

static sys_mutex_t mutex;
static int inside, max_inside, rounds_done;

static int contender(void *arg)
{
    (void)arg;
    for (int i = 0; i < 5; i++) {
        sys_mutex_lock(&mutex);
        inside++;
        if (inside > max_inside)
            max_inside = inside;
        sched_sleep_ns(1 * MS); /* yield while holding it */
        inside--;
        rounds_done++;
        sys_mutex_unlock(&mutex);
    }
    return 0;
}

static void test_mutex_excludes(void)
{
    CHECK_EQ(sys_mutex_new(&mutex), ERR_OK);
    inside = max_inside = rounds_done = 0;
    struct sched_thread *a = sched_spawn("a", contender, NULL, NULL);
    struct sched_thread *b = sched_spawn("b", contender, NULL, NULL);
    struct sched_thread *c = sched_spawn("c", contender, NULL, NULL);
    sched_join(a, NULL);
    sched_join(b, NULL);
    sched_join(c, NULL);
    CHECK_EQ(max_inside, 1);
    CHECK_EQ(rounds_done, 15);
    sys_mutex_free(&mutex);
    CHECK(!sys_mutex_valid(&mutex));
}

/* ---- a semaphore per thread ------------------------------------------------ */

static sys_sem_t *seen_sem;

static int get_thread_sem(void *arg)
{
    (void)arg;
    seen_sem = LWIP_NETCONN_THREAD_SEM_GET();
    return seen_sem != NULL && sys_sem_valid(seen_sem)
                   && seen_sem == LWIP_NETCONN_THREAD_SEM_GET()
               ? 0
               : 1;
}

static void test_semaphore_per_thread(void)
{
    sys_sem_t *mine = LWIP_NETCONN_THREAD_SEM_GET();
    CHECK(mine != NULL && sys_sem_valid(mine));
    CHECK(mine == LWIP_NETCONN_THREAD_SEM_GET()); /* the same, again */
    struct sched_thread *t = sched_spawn("other", get_thread_sem, NULL, NULL);
    int status = -1;
    sched_join(t, &status);
    CHECK_EQ(status, 0);
    CHECK(seen_sem != mine);
    /* Many more threads than the table holds, one after the other: the
     * entries of ended threads are reused. */
    int bad = 0;
    for (int i = 0; i < 3 * SYS_ARCH_THREAD_SEMS; i++) {
        t = sched_spawn("short", get_thread_sem, NULL, NULL);
        if (t == NULL || sched_join(t, &status) != 0 || status != 0)
            bad++;
    }
    CHECK_EQ(bad, 0);
    CHECK(mine == LWIP_NETCONN_THREAD_SEM_GET()); /* main kept its own */
    LWIP_NETCONN_THREAD_SEM_FREE();
    LWIP_NETCONN_THREAD_SEM_ALLOC();
    CHECK(sys_sem_valid(LWIP_NETCONN_THREAD_SEM_GET()));
}

/* ---- threads and time ---------------------------------------------------------- */

static int ran;

static void lwip_thread(void *arg)
{
    ran = *(int *)arg;
}

static void test_threads_and_clock(void)
{
    int value = 42;
    ran = 0;
    sys_thread_t t = sys_thread_new("lwip thread", lwip_thread, &value, 4096,
                                    0);
    CHECK(t != NULL);
    u32_t before = sys_now();
    sched_sleep_ns(25 * MS);
    CHECK_EQ(ran, 42);
    CHECK_EQ(sys_now() - before, 25);
    CHECK(sys_jiffies() != 0);
}

int main(void)
{
    sys_init();
    RUN(test_sem_counts_and_timeouts);
    RUN(test_mbox_full_and_empty);
    RUN(test_mbox_post_blocks_while_full);
    RUN(test_mbox_fetch_waits);
    RUN(test_mutex_excludes);
    RUN(test_threads_and_clock);
    RUN(test_semaphore_per_thread);
    return check_finish();
}
