/*
 * String to integer conversion. One scanner does the parsing for all
 * four functions; each caller only supplies its range and applies the
 * sign in its own type.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

struct scan {
    uintmax_t magnitude; /* value without sign, valid if !overflow */
    bool negative;
    bool overflow; /* magnitude exceeded the caller's limit */
};

/* 0-35 for a digit or letter in any base up to 36, else 36. */
static unsigned digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return (unsigned)(c - '0');
    if (c >= 'a' && c <= 'z')
        return (unsigned)(c - 'a' + 10);
    if (c >= 'A' && c <= 'Z')
        return (unsigned)(c - 'A' + 10);
    return 36;
}

/*
 * Parse [space][sign][prefix]digits. `limit_pos`/`limit_neg` are the
 * largest magnitudes representable for each sign.
 */
static struct scan scan(const char *s, char **end, int base,
                        uintmax_t limit_pos, uintmax_t limit_neg)
{
    struct scan r = {0, false, false};
    const char *p = s;

    if (base != 0 && (base < 2 || base > 36)) {
        errno = EINVAL;
        if (end)
            *end = (char *)s;
        return r;
    }
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '+' || *p == '-')
        r.negative = *p++ == '-';
    /* "0x" is a prefix only if a hex digit follows; else "0" is the number. */
    if ((base == 0 || base == 16) && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')
        && digit_value(p[2]) < 16) {
        p += 2;
        base = 16;
    } else if (base == 0) {
        base = p[0] == '0' ? 8 : 10;
    }

    uintmax_t limit = r.negative ? limit_neg : limit_pos;
    const char *digits = p;
    for (unsigned d; (d = digit_value(*p)) < (unsigned)base; p++) {
        /* value * base + d <= limit, rearranged so it cannot wrap. */
        if (r.magnitude > (limit - d) / (unsigned)base)
            r.overflow = true;
        else
            r.magnitude = r.magnitude * (unsigned)base + d;
    }
    if (end)
        *end = (char *)(p == digits ? s : p);
    if (r.overflow)
        errno = ERANGE;
    return r;
}

long long strtoll(const char *restrict s, char **restrict end, int base)
{
    struct scan r = scan(s, end, base, LLONG_MAX, (uintmax_t)LLONG_MAX + 1);

    if (r.overflow)
        return r.negative ? LLONG_MIN : LLONG_MAX;
    /* -(m - 1) - 1 reaches LLONG_MIN without overflowing on the way. */
    return r.negative && r.magnitude ? -(long long)(r.magnitude - 1) - 1
                                     : (long long)r.magnitude;
}

long strtol(const char *restrict s, char **restrict end, int base)
{
    struct scan r = scan(s, end, base, LONG_MAX, (uintmax_t)LONG_MAX + 1);

    if (r.overflow)
        return r.negative ? LONG_MIN : LONG_MAX;
    return r.negative && r.magnitude ? -(long)(r.magnitude - 1) - 1
                                     : (long)r.magnitude;
}

/* As C specifies, a minus sign negates the result in the unsigned type. */
unsigned long long strtoull(const char *restrict s, char **restrict end,
                            int base)
{
    struct scan r = scan(s, end, base, ULLONG_MAX, ULLONG_MAX);

    if (r.overflow)
        return ULLONG_MAX;
    return r.negative ? -(unsigned long long)r.magnitude
                      : (unsigned long long)r.magnitude;
}

unsigned long strtoul(const char *restrict s, char **restrict end, int base)
{
    struct scan r = scan(s, end, base, ULONG_MAX, ULONG_MAX);

    if (r.overflow)
        return ULONG_MAX;
    return r.negative ? -(unsigned long)r.magnitude
                      : (unsigned long)r.magnitude;
}

int atoi(const char *s)
{
    return (int)strtol(s, NULL, 10);
}

long atol(const char *s)
{
    return strtol(s, NULL, 10);
}
