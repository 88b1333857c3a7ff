/*
 * examples/kvstore's storage (<kvstore/kv.h>) on the host, ASan+UBSan:
 * littlefs (//libos/fs) on the block cache (the policies of the test
 * target, BUILD) on //testing/ramblk.
 *
 * The API: keys, limits, errors, the sorted list, a full volume. Then
 * power cuts: a random workload of PUTs and DELETEs is cut at a random
 * device request (the write in flight may land in part), the device
 * reboots losing what was not flushed (everything, a random subset of
 * sectors, or torn and reordered writes), and the volume must mount,
 * every acknowledged PUT must read back exactly, no acknowledged DELETE
 * may reappear, and the one operation the cut interrupted must be
 * either done or not done, never half. TEST_SEED replays a run.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <blkcache/blkcache.h>
#include <fs/fs.h>
#include <kvstore/kv.h>
#include <testing/check.h>
#include <testing/ramblk.h>

#define SECTOR 512
#define DISK_SECTORS 2048 /* 1 MiB: 256 littlefs blocks of 4 KiB */
#define CACHE_BLOCKS 64
#define KEYS 10
#define VALUE_LEN_MAX 5000
#define ROUNDS 80         /* power cuts per keep mode */
#define OPS_PER_ROUND 400  /* at most: a round runs until the cut */
#define CUT_MAX 120       /* device requests before the cut, at most */

struct store {
    struct ramblk *disk;
    struct blkcache *cache;
    struct fs *fs;
    struct kv kv;
};

static int mount(struct store *s)
{
    struct blkcache_config cfg = {.blocks = CACHE_BLOCKS};
    int rc = blkcache_open(ramblk_dev(s->disk), &cfg, &s->cache);
    if (rc != 0)
        return rc;
    rc = fs_mount(blkcache_blkdev(s->cache), NULL, &s->fs);
    if (rc == 0)
        rc = kv_open(&s->kv, s->fs);
    return rc;
}

/* A fresh volume on a new disk, mounted. */
static void make_store(struct store *s, uint64_t sectors)
{
    s->disk = ramblk_new(SECTOR, sectors, BLKDEV_F_FLUSH, 0);
    CHECK(s->disk != NULL);
    CHECK_EQ(fs_format(ramblk_dev(s->disk), NULL), 0);
    CHECK_EQ(mount(s), 0);
}

static void unmount(struct store *s)
{
    CHECK_EQ(fs_unmount(s->fs), 0);
    CHECK_EQ(blkcache_close(s->cache), 0);
}

/* The power goes: what the cache held is gone, and the volume with it. */
static void crash(struct store *s)
{
    fs_unmount(s->fs); /* a failed volume only frees itself */
    blkcache_destroy(s->cache);
}

static void put_str(struct store *s, const char *k, const char *v, int want)
{
    CHECK_EQ(kv_put(&s->kv, k, strlen(k), v, strlen(v)), want);
}

static bool has(struct store *s, const char *k, const char *v)
{
    char buf[64];
    long n = kv_get(&s->kv, k, strlen(k), buf, sizeof(buf));
    return n == (long)strlen(v) && memcmp(buf, v, (size_t)n) == 0;
}

static void test_keys(void)
{
    char long_key[KV_KEY_MAX + 2];
    memset(long_key, 'k', sizeof(long_key));
    CHECK_EQ(kv_key_check(long_key, KV_KEY_MAX), 0);
    CHECK_EQ(kv_key_check(long_key, KV_KEY_MAX + 1), -ENAMETOOLONG);
    CHECK_EQ(kv_key_check("", 0), -EINVAL);
    CHECK_EQ(kv_key_check("A-z_0.9", 7), 0);
    CHECK_EQ(kv_key_check(".", 1), -EINVAL);
    CHECK_EQ(kv_key_check("..", 2), -EINVAL);
    CHECK_EQ(kv_key_check("...", 3), 0);
    CHECK_EQ(kv_key_check("a/b", 3), -EINVAL);
    CHECK_EQ(kv_key_check(KV_TEMP_NAME, strlen(KV_TEMP_NAME)), -EINVAL);
    CHECK_EQ(kv_key_check("a b", 3), -EINVAL);
    CHECK_EQ(kv_key_check("a\0b", 3), -EINVAL);
    CHECK_EQ(kv_key_check("\xc3\xa9", 2), -EINVAL);
}

static void test_api(void)
{
    struct store s;
    make_store(&s, DISK_SECTORS);
    char buf[KV_VALUE_MAX + 1];

    CHECK_EQ(kv_get(&s.kv, "a", 1, buf, sizeof(buf)), -ENOENT);
    CHECK_EQ(kv_delete(&s.kv, "a", 1), -ENOENT);
    put_str(&s, "a", "one", 1);
    put_str(&s, "a", "two", 0);
    CHECK(has(&s, "a", "two"));
    put_str(&s, "empty", "", 1);
    CHECK_EQ(kv_get(&s.kv, "empty", 5, buf, sizeof(buf)), 0);
    CHECK_EQ(kv_get(&s.kv, "a", 1, buf, 2), -EOVERFLOW);
    CHECK_EQ(kv_put(&s.kv, "a/b", 3, "x", 1), -EINVAL);
    CHECK_EQ(kv_get(&s.kv, "..", 2, buf, sizeof(buf)), -EINVAL);
    CHECK_EQ(kv_delete(&s.kv, "", 0), -EINVAL);

    /* The largest value, and one byte more. */
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (char)(i * 7 + 3);
    CHECK_EQ(kv_put(&s.kv, "big", 3, buf, KV_VALUE_MAX), 1);
    CHECK_EQ(kv_put(&s.kv, "big", 3, buf, KV_VALUE_MAX + 1), -EFBIG);
    static char back[KV_VALUE_MAX];
    CHECK_EQ(kv_get(&s.kv, "big", 3, back, sizeof(back)), KV_VALUE_MAX);
    CHECK(memcmp(back, buf, KV_VALUE_MAX) == 0);

    /* Sorted bytewise, one per line; a prefix sorts first. */
    put_str(&s, "b", "x", 1);
    put_str(&s, "B", "x", 1);
    put_str(&s, "ab", "x", 1);
    char list[256];
    long n = kv_list(&s.kv, list, sizeof(list));
    const char *want = "B\na\nab\nb\nbig\nempty\n";
    CHECK_EQ(n, (long)strlen(want));
    CHECK(n > 0 && memcmp(list, want, (size_t)n) == 0);
    CHECK_EQ(kv_list(&s.kv, list, 5), -EOVERFLOW);
    CHECK_EQ(kv_delete(&s.kv, "ab", 2), 0);
    CHECK_EQ(kv_get(&s.kv, "ab", 2, buf, sizeof(buf)), -ENOENT);

    /* Files that are not keys are not listed, and a temporary file left
     * by a crash goes at the next open. */
    int fd = fs_open(s.fs, KV_TEMP_NAME, FS_O_WRONLY | FS_O_CREAT);
    CHECK(fd >= 0);
    CHECK_EQ(fs_close(s.fs, fd), 0);
    CHECK_EQ(fs_mkdir(s.fs, "dir"), 0);
    n = kv_list(&s.kv, list, sizeof(list));
    want = "B\na\nb\nbig\nempty\n";
    CHECK(n == (long)strlen(want) && memcmp(list, want, (size_t)n) == 0);
    CHECK_EQ(kv_get(&s.kv, "dir", 3, buf, sizeof(buf)), -ENOENT);
    unsigned keys, bad;
    CHECK_EQ(kv_verify(&s.kv, buf, sizeof(buf), &keys, &bad), 0);
    CHECK_EQ(keys, 5);
    CHECK_EQ(bad, 0);
    /* A value the buffer cannot hold counts as unreadable. */
    CHECK_EQ(kv_verify(&s.kv, buf, 100, &keys, &bad), 0);
    CHECK_EQ(keys, 5);
    CHECK_EQ(bad, 1);
    CHECK_EQ(kv_put(&s.kv, "dir", 3, "x", 1), -EISDIR);
    unmount(&s);
    CHECK_EQ(mount(&s), 0);
    struct fs_stat st;
    CHECK_EQ(fs_stat(s.fs, KV_TEMP_NAME, &st), -ENOENT);
    CHECK(has(&s, "a", "two"));
    unmount(&s);
    ramblk_free(s.disk);
}

/* A full volume: -ENOSPC, nothing half stored, and room again after a
 * delete. */
static void test_full(void)
{
    struct store s;
    make_store(&s, 128); /* 64 KiB: 16 blocks */
    static char v[16384];
    memset(v, 'v', sizeof(v));
    int rc = 0;
    char key[16];
    int i;
    for (i = 0; i < 64 && rc >= 0; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        rc = kv_put(&s.kv, key, strlen(key), v, sizeof(v));
    }
    CHECK_EQ(rc, -ENOSPC);
    CHECK(i > 1);
    CHECK_EQ(kv_get(&s.kv, key, strlen(key), v, sizeof(v)), -ENOENT);
    struct fs_stat st;
    CHECK_EQ(fs_stat(s.fs, KV_TEMP_NAME, &st), -ENOENT);
    CHECK_EQ(kv_delete(&s.kv, "k0", 2), 0);
    CHECK_EQ(kv_put(&s.kv, "k0", 2, "small", 5), 1);
    unmount(&s);
    ramblk_free(s.disk);
}

/* ---- power cuts ---------------------------------------------------- */

struct model_key {
    bool present;
    size_t len;
    char value[VALUE_LEN_MAX];
};

static struct model_key model[KEYS];
static char key_name[KEYS][8];
static char value_buf[VALUE_LEN_MAX];

static size_t make_value(char *out)
{
    size_t len = (size_t)rng_below(8) == 0 ? 0 : (size_t)rng_below(VALUE_LEN_MAX + 1);
    for (size_t i = 0; i < len; i++)
        out[i] = (char)rng_next();
    return len;
}

/* Does the store hold key k exactly as m says? */
static bool matches(struct store *s, int k, const struct model_key *m)
{
    long n = kv_get(&s->kv, key_name[k], strlen(key_name[k]), value_buf,
                    sizeof(value_buf));
    if (!m->present)
        return n == -ENOENT;
    return n == (long)m->len && memcmp(value_buf, m->value, m->len) == 0;
}

static unsigned cuts_mid_op, ops_done;

static void crash_rounds(enum ramblk_keep keep, const char *name)
{
    struct store s;
    make_store(&s, DISK_SECTORS);
    memset(model, 0, sizeof(model));
    static struct model_key pending;
    unsigned before_failures = (unsigned)check_failures();
    for (int round = 0; round < ROUNDS; round++) {
        uint64_t cut = rng_below(CUT_MAX);
        ramblk_cut_after(s.disk, cut);
        int pending_key = -1;
        for (int op = 0; op < OPS_PER_ROUND; op++) {
            int k = (int)rng_below(KEYS);
            const char *key = key_name[k];
            int rc;
            if (rng_below(4) == 0) {
                pending.present = false;
                rc = kv_delete(&s.kv, key, strlen(key));
                if (rc == -ENOENT && !model[k].present)
                    rc = 0; /* deleting nothing: nothing changed */
            } else {
                pending.present = true;
                pending.len = make_value(pending.value);
                rc = kv_put(&s.kv, key, strlen(key), pending.value, pending.len);
                if (rc > 0)
                    rc = 0;
            }
            if (rc != 0) {
                CHECK_MSG(ramblk_is_dead(s.disk), "an operation failed with the disk alive");
                pending_key = k;
                cuts_mid_op++;
                break;
            }
            model[k] = pending; /* acknowledged */
            ops_done++;
        }
        crash(&s);
        ramblk_reboot(s.disk, keep, rng_next);
        CHECK(!ramblk_log_failed(s.disk));
        int rc = mount(&s);
        if (!CHECK_EQ(rc, 0)) {
            printf("%s: round %d (cut after %llu requests): mount %d\n", name,
                   round, (unsigned long long)cut, rc);
            break;
        }
        for (int k = 0; k < KEYS; k++) {
            bool ok = matches(&s, k, &model[k]);
            if (k == pending_key && !ok && matches(&s, k, &pending)) {
                model[k] = pending; /* the interrupted op was done */
                ok = true;
            }
            if (!CHECK_MSG(ok, "a key holds its last acknowledged value (or the interrupted op's)"))
                printf("%s: round %d (cut after %llu requests): key %s wrong\n",
                       name, round, (unsigned long long)cut, key_name[k]);
        }
        /* Every key reads back whole (what the image checks at boot). */
        unsigned keys, bad, present = 0;
        for (int k = 0; k < KEYS; k++)
            present += model[k].present;
        CHECK_EQ(kv_verify(&s.kv, value_buf, sizeof(value_buf), &keys, &bad), 0);
        CHECK_EQ(bad, 0);
        CHECK_EQ(keys, present);
        /* The list names exactly the present keys. */
        char list[KEYS * 8];
        long n = kv_list(&s.kv, list, sizeof(list));
        char want[KEYS * 8];
        size_t w = 0;
        for (int k = 0; k < KEYS; k++) /* key_name is in sorted order */
            if (model[k].present)
                w += (size_t)sprintf(want + w, "%s\n", key_name[k]);
        CHECK(n == (long)w && memcmp(list, want, w) == 0);
        if (check_failures() != before_failures)
            break; /* the first wrong round says it all */
    }
    unmount(&s);
    ramblk_free(s.disk);
}

static void test_cut_keep_none(void)
{
    crash_rounds(RAMBLK_KEEP_NONE, "keep none");
}

static void test_cut_keep_some(void)
{
    crash_rounds(RAMBLK_KEEP_SOME, "keep some sectors");
}

static void test_cut_torn(void)
{
    crash_rounds(RAMBLK_TEAR, "torn and reordered");
}

int main(void)
{
    rng_seed(20261206);
    for (int k = 0; k < KEYS; k++)
        snprintf(key_name[k], sizeof(key_name[k]), "key%d", k);
    printf("cache: %s, %s\n", blkcache_write_policy_name(),
           blkcache_replacement_name());
    RUN(test_keys);
    RUN(test_api);
    RUN(test_full);
    RUN(test_cut_keep_none);
    RUN(test_cut_keep_some);
    RUN(test_cut_torn);
    printf("%u operations acknowledged, %u cut in the middle\n", ops_done,
           cuts_mid_op);
    /* Every round's cut landed inside an operation. */
    CHECK_EQ(cuts_mid_op, 3 * ROUNDS);
    return check_finish();
}
