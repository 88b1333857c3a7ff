#include "pvclock.h"

/*
 * Keeps the compiler from moving loads across it. That is all x86 needs
 * here: it does not reorder loads with other loads, and Xen's writer
 * orders its own stores.
 */
static inline void compiler_barrier(void)
{
    __asm__ volatile("" : : : "memory");
}

uint64_t time_pvclock_ns_at(const struct xenabi_vcpu_time_info *copy,
                            uint64_t tsc)
{
    uint64_t delta = tsc > copy->tsc_timestamp ? tsc - copy->tsc_timestamp
                                               : 0;

    return copy->system_time
           + xenabi_pvclock_scale(delta, copy->tsc_to_system_mul,
                                  copy->tsc_shift);
}

bool time_pvclock_read(const volatile struct xenabi_vcpu_time_info *src,
                       pvclock_tsc_fn read_tsc, void *ctx, uint64_t *ns)
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
        *ns = time_pvclock_ns_at(&copy, tsc);
        return true;
    }
    return false;
}
