#include <platform/xen/pvclock.h>

/*
 * Keeps the compiler from moving loads across it. That is all x86 needs
 * here: it does not reorder loads with other loads, and Xen's writer
 * orders its own stores.
 */
static inline void compiler_barrier(void)
{
    __asm__ volatile("" : : : "memory");
}

uint64_t xenplat_pvclock_behind;
uint64_t xenplat_pvclock_behind_max;

uint64_t xenplat_pvclock_ns_at(const struct xenabi_vcpu_time_info *copy,
                               uint64_t tsc)
{
    if (tsc < copy->tsc_timestamp) {
        xenplat_pvclock_behind++;
        if (copy->tsc_timestamp - tsc > xenplat_pvclock_behind_max)
            xenplat_pvclock_behind_max = copy->tsc_timestamp - tsc;
    }
    uint64_t delta = tsc > copy->tsc_timestamp ? tsc - copy->tsc_timestamp
                                               : 0;

    return copy->system_time
           + xenabi_pvclock_scale(delta, copy->tsc_to_system_mul,
                                  copy->tsc_shift);
}

bool xenplat_pvclock_read(const volatile struct xenabi_vcpu_time_info *src,
                          xenplat_pvclock_tsc_fn read_tsc, void *ctx,
                          uint64_t *ns)
{
    for (uint32_t attempt = 0; attempt < PVCLOCK_MAX_ATTEMPTS; attempt++) {
        struct xenabi_vcpu_time_info copy;
        uint32_t version = src->version;

        compiler_barrier();
        copy.tsc_timestamp = src->tsc_timestamp;
        copy.system_time = src->system_time;
        copy.tsc_to_system_mul = src->tsc_to_system_mul;
        copy.tsc_shift = src->tsc_shift;
        uint64_t tsc = read_tsc(ctx);
        compiler_barrier();
        if ((version & 1) != 0 || src->version != version)
            continue; /* torn: Xen was (or started) rewriting it */
        if (copy.tsc_shift < -PVCLOCK_MAX_SHIFT
            || copy.tsc_shift > PVCLOCK_MAX_SHIFT)
            return false;
        *ns = xenplat_pvclock_ns_at(&copy, tsc);
        return true;
    }
    return false;
}

uint64_t xenplat_pvclock_monotonic(uint64_t pv, uint64_t offset,
                                   uint64_t last)
{
    int64_t ns = (int64_t)(pv - offset);

    if (ns < 0 || (uint64_t)ns < last)
        return last;
    return (uint64_t)ns;
}

uint64_t xenplat_pvclock_tsc_hz(uint32_t mul, int8_t shift)
{
    if (mul == 0 || shift < -PVCLOCK_MAX_SHIFT || shift > PVCLOCK_MAX_SHIFT)
        return 0;
    /* One second of ns, times 2^32 / mul, is one second of shifted ticks. */
    unsigned __int128 hz = ((unsigned __int128)1000000000u << 32) / mul;
    if (shift >= 0)
        hz >>= shift;
    else
        hz <<= -shift;
    return hz > UINT64_MAX ? 0 : (uint64_t)hz;
}

bool xenplat_wallclock_read(const volatile struct xenabi_shared_info *src,
                            int64_t *ns)
{
    for (uint32_t attempt = 0; attempt < PVCLOCK_MAX_ATTEMPTS; attempt++) {
        uint32_t version = src->wc_version;

        compiler_barrier();
        uint64_t sec = (uint64_t)src->wc_sec_hi << 32 | src->wc_sec;
        uint32_t nsec = src->wc_nsec;
        compiler_barrier();
        if ((version & 1) != 0 || src->wc_version != version)
            continue;
        if (nsec >= 1000000000u || sec > (uint64_t)INT64_MAX / 1000000000u
            || (sec == 0 && nsec == 0))
            return false;
        *ns = (int64_t)sec * 1000000000 + nsec;
        return true;
    }
    return false;
}
