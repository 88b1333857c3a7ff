/*
 * The CMOS real-time clock (Motorola MC146818 and its descendants),
 * through the index/data ports 0x70/0x71. Read only: the image never
 * sets the clock or enables its interrupts.
 */
#include <arch/x86.h>
#include <string.h>

#include "civil.h"
#include "time_internal.h"

#define CMOS_INDEX 0x70
#define CMOS_DATA 0x71

#define RTC_SECOND 0x00
#define RTC_MINUTE 0x02
#define RTC_HOUR 0x04
#define RTC_DAY 0x07
#define RTC_MONTH 0x08
#define RTC_YEAR 0x09
#define RTC_STATUS_A 0x0a
#define RTC_STATUS_B 0x0b
#define RTC_CENTURY 0x32
#define RTC_A_UPDATE_IN_PROGRESS 0x80

/* Polls of status A before giving up on an update ever ending. */
#define RTC_UIP_POLLS 100000
/*
 * An update cycle comes once a second; allow 3 s of a TSC of up to
 * 10 GHz (30 s at 1 GHz: only a broken RTC takes that long).
 */
#define RTC_EDGE_TSC_LIMIT UINT64_C(30000000000)
/* What status A reads as when no RTC answers the ports. */
#define RTC_ABSENT 0xff

static uint8_t cmos_read(uint8_t reg)
{
    /* Bit 7 of the index disables NMIs on some chipsets: keep it clear. */
    outb(CMOS_INDEX, reg);
    return inb(CMOS_DATA);
}

static bool update_in_progress(void)
{
    return (cmos_read(RTC_STATUS_A) & RTC_A_UPDATE_IN_PROGRESS) != 0;
}

/* Wait (a bounded time) for the clock not to be mid-update. */
static bool wait_not_updating(void)
{
    for (int i = 0; i < RTC_UIP_POLLS; i++)
        if (!update_in_progress())
            return true;
    return false;
}

static void read_raw(struct rtc_raw *raw)
{
    raw->second = cmos_read(RTC_SECOND);
    raw->minute = cmos_read(RTC_MINUTE);
    raw->hour = cmos_read(RTC_HOUR);
    raw->day = cmos_read(RTC_DAY);
    raw->month = cmos_read(RTC_MONTH);
    raw->year = cmos_read(RTC_YEAR);
    raw->century = cmos_read(RTC_CENTURY);
    raw->status_b = cmos_read(RTC_STATUS_B);
}

bool time_rtc_read(struct time_civil *out)
{
    /*
     * The registers change during an update cycle, and one could start
     * between two reads: read until two full reads agree.
     */
    if (cmos_read(RTC_STATUS_A) == RTC_ABSENT)
        return false;
    for (int attempt = 0; attempt < 5; attempt++) {
        struct rtc_raw a, b;

        if (!wait_not_updating())
            return false;
        read_raw(&a);
        if (!wait_not_updating())
            return false;
        read_raw(&b);
        if (memcmp(&a, &b, sizeof a) == 0)
            return time_rtc_decode(&a, out);
    }
    return false;
}

bool time_rtc_next_update(uint64_t *tsc)
{
    uint64_t start = rdtsc();

    /*
     * No RTC: the port floats to 0xff, which looks like an update that
     * never ends (a real RTC never reads 0xff: its divider bits would
     * say "held in reset").
     */
    if (cmos_read(RTC_STATUS_A) == RTC_ABSENT)
        return false;
    while (update_in_progress())
        if (rdtsc() - start > RTC_EDGE_TSC_LIMIT)
            return false;
    while (!update_in_progress())
        if (rdtsc() - start > RTC_EDGE_TSC_LIMIT)
            return false;
    /*
     * The flag rises 244 us before each once-a-second update and falls
     * when the update is done: falling edges are exactly 1 s apart.
     */
    while (update_in_progress())
        if (rdtsc() - start > RTC_EDGE_TSC_LIMIT)
            return false;
    *tsc = rdtsc();
    return true;
}
