/*
 * Reading Xen's pvclock (struct xenabi_vcpu_time_info), as a pure
 * function of the structure and a TSC reader, so that the host tests can
 * play the hypervisor: change the fields between the reader's loads and
 * check that it notices and retries.
 *
 * Protocol (Xen's public xen.h): Xen makes `version` odd, rewrites the
 * fields, then makes it even again. A reader copies version, then the
 * fields, then reads the TSC, then re-reads version; the copy is
 * consistent if both versions are equal and even. The TSC is read inside
 * that window so that it can never be older than the copy's
 * tsc_timestamp. The structure is written by another domain's agent:
 * it is copied once per attempt, and only the copy is used.
 */
#ifndef PLATFORM_XEN_PVCLOCK_H
#define PLATFORM_XEN_PVCLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <xenabi/shared_info.h>

/* Reads the TSC; `ctx` is the caller's. */
typedef uint64_t (*xenplat_pvclock_tsc_fn)(void *ctx);

/* Attempts before xenplat_pvclock_read() gives up on a never-ending writer. */
#define PVCLOCK_MAX_ATTEMPTS 1000000u

/*
 * System time in ns at TSC value `tsc`, from a consistent copy: Xen's
 * system_time + scale(tsc - tsc_timestamp). A TSC older than the copy's
 * timestamp (impossible when read inside the version window, but a
 * value from another vcpu could be) counts as no time at all.
 */
uint64_t xenplat_pvclock_ns_at(const struct xenabi_vcpu_time_info *copy,
                               uint64_t tsc);

/* For the record: readings whose TSC was below the stamp's, and by how
 * many ticks at most. */
extern uint64_t xenplat_pvclock_behind;
extern uint64_t xenplat_pvclock_behind_max;

/* The largest |tsc_shift| accepted; Xen's are within a few bits. */
#define PVCLOCK_MAX_SHIFT 31

/*
 * Read the clock: *ns = system time now, true. False if every one of
 * PVCLOCK_MAX_ATTEMPTS copies was torn (the writer never finished), or
 * a consistent copy is invalid (|tsc_shift| > PVCLOCK_MAX_SHIFT, which
 * would make the scaling shift undefined).
 */
bool xenplat_pvclock_read(const volatile struct xenabi_vcpu_time_info *src,
                          xenplat_pvclock_tsc_fn read_tsc, void *ctx,
                          uint64_t *ns);

/*
 * The monotonic clock from a pvclock reading: pv - offset, but never
 * below `last` (the largest value returned before). Xen's clock can step
 * back a little (seen in the lab on PV: a vcpu's time info rewritten
 * with a system time just below what the guest had extrapolated); right
 * after the clock's zero was taken (offset = the reading then) such a
 * step makes pv - offset "negative", which as an unsigned difference is
 * a jump of ~2^64 ns into the future. The difference is taken as signed:
 * monotonic values stay below 2^63 ns (292 years).
 */
uint64_t xenplat_pvclock_monotonic(uint64_t pv, uint64_t offset,
                                   uint64_t last);

/*
 * The TSC rate a pvclock's scale describes (ns = ((ticks << shift) *
 * mul) >> 32), in Hz: how a PV guest, which sees no Xen CPUID leaves,
 * learns its TSC frequency. 0 when mul is 0 or |shift| is out of range.
 */
uint64_t xenplat_pvclock_tsc_hz(uint32_t mul, int8_t shift);

/*
 * Xen's wall clock: the UTC time at system time 0, from the shared info
 * page's wc_sec_hi:wc_sec and wc_nsec, copied under wc_version as the
 * pvclock is under its version. *ns = nanoseconds since the Unix epoch
 * at system time 0, and true; false when every copy was torn or the
 * copy is invalid (wc_nsec >= 10^9), or Xen has not set it (all zero).
 */
bool xenplat_wallclock_read(const volatile struct xenabi_shared_info *src,
                            int64_t *ns);

#endif /* PLATFORM_XEN_PVCLOCK_H */
