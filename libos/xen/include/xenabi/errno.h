/*
 * xenabi/errno.h - error numbers a hypercall returns, negated: a call
 * that fails with "invalid argument" returns -XENABI_EINVAL.
 *
 * Xen took these values from x86 Linux, so they match Linux's errno, not
 * necessarily the C library's. Only the ones a guest meets are listed.
 */
#ifndef XENABI_ERRNO_H
#define XENABI_ERRNO_H

#define XENABI_EPERM 1       /* not allowed for this domain */
#define XENABI_ENOENT 2      /* no such object */
#define XENABI_ESRCH 3       /* no such domain */
#define XENABI_EIO 5
#define XENABI_ENXIO 6
#define XENABI_E2BIG 7       /* argument too large */
#define XENABI_EBADF 9       /* bad event channel port or handle */
#define XENABI_EAGAIN 11     /* try again (e.g. a preempted operation) */
#define XENABI_ENOMEM 12
#define XENABI_EACCES 13
#define XENABI_EFAULT 14     /* a buffer address Xen could not access */
#define XENABI_EBUSY 16
#define XENABI_EEXIST 17
#define XENABI_ENODEV 19
#define XENABI_EISDIR 21      /* xenstore: a node with children */
#define XENABI_EINVAL 22
#define XENABI_ENOSPC 28     /* no free slot (ports, grant frames, ...) */
#define XENABI_EROFS 30
#define XENABI_ERANGE 34
#define XENABI_ENOSYS 38     /* hypercall or sub-operation not implemented */
#define XENABI_ENOTEMPTY 39  /* xenstore: removing a node with children */
#define XENABI_ETIME 62      /* a one-shot timer's time has passed */
#define XENABI_EOPNOTSUPP 95 /* implemented, but not for this guest */
#define XENABI_ENOBUFS 105
#define XENABI_EISCONN 106
#define XENABI_ENOTCONN 107
#define XENABI_ETIMEDOUT 110

#endif /* XENABI_ERRNO_H */
