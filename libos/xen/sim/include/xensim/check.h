/*
 * xensim/check.h - the checks the platform core's host tests share:
 * failures are counted and reported with their location, and the run
 * goes on, so one run shows every broken check.
 */
#ifndef XENSIM_CHECK_H
#define XENSIM_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#define CHECK(cond) check_true((cond), #cond, __FILE__, __LINE__)
#define CHECK_EQ(a, b)                                                     \
    check_eq((int64_t)(a), (int64_t)(b), #a " == " #b, __FILE__, __LINE__)

bool check_true(bool ok, const char *what, const char *file, int line);
bool check_eq(int64_t a, int64_t b, const char *what, const char *file,
              int line);

/* Run one test on a fresh simulator (sim_reset first), printing its name;
 * afterwards, the simulator must have seen no guest violation. */
#define RUN(test) check_run(test, #test)
void check_run(void (*test)(void), const char *name);

/* Print the summary; returns the process exit status. */
int check_finish(void);

#endif /* XENSIM_CHECK_H */
