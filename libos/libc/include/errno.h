/*
 * errno.h - error numbers (C11 7.5). One global errno: the library OS
 * is single-threaded. Values follow Linux so messages and tools agree.
 */
#ifndef _ERRNO_H
#define _ERRNO_H

extern int errno;
#define errno errno

#define ENOMEM 12
#define EINVAL 22
#define EDOM 33
#define ERANGE 34
#define EOVERFLOW 75

#endif /* _ERRNO_H */
