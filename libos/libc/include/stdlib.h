/*
 * stdlib.h - process exit, number conversion and the heap (C11 7.22).
 *
 * The heap functions are defined by the allocator the image links
 * (//libos/mm:slab or //libos/mm:tlsf; see <mm/mm.h> for the choices C
 * leaves open). Without one, calling them is an undefined-symbol error
 * at link time.
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

void *malloc(size_t size);
void *calloc(size_t count, size_t size);
void *realloc(void *ptr, size_t size);
void *aligned_alloc(size_t alignment, size_t size);
void free(void *ptr);

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
