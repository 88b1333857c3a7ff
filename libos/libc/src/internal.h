/*
 * Private to libc: the one place stdio's bytes leave the library.
 */
#ifndef LIBC_INTERNAL_H
#define LIBC_INTERNAL_H

#include <stddef.h>

/* Pass `len` bytes to the registered output hook, or drop them. */
void __libc_write(const char *buf, size_t len);

#endif /* LIBC_INTERNAL_H */
