/*
 * blkfront behind <blkdev/blkdev.h>: an adapter over blkfront's public
 * API (its bounce pages already keep the caller's memory from the
 * backend).
 */
#include <blkfront/blkfront_blkdev.h>
#include <errno.h>
#include <evtchn_sched/evtchn_sched.h>
#include <stddef.h>
#include <stdlib.h>
#include <time/time.h>

struct req {
    struct adapter *a;
    bool used;
    bool local; /* completed here, at the next poll */
    blkdev_done_fn done;
    void *arg;
};

struct adapter {
    struct blkdev bd;
    struct blkfront *bf;
    uint32_t units; /* blkfront's 512-byte sectors per disk sector */
    bool broken;
    unsigned locals;
    struct req reqs[BLKFRONT_BLKDEV_DEPTH];
};

static struct adapter *of(struct blkdev *bd)
{
    return (struct adapter *)((char *)bd - offsetof(struct adapter, bd));
}

/* blkfront's errors are Xen's numbers (the same as Linux's for these). */
static int to_errno(int xen)
{
    switch (xen) {
    case -XENABI_EBUSY: return -EAGAIN;
    case -XENABI_EINVAL: return -EINVAL;
    case -XENABI_E2BIG: return -EMSGSIZE;
    case -XENABI_ERANGE: return -ERANGE;
    case -XENABI_EROFS: return -EROFS;
    case -XENABI_ENOMEM: return -ENOMEM;
    case -XENABI_ENOTCONN: return -ENOTCONN;
    case -XENABI_EOPNOTSUPP: return -EOPNOTSUPP;
    default: return xen < 0 ? -EIO : xen;
    }
}

static void on_done(void *arg, int status)
{
    struct req *r = arg;
    blkdev_done_fn done = r->done;
    void *darg = r->arg;
    r->used = false; /* before the call: it may submit again */
    done(darg, to_errno(status));
}

static int bb_submit(struct blkdev *bd, enum blkdev_op op, uint64_t sector,
                     void *buf, size_t len, blkdev_done_fn done, void *arg)
{
    struct adapter *a = of(bd);
    const struct blkdev_info *info = &bd->info;

    if (a->broken)
        return -EIO;
    if (done == NULL || op > BLKDEV_OP_FLUSH)
        return -EINVAL;
    if (op != BLKDEV_OP_FLUSH) {
        /* In disk sectors here; blkfront checks its own units again. */
        if (buf == NULL || len == 0 || len % info->sector_size != 0
            || (uintptr_t)buf % BLKDEV_ALIGN != 0)
            return -EINVAL;
        if (len > info->max_request)
            return -EMSGSIZE;
        if (sector >= info->sectors
            || len / info->sector_size > info->sectors - sector)
            return -ERANGE;
    }
    struct req *r = NULL;
    for (unsigned i = 0; i < info->queue_depth && r == NULL; i++)
        if (!a->reqs[i].used)
            r = &a->reqs[i];
    if (r == NULL)
        return -EAGAIN;
    *r = (struct req){.a = a, .used = true, .done = done, .arg = arg};

    int rc;
    if (op == BLKDEV_OP_FLUSH && !(info->features & BLKDEV_F_FLUSH)) {
        if (!blkfront_connected(a->bf)) {
            r->used = false;
            return -ENOTCONN;
        }
        r->local = true;
        a->locals++;
        return 0;
    }
    if (op == BLKDEV_OP_READ)
        rc = blkfront_read_async(a->bf, sector * a->units, buf, len, on_done,
                                 r);
    else if (op == BLKDEV_OP_WRITE)
        rc = blkfront_write_async(a->bf, sector * a->units, buf, len,
                                  on_done, r);
    else
        rc = blkfront_flush_async(a->bf, on_done, r);
    if (rc != 0) {
        r->used = false;
        return to_errno(rc);
    }
    return 0;
}

static int bb_poll(struct blkdev *bd)
{
    struct adapter *a = of(bd);
    int ran = 0;

    for (unsigned i = 0; a->locals > 0 && i < bd->info.queue_depth; i++) {
        struct req *r = &a->reqs[i];
        if (r->used && r->local) {
            a->locals--;
            r->local = false;
            on_done(r, 0);
            ran++;
        }
    }
    int rc = blkfront_poll(a->bf);
    if (rc < 0) {
        a->broken = true; /* blkfront failed what was in flight */
        return to_errno(rc);
    }
    return ran + rc;
}

static int bb_wait(struct blkdev *bd, uint64_t deadline_ns)
{
    struct adapter *a = of(bd);
    xenabi_evtchn_port_t port;

    if (a->broken)
        return -EIO;
    if (a->locals > 0)
        return 0;
    if (blkfront_port(a->bf, &port) != 0)
        return -ENOTCONN;
    int rc = evtchn_sched_wait(port, deadline_ns == 0 ? TIME_NEVER
                                                      : deadline_ns);
    if (rc < 0)
        return to_errno(rc);
    return rc == 0 ? -ETIMEDOUT : 0;
}

static const struct blkdev_ops ops = {
    .submit = bb_submit,
    .poll = bb_poll,
    .wait = bb_wait,
};

int blkfront_blkdev_open(const char *nodename, struct blkdev **out)
{
    struct adapter *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return -ENOMEM;
    struct blkfront_info fi;
    int rc = blkfront_open(nodename, &a->bf);
    if (rc == 0)
        rc = blkfront_wait_connected(a->bf);
    if (rc == 0)
        rc = blkfront_info(a->bf, &fi);
    if (rc != 0) {
        if (a->bf != NULL)
            (void)blkfront_close(a->bf);
        free(a);
        return to_errno(rc);
    }
    /* blkfront validated these (a power of two, 512..4096; whole disk
     * sectors). */
    a->units = fi.sector_size / XENABI_BLKIF_SECTOR_SIZE;
    a->bd.ops = &ops;
    a->bd.name = "vbd";
    a->bd.info = (struct blkdev_info){
        .sector_size = fi.sector_size,
        .sectors = fi.sectors / a->units,
        .readonly = fi.readonly,
        .features = (fi.flush || fi.barrier) ? BLKDEV_F_FLUSH : 0,
        .queue_depth = fi.ring_slots < BLKFRONT_BLKDEV_DEPTH
                           ? fi.ring_slots
                           : BLKFRONT_BLKDEV_DEPTH,
        .max_request = fi.max_segments * 4096u,
    };
    *out = &a->bd;
    return 0;
}

struct blkfront *blkfront_blkdev_blkfront(struct blkdev *bd)
{
    return of(bd)->bf;
}

int blkfront_blkdev_close(struct blkdev *bd)
{
    struct adapter *a = of(bd);
    /* Local flushes first, in order with the rest: they report 0. */
    for (unsigned i = 0; a->locals > 0 && i < bd->info.queue_depth; i++)
        if (a->reqs[i].used && a->reqs[i].local) {
            a->locals--;
            on_done(&a->reqs[i], 0);
        }
    int rc = blkfront_close(a->bf);
    free(a);
    return to_errno(rc);
}
