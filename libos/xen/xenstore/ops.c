/*
 * Reading, writing, listing and removing nodes.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* The path as the first part of a request: its bytes and its NUL. */
static int path_part(const char *path, struct xs_part *part)
{
    if (path == NULL)
        return -XENABI_EINVAL;
    size_t len = strnlen(path, XENABI_XENSTORE_ABS_PATH_MAX + 1);
    if (len == 0 || len > XENABI_XENSTORE_ABS_PATH_MAX)
        return -XENABI_EINVAL;
    *part = (struct xs_part){path, len + 1};
    return 0;
}

int xs_read(xs_tx_t tx, const char *path, char *buf, size_t size,
            size_t *len)
{
    struct xs_part part;
    int rc = path_part(path, &part);
    if (rc < 0)
        return rc;
    if (buf == NULL || size == 0)
        return -XENABI_EINVAL;
    size_t got = 0;
    rc = xs_request(XENABI_XS_READ, tx, &part, 1, buf, size - 1, &got);
    if (rc == 0)
        buf[got] = '\0';
    if (len != NULL && (rc == 0 || rc == -XENABI_ERANGE))
        *len = got;
    return rc;
}

bool xs_parse_u32(const char *s, uint32_t *out)
{
    if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
        return false;
    uint64_t v = 0;
    for (const char *c = s; *c != '\0'; c++) {
        if (*c < '0' || *c > '9')
            return false;
        v = v * 10 + (uint64_t)(*c - '0');
        if (v > UINT32_MAX)
            return false;
    }
    *out = (uint32_t)v;
    return true;
}

int xs_read_u32(xs_tx_t tx, const char *path, uint32_t *value)
{
    char text[16];
    size_t len;
    int rc = xs_read(tx, path, text, sizeof(text), &len);
    if (rc == -XENABI_ERANGE)
        return -XENABI_EINVAL; /* too long to be a 32-bit number */
    if (rc < 0)
        return rc;
    if (strlen(text) != len || !xs_parse_u32(text, value))
        return -XENABI_EINVAL;
    return 0;
}

int xs_write_bytes(xs_tx_t tx, const char *path, const void *value,
                   size_t len)
{
    struct xs_part parts[2];
    int rc = path_part(path, &parts[0]);
    if (rc < 0)
        return rc;
    if (value == NULL && len > 0)
        return -XENABI_EINVAL;
    /* The value follows the path's NUL and has no NUL of its own. */
    parts[1] = (struct xs_part){value, len};
    return xs_request(XENABI_XS_WRITE, tx, parts, 2, NULL, 0, NULL);
}

int xs_write(xs_tx_t tx, const char *path, const char *value)
{
    if (value == NULL)
        return -XENABI_EINVAL;
    return xs_write_bytes(tx, path, value,
                          strnlen(value, XENABI_XENSTORE_PAYLOAD_MAX + 1));
}

int xs_printf(xs_tx_t tx, const char *path, const char *fmt, ...)
{
    char value[257];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(value, sizeof(value), fmt, ap);
    va_end(ap);
    if (n < 0)
        return -XENABI_EINVAL;
    if ((size_t)n >= sizeof(value))
        return -XENABI_E2BIG;
    return xs_write_bytes(tx, path, value, (size_t)n);
}

int xs_set_perms(xs_tx_t tx, const char *path, const char *perms,
                 size_t len)
{
    struct xs_part parts[2];
    int rc = path_part(path, &parts[0]);
    if (rc < 0)
        return rc;
    if (perms == NULL || len < 2 || len > XENABI_XENSTORE_PAYLOAD_MAX / 2
        || perms[len - 1] != '\0')
        return -XENABI_EINVAL;
    parts[1] = (struct xs_part){perms, len};
    return xs_request(XENABI_XS_SET_PERMS, tx, parts, 2, NULL, 0, NULL);
}

static int path_only(uint32_t type, xs_tx_t tx, const char *path)
{
    struct xs_part part;
    int rc = path_part(path, &part);
    if (rc < 0)
        return rc;
    return xs_request(type, tx, &part, 1, NULL, 0, NULL);
}

int xs_mkdir(xs_tx_t tx, const char *path)
{
    return path_only(XENABI_XS_MKDIR, tx, path);
}

int xs_rm(xs_tx_t tx, const char *path)
{
    return path_only(XENABI_XS_RM, tx, path);
}

int xs_directory(xs_tx_t tx, const char *path, char *buf, size_t size)
{
    struct xs_part part;
    int rc = path_part(path, &part);
    if (rc < 0)
        return rc;
    if (buf == NULL || size == 0)
        return -XENABI_EINVAL;
    size_t got = 0;
    rc = xs_request(XENABI_XS_DIRECTORY, tx, &part, 1, buf, size, &got);
    if (rc < 0)
        return rc;
    /* The reply was checked: non-empty names, each NUL-terminated. */
    if (got <= 1)
        return 0;
    int count = 0;
    for (size_t i = 0; i < got; i++)
        count += buf[i] == '\0';
    return count;
}
