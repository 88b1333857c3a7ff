/*
 * The simulated hypervisor's core: xen_hypercall() and the frame calls of
 * <hypervisor/hypervisor.h>, the rounds of the backend domain, and
 * blocking.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <hypervisor/hypervisor.h>

#include "internal.h"

/* Guest frame numbers start here, so frame 0 is never valid. */
#define FIRST_GFN 0x100
#define MAX_FRAMES 1024
/* A block that takes this many rounds is a livelock: fail it. */
#define MAX_ROUNDS_PER_BLOCK 10000

static struct {
    bool absent;
    const void *frames[MAX_FRAMES];
    void *owned[MAX_FRAMES]; /* pages the simulator allocated, to free */
    unsigned nr_frames;
    sim_round_fn hook;
    void *hook_arg;
    uint64_t console_pfn, console_evtchn; /* HVM params; 0: no console */
    struct sim_stats stats;
    char violation[256];
} hv;

void sim_violation(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(hv.violation, sizeof(hv.violation), fmt, ap);
    va_end(ap);
    hv.stats.violations++;
    fprintf(stderr, "sim: guest violation: %s\n", hv.violation);
}

void sim_fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "sim: fatal: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    abort();
}

const char *sim_last_violation(void)
{
    return hv.violation;
}

void sim_get_stats(struct sim_stats *out)
{
    *out = hv.stats;
}

void sim_set_absent(bool absent)
{
    hv.absent = absent;
}

void sim_set_console(xenabi_pfn_t pfn, uint32_t guest_port)
{
    hv.console_pfn = pfn;
    hv.console_evtchn = guest_port;
}

void sim_set_round_hook(sim_round_fn fn, void *arg)
{
    hv.hook = fn;
    hv.hook_arg = arg;
}

/* ---- guest frames ------------------------------------------------------------ */

xenabi_pfn_t xen_ptr_to_frame(const void *page)
{
    if (((uintptr_t)page & (XENABI_PAGE_SIZE - 1)) != 0)
        sim_fatal("xen_ptr_to_frame(%p): not page aligned", page);
    for (unsigned i = 0; i < hv.nr_frames; i++)
        if (hv.frames[i] == page)
            return FIRST_GFN + i;
    if (hv.nr_frames == MAX_FRAMES)
        sim_fatal("more than %d guest frames", MAX_FRAMES);
    hv.frames[hv.nr_frames] = page;
    return FIRST_GFN + hv.nr_frames++;
}

void *xen_frame_to_ptr(xenabi_pfn_t gfn)
{
    if (gfn < FIRST_GFN || gfn - FIRST_GFN >= hv.nr_frames)
        return NULL;
    return (void *)(uintptr_t)hv.frames[gfn - FIRST_GFN];
}

void *sim_alloc_guest_page(xenabi_pfn_t *gfn)
{
    void *page = aligned_alloc(XENABI_PAGE_SIZE, XENABI_PAGE_SIZE);
    if (page == NULL)
        sim_fatal("out of memory");
    memset(page, 0, XENABI_PAGE_SIZE);
    *gfn = xen_ptr_to_frame(page);
    hv.owned[*gfn - FIRST_GFN] = page;
    return page;
}

/* ---- rounds -------------------------------------------------------------------- */

/* One round of the backend domain; true if anything changed. */
static bool round_once(void)
{
    hv.stats.rounds++;
    bool progress = false;
    progress |= sim_xenstored_round();
    progress |= sim_evtchn_round();
    progress |= sim_backends_round();
    progress |= sim_gnttab_round();
    if (hv.hook != NULL)
        progress |= hv.hook(hv.hook_arg);
    return progress;
}

unsigned sim_run(void)
{
    unsigned rounds = 0;
    while (rounds < MAX_ROUNDS_PER_BLOCK) {
        rounds++;
        bool progress = round_once();
        if (sim_guest_upcall_pending() || !progress)
            break;
    }
    return rounds;
}

/*
 * SCHEDOP_block: Xen returns at once if an event is pending; otherwise
 * the guest sleeps while the rest of the system runs, until an event
 * arrives for it. Here "the rest of the system" is rounds of the backend
 * domain, and "nothing changed in a round" means nothing ever will.
 */
static long sched_block(void)
{
    hv.stats.blocks++;
    for (unsigned i = 0; i < MAX_ROUNDS_PER_BLOCK; i++) {
        if (sim_guest_upcall_pending())
            return 0;
        if (!round_once())
            break;
    }
    if (sim_guest_upcall_pending())
        return 0;
    hv.stats.deadlocks++;
    return -XENABI_ETIMEDOUT;
}

/* ---- hypercalls -------------------------------------------------------------------- */

static long memory_op(uint32_t cmd, void *arg)
{
    if (cmd != XENABI_XENMEM_ADD_TO_PHYSMAP)
        return -XENABI_ENOSYS;
    struct xenabi_add_to_physmap a;
    memcpy(&a, arg, sizeof(a)); /* as Xen's copy_from_guest */
    if (a.domid != XENABI_DOMID_SELF && a.domid != SIM_GUEST_DOMID)
        return -XENABI_EPERM;
    switch (a.space) {
    case XENABI_XENMAPSPACE_SHARED_INFO:
        return a.idx == 0 ? sim_map_shared_info(a.gpfn) : -XENABI_EINVAL;
    case XENABI_XENMAPSPACE_GRANT_TABLE:
        return sim_map_grant_frame(a.idx, a.gpfn);
    default:
        return -XENABI_ENOSYS;
    }
}

static long hvm_op(uint32_t cmd, void *arg)
{
    if (cmd != XENABI_HVMOP_GET_PARAM)
        return -XENABI_ENOSYS;
    struct xenabi_hvm_param p;
    memcpy(&p, arg, sizeof(p));
    if (p.domid != XENABI_DOMID_SELF && p.domid != SIM_GUEST_DOMID)
        return -XENABI_EPERM;
    switch (p.index) {
    case XENABI_HVM_PARAM_STORE_PFN:
        p.value = sim_xenstored_frame();
        break;
    case XENABI_HVM_PARAM_STORE_EVTCHN:
        p.value = SIM_STORE_PORT;
        break;
    case XENABI_HVM_PARAM_CONSOLE_PFN:
        p.value = hv.console_pfn;
        break;
    case XENABI_HVM_PARAM_CONSOLE_EVTCHN:
        p.value = hv.console_evtchn;
        break;
    default:
        return -XENABI_EINVAL;
    }
    memcpy(arg, &p, sizeof(p));
    return 0;
}

static long sched_op(uint32_t cmd)
{
    switch (cmd) {
    case XENABI_SCHEDOP_BLOCK:
        return sched_block();
    case XENABI_SCHEDOP_YIELD:
        (void)round_once();
        return 0;
    default:
        return -XENABI_ENOSYS;
    }
}

long xen_hypercall(unsigned int nr, uint64_t a1, uint64_t a2, uint64_t a3,
                   uint64_t a4, uint64_t a5)
{
    (void)a4;
    (void)a5;
    hv.stats.hypercalls++;
    if (hv.absent)
        return -XENABI_ENOSYS;
    void *arg = (void *)(uintptr_t)a2;
    switch (nr) {
    case XENABI_HYPERCALL_EVENT_CHANNEL_OP:
        return sim_evtchn_op((uint32_t)a1, arg);
    case XENABI_HYPERCALL_GRANT_TABLE_OP:
        return sim_gnttab_op((uint32_t)a1, arg, (uint32_t)a3);
    case XENABI_HYPERCALL_MEMORY_OP:
        return memory_op((uint32_t)a1, arg);
    case XENABI_HYPERCALL_HVM_OP:
        return hvm_op((uint32_t)a1, arg);
    case XENABI_HYPERCALL_SCHED_OP:
        return sched_op((uint32_t)a1);
    default:
        return -XENABI_ENOSYS;
    }
}

void sim_reset(void)
{
    sim_backends_reset();
    for (unsigned i = 0; i < hv.nr_frames; i++)
        free(hv.owned[i]);
    memset(&hv, 0, sizeof(hv));
    sim_evtchn_reset();
    sim_gnttab_reset();
    sim_store_reset();
    sim_xenstored_reset();
}
