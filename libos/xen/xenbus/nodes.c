/*
 * The xenstore nodes of a device: our state, where the backend is, and
 * reads and writes relative to either directory.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* "<dir>/<key>" into path; -XENABI_E2BIG if it does not fit. */
static int join(char *path, size_t size, const char *dir, const char *key)
{
    int n = snprintf(path, size, "%s/%s", dir, key);
    if (n < 0 || (size_t)n >= size)
        return -XENABI_E2BIG;
    return 0;
}

#define KEY_PATH_MAX (XENBUS_PATH_MAX + 64)

int xenbus_write_state(struct xenbus_front *f, xs_tx_t tx,
                       enum xenabi_xenbus_state state)
{
    return xenbus_front_printf(f, tx, "state", "%u", (unsigned)state);
}

int xenbus_read_backend(struct xenbus_front *f)
{
    char path[KEY_PATH_MAX];
    int rc = join(path, sizeof(path), f->nodename, "backend");
    if (rc < 0)
        return rc;
    size_t len;
    rc = xs_read(XS_TX_NONE, path, f->backend, sizeof(f->backend), &len);
    if (rc == -XENABI_ERANGE)
        return -XENABI_E2BIG;
    if (rc < 0)
        return rc;
    /* Set by the toolstack, but checked like any value from xenstore. */
    if (len == 0 || f->backend[0] != '/' || strlen(f->backend) != len)
        return -XENABI_EINVAL;

    uint32_t id;
    rc = join(path, sizeof(path), f->nodename, "backend-id");
    if (rc == 0)
        rc = xs_read_u32(XS_TX_NONE, path, &id);
    if (rc < 0)
        return rc;
    if (id >= XENABI_DOMID_FIRST_RESERVED)
        return -XENABI_EINVAL;
    f->backend_id = (xenabi_domid_t)id;
    return 0;
}

int xenbus_front_printf(struct xenbus_front *f, xs_tx_t tx, const char *key,
                        const char *fmt, ...)
{
    char path[KEY_PATH_MAX];
    char value[128];
    int rc = join(path, sizeof(path), f->nodename, key);
    if (rc < 0)
        return rc;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(value, sizeof(value), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(value))
        return -XENABI_E2BIG;
    return xs_write(tx, path, value);
}

int xenbus_backend_read_u32(struct xenbus_front *f, const char *key,
                            uint32_t *value)
{
    char path[KEY_PATH_MAX];
    int rc = join(path, sizeof(path), f->backend, key);
    if (rc < 0)
        return rc;
    return xs_read_u32(XS_TX_NONE, path, value);
}

const char *xenbus_state_name(enum xenabi_xenbus_state state)
{
    static const char *const names[] = {
        "Unknown",   "Initialising", "InitWait",      "Initialised",
        "Connected", "Closing",      "Closed",        "Reconfiguring",
        "Reconfigured",
    };
    if ((unsigned)state < sizeof(names) / sizeof(names[0]))
        return names[state];
    return "Unknown";
}
