#include "calibrate.h"

#include "muldiv.h"

uint64_t time_calibrate_rate(uint64_t ticks, uint64_t ref_ticks,
                             uint64_t ref_hz)
{
    uint64_t hz;

    if (ref_ticks == 0 || !time_muldiv64_round(ticks, ref_hz, ref_ticks, &hz))
        return 0;
    return hz;
}

bool time_calibrate_plausible(uint64_t hz)
{
    return hz >= CALIBRATE_MIN_HZ && hz <= CALIBRATE_MAX_HZ;
}

uint32_t time_calibrate_pit_elapsed(uint16_t earlier, uint16_t later)
{
    /* A down-counter: time runs from the larger value to the smaller. */
    return (uint16_t)(earlier - later);
}

uint64_t time_calibrate_tsc_leaf15(uint32_t eax, uint32_t ebx, uint32_t ecx)
{
    uint64_t hz;

    if (eax == 0 || ebx == 0 || ecx == 0)
        return 0;
    if (!time_muldiv64(ecx, ebx, eax, &hz))
        return 0;
    return hz;
}

uint64_t time_calibrate_tsc_leaf16(uint32_t eax)
{
    return (uint64_t)(eax & 0xffffu) * 1000000u;
}

uint64_t time_calibrate_tsc_xen_leaf(uint32_t ecx)
{
    return (uint64_t)ecx * 1000u;
}

bool time_calibrate_window_ok(const struct calibrate_window *w)
{
    uint64_t limit = w->tsc_ticks / CALIBRATE_BRACKET_DIVISOR;

    return w->tsc_ticks > 0 && w->counter_ticks > 0
           && w->start_bracket <= limit && w->end_bracket <= limit
           && w->max_gap <= w->tsc_ticks / CALIBRATE_GAP_DIVISOR;
}

uint64_t time_calibrate_median(uint64_t *values, unsigned count)
{
    if (count == 0)
        return 0;
    /* Insertion sort: a handful of samples. */
    for (unsigned i = 1; i < count; i++) {
        uint64_t v = values[i];
        unsigned j = i;

        for (; j > 0 && values[j - 1] > v; j--)
            values[j] = values[j - 1];
        values[j] = v;
    }
    return values[count / 2];
}

uint64_t time_calibrate_select(calibrate_measure_fn measure, void *ctx,
                               unsigned wanted, unsigned attempts)
{
    uint64_t good[CALIBRATE_MAX_ATTEMPTS], all[CALIBRATE_MAX_ATTEMPTS];
    unsigned good_count = 0, all_count = 0;

    if (attempts > CALIBRATE_MAX_ATTEMPTS)
        attempts = CALIBRATE_MAX_ATTEMPTS;
    while (all_count < attempts && good_count < wanted) {
        struct calibrate_window w;

        if (!measure(ctx, &w))
            return 0;
        all[all_count++] = w.hz;
        if (time_calibrate_window_ok(&w))
            good[good_count++] = w.hz;
    }
    if (good_count > 0)
        return time_calibrate_median(good, good_count);
    return time_calibrate_median(all, all_count);
}
