/*
 * xenstored's error names (the payload of XS_ERROR) and our numbers.
 */
#include <string.h>

#include "internal.h"

static const struct {
    const char *name;
    int code;
} errors[] = {
    {"EINVAL", XENABI_EINVAL}, {"EACCES", XENABI_EACCES},
    {"EEXIST", XENABI_EEXIST}, {"EISDIR", XENABI_EISDIR},
    {"ENOENT", XENABI_ENOENT}, {"ENOMEM", XENABI_ENOMEM},
    {"ENOSPC", XENABI_ENOSPC}, {"EIO", XENABI_EIO},
    {"ENOTEMPTY", XENABI_ENOTEMPTY}, {"ENOSYS", XENABI_ENOSYS},
    {"EROFS", XENABI_EROFS}, {"EBUSY", XENABI_EBUSY},
    {"EAGAIN", XENABI_EAGAIN}, {"EISCONN", XENABI_EISCONN},
    {"E2BIG", XENABI_E2BIG}, {"EPERM", XENABI_EPERM},
};

#define NR_ERRORS (sizeof(errors) / sizeof(errors[0]))

int xs_error_from_name(const char *name)
{
    for (size_t i = 0; i < NR_ERRORS; i++)
        if (strcmp(name, errors[i].name) == 0)
            return -errors[i].code;
    return 0;
}

const char *xs_error_name(int err)
{
    for (size_t i = 0; i < NR_ERRORS; i++)
        if (-err == errors[i].code)
            return errors[i].name;
    switch (-err) {
    case XENABI_ENOTCONN:
        return "ENOTCONN";
    case XENABI_ERANGE:
        return "ERANGE";
    case XENABI_ETIMEDOUT:
        return "ETIMEDOUT";
    default:
        return "E?";
    }
}
