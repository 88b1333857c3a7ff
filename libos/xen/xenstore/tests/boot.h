/*
 * Shared set-up of the xenstore tests: a guest with event channels and
 * a connected xenstore client on a fresh simulator.
 */
#ifndef XENSTORE_TESTS_BOOT_H
#define XENSTORE_TESTS_BOOT_H

#include <string.h>

#include <evtchn/evtchn.h>
#include <testing/check.h>
#include <xensim/sim.h>
#include <xenstore/xenstore.h>

static inline void boot(void)
{
    CHECK_EQ(evtchn_init(), 0);
    CHECK_EQ(xs_init(), 0);
}

static inline struct xs_stats xstats(void)
{
    struct xs_stats st;
    xs_get_stats(&st);
    return st;
}

/*
 * Let xenstored send everything it has queued, the guest taking it in as
 * it comes (a message larger than the ring takes several rounds).
 */
static inline void drain(void)
{
    for (;;) {
        sim_run();
        bool woken = evtchn_dispatch() > 0;
        check_true(xs_poll() >= 0, "xs_poll", __FILE__, __LINE__);
        if (!woken)
            return;
    }
}

/* The client can still do a round trip. */
static inline void check_alive(const char *file, int line)
{
    char buf[16];
    bool ok = xs_write(XS_TX_NONE, "alive", "yes") == 0
              && xs_read(XS_TX_NONE, "alive", buf, sizeof(buf), NULL) == 0
              && strcmp(buf, "yes") == 0;
    check_true(ok, "xenstore still answers", file, line);
}
#define CHECK_ALIVE() check_alive(__FILE__, __LINE__)

#endif /* XENSTORE_TESTS_BOOT_H */
