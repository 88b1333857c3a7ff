/*
 * Private to //libos/mm: integrity cookies for the allocators' metadata.
 *
 * A header stores guard_cookie(key, its address, its fields); a header
 * whose cookie does not match was written by someone else (an overflow of
 * the block before it, a forged header) and is reported, never followed.
 * The key comes from boot entropy (mm_set_heap_key), so an overflow cannot
 * write a valid cookie blindly, and the address makes a header copied
 * elsewhere invalid there.
 *
 * The mix is one multiply-xorshift round after a multiply of the fields
 * (about 8 instructions, cheap enough for every malloc and free). It is
 * a bijection: it stops blind overwrites, not an attacker who can read a
 * header and invert the mix to recover the key.
 */
#ifndef MM_GUARD_H
#define MM_GUARD_H

#include <stdint.h>

/* The key until mm_set_heap_key(): host tests, and the image before boot entropy. */
#define GUARD_DEFAULT_KEY UINT64_C(0x6a09e667f3bcc908)

static inline uint64_t guard_cookie(uint64_t key, uintptr_t where,
                                    uint64_t fields)
{
    uint64_t x = key ^ (uint64_t)where ^ (fields * UINT64_C(0x9e3779b97f4a7c15));

    x = (x ^ (x >> 29)) * UINT64_C(0xbf58476d1ce4e5b9);
    return x ^ (x >> 32);
}

#endif /* MM_GUARD_H */
