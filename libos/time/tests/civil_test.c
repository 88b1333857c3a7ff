/*
 * Calendar conversions against the C library's timegm()/gmtime_r(), and
 * the RTC register decoding, including what QEMU's RTC really returned.
 */
#define _DEFAULT_SOURCE /* timegm, gmtime_r */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <stdio.h>
#include <stdlib.h>
#include <testing/check.h>
#include "libos/time/civil.h"

static bool same_civil(const struct time_civil *a, const struct tm *b)
{
    return a->year == b->tm_year + 1900 && a->month == b->tm_mon + 1
           && a->day == b->tm_mday && a->hour == b->tm_hour
           && a->minute == b->tm_min && a->second == b->tm_sec;
}

static bool civil_equal(const struct time_civil *a,
                        const struct time_civil *b)
{
    return a->year == b->year && a->month == b->month && a->day == b->day
           && a->hour == b->hour && a->minute == b->minute
           && a->second == b->second;
}

static void check_seconds(int64_t seconds)
{
    struct time_civil c;
    struct tm tm;
    time_t t = (time_t)seconds;

    time_civil_from_unix(seconds, &c);
    if (CHECK(gmtime_r(&t, &tm) != NULL)) {
        if (!CHECK(same_civil(&c, &tm)))
            fprintf(stderr, "  at %lld: %d-%u-%u %u:%u:%u\n",
                    (long long)seconds, (int)c.year, c.month, c.day, c.hour,
                    c.minute, c.second);
    }
    CHECK(time_unix_from_civil(&c) == seconds);
}

static void test_known_dates(void)
{
    struct time_civil c;

    time_civil_from_unix(0, &c);
    CHECK(c.year == 1970 && c.month == 1 && c.day == 1 && c.hour == 0);
    time_civil_from_unix(951782400, &c); /* a leap day in a /400 year */
    CHECK(c.year == 2000 && c.month == 2 && c.day == 29);
    time_civil_from_unix(-1, &c);
    CHECK(c.year == 1969 && c.month == 12 && c.day == 31 && c.hour == 23
          && c.minute == 59 && c.second == 59);
    c = (struct time_civil){2100, 3, 1, 0, 0, 0}; /* 2100 is not leap */
    CHECK(time_unix_from_civil(&c) == 4107542400);
}

static void test_random_seconds(void)
{
    /* Years 1 to 9999. */
    for (int i = 0; i < 200000; i++)
        check_seconds((int64_t)rng_below(UINT64_C(315537897600))
                      - INT64_C(62135596800));
    /* Around the epoch and around now, where RTCs live. */
    for (int i = 0; i < 100000; i++)
        check_seconds((int64_t)rng_below(UINT64_C(8000000000))
                      - INT64_C(2000000000));
}

static uint8_t to_bcd(unsigned v)
{
    return (uint8_t)((v / 10) << 4 | (v % 10));
}

static void test_rtc_qemu(void)
{
    /* Registers as QEMU 7.2's microvm RTC returned them (BCD, 24 h). */
    struct rtc_raw raw = {0x09, 0x17, 0x14, 0x26, 0x11, 0x26, 0x20, 0x02};
    struct time_civil c;

    CHECK(time_rtc_decode(&raw, &c));
    CHECK(c.year == 2026 && c.month == 11 && c.day == 26 && c.hour == 14
          && c.minute == 17 && c.second == 9);
}

static void test_rtc_invalid(void)
{
    struct time_civil c;
    struct rtc_raw absent;

    memset(&absent, 0xff, sizeof absent); /* no RTC at the ports */
    CHECK(!time_rtc_decode(&absent, &c));

    struct rtc_raw feb30 = {0, 0, 0, 0x30, 0x02, 0x24, 0x20, 0x02};
    CHECK(!time_rtc_decode(&feb30, &c));
    struct rtc_raw feb29 = {0, 0, 0, 0x29, 0x02, 0x24, 0x20, 0x02};
    CHECK(time_rtc_decode(&feb29, &c) && c.day == 29);
    struct rtc_raw feb29_2100 = {0, 0, 0, 0x29, 0x02, 0x00, 0x21, 0x02};
    CHECK(!time_rtc_decode(&feb29_2100, &c));
    struct rtc_raw hour24 = {0, 0, 0x24, 1, 1, 0, 0x20, 0x02};
    CHECK(!time_rtc_decode(&hour24, &c));
    struct rtc_raw bad_bcd = {0x0a, 0, 0, 1, 1, 0, 0x20, 0x02};
    CHECK(!time_rtc_decode(&bad_bcd, &c));
    struct rtc_raw hour0_12h = {0, 0, 0x00, 1, 1, 0, 0x20, 0x00};
    CHECK(!time_rtc_decode(&hour0_12h, &c));
    /* A century register that holds nothing sensible: 20xx. */
    struct rtc_raw no_century = {0, 0, 0, 1, 1, 0x26, 0x00, 0x02};
    CHECK(time_rtc_decode(&no_century, &c) && c.year == 2026);
}

/* Random valid times, encoded every way the RTC can, decode back. */
static void test_rtc_roundtrip(void)
{
    for (int i = 0; i < 100000; i++) {
        struct time_civil want, got;
        int64_t s = (int64_t)rng_range(UINT64_C(946684800),   /* 2000 */
                                       UINT64_C(4102444799)); /* 2099 */
        time_civil_from_unix(s, &want);

        bool binary = rng_below(2), h24 = rng_below(2);
        unsigned hour = want.hour;
        uint8_t pm = 0;
        if (!h24) {
            pm = hour >= 12 ? RTC_HOUR_PM : 0;
            hour = hour % 12 == 0 ? 12 : hour % 12;
        }
#define ENC(v) (binary ? (uint8_t)(v) : to_bcd(v))
        struct rtc_raw raw = {
            .second = ENC(want.second),
            .minute = ENC(want.minute),
            .hour = (uint8_t)(ENC(hour) | pm),
            .day = ENC(want.day),
            .month = ENC(want.month),
            .year = ENC((unsigned)want.year % 100),
            .century = ENC((unsigned)want.year / 100),
            .status_b = (uint8_t)((binary ? RTC_B_BINARY : 0)
                                  | (h24 ? RTC_B_24H : 0)),
        };
#undef ENC
        if (CHECK(time_rtc_decode(&raw, &got)))
            CHECK(civil_equal(&got, &want));
    }
}

int main(void)
{
    rng_seed(20240504);
    test_known_dates();
    test_random_seconds();
    test_rtc_qemu();
    test_rtc_invalid();
    test_rtc_roundtrip();
    return check_finish();
}
