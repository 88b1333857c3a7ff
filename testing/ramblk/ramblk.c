/* The memory block device of <testing/ramblk.h>. */
#include <testing/ramblk.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { QUEUE_DEPTH = 8 };

struct done {
    blkdev_done_fn fn;
    void *arg;
    int status;
};

struct ramblk {
    struct blkdev dev;
    uint8_t *current;
    uint8_t *stable;
    uint8_t *dirty; /* per sector: written since the last flush */
    struct done queue[QUEUE_DEPTH];
    unsigned queued;
    bool cut_armed;
    uint64_t cut_left;
    bool dead;
    struct ramblk_stats stats;
};

static size_t bytes_of(const struct ramblk *r)
{
    return (size_t)(r->dev.info.sectors * r->dev.info.sector_size);
}

static int submit(struct blkdev *dev, enum blkdev_op op, uint64_t sector,
                  void *buf, size_t len, blkdev_done_fn fn, void *arg)
{
    struct ramblk *r = (struct ramblk *)dev;
    const struct blkdev_info *info = &dev->info;
    int status = 0;

    if (r->queued == QUEUE_DEPTH)
        return -EAGAIN;
    if (op != BLKDEV_OP_FLUSH) {
        if (op != BLKDEV_OP_READ && op != BLKDEV_OP_WRITE)
            goto inval;
        if (buf == NULL || len == 0 || len % info->sector_size != 0 ||
            (uintptr_t)buf % BLKDEV_ALIGN != 0)
            goto inval;
        if (len > info->max_request) {
            r->stats.rejected++;
            return -EMSGSIZE;
        }
        if (sector > info->sectors ||
            len / info->sector_size > info->sectors - sector) {
            r->stats.rejected++;
            return -ERANGE;
        }
        if (op == BLKDEV_OP_WRITE && info->readonly) {
            r->stats.rejected++;
            return -EROFS;
        }
    }
    if (r->dead)
        return -EIO;
    if (r->cut_armed) {
        if (r->cut_left == 0) {
            r->dead = true;
            return -EIO;
        }
        r->cut_left--;
    }

    size_t off = (size_t)sector * info->sector_size;
    switch (op) {
    case BLKDEV_OP_READ:
        memcpy(buf, r->current + off, len);
        r->stats.reads++;
        break;
    case BLKDEV_OP_WRITE:
        memcpy(r->current + off, buf, len);
        memset(r->dirty + sector, 1, len / info->sector_size);
        if (!(info->features & BLKDEV_F_FLUSH))
            memcpy(r->stable + off, buf, len); /* write-through */
        r->stats.writes++;
        break;
    case BLKDEV_OP_FLUSH:
        memcpy(r->stable, r->current, bytes_of(r));
        memset(r->dirty, 0, (size_t)info->sectors);
        r->stats.flushes++;
        break;
    }
    r->queue[r->queued++] = (struct done){fn, arg, status};
    return 0;

inval:
    r->stats.rejected++;
    return -EINVAL;
}

static int poll(struct blkdev *dev)
{
    struct ramblk *r = (struct ramblk *)dev;
    int ran = 0;
    /* Callbacks may submit again: take the queue first. */
    while (r->queued > 0) {
        struct done d = r->queue[0];
        memmove(&r->queue[0], &r->queue[1],
                (r->queued - 1) * sizeof r->queue[0]);
        r->queued--;
        d.fn(d.arg, d.status);
        ran++;
    }
    return ran;
}

static int wait(struct blkdev *dev, uint64_t deadline_ns)
{
    (void)dev;
    (void)deadline_ns;
    return 0; /* everything submitted is complete already */
}

static const struct blkdev_ops ops = {
    .submit = submit,
    .poll = poll,
    .wait = wait,
};

struct ramblk *ramblk_new(uint32_t sector_size, uint64_t sectors,
                          uint32_t features, uint32_t max_request)
{
    struct ramblk *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->dev.ops = &ops;
    r->dev.name = "ramblk";
    r->dev.info = (struct blkdev_info){
        .sector_size = sector_size,
        .sectors = sectors,
        .features = features,
        .queue_depth = QUEUE_DEPTH,
        .max_request = max_request ? max_request : 65536,
    };
    size_t size = (size_t)(sectors * sector_size);
    r->current = calloc(1, size);
    r->stable = calloc(1, size);
    r->dirty = calloc(1, (size_t)sectors);
    if (!r->current || !r->stable || !r->dirty) {
        ramblk_free(r);
        return NULL;
    }
    return r;
}

void ramblk_free(struct ramblk *r)
{
    if (r == NULL)
        return;
    free(r->current);
    free(r->stable);
    free(r->dirty);
    free(r);
}

struct blkdev *ramblk_dev(struct ramblk *r)
{
    return &r->dev;
}

void ramblk_set_readonly(struct ramblk *r, bool readonly)
{
    r->dev.info.readonly = readonly;
}

uint8_t *ramblk_current(struct ramblk *r)
{
    return r->current;
}

const uint8_t *ramblk_stable(const struct ramblk *r)
{
    return r->stable;
}

size_t ramblk_size(const struct ramblk *r)
{
    return bytes_of(r);
}

void ramblk_load(struct ramblk *r, const void *bytes, size_t len)
{
    size_t size = bytes_of(r);
    if (len > size)
        len = size;
    memset(r->current, 0, size);
    memcpy(r->current, bytes, len);
    memcpy(r->stable, r->current, size);
    memset(r->dirty, 0, (size_t)r->dev.info.sectors);
}

void ramblk_cut_after(struct ramblk *r, uint64_t requests)
{
    r->cut_armed = true;
    r->cut_left = requests;
}

bool ramblk_is_dead(const struct ramblk *r)
{
    return r->dead;
}

void ramblk_reboot(struct ramblk *r, enum ramblk_keep keep,
                   uint64_t (*rng)(void))
{
    uint32_t ss = r->dev.info.sector_size;
    for (uint64_t s = 0; s < r->dev.info.sectors; s++) {
        if (!r->dirty[s])
            continue;
        size_t off = (size_t)s * ss;
        if (keep == RAMBLK_KEEP_SOME && (rng() & 1))
            memcpy(r->stable + off, r->current + off, ss);
    }
    memcpy(r->current, r->stable, bytes_of(r));
    memset(r->dirty, 0, (size_t)r->dev.info.sectors);
    r->queued = 0; /* a dead device completes nothing */
    r->cut_armed = false;
    r->dead = false;
}

struct ramblk_stats ramblk_stats(const struct ramblk *r)
{
    return r->stats;
}
