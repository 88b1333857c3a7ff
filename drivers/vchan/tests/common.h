/* Shared set-up of vchan's host tests. */
#ifndef VCHAN_TESTS_COMMON_H
#define VCHAN_TESTS_COMMON_H

#include <stdlib.h>
#include <string.h>

#include <evtchn/evtchn.h>
#include <gnttab/gnttab.h>
#include <vchan/vchan.h>
#include <testing/check.h>
#include <xensim/sim.h>
#include <xenstore/xenstore.h>

#include "peer.h"

#define REL "data/vchan/0/5"

static inline void boot(void)
{
    CHECK_EQ(evtchn_init(), 0);
    CHECK_EQ(gnttab_init(), 0);
    CHECK_EQ(xs_init(), 0);
}

static inline struct vchan_stats vstats(const struct vchan *v)
{
    struct vchan_stats st;
    vchan_get_stats(v, &st);
    return st;
}

static inline uint32_t grants_in_use(void)
{
    struct gnttab_stats st;
    gnttab_get_stats(&st);
    return st.in_use;
}

/* A guest server with a connected simulated client. */
static inline struct vchan *serve(struct peer **p, unsigned lo, unsigned ro,
                                  enum peer_mode mode, uint32_t chunk)
{
    boot();
    *p = peer_create(REL, mode, chunk);
    struct vchan *v = NULL;
    CHECK_EQ(vchan_server_open(SIM_BACKEND_DOMID, REL, lo, ro, &v), 0);
    /* (The client may already have come while we published.) */
    sim_run();
    CHECK(peer_connected(*p));
    CHECK(vchan_peer_connected(v));
    return v;
}

/* Close both ends in the polite order; nothing left granted or mapped. */
static inline void finish(struct vchan *v, struct peer *p)
{
    peer_disconnect(p);
    vchan_close(v);
    CHECK_EQ(grants_in_use(), 0);
    CHECK_EQ(sim_gnttab_mapped(), 0);
    CHECK_EQ(gnttab_report_leaks(), 0);
    peer_destroy(p);
}

#endif
