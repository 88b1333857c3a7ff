/* The blocking forms of <blkdev/blkdev.h>, over any driver. */
#include <blkdev/blkdev.h>
#include <errno.h>

struct waiter {
    bool done;
    int status;
};

static void on_done(void *arg, int status)
{
    struct waiter *w = arg;
    w->status = status;
    w->done = true;
}

static int blocking(struct blkdev *dev, enum blkdev_op op, uint64_t sector,
                    void *buf, size_t len)
{
    struct waiter w = {.done = false};
    int rc;

    while ((rc = blkdev_submit(dev, op, sector, buf, len, on_done, &w))
           == -EAGAIN) {
        /* Full: completions free slots (other threads' requests). */
        if ((rc = blkdev_poll(dev)) < 0)
            return rc;
        if (rc == 0 && (rc = blkdev_wait(dev, 0)) < 0 && rc != -ETIMEDOUT)
            return rc;
    }
    if (rc != 0)
        return rc;
    /* Accepted: `w` is on this stack, so return only once the callback
     * ran; a broken device completes everything in its next poll. */
    while (!w.done) {
        rc = blkdev_poll(dev);
        if (w.done)
            break;
        if (rc < 0)
            return rc; /* the driver failed the request without a call */
        rc = blkdev_wait(dev, 0);
        if (rc < 0 && rc != -ETIMEDOUT) {
            (void)blkdev_poll(dev);
            if (!w.done)
                return rc;
        }
    }
    return w.status;
}

int blkdev_read(struct blkdev *dev, uint64_t sector, void *buf, size_t len)
{
    return blocking(dev, BLKDEV_OP_READ, sector, buf, len);
}

int blkdev_write(struct blkdev *dev, uint64_t sector, const void *buf,
                 size_t len)
{
    /* The driver copies a write's bytes before submit returns and never
     * writes to them. */
    return blocking(dev, BLKDEV_OP_WRITE, sector, (void *)buf, len);
}

int blkdev_flush(struct blkdev *dev)
{
    return blocking(dev, BLKDEV_OP_FLUSH, 0, NULL, 0);
}
