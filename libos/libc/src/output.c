/*
 * The output hook and the unformatted stdio functions built on it.
 */
#include <libc/hooks.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static libc_output_fn output_hook;

void libc_set_output(libc_output_fn write)
{
    output_hook = write;
}

void __libc_write(const char *buf, size_t len)
{
    if (output_hook && len)
        output_hook(buf, len);
}

int puts(const char *s)
{
    __libc_write(s, strlen(s));
    __libc_write("\n", 1);
    return 0;
}

int putchar(int c)
{
    char byte = (char)c;

    __libc_write(&byte, 1);
    return (unsigned char)byte;
}
