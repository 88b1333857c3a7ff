/*
 * The printf family. One formatter, format(), writes characters into a
 * `struct out`; the callers differ only in what happens when its buffer
 * fills: snprintf drops the excess (still counting it, for the return
 * value), printf hands the full buffer to the output hook and reuses it.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

struct out {
    char *buf;
    size_t cap;   /* characters buf can hold */
    size_t pos;   /* characters in buf now */
    size_t total; /* characters produced, including dropped ones */
    void (*drain)(const char *buf, size_t len); /* NULL: drop overflow */
};

static void put(struct out *o, char c)
{
    if (o->pos == o->cap) {
        if (!o->drain || o->cap == 0) {
            o->total++;
            return;
        }
        o->drain(o->buf, o->pos);
        o->pos = 0;
    }
    o->buf[o->pos++] = c;
    o->total++;
}

static void put_repeat(struct out *o, char c, int n)
{
    for (; n > 0; n--)
        put(o, c);
}

static void put_string(struct out *o, const char *s, size_t n)
{
    while (n--)
        put(o, *s++);
}

enum {
    F_LEFT = 1 << 0,  /* '-' */
    F_PLUS = 1 << 1,  /* '+' */
    F_SPACE = 1 << 2, /* ' ' */
    F_ALT = 1 << 3,   /* '#' */
    F_ZERO = 1 << 4,  /* '0' */
};

enum length { L_NONE, L_HH, L_H, L_L, L_LL, L_Z, L_T, L_J, L_BIG_L };

/* One parsed conversion specification. */
struct spec {
    unsigned flags;
    int width;     /* 0: none */
    int precision; /* -1: none */
    enum length length;
    char conv;
};

/* Total width of padding needed to reach sp->width, or 0. */
static int padding(const struct spec *sp, size_t len)
{
    return (size_t)sp->width > len ? sp->width - (int)len : 0;
}

/*
 * Integer conversions: d i u o x X and p. `magnitude` is the absolute
 * value; `negative` its sign (only ever set for d and i).
 */
static void format_int(struct out *o, const struct spec *sp,
                       uintmax_t magnitude, bool negative)
{
    unsigned base = 10;
    const char *set = "0123456789abcdef";
    bool is_signed = sp->conv == 'd' || sp->conv == 'i';

    if (sp->conv == 'o')
        base = 8;
    else if (sp->conv == 'x' || sp->conv == 'p')
        base = 16;
    else if (sp->conv == 'X') {
        base = 16;
        set = "0123456789ABCDEF";
    }

    /* Digits, least significant first, into the end of the array. */
    char digits[sizeof(uintmax_t) * CHAR_BIT / 3 + 1];
    int ndigits = 0;
    for (uintmax_t v = magnitude; v; v /= base)
        digits[sizeof digits - ++ndigits] = set[v % base];

    char prefix[2];
    int nprefix = 0;
    if (is_signed && negative)
        prefix[nprefix++] = '-';
    else if (is_signed && (sp->flags & F_PLUS))
        prefix[nprefix++] = '+';
    else if (is_signed && (sp->flags & F_SPACE))
        prefix[nprefix++] = ' ';
    /* C: "#x" adds 0x only to non-zero values; %p always shows it. */
    if (sp->conv == 'p' || ((sp->flags & F_ALT) && base == 16 && magnitude)) {
        prefix[nprefix++] = '0';
        prefix[nprefix++] = sp->conv == 'X' ? 'X' : 'x';
    }

    /* Precision is the minimum number of digits; the default is 1. */
    int precision = sp->precision < 0 ? 1 : sp->precision;
    int zeros = precision > ndigits ? precision - ndigits : 0;
    /* "#o" guarantees a leading zero, by raising precision if needed. */
    if ((sp->flags & F_ALT) && base == 8 && zeros == 0
        && (ndigits == 0 || digits[sizeof digits - ndigits] != '0'))
        zeros = 1;

    int pad = padding(sp, (size_t)nprefix + (size_t)zeros + (size_t)ndigits);
    /* The 0 flag pads with zeros after the prefix, unless - or a
     * precision is given (C 7.21.6.1p6). */
    if (!(sp->flags & F_LEFT) && (sp->flags & F_ZERO) && sp->precision < 0) {
        zeros += pad;
        pad = 0;
    }
    if (!(sp->flags & F_LEFT))
        put_repeat(o, ' ', pad);
    put_string(o, prefix, (size_t)nprefix);
    put_repeat(o, '0', zeros);
    put_string(o, digits + sizeof digits - ndigits, (size_t)ndigits);
    if (sp->flags & F_LEFT)
        put_repeat(o, ' ', pad);
}

/* Strings and characters: width pads with spaces only. */
static void format_text(struct out *o, const struct spec *sp, const char *s,
                        size_t len)
{
    int pad = padding(sp, len);

    if (!(sp->flags & F_LEFT))
        put_repeat(o, ' ', pad);
    put_string(o, s, len);
    if (sp->flags & F_LEFT)
        put_repeat(o, ' ', pad);
}

/* Fetch a signed argument of the size the length modifier says. */
static intmax_t arg_signed(enum length len, va_list *ap)
{
    switch (len) {
    case L_HH: return (signed char)va_arg(*ap, int);
    case L_H: return (short)va_arg(*ap, int);
    case L_L: return va_arg(*ap, long);
    case L_LL: return va_arg(*ap, long long);
    case L_Z: return va_arg(*ap, ptrdiff_t); /* signed type of size_t */
    case L_T: return va_arg(*ap, ptrdiff_t);
    case L_J: return va_arg(*ap, intmax_t);
    default: return va_arg(*ap, int);
    }
}

static uintmax_t arg_unsigned(enum length len, va_list *ap)
{
    switch (len) {
    case L_HH: return (unsigned char)va_arg(*ap, unsigned);
    case L_H: return (unsigned short)va_arg(*ap, unsigned);
    case L_L: return va_arg(*ap, unsigned long);
    case L_LL: return va_arg(*ap, unsigned long long);
    case L_Z: return va_arg(*ap, size_t);
    case L_T: return (size_t)va_arg(*ap, ptrdiff_t);
    case L_J: return va_arg(*ap, uintmax_t);
    default: return va_arg(*ap, unsigned);
    }
}

/* Parse a decimal field width or precision, saturating at INT_MAX. */
static int parse_number(const char **fmt)
{
    int n = 0;

    for (; **fmt >= '0' && **fmt <= '9'; (*fmt)++) {
        int d = **fmt - '0';
        n = n > (INT_MAX - d) / 10 ? INT_MAX : n * 10 + d;
    }
    return n;
}

/*
 * Parse the specification after a '%' (flags, width, precision, length,
 * conversion), taking * arguments from `ap`. Leaves *fmt just past the
 * conversion character, or on the NUL if the format ends early.
 */
static struct spec parse_spec(const char **fmt, va_list *ap)
{
    struct spec sp = {0, 0, -1, L_NONE, '\0'};
    const char *p = *fmt;

    for (;; p++) {
        if (*p == '-') sp.flags |= F_LEFT;
        else if (*p == '+') sp.flags |= F_PLUS;
        else if (*p == ' ') sp.flags |= F_SPACE;
        else if (*p == '#') sp.flags |= F_ALT;
        else if (*p == '0') sp.flags |= F_ZERO;
        else break;
    }

    if (*p == '*') {
        p++;
        sp.width = va_arg(*ap, int);
        if (sp.width < 0) { /* C: a negative width is '-' plus a width */
            sp.flags |= F_LEFT;
            sp.width = sp.width == INT_MIN ? INT_MAX : -sp.width;
        }
    } else {
        sp.width = parse_number(&p);
    }

    if (*p == '.') {
        p++;
        if (*p == '*') {
            p++;
            sp.precision = va_arg(*ap, int); /* negative: as if omitted */
            if (sp.precision < 0)
                sp.precision = -1;
        } else {
            sp.precision = parse_number(&p);
        }
    }

    switch (*p) {
    case 'h':
        sp.length = p[1] == 'h' ? L_HH : L_H;
        p += p[1] == 'h' ? 2 : 1;
        break;
    case 'l':
        sp.length = p[1] == 'l' ? L_LL : L_L;
        p += p[1] == 'l' ? 2 : 1;
        break;
    case 'z': sp.length = L_Z; p++; break;
    case 't': sp.length = L_T; p++; break;
    case 'j': sp.length = L_J; p++; break;
    case 'L': sp.length = L_BIG_L; p++; break;
    default: break;
    }

    sp.conv = *p;
    if (*p)
        p++;
    *fmt = p;
    return sp;
}

static void format(struct out *o, const char *fmt, va_list ap_in)
{
    va_list ap;

    /* A copy we can pass by address, as C allows va_list to be an array. */
    va_copy(ap, ap_in);
    while (*fmt) {
        if (*fmt != '%') {
            put(o, *fmt++);
            continue;
        }
        const char *start = fmt++;
        struct spec sp = parse_spec(&fmt, &ap);

        switch (sp.conv) {
        case 'd':
        case 'i': {
            intmax_t v = arg_signed(sp.length, &ap);
            /* 0 - (uintmax_t)v is |v| even for INTMAX_MIN. */
            format_int(o, &sp, v < 0 ? 0 - (uintmax_t)v : (uintmax_t)v,
                       v < 0);
            break;
        }
        case 'u':
        case 'o':
        case 'x':
        case 'X':
            format_int(o, &sp, arg_unsigned(sp.length, &ap), false);
            break;
        case 'p':
            format_int(o, &sp, (uintptr_t)va_arg(ap, void *), false);
            break;
        case 'c': {
            char c = (char)va_arg(ap, int);
            format_text(o, &sp, &c, 1);
            break;
        }
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            format_text(o, &sp, s,
                        sp.precision < 0 ? strlen(s)
                                         : strnlen(s, (size_t)sp.precision));
            break;
        }
        case '%':
            put(o, '%');
            break;
        case 'f': case 'F': case 'e': case 'E':
        case 'g': case 'G': case 'a': case 'A':
            /* Unsupported, but consume the argument to stay in step. */
            if (sp.length == L_BIG_L)
                (void)va_arg(ap, long double);
            else
                (void)va_arg(ap, double);
            put_string(o, start, (size_t)(fmt - start));
            break;
        default:
            /* Unknown or truncated: show it as written. */
            put_string(o, start, (size_t)(fmt - start));
            break;
        }
    }
    va_end(ap);
}

/* The int return value of the family, or -1 with EOVERFLOW. */
static int result(const struct out *o)
{
    if (o->total > INT_MAX) {
        errno = EOVERFLOW;
        return -1;
    }
    return (int)o->total;
}

int vsnprintf(char *restrict buf, size_t size, const char *restrict fmt,
              va_list ap)
{
    /* Keep one byte for the NUL. */
    struct out o = {buf, size ? size - 1 : 0, 0, 0, NULL};

    format(&o, fmt, ap);
    if (size)
        buf[o.pos] = '\0';
    return result(&o);
}

int snprintf(char *restrict buf, size_t size, const char *restrict fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

int vprintf(const char *restrict fmt, va_list ap)
{
    /* Batch output so the hook sees a few calls, not one per character. */
    char chunk[128];
    struct out o = {chunk, sizeof chunk, 0, 0, __libc_write};

    format(&o, fmt, ap);
    __libc_write(chunk, o.pos);
    return result(&o);
}

int printf(const char *restrict fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    int n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}
