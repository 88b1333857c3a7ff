#include "civil.h"

/*
 * Dates are counted in a calendar whose year starts on 1 March, so the
 * leap day is the last day of the year and month lengths follow a
 * simple pattern (153 days per 5 months from March), and in 400-year
 * eras of exactly 146097 days. Day 0 of that count is 0000-03-01; the
 * Unix epoch, 1970-01-01, is day 719468.
 */
#define DAYS_PER_ERA 146097
#define EPOCH_DAY 719468
#define SECONDS_PER_DAY 86400

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t days_from_civil(int64_t year, unsigned month, unsigned day)
{
    int64_t y = month <= 2 ? year - 1 : year; /* Jan, Feb: previous year */
    int64_t era = floor_div(y, 400);
    int64_t year_of_era = y - era * 400;               /* 0..399 */
    unsigned month_from_march = (month + 9) % 12;      /* Mar = 0 */
    int64_t day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4
                         - year_of_era / 100 + day_of_year;

    return era * DAYS_PER_ERA + day_of_era - EPOCH_DAY;
}

static void civil_from_days(int64_t days, struct time_civil *out)
{
    int64_t z = days + EPOCH_DAY;
    int64_t era = floor_div(z, DAYS_PER_ERA);
    int64_t day_of_era = z - era * DAYS_PER_ERA; /* 0..146096 */
    /* Take out the leap days so far, then it is 365 days a year. */
    int64_t year_of_era = (day_of_era - day_of_era / 1460
                           + day_of_era / 36524 - day_of_era / 146096)
                          / 365;
    int64_t day_of_year = day_of_era
                          - (365 * year_of_era + year_of_era / 4
                             - year_of_era / 100);
    int64_t month_from_march = (5 * day_of_year + 2) / 153;
    unsigned month = (unsigned)(month_from_march < 10 ? month_from_march + 3
                                                      : month_from_march - 9);

    out->day = (uint8_t)(day_of_year - (153 * month_from_march + 2) / 5 + 1);
    out->month = (uint8_t)month;
    out->year = (int32_t)(year_of_era + era * 400 + (month <= 2));
}

void time_civil_from_unix(int64_t seconds, struct time_civil *out)
{
    int64_t days = floor_div(seconds, SECONDS_PER_DAY);
    int64_t rest = seconds - days * SECONDS_PER_DAY; /* 0..86399 */

    civil_from_days(days, out);
    out->hour = (uint8_t)(rest / 3600);
    out->minute = (uint8_t)(rest / 60 % 60);
    out->second = (uint8_t)(rest % 60);
}

int64_t time_unix_from_civil(const struct time_civil *c)
{
    return days_from_civil(c->year, c->month, c->day) * SECONDS_PER_DAY
           + c->hour * 3600 + c->minute * 60 + c->second;
}

/* A BCD byte's value, or -1 if a nibble is not a decimal digit. */
static int from_bcd(uint8_t v)
{
    if ((v & 0x0f) > 9 || (v >> 4) > 9)
        return -1;
    return (v >> 4) * 10 + (v & 0x0f);
}

static int field(uint8_t v, bool binary)
{
    return binary ? v : from_bcd(v);
}

static bool leap_year(int32_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int32_t year, unsigned month)
{
    static const uint8_t days[12] = {31, 28, 31, 30, 31, 30,
                                     31, 31, 30, 31, 30, 31};

    return month == 2 && leap_year(year) ? 29 : days[month - 1];
}

bool time_rtc_decode(const struct rtc_raw *raw, struct time_civil *out)
{
    bool binary = (raw->status_b & RTC_B_BINARY) != 0;
    bool h24 = (raw->status_b & RTC_B_24H) != 0;
    bool pm = !h24 && (raw->hour & RTC_HOUR_PM) != 0;
    int second = field(raw->second, binary);
    int minute = field(raw->minute, binary);
    int hour = field(h24 ? raw->hour : (uint8_t)(raw->hour & ~RTC_HOUR_PM),
                     binary);
    int day = field(raw->day, binary);
    int month = field(raw->month, binary);
    int year = field(raw->year, binary);
    int century = field(raw->century, binary);

    if (second < 0 || second > 59 || minute < 0 || minute > 59 || day < 1
        || month < 1 || month > 12 || year < 0 || year > 99)
        return false;
    if (h24) {
        if (hour < 0 || hour > 23)
            return false;
    } else {
        if (hour < 1 || hour > 12)
            return false;
        hour = hour % 12 + (pm ? 12 : 0); /* 12 AM is 0, 12 PM is 12 */
    }
    if (century < 19 || century > 29)
        century = 20;

    int32_t full_year = century * 100 + year;
    if ((unsigned)day > days_in_month(full_year, (unsigned)month))
        return false;
    *out = (struct time_civil){
        .year = full_year,
        .month = (uint8_t)month,
        .day = (uint8_t)day,
        .hour = (uint8_t)hour,
        .minute = (uint8_t)minute,
        .second = (uint8_t)second,
    };
    return true;
}
