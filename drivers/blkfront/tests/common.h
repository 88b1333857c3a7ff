/* Shared set-up of blkfront's host tests. */
#ifndef BLKFRONT_TESTS_COMMON_H
#define BLKFRONT_TESTS_COMMON_H

#include <string.h>

#include <blkfront/blkfront.h>
#include <evtchn/evtchn.h>
#include <gnttab/gnttab.h>
#include <testing/check.h>
#include <xensim/sim.h>
#include <xenstore/xenstore.h>

#include "blkback.h"

#define NODE "device/vbd/768"

static inline void boot(void)
{
    CHECK_EQ(evtchn_init(), 0);
    CHECK_EQ(gnttab_init(), 0);
    CHECK_EQ(xs_init(), 0);
}

static inline struct gnttab_stats grants(void)
{
    struct gnttab_stats st;
    gnttab_get_stats(&st);
    return st;
}

static inline struct blkfront_stats fstats(const struct blkfront *bf)
{
    struct blkfront_stats st;
    blkfront_get_stats(bf, &st);
    return st;
}

/* A completion record for async requests. */
struct done {
    int calls;
    int status;
};

static inline void on_done(void *arg, int status)
{
    struct done *d = arg;
    d->calls++;
    d->status = status;
}

/* Poll and wait until `d` completed (or waiting fails). */
static inline int wait_done(struct blkfront *bf, struct done *d)
{
    while (d->calls == 0) {
        int rc = blkfront_poll(bf);
        if (d->calls != 0)
            break;
        if (rc < 0)
            return rc;
        rc = evtchn_wait();
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* No grant live, none mapped by the backend, none reported leaked. */
static inline void check_no_leaks(void)
{
    CHECK_EQ(grants().in_use, 0);
    CHECK_EQ(gnttab_report_leaks(), 0);
    CHECK_EQ(sim_gnttab_mapped(), 0);
}

#endif
