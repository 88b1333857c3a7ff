/* Hypercall counters: <platform/xen/hypercall_stats.h>. Names are left to
 * the reader (bench/xen_profile.py): strings would cost the image bytes. */
#include <platform/xen/hypercall_stats.h>
#include <stdio.h>

static uint64_t counts[XENPLAT_HCSTATS_OPS + 1][XENPLAT_HCSTATS_SUBS];

void xenplat_hcstats_count(unsigned int nr, uint64_t a1)
{
    if (nr > XENPLAT_HCSTATS_OPS)
        nr = XENPLAT_HCSTATS_OPS;
    counts[nr][a1 < XENPLAT_HCSTATS_SUBS ? a1 : XENPLAT_HCSTATS_SUBS - 1]++;
}

uint64_t xenplat_hcstats_get(unsigned int nr, unsigned int sub)
{
    if (nr > XENPLAT_HCSTATS_OPS || sub >= XENPLAT_HCSTATS_SUBS)
        return 0;
    return counts[nr][sub];
}

uint64_t xenplat_hcstats_total(void)
{
    uint64_t t = 0;

    for (unsigned int i = 0; i <= XENPLAT_HCSTATS_OPS; i++)
        for (unsigned int j = 0; j < XENPLAT_HCSTATS_SUBS; j++)
            t += counts[i][j];
    return t;
}

void xenplat_hcstats_reset(void)
{
    for (unsigned int i = 0; i <= XENPLAT_HCSTATS_OPS; i++)
        for (unsigned int j = 0; j < XENPLAT_HCSTATS_SUBS; j++)
            counts[i][j] = 0;
}

/* One "hypercall.sub count" at buf + *at (nothing once past n), adding to
 * *at and *total. */
static void put(char *buf, size_t n, size_t *at, int *total, int first,
                unsigned int a, unsigned int b, unsigned long long c)
{
    int w = snprintf(*at < n ? buf + *at : NULL, *at < n ? n - *at : 0,
                     first ? ": %u.%u %llu" : ", %u.%u %llu", a, b, c);
    if (w > 0) {
        *total += w;
        *at += (size_t)w;
    }
}

int xenplat_hcstats_format(char *buf, size_t n)
{
    size_t at = 0;
    int total = 0, first = 1;

    int w = snprintf(buf, n, "hypercalls %llu",
                     (unsigned long long)xenplat_hcstats_total());
    if (w > 0) {
        total = w;
        at = (size_t)w;
    }
    for (unsigned int i = 0; i <= XENPLAT_HCSTATS_OPS; i++)
        for (unsigned int j = 0; j < XENPLAT_HCSTATS_SUBS; j++)
            if (counts[i][j] != 0) {
                put(buf, n, &at, &total, first, i, j,
                    (unsigned long long)counts[i][j]);
                first = 0;
            }
    return total;
}
