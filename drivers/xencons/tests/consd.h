/*
 * A simulated console daemon (xenconsoled) in the backend domain of
 * //testing/xensim: each round it takes up to `chunk` bytes of the guest's
 * output into a log, and puts queued input into the guest's in ring,
 * signalling the console port when it moved anything.
 */
#ifndef XENCONS_TESTS_CONSD_H
#define XENCONS_TESTS_CONSD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xenabi/console.h>

enum consd_fault {
    CONSD_FAULT_NONE,
    CONSD_OUT_CONS_AHEAD, /* out_cons published 3000 beyond out_prod */
    CONSD_IN_PROD_AHEAD,  /* in_prod a ring and a byte ahead of in_cons */
};

struct consd;

struct consd *consd_create(struct xenabi_console_interface *page,
                           uint32_t guest_port, uint32_t chunk);
void consd_hold(struct consd *d, bool hold);
void consd_input(struct consd *d, const void *buf, size_t len);
void consd_fault(struct consd *d, enum consd_fault f);
const uint8_t *consd_log(const struct consd *d, size_t *len);
uint64_t consd_events(const struct consd *d);
void consd_destroy(struct consd *d);

#endif
