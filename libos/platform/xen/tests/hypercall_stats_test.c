/*
 * The hypercall counters: each call lands under its hypercall and
 * first argument, out-of-range numbers fall into the catch-all slots
 * instead of past the table, the line has what was called and only that
 * (as hypercall.sub: 29.1 is SCHEDOP_block, 32.4 EVTCHNOP_send), and
 * a short buffer gets a cut, terminated line and the full length.
 */
#include <stdint.h>
#include <string.h>

#include <platform/xen/hypercall_stats.h>
#include <testing/check.h>
#include <xenabi/event_channel.h>
#include <xenabi/hypercall.h>
#include <xenabi/sched.h>
#include <xenabi/vcpu.h>

static void test_counts_by_op_and_sub(void)
{
    xenplat_hcstats_reset();
    for (int i = 0; i < 3; i++)
        xenplat_hcstats_count(XENABI_HYPERCALL_EVENT_CHANNEL_OP, XENABI_EVTCHNOP_SEND);
    xenplat_hcstats_count(XENABI_HYPERCALL_SCHED_OP, XENABI_SCHEDOP_BLOCK);
    /* set_timer_op's argument is a time, not a sub-command: under the
     * catch-all and 5, for the reader to add up. */
    xenplat_hcstats_count(XENABI_HYPERCALL_SET_TIMER_OP, 123456789);
    xenplat_hcstats_count(XENABI_HYPERCALL_SET_TIMER_OP, 5);
    CHECK_EQ(xenplat_hcstats_get(XENABI_HYPERCALL_EVENT_CHANNEL_OP, XENABI_EVTCHNOP_SEND), 3);
    CHECK_EQ(xenplat_hcstats_get(XENABI_HYPERCALL_SCHED_OP, XENABI_SCHEDOP_BLOCK), 1);
    CHECK_EQ(xenplat_hcstats_get(XENABI_HYPERCALL_SCHED_OP, XENABI_SCHEDOP_YIELD), 0);
    CHECK_EQ(xenplat_hcstats_get(XENABI_HYPERCALL_SET_TIMER_OP, XENPLAT_HCSTATS_SUBS - 1), 1);
    CHECK_EQ(xenplat_hcstats_get(XENABI_HYPERCALL_SET_TIMER_OP, 5), 1);
    CHECK_EQ(xenplat_hcstats_total(), 6);
    xenplat_hcstats_reset();
    CHECK_EQ(xenplat_hcstats_total(), 0);
}

static void test_out_of_range_is_kept_in_bounds(void)
{
    xenplat_hcstats_reset();
    xenplat_hcstats_count(XENPLAT_HCSTATS_OPS + 7, 1);
    xenplat_hcstats_count(UINT32_MAX, 0);
    xenplat_hcstats_count(XENABI_HYPERCALL_VCPU_OP, 1000);
    xenplat_hcstats_count(XENABI_HYPERCALL_VCPU_OP, UINT64_MAX);
    CHECK_EQ(xenplat_hcstats_get(XENPLAT_HCSTATS_OPS, 0), 1);
    CHECK_EQ(xenplat_hcstats_get(XENPLAT_HCSTATS_OPS, 1), 1);
    CHECK_EQ(xenplat_hcstats_get(XENABI_HYPERCALL_VCPU_OP, XENPLAT_HCSTATS_SUBS - 1), 2);
    CHECK_EQ(xenplat_hcstats_get(XENPLAT_HCSTATS_OPS + 1, 0), 0); /* asked out of range */
    CHECK_EQ(xenplat_hcstats_get(0, XENPLAT_HCSTATS_SUBS), 0);
    CHECK_EQ(xenplat_hcstats_total(), 4);
}

static void test_line(void)
{
    char line[256];

    xenplat_hcstats_reset();
    xenplat_hcstats_count(XENABI_HYPERCALL_SCHED_OP, XENABI_SCHEDOP_BLOCK);
    xenplat_hcstats_count(XENABI_HYPERCALL_SCHED_OP, XENABI_SCHEDOP_BLOCK);
    for (int i = 0; i < 40; i++)
        xenplat_hcstats_count(XENABI_HYPERCALL_EVENT_CHANNEL_OP, XENABI_EVTCHNOP_SEND);
    xenplat_hcstats_count(XENABI_HYPERCALL_VCPU_OP, XENABI_VCPUOP_SET_SINGLESHOT_TIMER);
    xenplat_hcstats_count(40, 0);
    int n = xenplat_hcstats_format(line, sizeof(line));
    CHECK(strcmp(line, "hypercalls 44: 24.8 1, 29.1 2, 32.4 40, 40.0 1") == 0);
    CHECK_EQ(n, (int)strlen(line));

    xenplat_hcstats_reset();
    CHECK(xenplat_hcstats_format(line, sizeof(line)) > 0);
    CHECK(strcmp(line, "hypercalls 0") == 0);
}

static void test_short_buffer(void)
{
    char full[256], cut[20];

    xenplat_hcstats_reset();
    for (int i = 0; i < 5; i++)
        xenplat_hcstats_count(XENABI_HYPERCALL_SCHED_OP, XENABI_SCHEDOP_YIELD);
    xenplat_hcstats_count(XENABI_HYPERCALL_EVENT_CHANNEL_OP, XENABI_EVTCHNOP_UNMASK);
    int whole = xenplat_hcstats_format(full, sizeof(full));
    memset(cut, 'x', sizeof(cut));
    CHECK_EQ(xenplat_hcstats_format(cut, sizeof(cut)), whole);
    CHECK_EQ(strlen(cut), sizeof(cut) - 1);
    CHECK(strncmp(cut, full, sizeof(cut) - 1) == 0);
    CHECK_EQ(xenplat_hcstats_format(NULL, 0), whole);
}

int main(void)
{
    RUN(test_counts_by_op_and_sub);
    RUN(test_out_of_range_is_kept_in_bounds);
    RUN(test_line);
    RUN(test_short_buffer);
    return check_finish();
}
