/*
 * arch/sys_arch.h - lwIP's operating-system types on //libos/sched
 * (sys_arch.c). Semaphores, mutexes and mailboxes are a count or a ring
 * plus wait queues; a blocked lwIP call parks only its own thread.
 */
#ifndef NET_PORT_ARCH_SYS_ARCH_H
#define NET_PORT_ARCH_SYS_ARCH_H

#include <stdbool.h>
#include <stdint.h>

#include <sched/sched.h>

struct sys_sem {
    struct sched_waitq waiters;
    uint32_t count;
    bool valid;
};

struct sys_mutex {
    struct sched_waitq waiters;
    struct sched_thread *owner; /* NULL: unlocked */
    bool valid;
};

/* A ring of `size` message pointers; readers wait while it is empty,
 * posters while it is full. */
struct sys_mbox {
    void **slots;
    uint32_t size;
    uint32_t head;  /* next to fetch */
    uint32_t count; /* messages queued */
    struct sched_waitq readers;
    struct sched_waitq writers;
    bool valid;
};

typedef struct sys_sem sys_sem_t;
typedef struct sys_mutex sys_mutex_t;
typedef struct sys_mbox sys_mbox_t;
typedef struct sched_thread *sys_thread_t;

/* A semaphore per thread (LWIP_NETCONN_SEM_PER_THREAD), which lets one
 * thread read a socket while another writes it (LWIP_NETCONN_FULLDUPLEX).
 * The scheduler has no thread-local storage: sys_arch.c keeps a table by
 * thread id, created on first use and reclaimed from threads that have
 * ended. */
sys_sem_t *sys_arch_netconn_sem_get(void);
void sys_arch_netconn_sem_alloc(void);
void sys_arch_netconn_sem_free(void);
#define LWIP_NETCONN_THREAD_SEM_GET() sys_arch_netconn_sem_get()
#define LWIP_NETCONN_THREAD_SEM_ALLOC() sys_arch_netconn_sem_alloc()
#define LWIP_NETCONN_THREAD_SEM_FREE() sys_arch_netconn_sem_free()
#define SYS_ARCH_THREAD_SEMS 64 /* threads using sockets at once */

/* The mailbox size used when lwIP asks for 0 or less. */
#define SYS_ARCH_MBOX_DEFAULT_SIZE 32

#endif /* NET_PORT_ARCH_SYS_ARCH_H */
