/*
 * xensim/sim.h - a deterministic simulated Xen for host tests of the
 * platform core (//libos/xen/evtchn, gnttab, xenstore, xenbus).
 *
 * The code under test is the "guest", domain SIM_GUEST_DOMID. It reaches
 * the simulator only as Xen: through xen_hypercall(), xen_frame_to_ptr()
 * and xen_ptr_to_frame() (<hypervisor/hypervisor.h>), which this library
 * defines, and through the pages it shares. The other domain,
 * SIM_BACKEND_DOMID, is the simulator's own: it runs xenstored (speaking
 * the real wire protocol over a real xenstore_domain_interface page) and
 * scripted xenbus backends, and it maps the guest's grants.
 *
 * Nothing runs concurrently. The backend domain takes "rounds" only when
 * the guest blocks (SCHEDOP_block) or the test calls sim_run(); a block
 * returns as soon as the guest has an event pending, and fails with
 * -XENABI_ETIMEDOUT when a round changes nothing (nothing could ever wake
 * the guest), so a test that would hang on real Xen fails instead.
 *
 * The simulator also checks the guest: writing more into the xenstore
 * request ring than xenstored consumed, sending a malformed message,
 * revoking a grant the backend still maps, ... are "violations", counted
 * and described (sim_last_violation) for the test to assert on.
 *
 * Guest frames: xen_ptr_to_frame() gives each page-aligned guest page it
 * sees a small frame number (they fit 32-bit grant entries), and
 * xen_frame_to_ptr() maps them back; frames the simulator did not hand
 * out map to NULL.
 */
#ifndef XENSIM_SIM_H
#define XENSIM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xenabi/types.h>
#include <xenabi/xenbus.h>

#define SIM_GUEST_DOMID 1
#define SIM_BACKEND_DOMID 0

/* The guest port the toolstack bound to xenstored before "boot". */
#define SIM_STORE_PORT 1

/* ---- the world ------------------------------------------------------------ */

/* A fresh hypervisor: empty event channels and grant table, a new store
 * (with /local/domain/<guest>), no backends, no faults, no hooks. */
void sim_reset(void);

/* Make every hypercall fail with -XENABI_ENOSYS ("not on Xen"). */
void sim_set_absent(bool absent);

/*
 * Let the backend domain run rounds until the guest has an event pending
 * or a round changes nothing. Returns the number of rounds.
 */
unsigned sim_run(void);

/*
 * The PV console the toolstack set up: what HVMOP_get_param answers for
 * HVM_PARAM_CONSOLE_PFN and _EVTCHN (both 0, "no console", after
 * sim_reset). The test provides the page (a guest frame from
 * xen_ptr_to_frame) and the bound guest port.
 */
void sim_set_console(xenabi_pfn_t pfn, uint32_t guest_port);

/* Called at the end of every round; returns true if it changed anything. */
typedef bool (*sim_round_fn)(void *arg);
void sim_set_round_hook(sim_round_fn fn, void *arg);

struct sim_stats {
    uint64_t hypercalls;
    uint64_t rounds;
    uint64_t blocks;     /* SCHEDOP_block calls */
    uint64_t deadlocks;  /* blocks that failed: nothing could wake the guest */
    uint64_t violations; /* guest protocol errors detected */
};

void sim_get_stats(struct sim_stats *out);

/* The last violation, as text ("" if none). */
const char *sim_last_violation(void);

/* ---- event channels, from the backend domain --------------------------------- */

typedef void (*sim_port_fn)(uint32_t port, void *arg);

/* A backend port the guest may bind to (evtchn_bind_interdomain). */
int sim_evtchn_alloc_unbound(sim_port_fn fn, void *arg, uint32_t *port);

/* Bind to the guest's unbound port `guest_port` (allocated for us). */
int sim_evtchn_bind(uint32_t guest_port, sim_port_fn fn, void *arg,
                    uint32_t *port);

/* Signal the guest end of backend port `port`. */
int sim_evtchn_notify(uint32_t port);

int sim_evtchn_close(uint32_t port);

/* Events the guest sent to backend port `port` so far. */
uint64_t sim_evtchn_received(uint32_t port);

/* The guest port bound to backend port `port` (0 if none). */
uint32_t sim_evtchn_peer(uint32_t port);

/* Fire virtual IRQ `virq` at the guest (if the guest bound it). */
int sim_raise_virq(uint32_t virq);

/* Guest port bits in the shared info page, as Xen sees them. */
bool sim_guest_port_pending(uint32_t port);
bool sim_guest_port_masked(uint32_t port);

/* ---- grant tables, from the backend domain ----------------------------------- */

/* Grant table frames the guest may have (query_size's max_nr_frames). */
void sim_gnttab_set_max_frames(uint32_t frames);

/*
 * Map the guest's grant `ref` (as domain SIM_BACKEND_DOMID). Returns a
 * XENABI_GNTST_* status; on success *page is the guest's page.
 */
int sim_gnttab_map(uint32_t ref, bool readonly, void **page);
int sim_gnttab_unmap(uint32_t ref, bool readonly);

/* Mappings alive now. */
uint32_t sim_gnttab_mapped(void);

/*
 * Grant references through which the backend domain can reach any byte
 * of guest memory [p, p + len) now: entries that permit it access to a
 * page overlapping the range, and mappings still alive on such a page
 * (the frame Xen pinned when mapping). 0: the backend cannot read or
 * write any of it.
 */
uint32_t sim_gnttab_grants_on(const void *p, size_t len);

/* ---- xenstored ---------------------------------------------------------------- */

/* Direct store access, as dom0's tools would (watches fire). */
int sim_xs_write(const char *path, const char *value);
int sim_xs_read(const char *path, char *buf, size_t size); /* value length */
int sim_xs_rm(const char *path);

/* Stop reading requests for `rounds` rounds (SIM_FOREVER: until resumed). */
#define SIM_FOREVER UINT32_MAX
void sim_xs_pause(uint32_t rounds);

/*
 * Misbehaviour, applied to the next reply xenstored sends (then disarmed).
 * Each one is followed by the genuine reply unless stated otherwise.
 */
enum sim_xs_fault {
    SIM_XS_FAULT_NONE,
    SIM_XS_DUPLICATE,    /* the reply, then the same reply again */
    SIM_XS_UNKNOWN_ID,   /* first a copy with a request id nobody used */
    SIM_XS_GARBAGE_TYPE, /* first a copy with type 0xdead */
    SIM_XS_WRONG_TYPE,   /* first a copy with another valid type */
    SIM_XS_HUGE_LEN,     /* first, alone: a header claiming 4097 bytes */
    SIM_XS_PROD_AHEAD,   /* first, alone: rsp_prod 2000 beyond rsp_cons */
    SIM_XS_BAD_ACK,      /* instead: "NO" where "OK" belongs */
    SIM_XS_BAD_ERROR,    /* instead: XS_ERROR "EWHATEVER" */
    SIM_XS_GARBLE,       /* instead: the payload "12ab" (4 bytes, no NUL) */
    SIM_XS_REQ_CONS_AHEAD, /* next round, alone, for one round: req_cons
                              published 64 beyond req_prod */
    SIM_XS_DROP,         /* instead: nothing at all */
};

void sim_xs_fault(enum sim_xs_fault fault);

/* Queue a message with arbitrary contents (sent alone, in its own round). */
void sim_xs_inject(uint32_t type, uint32_t req_id, const void *payload,
                   uint32_t len);

/* Queue raw bytes for the reply ring (sent alone, in their own round). */
void sim_xs_inject_raw(const void *bytes, size_t len);

/*
 * A xenstored that never stops talking, as one on another CPU would: it
 * writes watch events "<prefix>/<n>" (n = 0, 1, ... count - 1) with
 * `token` now, and again every time the guest signals the store port
 * (inside that signal, not in a round), as many as the reply ring has
 * room for, until `count` are sent.
 */
void sim_xs_flood(const char *prefix, const char *token, uint64_t count);

/* Flood events written to the reply ring so far. */
uint64_t sim_xs_flood_sent(void);

struct sim_xs_stats {
    uint64_t requests;    /* complete requests read */
    uint64_t replies;     /* replies queued */
    uint64_t events;      /* watch events queued */
    uint32_t max_req_fill; /* most unconsumed request bytes ever seen */
    uint64_t perms_set;   /* SET_PERMS requests accepted */
};

void sim_xs_get_stats(struct sim_xs_stats *out);

/* ---- scripted xenbus backends -------------------------------------------------- */

enum sim_backend_flags {
    SIM_BACKEND_KEEP_MAP = 1u << 0,  /* keeps the ring mapped when closing */
    SIM_BACKEND_REFUSE = 1u << 1,    /* cannot map the ring: closes instead */
    /* Unmaps only once the frontend is Closed, then goes Closed (Linux's
     * blkback: it disconnects the ring on the frontend's Closed). */
    SIM_BACKEND_UNMAP_ON_CLOSED = 1u << 2,
};

struct sim_backend;

/*
 * Create device <type>/<devid>: the frontend directory
 * /local/domain/<guest>/device/<type>/<devid> (backend, backend-id,
 * state) and the backend's /local/domain/0/backend/<type>/<guest>/<devid>
 * (frontend, frontend-id, state). Then, round by round: InitWait; when the
 * frontend is Initialised, map "ring-ref", bind "event-channel", write
 * "sim-backend connected" at the start of the ring page and the number
 * 4096 to "feature-sim", go Connected and notify; when the frontend
 * closes, unmap, unbind, go Closing and then Closed.
 */
struct sim_backend *sim_backend_create(const char *type, unsigned devid,
                                       unsigned flags);

enum xenabi_xenbus_state sim_backend_state(const struct sim_backend *b);

/* While held, the backend does nothing at all (a hung backend domain). */
void sim_backend_hold(struct sim_backend *b, bool hold);

/* The backend starts detaching (Closing, then Closed once the frontend
 * follows). */
void sim_backend_close(struct sim_backend *b);

/* The backend domain's end of the device disappears: unmap, unbind,
 * remove its directory. */
void sim_backend_vanish(struct sim_backend *b);

/* Drop a mapping kept by SIM_BACKEND_KEEP_MAP. */
void sim_backend_unmap(struct sim_backend *b);

/* The mapped ring page (NULL when not connected). */
void *sim_backend_ring(const struct sim_backend *b);

/* The backend's event channel port (0 when not connected). */
uint32_t sim_backend_port(const struct sim_backend *b);

#endif /* XENSIM_SIM_H */
