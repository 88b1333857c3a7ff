#include "scale.h"

#include <xenabi/shared_info.h>

#include "muldiv.h"

/* Number of significant bits: 0 for 0. */
static int bit_length(uint64_t x)
{
    return x ? 64 - __builtin_clzll(x) : 0;
}

/*
 * mul = floor(num * 2^(32 - shift) / den), valid for 32 - shift in
 * [0, 63]; false if out of that range or the quotient overflows.
 */
static bool mul_for_shift(uint64_t num, uint64_t den, int shift,
                          uint64_t *mul)
{
    int k = 32 - shift;

    if (k < 0 || k > 63)
        return false;
    return time_muldiv64(num, UINT64_C(1) << k, den, mul);
}

bool time_scale_make(uint64_t num, uint64_t den, struct time_scale *out)
{
    if (num == 0 || den == 0)
        return false;

    /*
     * Want mul in [2^31, 2^32), i.e. 2^(shift-1) <= num/den < 2^shift.
     * The bit lengths put shift within one of the answer; step to it.
     */
    int shift = bit_length(num) - bit_length(den) + 1;
    for (int step = 0; step < 4; step++) {
        uint64_t mul;

        if (!mul_for_shift(num, den, shift, &mul)) {
            /* Too many bits for this shift: only a larger one can fit. */
            shift++;
            continue;
        }
        if (mul >= (UINT64_C(1) << 32)) {
            shift++;
        } else if (mul < (UINT64_C(1) << 31)) {
            shift--;
        } else {
            if (shift > 31) /* the ratio was in [2^31, 2^32) */
                return false;
            out->mul = (uint32_t)mul;
            out->shift = (int8_t)shift;
            return true;
        }
    }
    return false;
}

uint64_t time_scale_apply(uint64_t x, struct time_scale s)
{
    /* The same arithmetic Xen specifies for its pvclock. */
    return xenabi_pvclock_scale(x, s.mul, s.shift);
}
