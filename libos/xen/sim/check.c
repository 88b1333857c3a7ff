/*
 * The test checks of <xensim/check.h>.
 */
#include <inttypes.h>
#include <stdio.h>

#include <xensim/check.h>
#include <xensim/sim.h>

static unsigned checks, failures, tests;

bool check_true(bool ok, const char *what, const char *file, int line)
{
    checks++;
    if (!ok) {
        failures++;
        printf("FAIL %s:%d: %s\n", file, line, what);
    }
    return ok;
}

bool check_eq(int64_t a, int64_t b, const char *what, const char *file,
              int line)
{
    checks++;
    if (a != b) {
        failures++;
        printf("FAIL %s:%d: %s (%" PRId64 " != %" PRId64 ")\n", file, line,
               what, a, b);
    }
    return a == b;
}

void check_run(void (*test)(void), const char *name)
{
    printf("--- %s\n", name);
    sim_reset();
    test();
    struct sim_stats st;
    sim_get_stats(&st);
    if (!check_eq((int64_t)st.violations, 0, "no guest violations", name, 0))
        printf("     last: %s\n", sim_last_violation());
    tests++;
}

int check_finish(void)
{
    printf("%u tests, %u checks, %u failures\n", tests, checks, failures);
    return failures == 0 ? 0 : 1;
}
