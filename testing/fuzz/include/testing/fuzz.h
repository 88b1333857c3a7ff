/*
 * <testing/fuzz.h>: what a fuzz target gives the project's fuzz driver
 * (//testing/fuzz, the fuzz_test macro of //testing:fuzz.bzl).
 *
 * A target is a host program fragment built under ASan and UBSan that
 * defines fuzz_one(): it feeds one input to the code that parses
 * untrusted bytes (the real function, through the same path that reads
 * shared memory or the command line) and returns 0. A sanitizer report,
 * a signal or a non-zero return is a failure: the driver saves the
 * input and stops.
 *
 * The driver calls fuzz_one() many times in one process, so a target
 * starts each input from a fresh state (sim_reset() and the like).
 *
 * Optional hooks (weak: define them or not):
 * - fuzz_init(): once, before the first input;
 * - fuzz_seeds(add): valid inputs built with the real ABI structures,
 *   the start of the seed corpus (files given to the driver add more);
 * - fuzz_dictionary: tokens the mutator splices in (command-line words,
 *   magic values), NULL-terminated.
 */
#ifndef TESTING_FUZZ_H
#define TESTING_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int fuzz_one(const uint8_t *data, size_t len);

void fuzz_init(void);

typedef void (*fuzz_add_fn)(const void *data, size_t len);
void fuzz_seeds(fuzz_add_fn add);

extern const char *const fuzz_dictionary[];

/*
 * An input reader for targets whose input is a sequence of decisions:
 * bytes taken from the front, zeros once the input runs out (so every
 * prefix of an input is still a valid program for the target).
 */
struct fuzz_bytes {
    const uint8_t *data;
    size_t len;
    size_t pos;
};

static inline uint8_t fuzz_u8(struct fuzz_bytes *b)
{
    return b->pos < b->len ? b->data[b->pos++] : 0;
}

static inline uint32_t fuzz_u32(struct fuzz_bytes *b)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)fuzz_u8(b) << (8 * i);
    return v;
}

/* Up to `want` bytes into `to`; the number taken. */
static inline size_t fuzz_take(struct fuzz_bytes *b, void *to, size_t want)
{
    size_t n = b->len - b->pos < want ? b->len - b->pos : want;
    for (size_t i = 0; i < n; i++)
        ((uint8_t *)to)[i] = b->data[b->pos + i];
    b->pos += n;
    return n;
}

static inline size_t fuzz_left(const struct fuzz_bytes *b)
{
    return b->len - b->pos;
}

#endif /* TESTING_FUZZ_H */
