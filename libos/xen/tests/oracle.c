/*
 * The oracle test's driver: runs every table and fails on any mismatch.
 * Its last line reads "N checks, M mismatches".
 */
#include "libos/xen/tests/oracle.h"

#include <inttypes.h>
#include <stdio.h>

void oracle_run(struct oracle_tally *tally, const char *table,
                const struct oracle_check *checks, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const struct oracle_check *c = &checks[i];
        tally->checks++;
        if (c->our_value == c->their_value)
            continue;
        tally->mismatches++;
        printf("MISMATCH (%s)\n"
               "    ours:   %s = %" PRId64 " (0x%" PRIx64 ")\n"
               "    theirs: %s = %" PRId64 " (0x%" PRIx64 ")\n",
               table, c->ours, (int64_t)c->our_value, c->our_value,
               c->theirs, (int64_t)c->their_value, c->their_value);
    }
}

int main(void)
{
    struct oracle_tally tally = {0, 0};
    xen_abi_checks(&tally);
    start_info_checks(&tally);
    printf("%zu checks, %zu mismatches\n", tally.checks, tally.mismatches);
    return tally.mismatches == 0 && tally.checks > 0 ? 0 : 1;
}
