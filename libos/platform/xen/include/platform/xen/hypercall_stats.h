/*
 * platform/xen/hypercall_stats.h - how many hypercalls the image made, by
 * hypercall and, for the multiplexed ones, by sub-command: the guest's
 * side of a profile on Xen (docs/benchmarks.md, "What the profile shows").
 * An event-channel notification is EVTCHNOP_send, an idle halt on PV is
 * SCHEDOP_block, a PV timer arm is VCPUOP_set_singleshot_timer.
 *
 * xenplat_hypercall() counts every call it makes (xen.c); the PV boot
 * path's page-table calls (xenplat_hypercall_raw) are not counted. The
 * counters are plain increments: one vcpu, and a count is a profile, not
 * an account. Host-buildable (:hypercall_stats), tested in tests/.
 */
#ifndef PLATFORM_XEN_HYPERCALL_STATS_H
#define PLATFORM_XEN_HYPERCALL_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Hypercalls numbered below this are counted one by one; above, as "other". */
#define XENPLAT_HCSTATS_OPS 48
/* Sub-commands below this are counted one by one; above, together. */
#define XENPLAT_HCSTATS_SUBS 16

/* Count hypercall `nr` under its first argument `a1`: the sub-command of
 * the multiplexed ones (sched_op, event_channel_op, vcpu_op, ...); for
 * the others (set_timer_op's time, ...) the reader adds the subs up. */
void xenplat_hcstats_count(unsigned int nr, uint64_t a1);

/* The count of `nr` with first argument `sub`; XENPLAT_HCSTATS_SUBS - 1
 * holds the arguments that high and higher, XENPLAT_HCSTATS_OPS the
 * hypercalls numbered that high and higher. */
uint64_t xenplat_hcstats_get(unsigned int nr, unsigned int sub);

/* Every count, summed. */
uint64_t xenplat_hcstats_total(void);

/* Forget every count (tests, and a profile that starts after the boot). */
void xenplat_hcstats_reset(void);

/*
 * One line into buf (n bytes, NUL-terminated, cut if short):
 * "hypercalls T: 29.1 12, 32.4 40, ..." (hypercall.sub count: here
 * sched_op's SCHEDOP_block 12 times, event_channel_op's EVTCHNOP_send 40
 * times), in the order of the numbers, only the non-zero counts; numbers,
 * not names, to keep the image small (bench/xen_profile.py names them).
 * Returns what snprintf would return for the whole line.
 */
int xenplat_hcstats_format(char *buf, size_t n);

#endif /* PLATFORM_XEN_HYPERCALL_STATS_H */
