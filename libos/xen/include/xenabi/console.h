/*
 * xenabi/console.h - the PV console ring page (HVM_PARAM_CONSOLE_PFN, or
 * start_info.console.domu.mfn): two byte rings with free-running indices,
 * each reduced modulo its own size. We write "out" and advance out_prod;
 * we read "in" and advance in_cons; then signal the console event channel.
 */
#ifndef XENABI_CONSOLE_H
#define XENABI_CONSOLE_H

#include <xenabi/types.h>

#define XENABI_CONSOLE_IN_SIZE 1024  /* console -> guest */
#define XENABI_CONSOLE_OUT_SIZE 2048 /* guest -> console */

typedef uint32_t xenabi_console_ring_idx_t;

struct xenabi_console_interface {
    char in[XENABI_CONSOLE_IN_SIZE];
    char out[XENABI_CONSOLE_OUT_SIZE];
    xenabi_console_ring_idx_t in_cons, in_prod;
    xenabi_console_ring_idx_t out_cons, out_prod;
};
XENABI_ASSERT_SIZE(struct xenabi_console_interface, 3088);
XENABI_ASSERT_OFFSET(struct xenabi_console_interface, in, 0);
XENABI_ASSERT_OFFSET(struct xenabi_console_interface, out, 1024);
XENABI_ASSERT_OFFSET(struct xenabi_console_interface, in_cons, 3072);
XENABI_ASSERT_OFFSET(struct xenabi_console_interface, in_prod, 3076);
XENABI_ASSERT_OFFSET(struct xenabi_console_interface, out_cons, 3080);
XENABI_ASSERT_OFFSET(struct xenabi_console_interface, out_prod, 3084);

static inline uint32_t xenabi_console_in_mask(xenabi_console_ring_idx_t idx)
{
    return idx & (XENABI_CONSOLE_IN_SIZE - 1);
}

static inline uint32_t xenabi_console_out_mask(xenabi_console_ring_idx_t idx)
{
    return idx & (XENABI_CONSOLE_OUT_SIZE - 1);
}

#endif /* XENABI_CONSOLE_H */
