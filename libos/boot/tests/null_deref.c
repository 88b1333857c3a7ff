/*
 * A NULL pointer access must be reported as a CPU exception and end the
 * run with BOOT_EXIT_PANIC, not reset the machine or read garbage.
 */
#include <stdio.h>

int main(void)
{
    /* volatile: the compiler may not assume the load away. */
    volatile int *volatile p = NULL;

    printf("reading through NULL\n");
    return *p;
}
