/*
 * A line of words the boot tests build up as threads run, printed once
 * complete, so that the order of events is one line the test harness can
 * match exactly.
 */
#ifndef SCHED_TESTS_TRACE_H
#define SCHED_TESTS_TRACE_H

#include <stdio.h>
#include <string.h>

static char trace_line[512];

static inline void trace_reset(void)
{
    trace_line[0] = '\0';
}

static inline void trace(const char *word)
{
    size_t len = strlen(trace_line);

    snprintf(trace_line + len, sizeof trace_line - len, "%s%s",
             len ? " " : "", word);
}

static inline void trace_print(const char *label)
{
    printf("%s: %s\n", label, trace_line);
}

#endif /* SCHED_TESTS_TRACE_H */
