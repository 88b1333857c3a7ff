/*
 * In-guest tests for //libos/libc: formatted output, number parsing and
 * the string functions, checked against the results the C standard
 * requires (cross-checked against glibc), with <testing/check.h>.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <testing/check.h>

static void expect_str(int line, const char *got, const char *want)
{
    if (!check_true(strcmp(got, want) == 0, "string", __FILE__, line))
        printf("  got \"%s\", want \"%s\"\n", got, want);
}

static void expect_int(int line, long long got, long long want)
{
    check_eq((uint64_t)got, (uint64_t)want, "number", __FILE__, line);
}

/* Format into a buffer, compare the text and the returned length. */
#define FMT(want, ...)                                                     \
    do {                                                                   \
        char buf_[128];                                                    \
        int n_ = snprintf(buf_, sizeof buf_, __VA_ARGS__);                 \
        expect_str(__LINE__, buf_, want);                                  \
        expect_int(__LINE__, n_, (long long)strlen(want));                 \
    } while (0)

static void test_printf(void)
{
    FMT("42|-42|+42| 42|00042|42   |  -42", "%d|%i|%+d|% d|%05d|%-5d|%5d",
        42, -42, 42, 42, 42, 42, -42);
    FMT("-2147483648 2147483647 4294967295", "%d %d %u", INT_MIN, INT_MAX,
        UINT_MAX);
    FMT("-9223372036854775808 18446744073709551615", "%lld %llu",
        LLONG_MIN, ULLONG_MAX);
    FMT("ff FF 0xff 0XFF 377 0377 0 0", "%x %X %#x %#X %o %#o %#x %#o", 255,
        255, 255, 255, 255, 255, 0, 0);
    FMT("00042 -0042 0x002a", "%.5d %.4d %#06x", 42, -42, 42);
    FMT("|||   |", "|%.0d|%.0x|%3.0d|", 0, 0, 0);
    FMT("[   ab] [ab   ] [a] [(null)]", "[%5s] [%-5s] [%.1s] [%s]", "ab",
        "ab", "ab", (char *)NULL);
    FMT("[  x] [x  ] [%]", "[%3c] [%-3c] [%%]", 'x', 'x');
    FMT("[    7] [7    ] [007] [  3]", "[%*d] [%*d] [%.*d] [%3.*d]", 5, 7,
        -5, 7, 3, 7, -1, 3);
    FMT("-1 255 -1 65535 44 -7", "%hhd %hhu %hd %hu %hhd %jd", 255, 255,
        65535, 65535, 300, (intmax_t)-7);
    FMT("18446744073709551615 -5 123", "%zu %td %ld", SIZE_MAX,
        (ptrdiff_t)-5, 123L);
    FMT("0x1000 0x0", "%p %p", (void *)0x1000, (void *)0);
    FMT("%f 1", "%f %d", 1.5, 1); /* unsupported, but the 1 still lines up */

    /* Truncation: C99 semantics, length of the full output returned. */
    char small[6];
    expect_int(__LINE__, snprintf(small, sizeof small, "%s", "abcdefgh"), 8);
    expect_str(__LINE__, small, "abcde");
    expect_int(__LINE__, snprintf(NULL, 0, "%d", 12345), 5);
}

static void test_strtol(void)
{
    char *end;

    expect_int(__LINE__, strtol("  -123xyz", &end, 10), -123);
    expect_str(__LINE__, end, "xyz");
    expect_int(__LINE__, strtol("0x1F", NULL, 0), 31);
    expect_int(__LINE__, strtol("017", NULL, 0), 15);
    expect_int(__LINE__, strtol("0xg", &end, 16), 0);
    expect_str(__LINE__, end, "xg");
    expect_int(__LINE__, strtol("zz", NULL, 36), 1295);
    expect_int(__LINE__, strtol("", &end, 10), 0);
    expect_str(__LINE__, end, "");

    errno = 0;
    expect_int(__LINE__, strtol("9223372036854775808", NULL, 10), LONG_MAX);
    expect_int(__LINE__, errno, ERANGE);
    errno = 0;
    expect_int(__LINE__, strtol("-9223372036854775808", NULL, 10), LONG_MIN);
    expect_int(__LINE__, errno, 0);
    errno = 0;
    expect_int(__LINE__, (long long)strtoul("18446744073709551616", NULL, 10),
               (long long)ULONG_MAX);
    expect_int(__LINE__, errno, ERANGE);
    expect_int(__LINE__, (long long)strtoul("-1", NULL, 10),
               (long long)ULONG_MAX);
    expect_int(__LINE__, atoi("  42"), 42);
    expect_int(__LINE__, abs(-3), 3);
}

static void test_string(void)
{
    char buf[16] = "0123456789";

    memmove(buf + 2, buf, 5); /* overlapping, forwards */
    expect_str(__LINE__, buf, "0101234789");
    memmove(buf, buf + 3, 5); /* overlapping, backwards */
    expect_str(__LINE__, buf, "1234734789");

    expect_int(__LINE__, strlen("hello"), 5);
    expect_int(__LINE__, strnlen("hello", 3), 3);
    expect_int(__LINE__, strcmp("abc", "abd") < 0, 1);
    expect_int(__LINE__, strcmp("\xff", "a") > 0, 1); /* unsigned compare */
    expect_int(__LINE__, strncmp("abcx", "abcy", 3), 0);
    expect_str(__LINE__, strchr("a/b/c", '/'), "/b/c");
    expect_str(__LINE__, strrchr("a/b/c", '/'), "/c");
    expect_int(__LINE__, memcmp("ab", "ac", 2) < 0, 1);

    char words[] = "  one\ttwo  three ";
    char *save, *w;
    const char *want[] = {"one", "two", "three"};
    int n = 0;
    for (w = strtok_r(words, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
        expect_str(__LINE__, w, n < 3 ? want[n++] : "(extra)");
    expect_int(__LINE__, n, 3);

    expect_int(__LINE__, isspace('\v') && !isspace('x'), 1);
    expect_int(__LINE__, toupper('q') == 'Q' && tolower('Q') == 'q', 1);
}

int main(void)
{
    test_printf();
    test_strtol();
    test_string();
    return check_finish();
}
