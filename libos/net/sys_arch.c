/*
 * sys_arch.c - lwIP's operating-system layer on //libos/sched and
 * //libos/time (lwIP's doc/sys_arch.txt is the contract).
 *
 * The scheduler is cooperative and interrupt handlers never call in
 * here, so each function below runs from its start to its first wait
 * without another thread in between: checking a count and then waiting
 * cannot lose a wake-up, and no lock protects the structures.
 * Waits recheck their condition after every wake-up, because a woken
 * thread may find that another one took the message or the count first.
 */
#include <stdio.h>
#include <stdlib.h>

#include "lwip/err.h"
#include "lwip/sys.h"

#include <sched/sched.h>
#include <time/time.h>

/* lwIP's timeouts are milliseconds, 0 meaning "forever". */
static uint64_t deadline_after_ms(u32_t timeout_ms)
{
    return time_monotonic_ns() + (uint64_t)timeout_ms * TIME_NS_PER_MS;
}

/* What a successful wait returns: the milliseconds it took, kept below
 * SYS_ARCH_TIMEOUT (which means "timed out"). */
static u32_t elapsed_ms(uint64_t start_ns)
{
    uint64_t ms = (time_monotonic_ns() - start_ns) / TIME_NS_PER_MS;
    return ms >= SYS_ARCH_TIMEOUT ? SYS_ARCH_TIMEOUT - 1 : (u32_t)ms;
}

void sys_init(void)
{
    sched_init();
}

/* lwIP's own unit tests set lwIP's clock by hand (their variable
 * lwip_sys_now); their build names it here. Everything else reads the
 * monotonic clock. */
#ifdef NET_PORT_TEST_CLOCK
extern u32_t NET_PORT_TEST_CLOCK;
u32_t sys_now(void)
{
    return NET_PORT_TEST_CLOCK;
}
#else
u32_t sys_now(void)
{
    return (u32_t)(time_monotonic_ns() / TIME_NS_PER_MS);
}
#endif

/* Microseconds, wrapping (lwIP uses them only as a varying value). */
u32_t sys_jiffies(void)
{
    return (u32_t)(time_monotonic_ns() / TIME_NS_PER_US);
}

/* ---- Semaphores ---------------------------------------------------------- */

err_t sys_sem_new(sys_sem_t *sem, u8_t count)
{
    sched_waitq_init(&sem->waiters);
    sem->count = count;
    sem->valid = true;
    return ERR_OK;
}

void sys_sem_signal(sys_sem_t *sem)
{
    sem->count++;
    sched_wake_one(&sem->waiters);
}

u32_t sys_arch_sem_wait(sys_sem_t *sem, u32_t timeout_ms)
{
    uint64_t start = time_monotonic_ns();
    uint64_t deadline = timeout_ms ? deadline_after_ms(timeout_ms) : 0;
    while (sem->count == 0) {
        if (timeout_ms == 0) {
            sched_wait(&sem->waiters);
        } else if (sched_wait_until(&sem->waiters, deadline) == SCHED_TIMED_OUT
                   && sem->count == 0) {
            return SYS_ARCH_TIMEOUT;
        }
    }
    sem->count--;
    return elapsed_ms(start);
}

void sys_sem_free(sys_sem_t *sem)
{
    sem->valid = false;
}

int sys_sem_valid(sys_sem_t *sem)
{
    return sem != NULL && sem->valid;
}

void sys_sem_set_invalid(sys_sem_t *sem)
{
    sem->valid = false;
}

/* ---- Mutexes (lwIP's core lock among them) -------------------------------- */

err_t sys_mutex_new(sys_mutex_t *mutex)
{
    sched_waitq_init(&mutex->waiters);
    mutex->owner = NULL;
    mutex->valid = true;
    return ERR_OK;
}

void sys_mutex_lock(sys_mutex_t *mutex)
{
    struct sched_thread *self = sched_self();
    if (mutex->owner == self) {
        /* Not recursive: this thread would wait for itself forever. */
        printf("[net] panic: thread %s locks an lwIP mutex it holds\n",
               sched_thread_name(self));
        NET_PORT_FLUSH();
        abort();
    }
    while (mutex->owner != NULL)
        sched_wait(&mutex->waiters);
    mutex->owner = self;
}

void sys_mutex_unlock(sys_mutex_t *mutex)
{
    mutex->owner = NULL;
    sched_wake_one(&mutex->waiters);
}

void sys_mutex_free(sys_mutex_t *mutex)
{
    mutex->valid = false;
}

int sys_mutex_valid(sys_mutex_t *mutex)
{
    return mutex != NULL && mutex->valid;
}

void sys_mutex_set_invalid(sys_mutex_t *mutex)
{
    mutex->valid = false;
}

/* ---- Mailboxes -------------------------------------------------------------- */

err_t sys_mbox_new(sys_mbox_t *mbox, int size)
{
    uint32_t n = size > 0 ? (uint32_t)size : SYS_ARCH_MBOX_DEFAULT_SIZE;
    mbox->slots = calloc(n, sizeof(void *));
    if (mbox->slots == NULL) {
        mbox->valid = false;
        return ERR_MEM;
    }
    mbox->size = n;
    mbox->head = 0;
    mbox->count = 0;
    sched_waitq_init(&mbox->readers);
    sched_waitq_init(&mbox->writers);
    mbox->valid = true;
    return ERR_OK;
}

static void mbox_push(sys_mbox_t *mbox, void *msg)
{
    mbox->slots[(mbox->head + mbox->count) % mbox->size] = msg;
    mbox->count++;
    sched_wake_one(&mbox->readers);
}

static void *mbox_pop(sys_mbox_t *mbox)
{
    void *msg = mbox->slots[mbox->head];
    mbox->head = (mbox->head + 1) % mbox->size;
    mbox->count--;
    sched_wake_one(&mbox->writers);
    return msg;
}

void sys_mbox_post(sys_mbox_t *mbox, void *msg)
{
    while (mbox->count == mbox->size)
        sched_wait(&mbox->writers);
    mbox_push(mbox, msg);
}

err_t sys_mbox_trypost(sys_mbox_t *mbox, void *msg)
{
    if (mbox->count == mbox->size)
        return ERR_MEM;
    mbox_push(mbox, msg);
    return ERR_OK;
}

/* Nothing here runs in an interrupt handler: the same as trypost. */
err_t sys_mbox_trypost_fromisr(sys_mbox_t *mbox, void *msg)
{
    return sys_mbox_trypost(mbox, msg);
}

u32_t sys_arch_mbox_fetch(sys_mbox_t *mbox, void **msg, u32_t timeout_ms)
{
    uint64_t start = time_monotonic_ns();
    uint64_t deadline = timeout_ms ? deadline_after_ms(timeout_ms) : 0;
    while (mbox->count == 0) {
        if (timeout_ms == 0) {
            sched_wait(&mbox->readers);
        } else if (sched_wait_until(&mbox->readers, deadline) == SCHED_TIMED_OUT
                   && mbox->count == 0) {
            if (msg != NULL)
                *msg = NULL;
            return SYS_ARCH_TIMEOUT;
        }
    }
    void *m = mbox_pop(mbox);
    if (msg != NULL)
        *msg = m;
    return elapsed_ms(start);
}

u32_t sys_arch_mbox_tryfetch(sys_mbox_t *mbox, void **msg)
{
    if (mbox->count == 0)
        return SYS_MBOX_EMPTY;
    void *m = mbox_pop(mbox);
    if (msg != NULL)
        *msg = m;
    return 0;
}

/* lwIP frees a mailbox only when nobody waits on it; messages still
 * queued are lwIP's to have drained (it asserts so in debug builds). */
void sys_mbox_free(sys_mbox_t *mbox)
{
    free(mbox->slots);
    mbox->slots = NULL;
    mbox->valid = false;
}

int sys_mbox_valid(sys_mbox_t *mbox)
{
    return mbox != NULL && mbox->valid;
}

void sys_mbox_set_invalid(sys_mbox_t *mbox)
{
    mbox->valid = false;
}

/* ---- A semaphore per thread ----------------------------------------------- */

static struct {
    bool used;
    uint32_t thread_id; /* never reused by the scheduler */
    sys_sem_t sem;
} thread_sems[SYS_ARCH_THREAD_SEMS];

/* Free the entries of threads that have ended (joined, or detached and
 * gone, or dead and waiting for their joiner). */
static void thread_sems_sweep(void)
{
    static struct sched_thread_stats live[SYS_ARCH_THREAD_SEMS * 2];
    size_t n = sched_stats(live, SYS_ARCH_THREAD_SEMS * 2);
    if (n > SYS_ARCH_THREAD_SEMS * 2)
        n = SYS_ARCH_THREAD_SEMS * 2;
    for (size_t i = 0; i < SYS_ARCH_THREAD_SEMS; i++) {
        if (!thread_sems[i].used)
            continue;
        bool alive = false;
        for (size_t j = 0; j < n && !alive; j++)
            alive = live[j].id == thread_sems[i].thread_id
                    && live[j].state != SCHED_DEAD;
        if (!alive)
            thread_sems[i].used = false;
    }
}

static sys_sem_t *thread_sem(bool create)
{
    uint32_t id = sched_thread_id(sched_self());
    for (size_t i = 0; i < SYS_ARCH_THREAD_SEMS; i++)
        if (thread_sems[i].used && thread_sems[i].thread_id == id)
            return &thread_sems[i].sem;
    if (!create)
        return NULL;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < SYS_ARCH_THREAD_SEMS; i++) {
            if (!thread_sems[i].used) {
                thread_sems[i].used = true;
                thread_sems[i].thread_id = id;
                sys_sem_new(&thread_sems[i].sem, 0);
                return &thread_sems[i].sem;
            }
        }
        thread_sems_sweep();
    }
    printf("[net] panic: more than %d threads use sockets at once "
           "(SYS_ARCH_THREAD_SEMS)\n", SYS_ARCH_THREAD_SEMS);
    NET_PORT_FLUSH();
    abort();
}

sys_sem_t *sys_arch_netconn_sem_get(void)
{
    return thread_sem(true);
}

void sys_arch_netconn_sem_alloc(void)
{
    (void)thread_sem(true);
}

void sys_arch_netconn_sem_free(void)
{
    sys_sem_t *sem = thread_sem(false);
    if (sem != NULL)
        thread_sems[(size_t)((char *)sem - (char *)&thread_sems[0].sem)
                    / sizeof(thread_sems[0])].used = false;
}

/* ---- Threads -------------------------------------------------------------- */

struct thread_start {
    lwip_thread_fn fn;
    void *arg;
};

static int thread_main(void *arg)
{
    struct thread_start start = *(struct thread_start *)arg;
    free(arg);
    start.fn(start.arg);
    return 0;
}

/* The stack is one of the scheduler's pooled stacks (SCHED_STACK_SIZE);
 * lwIP's stacksize is ignored. A thread lwIP cannot have is fatal:
 * lwIP has no way to report it. */
sys_thread_t sys_thread_new(const char *name, lwip_thread_fn fn, void *arg,
                            int stacksize, int prio)
{
    (void)stacksize;
    struct thread_start *start = malloc(sizeof(*start));
    struct sched_thread *t = NULL;
    if (start != NULL) {
        start->fn = fn;
        start->arg = arg;
        struct sched_attr attr = {
            .priority = prio > 0 ? prio : SCHED_PRIORITY_DEFAULT,
            .tag = "net",
            .detached = true,
        };
        t = sched_spawn(name, thread_main, start, &attr);
    }
    if (t == NULL) {
        printf("[net] panic: cannot start lwIP thread %s: the thread table "
               "or the stack pool is full (SCHED_MAX_THREADS, "
               "SCHED_STACK_POOL_COUNT)\n", name ? name : "?");
        NET_PORT_FLUSH();
        abort();
    }
    return t;
}
