/*
 * stdio.h - formatted output (C11 7.21), output only.
 *
 * There are no FILE streams: everything goes to the single output
 * registered with libc_set_output() (<libc/hooks.h>), unbuffered beyond
 * the length of one call. printf-family formats support:
 *
 *   flags      - + space # 0
 *   width      digits or *           (negative * means "-" flag)
 *   precision  .digits or .*         (negative * means "no precision")
 *   length     hh h l ll z t j
 *   conversion d i u o x X c s p %
 *
 * %p prints "0x" and the address in hex; %s prints "(null)" for NULL.
 * Floating point (%f %e %g %a) and %n are not supported: the argument of
 * a floating conversion is consumed and the conversion printed verbatim,
 * so the output shows what is missing instead of misaligning the rest.
 */
#ifndef _STDIO_H
#define _STDIO_H

#include <stdarg.h>
#include <stddef.h>

#define EOF (-1)

#define _LIBC_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

/* Return the number of characters produced, or -1 if above INT_MAX. */
int printf(const char *restrict fmt, ...) _LIBC_PRINTF(1, 2);
int vprintf(const char *restrict fmt, va_list ap) _LIBC_PRINTF(1, 0);

/*
 * Write at most size - 1 characters and a terminating NUL (nothing if
 * size is 0); return the length the full output would have had.
 */
int snprintf(char *restrict buf, size_t size, const char *restrict fmt, ...)
    _LIBC_PRINTF(3, 4);
int vsnprintf(char *restrict buf, size_t size, const char *restrict fmt,
              va_list ap) _LIBC_PRINTF(3, 0);

/* Write s and a newline; return a non-negative value. */
int puts(const char *s);
/* Write c converted to unsigned char; return that value. */
int putchar(int c);

#endif /* _STDIO_H */
