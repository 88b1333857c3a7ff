#include <errno.h>

/* Single-threaded: one errno for the whole image. */
int errno;
