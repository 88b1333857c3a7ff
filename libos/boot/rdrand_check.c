/*
 * RDRAND health checks (rdrand_check.h): pure logic over a callback that
 * stands for the instruction.
 */
#include "rdrand_check.h"

#include <stdbool.h>
#include <stdint.h>

#define STR(x) #x
#define XSTR(x) STR(x)

RDRAND_NO_PROTECTOR static bool fail(struct rdrand_health *h,
                                     enum rdrand_fault fault)
{
    h->fault = fault;
    return false;
}

RDRAND_NO_PROTECTOR bool rdrand_draw(struct rdrand_health *h,
                                     rdrand_insn_fn insn, void *ctx,
                                     uint64_t *out)
{
    uint64_t v = 0;
    int i;

    if (h->fault != RDRAND_FAULT_NONE)
        return false;
    for (i = 0; i < RDRAND_RETRIES; i++)
        if (insn(ctx, &v))
            break;
    if (i == RDRAND_RETRIES)
        return fail(h, RDRAND_FAULT_NO_VALUE);
    if (v == 0)
        return fail(h, RDRAND_FAULT_ZEROS);
    if (v == UINT64_MAX)
        return fail(h, RDRAND_FAULT_ONES);
    /* A working generator repeats a 64-bit value with odds of 2^-64. */
    if (h->have_last && v == h->last)
        return fail(h, RDRAND_FAULT_REPEATED);
    h->have_last = true;
    h->last = v;
    *out = v;
    return true;
}

RDRAND_NO_PROTECTOR bool rdrand_self_test(struct rdrand_health *h,
                                          bool present, rdrand_insn_fn insn,
                                          void *ctx)
{
    uint64_t v;

    h->tested = true;
    if (!present)
        return fail(h, RDRAND_FAULT_ABSENT);
    for (int i = 0; i < RDRAND_SELF_TEST_DRAWS; i++)
        if (!rdrand_draw(h, insn, ctx, &v))
            return false;
    return true;
}

const char *rdrand_fault_text(enum rdrand_fault fault)
{
    switch (fault) {
    case RDRAND_FAULT_NONE: return "";
    case RDRAND_FAULT_ABSENT: return "is not offered by this CPU";
    case RDRAND_FAULT_NO_VALUE:
        return "delivered no value in " XSTR(RDRAND_RETRIES) " tries";
    case RDRAND_FAULT_ZEROS: return "returned all zeros";
    case RDRAND_FAULT_ONES: return "returned all ones";
    case RDRAND_FAULT_REPEATED: return "returned the same value twice in a row";
    }
    return "failed";
}
