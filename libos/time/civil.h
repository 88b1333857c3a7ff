/*
 * Calendar arithmetic and the CMOS RTC's register encoding, apart from
 * the port I/O (rtc.c), so the host tests can compare them with the C
 * library's timegm()/gmtime_r(). Pure. The public conversions,
 * time_civil_from_unix() and time_unix_from_civil(), are defined here.
 */
#ifndef TIME_CIVIL_H
#define TIME_CIVIL_H

#include <stdbool.h>
#include <stdint.h>
#include <time/time.h>

/* The MC146818 registers rtc.c reads, exactly as read. */
struct rtc_raw {
    uint8_t second;   /* register 0x00 */
    uint8_t minute;   /* 0x02 */
    uint8_t hour;     /* 0x04; in 12-hour mode bit 7 means PM */
    uint8_t day;      /* 0x07 */
    uint8_t month;    /* 0x08 */
    uint8_t year;     /* 0x09: year of the century */
    uint8_t century;  /* 0x32 on PCs (ACPI FADT's default); see below */
    uint8_t status_b; /* 0x0b: RTC_B_BINARY, RTC_B_24H */
};

#define RTC_B_24H (1u << 1)    /* hours 0-23, else 1-12 plus a PM bit */
#define RTC_B_BINARY (1u << 2) /* binary values, else BCD */
#define RTC_HOUR_PM 0x80u

/*
 * Decode and validate. The century register is not standard: when it
 * does not hold 19..29 the year is taken as 2000-2099 (no RTC still in
 * service predates 2000). False when any field is out of range, which
 * is also what a missing RTC (every register reads 0xff) looks like.
 */
bool time_rtc_decode(const struct rtc_raw *raw, struct time_civil *out);

#endif /* TIME_CIVIL_H */
