/*
 * The simulator as the fixture of <testing/check.h>: every RUN(test) in
 * a test that links the simulator starts on a fresh simulator and fails
 * if the guest broke a rule of the protocol (a "violation") during it.
 * Installed when the test program loads, so no test can forget it.
 */
#include <stdio.h>

#include <testing/check.h>
#include <xensim/sim.h>

static void begin(const char *name)
{
    (void)name;
    sim_reset();
}

static void end(const char *name)
{
    struct sim_stats st;

    sim_get_stats(&st);
    if (!check_eq(st.violations, 0, "no guest violations", name, 0))
        printf("     last: %s\n", sim_last_violation());
}

__attribute__((constructor)) static void install(void)
{
    check_set_fixture(begin, end);
}
