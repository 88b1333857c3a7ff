/*
 * Overflows a local array past its canary; the stack protector must catch
 * it when the function returns, before the corrupted return address is used.
 */
#include <boot/boot.h>
#include <stdio.h>

/* volatile: the compiler must not see the overflow coming and drop it. */
static volatile size_t overflow_by = 64;

__attribute__((noinline)) static int smash(void)
{
    char buf[16];

    for (size_t i = 0; i < sizeof buf + overflow_by; i++)
        ((volatile char *)buf)[i] = 'A';
    return buf[3];
}

int main(void)
{
    printf("canary source: %s\n",
           boot_stack_guard_source() == BOOT_ENTROPY_RDRAND_TSC ? "rdrand+tsc" : "tsc");
    printf("smashing the stack\n");
    smash();
    printf("survived a smashed stack\n");
    return 0;
}
