/*
 * The console ring writer against a model of xenconsoled: bytes arrive
 * in order across the wraparound, a full ring takes nothing, a daemon
 * index that claims more than the ring holds (ahead of our producer, or
 * behind it by more than the ring) breaks the ring for good, and a second
 * writer that attaches after a hand-over continues where the first
 * stopped.
 */
#include <stdint.h>
#include <string.h>

#include <platform/xen/console_ring.h>
#include <testing/check.h>
#include <xenabi/errno.h>

static struct xenabi_console_interface page;

/* The daemon: consume up to `n` bytes into `out`, as xenconsoled does. */
static size_t consume(char *out, size_t n)
{
    size_t got = 0;

    while (got < n && page.out_cons != page.out_prod)
        out[got++] = page.out[xenabi_console_out_mask(page.out_cons++)];
    return got;
}

static void test_stream_across_wraparound(void)
{
    struct xenplat_console_ring r;
    char sent[20000], seen[20000];
    size_t put = 0, got = 0;

    memset(&page, 0, sizeof page);
    /* Start near the top of the index space: the indexes wrap too. */
    page.out_prod = page.out_cons = UINT32_MAX - 100;
    xenplat_console_ring_attach(&r, &page);
    for (size_t i = 0; i < sizeof sent; i++)
        sent[i] = (char)rng_next();
    while (got < sizeof sent) {
        size_t want = rng_range(1, 3000);
        if (want > sizeof sent - put)
            want = sizeof sent - put;
        long n = xenplat_console_ring_put(&r, sent + put, want);
        CHECK(n >= 0 && (size_t)n <= want);
        if (n < 0)
            return;
        put += (size_t)n;
        CHECK(xenplat_console_ring_pending(&r)
              == (long)(uint32_t)(page.out_prod - page.out_cons));
        got += consume(seen + got, rng_range(0, 2500));
        if (put == sizeof sent)
            got += consume(seen + got, sizeof seen - got);
    }
    CHECK(memcmp(sent, seen, sizeof sent) == 0);
    CHECK(xenplat_console_ring_pending(&r) == 0);
}

static void test_full_ring(void)
{
    struct xenplat_console_ring r;
    char big[XENABI_CONSOLE_OUT_SIZE + 10];

    memset(&page, 0, sizeof page);
    memset(big, 'x', sizeof big);
    xenplat_console_ring_attach(&r, &page);
    CHECK(xenplat_console_ring_put(&r, big, sizeof big)
          == XENABI_CONSOLE_OUT_SIZE);
    CHECK(xenplat_console_ring_put(&r, "y", 1) == 0);
    CHECK(page.out_prod == XENABI_CONSOLE_OUT_SIZE);
    CHECK(xenplat_console_ring_pending(&r) == XENABI_CONSOLE_OUT_SIZE);
    page.out_cons = 1;
    CHECK(xenplat_console_ring_put(&r, "y", 1) == 1);
}

static void test_hostile_daemon(void)
{
    struct xenplat_console_ring r;
    static const uint32_t bad[] = {
        5 + XENABI_CONSOLE_OUT_SIZE * 2, /* far ahead of out_prod */
        100,                             /* ahead of out_prod (5) */
        /* behind out_prod by more than the ring holds */
        UINT32_MAX - XENABI_CONSOLE_OUT_SIZE,
    };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&page, 0, sizeof page);
        xenplat_console_ring_attach(&r, &page);
        CHECK(xenplat_console_ring_put(&r, "hello", 5) == 5);
        page.out_cons = bad[i];
        CHECK(xenplat_console_ring_put(&r, "more", 4) == -XENABI_EIO);
        CHECK(page.out_prod == 5); /* nothing published past the breakage */
        /* Broken for good, even once the index looks sane again. */
        page.out_cons = 5;
        CHECK(xenplat_console_ring_put(&r, "more", 4) == -XENABI_EIO);
        CHECK(xenplat_console_ring_pending(&r) == -XENABI_EIO);
    }
}

static void test_hand_over(void)
{
    struct xenplat_console_ring early, driver;
    char seen[32] = {0};

    memset(&page, 0, sizeof page);
    xenplat_console_ring_attach(&early, &page);
    CHECK(xenplat_console_ring_put(&early, "boot ", 5) == 5);
    xenplat_console_ring_attach(&driver, &page);
    CHECK(xenplat_console_ring_put(&driver, "main", 4) == 4);
    CHECK(consume(seen, sizeof seen) == 9);
    CHECK(strcmp(seen, "boot main") == 0);
    /* The early writer, re-attached after the hand-over, sees the end. */
    xenplat_console_ring_attach(&early, &page);
    CHECK(xenplat_console_ring_pending(&early) == 0);
}

int main(void)
{
    rng_seed(20261206);
    test_stream_across_wraparound();
    test_full_ring();
    test_hostile_daemon();
    test_hand_over();
    return check_finish();
}
