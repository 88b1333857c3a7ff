/*
 * a * b / d for 64-bit operands, through an exact 128-bit product.
 *
 * The image is built without compiler_rt, so `unsigned __int128`
 * division (a call to __udivti3) is not available; calibration needs
 * products that overflow 64 bits (TSC ticks x reference Hz), so this
 * does the 128/64 division itself, one quotient bit at a time. Slow
 * (64 iterations) and only used while calibrating, never per clock read.
 * Pure: built and tested on the host too.
 */
#ifndef TIME_MULDIV_H
#define TIME_MULDIV_H

#include <stdbool.h>
#include <stdint.h>

/*
 * floor(a * b / d) in *out and true; false if d is 0 or the quotient
 * does not fit in 64 bits.
 */
bool time_muldiv64(uint64_t a, uint64_t b, uint64_t d, uint64_t *out);

/* The same, rounded to the nearest integer (halves round up). */
bool time_muldiv64_round(uint64_t a, uint64_t b, uint64_t d, uint64_t *out);

#endif /* TIME_MULDIV_H */
