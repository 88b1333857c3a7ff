/*
 * boot_guard_page(): what it refuses, and that a guard it accepted is
 * unmapped and named in the fault report. An initialiser ordered before
 * the seal asks; main() asks again (too late) and then touches the guard.
 */
#include <boot/boot.h>
#include <stdint.h>
#include <stdio.h>

extern char __text_start[], __image_end[];

/*
 * A free page of RAM: 1 MiB past the image (page aligned by the linker;
 * images load below 64 MiB, the runner gives 128 MiB).
 */
#define GUARD (__image_end + (1u << 20))

static int refusals, accepted;

static void expect(const char *what, int got, int want)
{
    if (got == want)
        refusals += want == -1;
    else
        printf("FAILED: %s: boot_guard_page returned %d, want %d\n", what,
               got, want);
}

static void ask_before_seal(void)
{
    expect("misaligned", boot_guard_page(GUARD + 8, "x"), -1);
    expect("page 0", boot_guard_page(0, "x"), -1);
    expect("in the image", boot_guard_page(__text_start, "x"), -1);
    expect("above 4 GiB", boot_guard_page((void *)(UINT64_C(5) << 30), "x"),
           -1);
    expect("a free page", boot_guard_page(GUARD, "the test's guard page"), 0);
    accepted = 1;
}
BOOT_INIT(ask_before_seal, BOOT_INIT_ORDER_STACKS);

int main(void)
{
    expect("after the seal", boot_guard_page(GUARD + 4096, "x"), -1);
    printf("guard pages: %d refused, %d accepted\n", refusals, accepted);
    printf("touching the guard\n");
    *(volatile char *)GUARD = 1;
    printf("survived\n");
    return 0;
}
