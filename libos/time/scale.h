/*
 * Fixed-point ratios in Xen's pvclock format: a count x scales to
 *
 *     ((x << shift) * mul) >> 32       (x >> -shift when shift < 0)
 *
 * so the factor is mul / 2^32 * 2^shift with a 32-bit mul. One format
 * for every conversion the clock does: TSC ticks to ns (the TSC clock,
 * and Xen's own tsc_to_system_mul/tsc_shift), ns to TSC ticks (deadline
 * timer) and ns to APIC timer ticks (one-shot timer). Applying a scale
 * is a shift and two 32x32 multiplies: cheap enough for every clock
 * read. Pure: built and tested on the host too.
 */
#ifndef TIME_SCALE_H
#define TIME_SCALE_H

#include <stdbool.h>
#include <stdint.h>

struct time_scale {
    uint32_t mul;  /* in [2^31, 2^32) when made by time_scale_make() */
    int8_t shift;
};

/*
 * The scale closest below num / den. False if num or den is 0 or the
 * ratio is outside [2^-32, 2^31]: every conversion here is well inside
 * (a TSC between 1 MHz and 100 GHz, a timer between 1 kHz and 10 GHz).
 * Applied to x, the result r never exceeds the exact x * num / den and
 * undershoots it by at most exact * 2^-31 + 2: mul's relative error is
 * below 2^-31 (it has 32 significant bits), and each of the two floors
 * (x >> -shift, then >> 32) loses less than one unit of the result.
 */
bool time_scale_make(uint64_t num, uint64_t den, struct time_scale *out);

/*
 * x scaled. For shift > 0 the caller keeps x below 2^(64 - shift) (the
 * bits shifted out are lost, as in Xen's own formula).
 */
uint64_t time_scale_apply(uint64_t x, struct time_scale s);

#endif /* TIME_SCALE_H */
