/*
 * Grant tables against the simulated hypervisor: the backend maps what
 * we grant (and only that), revoking waits for the backend to unmap,
 * and the accounting shows what is still granted, and by whom.
 */
#include <string.h>

#include <gnttab/gnttab.h>
#include <hypervisor/hypervisor.h>
#include <testing/check.h>
#include <xensim/sim.h>

static _Alignas(4096) uint8_t pages[3][4096];

static xenabi_pfn_t frame(int i)
{
    return xen_ptr_to_frame(pages[i]);
}

static xenabi_grant_ref_t grant(int page, bool readonly, const char *tag)
{
    xenabi_grant_ref_t ref = 0;
    CHECK_EQ(gnttab_grant_access(SIM_BACKEND_DOMID, frame(page), readonly,
                                 tag, &ref),
             0);
    return ref;
}

static struct gnttab_stats stats(void)
{
    struct gnttab_stats st;
    gnttab_get_stats(&st);
    return st;
}

static void test_not_on_xen(void)
{
    sim_set_absent(true);
    CHECK_EQ(gnttab_init(), -XENABI_ENOSYS);
    CHECK(!gnttab_ready());
    xenabi_grant_ref_t ref;
    CHECK_EQ(gnttab_grant_access(0, 1, false, "t", &ref), -XENABI_ENOTCONN);
    CHECK_EQ(gnttab_end_access(8), -XENABI_ENOTCONN);
    CHECK_EQ(gnttab_reclaim_deferred(), 0);
    CHECK_EQ(gnttab_outstanding(NULL, 0), 0);
}

static void test_capacity(void)
{
    CHECK_EQ(gnttab_init(), 0);
    CHECK_EQ(stats().capacity, GNTTAB_MAX_REFS - 8);
    sim_gnttab_set_max_frames(1);
    CHECK_EQ(gnttab_init(), 0);
    CHECK_EQ(stats().capacity, 512 - 8);
}

static void test_backend_maps_what_we_granted(void)
{
    CHECK_EQ(gnttab_init(), 0);
    memset(pages[0], 0, sizeof(pages[0]));
    xenabi_grant_ref_t ref = grant(0, false, "test.rw");
    CHECK(ref >= XENABI_GNTTAB_NR_RESERVED_ENTRIES);
    void *mapped = NULL;
    CHECK_EQ(sim_gnttab_map(ref, false, &mapped), XENABI_GNTST_OKAY);
    CHECK(mapped == pages[0]);
    memcpy(mapped, "from the backend", 17);
    CHECK(memcmp(pages[0], "from the backend", 17) == 0);

    /* Still mapped: revoking must fail, and the grant stays live. */
    CHECK_EQ(gnttab_end_access(ref), -XENABI_EBUSY);
    CHECK_EQ(stats().busy, 1);
    CHECK_EQ(stats().in_use, 1);
    CHECK_EQ(sim_gnttab_map(ref, true, &mapped), XENABI_GNTST_OKAY);
    CHECK_EQ(sim_gnttab_unmap(ref, false), XENABI_GNTST_OKAY);
    /* A read-only mapping is still a mapping. */
    CHECK_EQ(gnttab_end_access(ref), -XENABI_EBUSY);
    CHECK_EQ(sim_gnttab_unmap(ref, true), XENABI_GNTST_OKAY);

    CHECK_EQ(gnttab_end_access(ref), 0);
    CHECK_EQ(stats().in_use, 0);
    CHECK_EQ(stats().ended, 1);
    /* Revoked: the backend cannot map it any more. */
    CHECK_EQ(sim_gnttab_map(ref, false, &mapped), XENABI_GNTST_GENERAL_ERROR);
    CHECK_EQ(gnttab_end_access(ref), -XENABI_EINVAL); /* not live */
}

/* What the simulator says the backend can reach, range by range. */
static void test_backend_reach(void)
{
    CHECK_EQ(gnttab_init(), 0);
    CHECK_EQ(sim_gnttab_grants_on(pages, sizeof(pages)), 0);
    xenabi_grant_ref_t ref = grant(1, true, "test.reach");
    CHECK_EQ(sim_gnttab_grants_on(pages[1] + 100, 1), 1);
    CHECK_EQ(sim_gnttab_grants_on(pages[0], sizeof(pages[0])), 0);
    CHECK_EQ(sim_gnttab_grants_on(pages[2], sizeof(pages[2])), 0);
    CHECK_EQ(sim_gnttab_grants_on(pages[0] + 4095, 2), 1);
    void *mapped = NULL;
    CHECK_EQ(sim_gnttab_map(ref, true, &mapped), XENABI_GNTST_OKAY);
    CHECK_EQ(gnttab_end_access_deferred(ref), 1);
    CHECK_EQ(sim_gnttab_grants_on(pages, sizeof(pages)), 1);
    CHECK_EQ(sim_gnttab_unmap(ref, true), XENABI_GNTST_OKAY);
    CHECK_EQ(gnttab_reclaim_deferred(), 0);
    CHECK_EQ(sim_gnttab_grants_on(pages, sizeof(pages)), 0);
}

static void test_readonly_and_domid_are_enforced(void)
{
    CHECK_EQ(gnttab_init(), 0);
    void *mapped;
    xenabi_grant_ref_t ro = grant(0, true, "test.ro");
    CHECK_EQ(sim_gnttab_map(ro, false, &mapped),
             XENABI_GNTST_PERMISSION_DENIED);
    CHECK_EQ(sim_gnttab_map(ro, true, &mapped), XENABI_GNTST_OKAY);
    CHECK_EQ(sim_gnttab_unmap(ro, true), XENABI_GNTST_OKAY);

    xenabi_grant_ref_t other = 0;
    CHECK_EQ(gnttab_grant_access(5, frame(1), false, "test.dom5", &other), 0);
    CHECK_EQ(sim_gnttab_map(other, true, &mapped),
             XENABI_GNTST_PERMISSION_DENIED);

    /* References that were never granted, or do not exist. */
    CHECK_EQ(sim_gnttab_map(other + 1, true, &mapped),
             XENABI_GNTST_GENERAL_ERROR);
    CHECK_EQ(sim_gnttab_map(GNTTAB_MAX_REFS, true, &mapped),
             XENABI_GNTST_BAD_GNTREF);
    CHECK_EQ(gnttab_end_access(ro), 0);
    CHECK_EQ(gnttab_end_access(other), 0);
}

static void test_bad_arguments(void)
{
    CHECK_EQ(gnttab_init(), 0);
    xenabi_grant_ref_t ref;
    CHECK_EQ(gnttab_grant_access(0, UINT64_C(1) << 32, false, "t", &ref),
             -XENABI_EINVAL);
    CHECK_EQ(gnttab_grant_access(XENABI_DOMID_SELF, frame(0), false, "t",
                                 &ref),
             -XENABI_EINVAL);
    for (xenabi_grant_ref_t r = 0; r < XENABI_GNTTAB_NR_RESERVED_ENTRIES; r++)
        CHECK_EQ(gnttab_end_access(r), -XENABI_EINVAL);
    CHECK_EQ(gnttab_end_access(100), -XENABI_EINVAL);
    CHECK_EQ(gnttab_end_access(UINT32_MAX), -XENABI_EINVAL);
    CHECK_EQ(gnttab_end_access_deferred(100), -XENABI_EINVAL);
    CHECK_EQ(stats().in_use, 0);
}

static void test_deferred_revocation(void)
{
    CHECK_EQ(gnttab_init(), 0);
    xenabi_grant_ref_t ref = grant(0, false, "test.deferred");
    void *mapped;
    CHECK_EQ(sim_gnttab_map(ref, false, &mapped), XENABI_GNTST_OKAY);
    CHECK_EQ(gnttab_end_access_deferred(ref), 1);
    CHECK_EQ(gnttab_end_access_deferred(ref), 1); /* again: still one */
    CHECK_EQ(stats().deferred, 1);
    CHECK_EQ(stats().in_use, 1);
    CHECK_EQ(gnttab_reclaim_deferred(), 1);
    struct gnttab_grant_info info;
    CHECK_EQ(gnttab_outstanding(&info, 1), 1);
    CHECK(info.deferred);

    CHECK_EQ(sim_gnttab_unmap(ref, false), XENABI_GNTST_OKAY);
    CHECK_EQ(gnttab_reclaim_deferred(), 0);
    CHECK_EQ(stats().deferred, 0);
    CHECK_EQ(stats().in_use, 0);
    CHECK_EQ(gnttab_outstanding(NULL, 0), 0);
    /* Not mapped: revoked at once. */
    ref = grant(1, false, "test.now");
    CHECK_EQ(gnttab_end_access_deferred(ref), 0);
}

static void test_accounting_and_leak_report(void)
{
    CHECK_EQ(gnttab_init(), 0);
    xenabi_grant_ref_t a = grant(0, false, "netfront.tx");
    xenabi_grant_ref_t b = grant(1, true, "netfront.rx");
    xenabi_grant_ref_t c = grant(2, false, "blkfront.ring");
    CHECK_EQ(stats().peak, 3);
    CHECK_EQ(gnttab_end_access(b), 0);
    CHECK_EQ(stats().in_use, 2);
    CHECK_EQ(stats().peak, 3);
    CHECK_EQ(stats().granted, 3);

    struct gnttab_grant_info out[4];
    CHECK_EQ(gnttab_outstanding(out, 4), 2);
    CHECK_EQ(out[0].ref, a);
    CHECK(strcmp(out[0].tag, "netfront.tx") == 0);
    CHECK_EQ(out[0].domid, SIM_BACKEND_DOMID);
    CHECK_EQ(out[0].frame, frame(0));
    CHECK(!out[0].readonly && !out[0].deferred);
    CHECK_EQ(out[1].ref, c);
    CHECK(strcmp(out[1].tag, "blkfront.ring") == 0);
    /* Room for fewer: still the full count. */
    CHECK_EQ(gnttab_outstanding(out, 1), 2);
    CHECK_EQ(gnttab_report_leaks(), 2);
    CHECK_EQ(gnttab_print_summary("gnttab_test"), 2);

    CHECK_EQ(gnttab_end_access(a), 0);
    CHECK_EQ(gnttab_end_access(c), 0);
    CHECK_EQ(gnttab_report_leaks(), 0);
    CHECK_EQ(gnttab_print_summary("gnttab_test"), 0);

    xenabi_grant_ref_t untagged;
    CHECK_EQ(gnttab_grant_access(0, frame(0), false, NULL, &untagged), 0);
    CHECK_EQ(gnttab_outstanding(out, 1), 1);
    CHECK(strcmp(out[0].tag, "(untagged)") == 0);
}

static void test_exhaustion_and_reuse(void)
{
    sim_gnttab_set_max_frames(1);
    CHECK_EQ(gnttab_init(), 0);
    uint32_t capacity = stats().capacity;
    xenabi_grant_ref_t first = 0, ref = 0;
    for (uint32_t i = 0; i < capacity; i++) {
        CHECK_EQ(gnttab_grant_access(SIM_BACKEND_DOMID, frame(0), true,
                                     "test.fill", &ref),
                 0);
        if (i == 0)
            first = ref;
    }
    CHECK_EQ(stats().in_use, capacity);
    CHECK_EQ(gnttab_grant_access(SIM_BACKEND_DOMID, frame(0), true, "x", &ref),
             -XENABI_ENOSPC);
    CHECK_EQ(stats().exhausted, 1);
    CHECK_EQ(gnttab_end_access(first), 0);
    CHECK_EQ(gnttab_grant_access(SIM_BACKEND_DOMID, frame(0), true, "x", &ref),
             0);
    CHECK_EQ(ref, first);
}

static void test_freed_refs_are_reused_last(void)
{
    CHECK_EQ(gnttab_init(), 0);
    xenabi_grant_ref_t a = grant(0, false, "a");
    CHECK_EQ(gnttab_end_access(a), 0);
    xenabi_grant_ref_t b = grant(0, false, "b");
    /* A peer holding a stale `a` must not reach b's page right away. */
    CHECK(b != a);
}

int main(void)
{
    RUN(test_not_on_xen);
    RUN(test_capacity);
    RUN(test_backend_maps_what_we_granted);
    RUN(test_backend_reach);
    RUN(test_readonly_and_domid_are_enforced);
    RUN(test_bad_arguments);
    RUN(test_deferred_revocation);
    RUN(test_accounting_and_leak_report);
    RUN(test_exhaustion_and_reuse);
    RUN(test_freed_refs_are_reused_last);
    return check_finish();
}
