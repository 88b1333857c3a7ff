/*
 * blkfront in an image: references every public function (and those of
 * its <blkdev/blkdev.h> adapter) so the link proves they all resolve for
 * the image, and runs the "not on Xen" path.
 */
#include <stdio.h>

#include <blkfront/blkfront.h>
#include <blkfront/blkfront_blkdev.h>
#include <evtchn/evtchn.h>

static void *volatile keep[] = {
    (void *)blkfront_open,        (void *)blkfront_wait_connected,
    (void *)blkfront_connected,   (void *)blkfront_info,
    (void *)blkfront_read_async,  (void *)blkfront_write_async,
    (void *)blkfront_flush_async, (void *)blkfront_poll,
    (void *)blkfront_inflight,    (void *)blkfront_read,
    (void *)blkfront_write,       (void *)blkfront_flush,
    (void *)blkfront_close,       (void *)blkfront_get_stats,
    (void *)blkfront_blkdev_open, (void *)blkfront_blkdev_blkfront,
    (void *)blkfront_blkdev_close, (void *)blkdev_read,
    (void *)blkdev_write,         (void *)blkdev_flush,
};

int main(void)
{
    /* Read the table: without a use, the compiler drops it, and with it
     * every reference into the driver (the link then proves nothing). */
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
        if (keep[i] == NULL)
            return 2;
    int rc = evtchn_init();
    printf("blkfront link test: %s (%s)\n",
           rc == -XENABI_ENOSYS ? "not on Xen" : "on Xen?",
           rc == -XENABI_ENOSYS ? "ENOSYS" : "unexpected");
    return rc == -XENABI_ENOSYS ? 0 : 1;
}
