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

/* A write since the last flush, for RAMBLK_TEAR. */
struct logged {
    uint64_t sector;
    size_t len;
    uint8_t *data;
};

struct ramblk {
    struct blkdev dev;
    uint8_t *current;
    uint8_t *stable;
    uint8_t *dirty; /* per sector: written since the last flush */
    struct logged *log; /* the writes since the last flush, in order */
    size_t logged, log_cap;
    bool log_failed; /* out of host memory: the test cannot trust RAMBLK_TEAR */
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

static void log_clear(struct ramblk *r)
{
    for (size_t i = 0; i < r->logged; i++)
        free(r->log[i].data);
    r->logged = 0;
}

static void log_write(struct ramblk *r, uint64_t sector, const void *buf,
                      size_t len)
{
    if (r->logged == r->log_cap) {
        size_t cap = r->log_cap ? 2 * r->log_cap : 64;
        struct logged *n = realloc(r->log, cap * sizeof *n);
        if (n == NULL) {
            r->log_failed = true;
            return;
        }
        r->log = n;
        r->log_cap = cap;
    }
    uint8_t *copy = malloc(len);
    if (copy == NULL) {
        r->log_failed = true;
        return;
    }
    memcpy(copy, buf, len);
    r->log[r->logged++] = (struct logged){sector, len, copy};
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
            /* The write the power cut interrupted may land in part. */
            if (op == BLKDEV_OP_WRITE && (info->features & BLKDEV_F_FLUSH))
                log_write(r, sector, buf, len);
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
        else
            log_write(r, sector, buf, len);
        r->stats.writes++;
        break;
    case BLKDEV_OP_FLUSH:
        memcpy(r->stable, r->current, bytes_of(r));
        memset(r->dirty, 0, (size_t)info->sectors);
        log_clear(r);
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
    log_clear(r);
    free(r->log);
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
    log_clear(r);
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

/* RAMBLK_TEAR: the logged writes in a random order, each lost, whole,
 * partial or torn, onto stable. */
static void tear(struct ramblk *r, uint64_t (*rng)(void))
{
    uint32_t ss = r->dev.info.sector_size;
    for (size_t i = r->logged; i > 1; i--) {
        size_t j = (size_t)(rng() % i);
        struct logged t = r->log[i - 1];
        r->log[i - 1] = r->log[j];
        r->log[j] = t;
    }
    for (size_t i = 0; i < r->logged; i++) {
        const struct logged *w = &r->log[i];
        size_t n = w->len / ss;
        uint8_t *dst = r->stable + (size_t)w->sector * ss;
        switch (rng() % 4) {
        case 0: /* lost */
            break;
        case 1: /* whole */
            memcpy(dst, w->data, w->len);
            break;
        case 2: /* some of its sectors */
            for (size_t s = 0; s < n; s++)
                if (rng() & 1)
                    memcpy(dst + s * ss, w->data + s * ss, ss);
            break;
        default: { /* torn: a prefix, its last sector cut inside */
            size_t whole = (size_t)(rng() % n);
            size_t part = (size_t)(rng() % ss);
            memcpy(dst, w->data, whole * ss + part);
            break;
        }
        }
    }
}

bool ramblk_log_failed(const struct ramblk *r)
{
    return r->log_failed;
}

void ramblk_reboot(struct ramblk *r, enum ramblk_keep keep,
                   uint64_t (*rng)(void))
{
    uint32_t ss = r->dev.info.sector_size;
    if (keep == RAMBLK_TEAR)
        tear(r, rng);
    for (uint64_t s = 0; s < r->dev.info.sectors; s++) {
        if (!r->dirty[s])
            continue;
        size_t off = (size_t)s * ss;
        if (keep == RAMBLK_KEEP_SOME && (rng() & 1))
            memcpy(r->stable + off, r->current + off, ss);
    }
    memcpy(r->current, r->stable, bytes_of(r));
    memset(r->dirty, 0, (size_t)r->dev.info.sectors);
    log_clear(r);
    r->queued = 0; /* a dead device completes nothing */
    r->cut_armed = false;
    r->dead = false;
}

struct ramblk_stats ramblk_stats(const struct ramblk *r)
{
    return r->stats;
}
