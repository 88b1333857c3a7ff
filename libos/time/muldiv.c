#include "muldiv.h"

/* The full product of two 64-bit numbers, from four 32x32 products. */
static void mul_64x64(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo)
{
    uint64_t a_lo = (uint32_t)a, a_hi = a >> 32;
    uint64_t b_lo = (uint32_t)b, b_hi = b >> 32;
    uint64_t p0 = a_lo * b_lo;
    uint64_t p1 = a_lo * b_hi;
    uint64_t p2 = a_hi * b_lo;
    uint64_t p3 = a_hi * b_hi;
    /* Bits 32..95 of the sum; at most 3 * (2^32 - 1): no overflow. */
    uint64_t mid = (p0 >> 32) + (uint32_t)p1 + (uint32_t)p2;

    *lo = (mid << 32) | (uint32_t)p0;
    *hi = p3 + (p1 >> 32) + (p2 >> 32) + (mid >> 32);
}

/*
 * (hi:lo) / d by restoring long division. The caller guarantees hi < d,
 * so the quotient fits in 64 bits; that also keeps the running remainder
 * below d, and below 2d after each shift (the carry is its 65th bit).
 */
static uint64_t div_128_64(uint64_t hi, uint64_t lo, uint64_t d)
{
    for (int i = 0; i < 64; i++) {
        uint64_t carry = hi >> 63;

        hi = (hi << 1) | (lo >> 63);
        lo <<= 1;
        if (carry || hi >= d) {
            hi -= d; /* modulo 2^64: the true difference is below d */
            lo |= 1;
        }
    }
    return lo;
}

static bool muldiv_add(uint64_t a, uint64_t b, uint64_t add, uint64_t d,
                       uint64_t *out)
{
    uint64_t hi, lo;

    if (d == 0)
        return false;
    mul_64x64(a, b, &hi, &lo);
    lo += add;
    if (lo < add)
        hi++;
    if (hi >= d)
        return false;
    *out = div_128_64(hi, lo, d);
    return true;
}

bool time_muldiv64(uint64_t a, uint64_t b, uint64_t d, uint64_t *out)
{
    return muldiv_add(a, b, 0, d, out);
}

bool time_muldiv64_round(uint64_t a, uint64_t b, uint64_t d, uint64_t *out)
{
    return muldiv_add(a, b, d / 2, d, out);
}
