/*
 * errno.h - error numbers (C11 7.5). One global errno: the library OS
 * is single-threaded. Values follow Linux so messages and tools agree.
 */
#ifndef _ERRNO_H
#define _ERRNO_H

extern int errno;
#define errno errno

#define ENOENT 2
#define EIO 5
#define EBADF 9
#define EAGAIN 11
#define ENOMEM 12
#define EBUSY 16
#define EEXIST 17
#define ENODEV 19
#define ENOTDIR 20
#define EISDIR 21
#define EINVAL 22
#define EMFILE 24
#define EFBIG 27
#define ENOSPC 28
#define EROFS 30
#define EPIPE 32
#define EDOM 33
#define ERANGE 34
#define ENAMETOOLONG 36
#define ENOTEMPTY 39
#define EOVERFLOW 75
#define EMSGSIZE 90
#define ENOTSUP 95
#define EOPNOTSUPP ENOTSUP
#define ECONNRESET 104
#define ENOTCONN 107
#define ETIMEDOUT 110

#endif /* _ERRNO_H */
