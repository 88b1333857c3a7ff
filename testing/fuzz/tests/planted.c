/*
 * A fuzz target with a planted bug, for the driver's own test: a
 * message "<u32 length><bytes>" whose length is trusted, so a length
 * beyond the bytes present reads past the input (heap-buffer-overflow).
 * The seeds are valid; the driver's length-field edits must find it.
 * PLANTED=off turns the check on that fixes it; PLANTED=ubsan plants
 * a signed overflow for a length of INT32_MAX instead (UBSan's report
 * must save the input as ASan's does).
 */
#include <stdlib.h>
#include <string.h>

#include <testing/fuzz.h>

void fuzz_seeds(fuzz_add_fn add)
{
    static const uint8_t a[] = {5, 0, 0, 0, 'h', 'e', 'l', 'l', 'o'};
    static const uint8_t b[] = {0, 0, 0, 0};
    add(a, sizeof a);
    add(b, sizeof b);
}

static volatile uint8_t sink;

int fuzz_one(const uint8_t *data, size_t len)
{
    struct fuzz_bytes in = {data, len, 0};
    if (len < 4)
        return 0;
    uint32_t n = fuzz_u32(&in);
    const char *off = getenv("PLANTED");
    if (off != NULL && strcmp(off, "ubsan") == 0) {
        int32_t signed_len = (int32_t)n;
        if (signed_len > 0)
            signed_len += 1; /* overflows for INT32_MAX */
        sink = (uint8_t)signed_len;
        return 0;
    }
    if (off != NULL && strcmp(off, "off") == 0 && n > fuzz_left(&in))
        return 0;
    uint8_t sum = 0;
    for (uint32_t i = 0; i < n && i < 4096; i++)
        sum ^= data[4 + i];
    sink = sum;
    return 0;
}
