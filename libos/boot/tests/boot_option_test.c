/*
 * Boot options on the command line (//libos/boot:core): whole words only,
 * the last one wins, a malformed one is named.
 */
#include <stddef.h>
#include <string.h>
#include <testing/check.h>

#include "libos/boot/boot_option.h"

#define NAME "boot.allow_no_nx"

static enum boot_flag flag(const char *cmdline)
{
    return boot_option_flag(cmdline, NAME, NULL, NULL);
}

static void test_values(void)
{
    CHECK_EQ(flag(""), BOOT_FLAG_ABSENT);
    CHECK_EQ(flag("   \t "), BOOT_FLAG_ABSENT);
    CHECK_EQ(flag("boot.allow_no_nx=1"), BOOT_FLAG_ON);
    CHECK_EQ(flag("boot.allow_no_nx=0"), BOOT_FLAG_OFF);
    CHECK_EQ(flag("a b\tboot.allow_no_nx=1\nc"), BOOT_FLAG_ON);
    CHECK_EQ(flag("write-text boot.allow_no_nx=1"), BOOT_FLAG_ON);
}

static void test_only_whole_words(void)
{
    CHECK_EQ(flag("xboot.allow_no_nx=1"), BOOT_FLAG_ABSENT);
    CHECK_EQ(flag("boot.allow_no_nx_extra=1"), BOOT_FLAG_ABSENT);
    CHECK_EQ(flag("boot.allow_no_n=1"), BOOT_FLAG_ABSENT);
    CHECK_EQ(flag("boot.allow=1"), BOOT_FLAG_ABSENT);
    CHECK_EQ(flag("--boot.allow_no_nx=1"), BOOT_FLAG_ABSENT);
}

static void test_last_wins(void)
{
    CHECK_EQ(flag("boot.allow_no_nx=1 boot.allow_no_nx=0"), BOOT_FLAG_OFF);
    CHECK_EQ(flag("boot.allow_no_nx=0 boot.allow_no_nx=1"), BOOT_FLAG_ON);
}

static void expect_malformed(const char *cmdline, const char *word)
{
    const char *bad = NULL;
    size_t len = 0;

    CHECK_EQ(boot_option_flag(cmdline, NAME, &bad, &len),
             BOOT_FLAG_MALFORMED);
    CHECK(bad != NULL && len == strlen(word)
          && memcmp(bad, word, len) == 0);
}

static void test_malformed(void)
{
    expect_malformed("boot.allow_no_nx", "boot.allow_no_nx");
    expect_malformed("boot.allow_no_nx=", "boot.allow_no_nx=");
    expect_malformed("a boot.allow_no_nx=yes b", "boot.allow_no_nx=yes");
    expect_malformed("boot.allow_no_nx=11", "boot.allow_no_nx=11");
    expect_malformed("boot.allow_no_nx=2", "boot.allow_no_nx=2");
    /* It wins over a valid word, before or after it. */
    expect_malformed("boot.allow_no_nx=1 boot.allow_no_nx=on",
                     "boot.allow_no_nx=on");
    expect_malformed("boot.allow_no_nx=true boot.allow_no_nx=1",
                     "boot.allow_no_nx=true");
    /* NULL out-parameters are allowed. */
    CHECK_EQ(flag("boot.allow_no_nx=x"), BOOT_FLAG_MALFORMED);
}

int main(void)
{
    RUN(test_values);
    RUN(test_only_whole_words);
    RUN(test_last_wins);
    RUN(test_malformed);
    return check_finish();
}
