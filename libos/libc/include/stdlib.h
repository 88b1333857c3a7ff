/*
 * stdlib.h - process exit and number conversion (C11 7.22).
 *
 * There is no heap yet, so no malloc/free.
 */
#ifndef _STDLIB_H
#define _STDLIB_H

#include <stddef.h>

#define EXIT_SUCCESS 0
#define EXIT_FAILURE 1

/* Calls the exit hook registered with libc_set_exit() (<libc/hooks.h>). */
_Noreturn void exit(int status);
/* Prints a message and exits with LIBC_ABORT_STATUS (<libc/hooks.h>). */
_Noreturn void abort(void);

int abs(int x);
long labs(long x);
long long llabs(long long x);

int atoi(const char *s);
long atol(const char *s);

/*
 * Base 0 picks 16 for "0x"/"0X", 8 for a leading "0", else 10. On
 * overflow the result saturates and errno is set to ERANGE; with no
 * digits the result is 0 and *end = s.
 */
long strtol(const char *restrict s, char **restrict end, int base);
long long strtoll(const char *restrict s, char **restrict end, int base);
unsigned long strtoul(const char *restrict s, char **restrict end, int base);
unsigned long long strtoull(const char *restrict s, char **restrict end,
                            int base);

#endif /* _STDLIB_H */
