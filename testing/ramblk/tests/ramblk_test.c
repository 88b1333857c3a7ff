/*
 * //testing/ramblk's RAMBLK_TEAR: what a reboot keeps of the writes since
 * the last flush (lost, whole, partial, torn inside a sector, an older
 * write landing after a newer one, the write the cut interrupted), and
 * that nothing a completed flush covered ever changes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <testing/check.h>
#include <testing/ramblk.h>

#define SS 512
#define SECTORS 64
#define SEEDS 400

static _Alignas(BLKDEV_ALIGN) uint8_t buf[4 * SS];

static void fill_write(struct ramblk *r, uint64_t sector, unsigned n,
                       uint8_t byte, int want)
{
    memset(buf, byte, (size_t)n * SS);
    CHECK_EQ(blkdev_write(ramblk_dev(r), sector, buf, (size_t)n * SS), want);
}

/* The sector holds only bytes of `allowed` (at most 3, no NUL), or
 * zeroes if `zero` says so. */
static bool only(const uint8_t *sec, const char *allowed, bool zero)
{
    for (size_t i = 0; i < SS; i++)
        if (!(zero && sec[i] == 0) && !memchr(allowed, sec[i], strlen(allowed)))
            return false;
    return true;
}

static bool all(const uint8_t *sec, uint8_t byte)
{
    for (size_t i = 0; i < SS; i++)
        if (sec[i] != byte)
            return false;
    return true;
}

static void test_tear(void)
{
    unsigned torn = 0, older_won = 0, lost = 0, whole = 0, cut_landed = 0;
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        rng_set(seed);
        struct ramblk *r = ramblk_new(SS, SECTORS, BLKDEV_F_FLUSH, 0);
        fill_write(r, 0, 4, 'A', 0);
        fill_write(r, 8, 1, 'F', 0);
        CHECK_EQ(blkdev_flush(ramblk_dev(r)), 0);
        fill_write(r, 0, 4, 'B', 0);
        fill_write(r, 1, 1, 'C', 0);
        ramblk_cut_after(r, 0);
        fill_write(r, 10, 2, 'E', -EIO); /* in flight at the cut */
        ramblk_reboot(r, RAMBLK_TEAR, rng_next);
        const uint8_t *d = ramblk_current(r);
        for (int s = 0; s < 4; s++)
            CHECK(only(d + s * SS, s == 1 ? "ABC" : "AB", false));
        CHECK(all(d + 8 * SS, 'F')); /* flushed: never touched */
        CHECK(only(d + 10 * SS, "E", true) && only(d + 11 * SS, "E", true));
        for (int s = 12; s < SECTORS; s++)
            CHECK(all(d + s * SS, 0));
        for (int s = 0; s < 4; s++)
            torn += !all(d + s * SS, d[s * SS]);
        older_won += all(d + SS, 'B');
        lost += all(d, 'A') && all(d + 3 * SS, 'A');
        whole += all(d, 'B') && all(d + 3 * SS, 'B');
        cut_landed += d[10 * SS] == 'E';
        ramblk_free(r);
    }
    /* Each outcome happens, with these seeds, many times. */
    CHECK(torn > SEEDS / 20);
    CHECK(older_won > SEEDS / 20);
    CHECK(lost > SEEDS / 20);
    CHECK(whole > SEEDS / 20);
    CHECK(cut_landed > SEEDS / 20);
}

/* After a flush completes, a reboot in any mode changes nothing. */
static void test_flushed_is_kept(void)
{
    for (uint64_t seed = 1; seed <= 50; seed++) {
        rng_set(seed);
        struct ramblk *r = ramblk_new(SS, SECTORS, BLKDEV_F_FLUSH, 0);
        for (int i = 0; i < 8; i++)
            fill_write(r, (uint64_t)(rng_below(SECTORS - 4)), 4, (uint8_t)('a' + i), 0);
        CHECK_EQ(blkdev_flush(ramblk_dev(r)), 0);
        uint8_t *before = malloc(ramblk_size(r));
        memcpy(before, ramblk_current(r), ramblk_size(r));
        ramblk_cut_after(r, 0);
        ramblk_reboot(r, (enum ramblk_keep)(seed % 3), rng_next);
        CHECK(memcmp(before, ramblk_current(r), ramblk_size(r)) == 0);
        free(before);
        ramblk_free(r);
    }
}

int main(void)
{
    RUN(test_tear);
    RUN(test_flushed_is_kept);
    return check_finish();
}
