/*
 * The simulator's parts and how they call each other.
 *
 *   hypervisor.c  xen_hypercall dispatch, guest frames, rounds, blocking
 *   evtchn.c      both domains' ports and the guest's 2-level bitmaps
 *   gnttab.c      the guest's grant table frames, backend mappings
 *   store.c       the xenstore tree, transactions and watch matching
 *   xenstored.c   the wire protocol on the guest's xenstore page
 *   backend.c     scripted xenbus backends
 */
#ifndef XENSIM_INTERNAL_H
#define XENSIM_INTERNAL_H

#include <stdio.h>

#include <xensim/sim.h>

#include <xenabi/errno.h>
#include <xenabi/event_channel.h>
#include <xenabi/grant_table.h>
#include <xenabi/shared_info.h>
#include <xenabi/xenstore.h>

/* hypervisor.c */
void sim_violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A test or simulator bug (not the guest's): report and abort. */
_Noreturn void sim_fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
/* A fresh page-aligned, zeroed page registered as a guest frame. */
void *sim_alloc_guest_page(xenabi_pfn_t *gfn);

/* evtchn.c */
void sim_evtchn_reset(void);
struct xenabi_shared_info *sim_shared_info(void);
long sim_evtchn_op(uint32_t cmd, void *arg);
long sim_map_shared_info(xenabi_pfn_t gfn);
bool sim_evtchn_round(void);        /* run backend port handlers */
bool sim_guest_upcall_pending(void);
/* The store channel: guest SIM_STORE_PORT <-> a backend port. */
uint32_t sim_evtchn_bind_store(sim_port_fn fn, void *arg);
/* Run a backend port's handler inside the guest's send, not in a round. */
void sim_evtchn_set_eager(uint32_t port, bool eager);

/* gnttab.c */
void sim_gnttab_reset(void);
long sim_gnttab_op(uint32_t cmd, void *arg, uint32_t count);
long sim_map_grant_frame(uint64_t idx, xenabi_pfn_t gfn);
bool sim_gnttab_round(void);        /* check the guest kept its promises */

/* xenstored.c */
void sim_xenstored_reset(void);
bool sim_xenstored_round(void);
xenabi_pfn_t sim_xenstored_frame(void);
/* A watch event for a guest watch (store.c calls it when one fires). */
void sim_xenstored_queue_event(const char *path, const char *token);

/* store.c: paths are absolute and valid; values are bytes. */
struct sim_store;
void sim_store_reset(void);
/* Resolve `path` as the guest means it (relative: below its home) into
 * buf; NULL if it is not a valid path. */
const char *sim_store_abspath(const char *path, char *buf, size_t size);
/* tx 0: the live store. Errors are -XENABI_E* (EISDIR etc. as Linux). */
int sim_store_read(uint32_t tx, const char *abs, char *buf, size_t size,
                   size_t *len);
int sim_store_write(uint32_t tx, const char *abs, const void *value,
                    size_t len);
int sim_store_mkdir(uint32_t tx, const char *abs);
int sim_store_rm(uint32_t tx, const char *abs);
/* Children names, NUL-terminated each, into buf; returns bytes used. */
int sim_store_directory(uint32_t tx, const char *abs, char *buf,
                        size_t size);
int sim_store_tx_start(uint32_t *tx);
int sim_store_tx_end(uint32_t tx, bool commit);
/* Guest watches; their events go to xenstored. */
int sim_store_watch_guest(const char *path, const char *token);
int sim_store_unwatch_guest(const char *path, const char *token);

/* backend.c */
void sim_backends_reset(void);
bool sim_backends_round(void);

#endif /* XENSIM_INTERNAL_H */
