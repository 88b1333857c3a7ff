/*
 * The block cache engine: a struct blkdev over a struct blkdev.
 *
 * Requests are carried out one at a time, in submission order, by a
 * small state machine (step_*) advanced from the cache's poll. A request
 * may have several device requests in flight, and it is finished only
 * when all of them completed; so between two requests nothing of the
 * cache is in flight on the device, which is what makes ordering easy to
 * reason about (a flush sees every earlier write in the cache or on the
 * device, never on the way).
 *
 * Block states. A block is free, or VALID (it holds `sector`), and then
 * possibly DIRTY (newer than the device) and possibly WRITING (a
 * write-back of it is in flight). A DIRTY block is never evicted: room is
 * made by writing it back first, and only a successful write-back of its
 * latest contents (`gen` unchanged since the write-back was submitted)
 * makes it clean. A device copies a write's bytes when it accepts it
 * (<blkdev/blkdev.h>), so a block may be written to again while its
 * write-back is in flight.
 */
#include <blkcache/blkcache.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "policy.h"

#define NONE UINT32_MAX
#define MAX_LOWER_OPS 256u

enum { E_VALID = 1, E_DIRTY = 2, E_WRITING = 4 };

struct entry {
    uint64_t sector;
    uint64_t dirty_since; /* c->now when it became dirty */
    uint32_t gen;         /* bumped by every write into it */
    uint32_t wb_gen;      /* gen when its write-back was submitted */
    uint32_t hnext;       /* next entry in its hash bucket */
    uint8_t flags;
};

enum req_kind { REQ_READ, REQ_WRITE, REQ_FLUSH, REQ_AGED };

struct req {
    struct req *next;
    enum req_kind kind;
    bool internal;  /* blkcache_tick's, outside the queue depth */
    bool issued;    /* nothing more to submit */
    uint8_t phase;
    uint64_t sector;
    uint32_t count; /* sectors */
    uint32_t pos;   /* next sector (read, write), next in c->order (flush) */
    uint32_t norder; /* flush, timer: dirty blocks collected in c->order */
    bool collected;
    uint32_t wpos;  /* write-through: next sector sent to the device */
    uint8_t *buf;   /* read: the caller's; write: the cache's copy */
    blkdev_done_fn done;
    void *arg;
    int status;     /* the first error */
    uint32_t ops;   /* its device requests in flight */
    /* The run of missed sectors being read into the staging buffer. */
    bool run_busy, run_done;
    int run_status;
    uint32_t run_len;
};

enum lop_kind { LOP_READ, LOP_WRITE_BACK, LOP_WRITE_THROUGH, LOP_FLUSH };
enum wb_cause { WB_FLUSH, WB_PRESSURE, WB_TIMER };

/* One device request of the cache: the context of its callback. */
struct lop {
    struct lop *next_free;
    struct blkcache *c;
    struct req *r;
    enum lop_kind kind;
    enum wb_cause cause;
    bool report; /* a failure is the request's error */
    uint64_t sector; /* write-back: the run's first sector */
    uint32_t count;  /* and its blocks */
};

struct blkcache {
    struct blkdev dev; /* first: the blkdev ops cast back to the cache */
    struct blkdev *lower;
    uint32_t ss, blocks, depth;
    uint64_t age_ns, now;
    bool through;
    struct entry *e;
    uint8_t *data; /* blocks * ss */
    uint32_t *bucket, nbuckets;
    uint32_t *free_idx, nfree;
    struct blkcache_repl *repl;
    uint8_t *staging;
    uint32_t staging_sectors;
    uint32_t *order; /* flush, timer: dirty blocks by sector */
    uint32_t *run;   /* pressure: the victim's run, staging_sectors long */
    struct req *head, *tail;           /* waiting or being carried out */
    struct req *done_head, *done_tail; /* finished, callbacks to run */
    uint32_t user_queued;
    struct lop *lops, *lop_free;
    uint32_t inflight;
    bool kick; /* progress possible without waiting for the device */
    uint32_t waiters; /* threads parked in cache_wait */
    struct blkcache_stats st;
};

static uint8_t *block_data(const struct blkcache *c, uint32_t idx)
{
    return c->data + (size_t)idx * c->ss;
}

/* ---- the sector -> block index ----------------------------------------- */

static uint32_t bucket_of(const struct blkcache *c, uint64_t sector)
{
    return (uint32_t)((sector * UINT64_C(0x9e3779b97f4a7c15)) >> 32)
           & (c->nbuckets - 1);
}

static uint32_t lookup(const struct blkcache *c, uint64_t sector)
{
    for (uint32_t i = c->bucket[bucket_of(c, sector)]; i != NONE;
         i = c->e[i].hnext)
        if (c->e[i].sector == sector)
            return i;
    return NONE;
}

static void hash_insert(struct blkcache *c, uint32_t idx)
{
    uint32_t b = bucket_of(c, c->e[idx].sector);
    c->e[idx].hnext = c->bucket[b];
    c->bucket[b] = idx;
}

static void hash_remove(struct blkcache *c, uint32_t idx)
{
    uint32_t *link = &c->bucket[bucket_of(c, c->e[idx].sector)];
    while (*link != idx)
        link = &c->e[*link].hnext;
    *link = c->e[idx].hnext;
}

/* A clean, idle block leaves the cache. */
static void release(struct blkcache *c, uint32_t idx, bool evicted)
{
    struct entry *e = &c->e[idx];
    if (evicted) {
        blkcache_repl_evict(c->repl, idx, e->sector);
        c->st.evictions++;
    } else {
        blkcache_repl_drop(c->repl, idx);
    }
    hash_remove(c, idx);
    e->flags = 0;
    c->free_idx[c->nfree++] = idx;
    c->st.resident--;
}

/* ---- device requests ---------------------------------------------------- */

static void lower_done(void *arg, int status)
{
    struct lop *l = arg;
    struct blkcache *c = l->c;
    struct req *r = l->r;
    c->inflight--;
    r->ops--;
    c->kick = true;
    if (status < 0)
        c->st.errors++;
    switch (l->kind) {
    case LOP_READ:
        r->run_done = true;
        r->run_status = status;
        break;
    case LOP_WRITE_BACK:
        /* A block being written back is never evicted or dropped, so
         * each of the run's sectors is still where it was. */
        for (uint32_t i = 0; i < l->count; i++) {
            struct entry *e = &c->e[lookup(c, l->sector + i)];
            e->flags &= (uint8_t)~E_WRITING;
            if (status != 0)
                continue;
            c->st.write_backs++;
            if (l->cause == WB_FLUSH)
                c->st.write_backs_flush++;
            else if (l->cause == WB_PRESSURE)
                c->st.write_backs_pressure++;
            else
                c->st.write_backs_timer++;
            if (e->gen == e->wb_gen) {
                e->flags &= (uint8_t)~E_DIRTY;
                c->st.dirty--;
            }
        }
        if (status == 0)
            c->st.write_back_requests++;
        break;
    case LOP_WRITE_THROUGH:
        break;
    case LOP_FLUSH:
        if (status == 0)
            c->st.flushes++;
        break;
    }
    if (status < 0 && l->report && r->status == 0)
        r->status = status;
    l->next_free = c->lop_free;
    c->lop_free = l;
}

static int lower_submit(struct blkcache *c, struct req *r, enum lop_kind kind,
                        enum blkdev_op op, uint64_t sector, void *buf,
                        size_t len, struct lop **out)
{
    struct lop *l = c->lop_free;
    if (l == NULL)
        return -EAGAIN;
    l->c = c;
    l->r = r;
    l->kind = kind;
    l->report = true;
    int rc = blkdev_submit(c->lower, op, sector, buf, len, lower_done, l);
    if (rc != 0)
        return rc;
    c->lop_free = l->next_free;
    c->inflight++;
    r->ops++;
    if (out != NULL)
        *out = l;
    return 0;
}

/*
 * Write back `n` blocks holding consecutive sectors, idx[0] first: one
 * block from its own memory, a run through the staging buffer (free
 * outside reads; the device copies a write's bytes when it accepts it).
 * A block may be written again meanwhile; `gen` then differs from
 * `wb_gen` and the block stays dirty.
 */
static int write_back(struct blkcache *c, struct req *r, const uint32_t *idx,
                      uint32_t n, enum wb_cause cause, bool report)
{
    uint8_t *data = block_data(c, idx[0]);
    if (n > 1) {
        data = c->staging;
        for (uint32_t i = 0; i < n; i++)
            memcpy(data + (size_t)i * c->ss, block_data(c, idx[i]), c->ss);
    }
    struct lop *l;
    int rc = lower_submit(c, r, LOP_WRITE_BACK, BLKDEV_OP_WRITE,
                          c->e[idx[0]].sector, data, (size_t)n * c->ss, &l);
    if (rc != 0)
        return rc;
    l->sector = c->e[idx[0]].sector;
    l->count = n;
    l->cause = cause;
    l->report = report;
    for (uint32_t i = 0; i < n; i++) {
        c->e[idx[i]].flags |= E_WRITING;
        c->e[idx[i]].wb_gen = c->e[idx[i]].gen;
    }
    return 0;
}

/* A block that a write-back may take now: dirty and not being written. */
static bool idle_dirty(const struct blkcache *c, uint32_t idx)
{
    return idx != NONE && (c->e[idx].flags & (E_DIRTY | E_WRITING)) == E_DIRTY;
}

/*
 * The run a pressure write-back of `idx` (idle and dirty) takes: the
 * idle dirty blocks holding the sectors just below and just above its
 * own, without a gap, at most one device request (staging_sectors). In
 * c->run, lowest sector first; returns its length.
 */
static uint32_t pressure_run(struct blkcache *c, uint32_t idx)
{
    uint64_t s = c->e[idx].sector;
    uint32_t below = 0;
    while (below + 1 < c->staging_sectors && below < s
           && idle_dirty(c, lookup(c, s - below - 1)))
        below++;
    uint32_t n = 0;
    for (uint32_t k = below; k > 0; k--)
        c->run[n++] = lookup(c, s - k);
    c->run[n++] = idx;
    while (n < c->staging_sectors) {
        uint32_t next = lookup(c, s + (n - below));
        if (!idle_dirty(c, next))
            break;
        c->run[n++] = next;
    }
    return n;
}

/*
 * A block for `sector` (not resident): a free one, or the policy's
 * victim if it is clean and idle. A dirty victim is written back first
 * (pressure), together with the dirty blocks next to it on the device
 * (one request, pressure_run): NONE now, and the caller tries again
 * once that completed. NONE with *rc set when the write-back could not
 * be submitted.
 */
static uint32_t take_block(struct blkcache *c, struct req *r, uint64_t sector,
                           bool report, int *rc)
{
    uint32_t idx;
    if (c->nfree > 0) {
        idx = c->free_idx[--c->nfree];
    } else {
        idx = blkcache_repl_victim(c->repl);
        struct entry *v = &c->e[idx];
        if (v->flags & E_WRITING)
            return NONE;
        if (v->flags & E_DIRTY) {
            *rc = write_back(c, r, c->run, pressure_run(c, idx),
                             WB_PRESSURE, report);
            return NONE;
        }
        release(c, idx, true);
        c->nfree--; /* release pushed it; it is ours */
    }
    struct entry *e = &c->e[idx];
    e->sector = sector;
    e->flags = E_VALID;
    e->gen = 0;
    hash_insert(c, idx);
    blkcache_repl_insert(c->repl, idx, sector);
    c->st.resident++;
    return idx;
}

/* ---- the requests' state machines ---------------------------------------- */

/* Each returns true once it has nothing more to submit (or failed). */

static bool step_read(struct blkcache *c, struct req *r)
{
    for (;;) {
        if (r->run_busy) {
            if (!r->run_done)
                return false;
            r->run_busy = false;
            if (r->run_status < 0) {
                r->status = r->run_status;
                return true;
            }
            /* Out of the staging buffer first: a pressure write-back
             * below may use it for its run. */
            memcpy(r->buf + (size_t)r->pos * c->ss, c->staging,
                   (size_t)r->run_len * c->ss);
            for (uint32_t i = 0; i < r->run_len; i++) {
                const uint8_t *src = r->buf + (size_t)(r->pos + i) * c->ss;
                /* Keep it if a block is to be had now; a read never waits
                 * for room (a dirty victim's write-back is only started,
                 * and its failure is a later flush's business). */
                int rc = 0;
                uint32_t idx =
                    take_block(c, r, r->sector + r->pos + i, false, &rc);
                if (idx != NONE)
                    memcpy(block_data(c, idx), src, c->ss);
            }
            c->st.misses += r->run_len;
            r->pos += r->run_len;
        }
        if (r->pos == r->count)
            return true;
        uint64_t s = r->sector + r->pos;
        uint32_t idx = lookup(c, s);
        if (idx != NONE) {
            memcpy(r->buf + (size_t)r->pos * c->ss, block_data(c, idx),
                   c->ss);
            blkcache_repl_touch(c->repl, idx);
            c->st.hits++;
            r->pos++;
            continue;
        }
        uint32_t n = 1;
        while (r->pos + n < r->count && n < c->staging_sectors
               && lookup(c, s + n) == NONE)
            n++;
        int rc = lower_submit(c, r, LOP_READ, BLKDEV_OP_READ, s, c->staging,
                              (size_t)n * c->ss, NULL);
        if (rc == -EAGAIN)
            return false;
        if (rc < 0) {
            r->status = rc;
            return true;
        }
        r->run_busy = true;
        r->run_done = false;
        r->run_len = n;
        return false;
    }
}

static void dirty(struct blkcache *c, uint32_t idx)
{
    struct entry *e = &c->e[idx];
    e->gen++;
    if (!(e->flags & E_DIRTY)) {
        e->flags |= E_DIRTY;
        e->dirty_since = c->now;
        c->st.dirty++;
    }
}

static bool step_write_back(struct blkcache *c, struct req *r)
{
    while (r->pos < r->count) {
        uint64_t s = r->sector + r->pos;
        uint32_t idx = lookup(c, s);
        if (idx == NONE) {
            int rc = 0;
            idx = take_block(c, r, s, true, &rc);
            if (idx == NONE) {
                if (rc < 0 && rc != -EAGAIN) {
                    r->status = rc;
                    return true;
                }
                return false; /* wait for room */
            }
        } else {
            blkcache_repl_touch(c->repl, idx);
        }
        memcpy(block_data(c, idx), r->buf + (size_t)r->pos * c->ss, c->ss);
        dirty(c, idx);
        r->pos++;
    }
    return true;
}

static bool step_write_through(struct blkcache *c, struct req *r)
{
    if (r->phase == 0) {
        /* The cache's copy first (nothing else runs before this request
         * finished, and a failure drops these blocks again). */
        for (; r->pos < r->count; r->pos++) {
            uint64_t s = r->sector + r->pos;
            uint32_t idx = lookup(c, s);
            if (idx != NONE) {
                blkcache_repl_touch(c->repl, idx);
            } else {
                int rc = 0;
                idx = take_block(c, r, s, true, &rc);
            }
            if (idx != NONE)
                memcpy(block_data(c, idx), r->buf + (size_t)r->pos * c->ss,
                       c->ss);
        }
        r->phase = 1;
    }
    while (r->wpos < r->count) {
        uint32_t n = r->count - r->wpos;
        if (n > c->staging_sectors)
            n = c->staging_sectors;
        int rc = lower_submit(c, r, LOP_WRITE_THROUGH, BLKDEV_OP_WRITE,
                              r->sector + r->wpos,
                              r->buf + (size_t)r->wpos * c->ss,
                              (size_t)n * c->ss, NULL);
        if (rc == -EAGAIN)
            return false;
        if (rc < 0) {
            r->status = rc;
            return true;
        }
        r->wpos += n;
    }
    return true;
}

/* Heap sort of block indices by sector (no qsort in the image's libc). */
static bool sector_less(const struct blkcache *c, uint32_t a, uint32_t b)
{
    return c->e[a].sector < c->e[b].sector;
}

static void sift_down(const struct blkcache *c, uint32_t *v, uint32_t i,
                      uint32_t n)
{
    for (;;) {
        uint32_t big = i, l = 2 * i + 1, r = 2 * i + 2;
        if (l < n && sector_less(c, v[big], v[l]))
            big = l;
        if (r < n && sector_less(c, v[big], v[r]))
            big = r;
        if (big == i)
            return;
        uint32_t t = v[i];
        v[i] = v[big];
        v[big] = t;
        i = big;
    }
}

static void sort_by_sector(const struct blkcache *c, uint32_t *v, uint32_t n)
{
    for (uint32_t i = n / 2; i-- > 0;)
        sift_down(c, v, i, n);
    for (uint32_t end = n; end-- > 1;) {
        uint32_t t = v[0];
        v[0] = v[end];
        v[end] = t;
        sift_down(c, v, 0, end);
    }
}

/*
 * Write back the dirty blocks (for the timer: those dirty since
 * `older_than` or before) in sector order, each run of consecutive
 * sectors in one device request. True once all are submitted.
 */
static bool write_back_all(struct blkcache *c, struct req *r,
                           enum wb_cause cause, uint64_t older_than)
{
    if (!r->collected) {
        uint32_t n = 0;
        for (uint32_t i = 0; i < c->blocks; i++) {
            const struct entry *e = &c->e[i];
            if ((e->flags & (E_DIRTY | E_WRITING)) != E_DIRTY)
                continue;
            if (cause == WB_TIMER && e->dirty_since > older_than)
                continue;
            c->order[n++] = i;
        }
        sort_by_sector(c, c->order, n);
        r->norder = n;
        r->pos = 0;
        r->collected = true;
    }
    while (r->pos < r->norder) {
        const uint32_t *run = c->order + r->pos;
        uint32_t n = 1;
        while (r->pos + n < r->norder && n < c->staging_sectors
               && c->e[run[n]].sector == c->e[run[0]].sector + n)
            n++;
        int rc = write_back(c, r, run, n, cause, true);
        if (rc == -EAGAIN)
            return false;
        if (rc < 0) {
            r->status = rc;
            return true;
        }
        r->pos += n;
    }
    return true;
}

static bool step_flush(struct blkcache *c, struct req *r)
{
    if (r->phase == 0) {
        if (!write_back_all(c, r, WB_FLUSH, 0))
            return false;
        r->phase = 1;
    }
    /* Every write-back completed with 0 before the device's flush. */
    if (r->status < 0 || r->ops > 0)
        return r->status < 0;
    int rc = lower_submit(c, r, LOP_FLUSH, BLKDEV_OP_FLUSH, 0, NULL, 0, NULL);
    if (rc == -EAGAIN)
        return false;
    if (rc < 0)
        r->status = rc;
    return true;
}

static bool step_aged(struct blkcache *c, struct req *r)
{
    uint64_t older_than = c->now >= c->age_ns ? c->now - c->age_ns : 0;
    if (c->now < c->age_ns)
        return true; /* nothing can be that old yet */
    return write_back_all(c, r, WB_TIMER, older_than);
}

/* Advance r; true when it is finished (and nothing of it in flight). */
static bool step(struct blkcache *c, struct req *r)
{
    if (!r->issued && r->status == 0) {
        switch (r->kind) {
        case REQ_READ:
            r->issued = step_read(c, r);
            break;
        case REQ_WRITE:
            r->issued = c->through ? step_write_through(c, r)
                                   : step_write_back(c, r);
            break;
        case REQ_FLUSH:
            r->issued = step_flush(c, r);
            break;
        case REQ_AGED:
            r->issued = step_aged(c, r);
            break;
        }
    }
    return (r->issued || r->status < 0) && r->ops == 0;
}

static void finish(struct blkcache *c, struct req *r)
{
    if (r->kind == REQ_WRITE && c->through && r->status < 0) {
        /* The device may not have it: forget the cache's copy. */
        for (uint32_t i = 0; i < r->count; i++) {
            uint32_t idx = lookup(c, r->sector + i);
            if (idx != NONE)
                release(c, idx, false);
        }
    }
    r->next = NULL;
    if (c->done_tail != NULL)
        c->done_tail->next = r;
    else
        c->done_head = r;
    c->done_tail = r;
}

static void advance(struct blkcache *c)
{
    c->kick = false;
    while (c->head != NULL && step(c, c->head)) {
        struct req *r = c->head;
        c->head = r->next;
        if (c->head == NULL)
            c->tail = NULL;
        finish(c, r);
    }
}

static void free_req(struct req *r)
{
    if (r->kind == REQ_WRITE)
        free(r->buf);
    free(r);
}

/* ---- the blkdev operations -------------------------------------------- */

static int cache_submit(struct blkdev *dev, enum blkdev_op op,
                        uint64_t sector, void *buf, size_t len,
                        blkdev_done_fn done, void *arg)
{
    struct blkcache *c = (struct blkcache *)dev;
    const struct blkdev_info *in = &dev->info;
    if (op != BLKDEV_OP_READ && op != BLKDEV_OP_WRITE && op != BLKDEV_OP_FLUSH)
        return -EINVAL;
    if (op != BLKDEV_OP_FLUSH) {
        if (buf == NULL || (uintptr_t)buf % BLKDEV_ALIGN != 0 || len == 0
            || len % c->ss != 0)
            return -EINVAL;
        if (len > in->max_request)
            return -EMSGSIZE;
        if (sector >= in->sectors || len / c->ss > in->sectors - sector)
            return -ERANGE;
        if (op == BLKDEV_OP_WRITE && in->readonly)
            return -EROFS;
    }
    if (c->user_queued >= c->depth)
        return -EAGAIN;
    struct req *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return -ENOMEM;
    r->kind = op == BLKDEV_OP_READ    ? REQ_READ
              : op == BLKDEV_OP_WRITE ? REQ_WRITE
                                      : REQ_FLUSH;
    r->sector = sector;
    r->count = (uint32_t)(len / c->ss);
    r->buf = buf;
    if (op == BLKDEV_OP_WRITE) {
        /* The caller's buffer is theirs again when submit returns. */
        r->buf = aligned_alloc(BLKDEV_ALIGN, len);
        if (r->buf == NULL) {
            free(r);
            return -ENOMEM;
        }
        memcpy(r->buf, buf, len);
    }
    r->done = done;
    r->arg = arg;
    c->user_queued++;
    if (c->tail != NULL)
        c->tail->next = r;
    else
        c->head = r;
    c->tail = r;
    c->kick = true;
    return 0;
}

static int cache_poll(struct blkdev *dev)
{
    struct blkcache *c = (struct blkcache *)dev;
    int lrc = blkdev_poll(c->lower);
    advance(c);
    int ran = 0;
    while (c->done_head != NULL) {
        struct req *r = c->done_head;
        c->done_head = r->next;
        if (c->done_head == NULL)
            c->done_tail = NULL;
        if (!r->internal)
            c->user_queued--;
        blkdev_done_fn done = r->done;
        void *arg = r->arg;
        int status = r->status;
        free_req(r);
        done(arg, status);
        ran++;
    }
    return ran > 0 || lrc >= 0 ? ran : lrc;
}

static int cache_wait(struct blkdev *dev, uint64_t deadline_ns)
{
    struct blkcache *c = (struct blkcache *)dev;
    if (c->kick || c->done_head != NULL || c->head == NULL)
        return 0; /* the next poll has something to do */
    c->waiters++;
    int rc = blkdev_wait(c->lower, deadline_ns);
    c->waiters--;
    return rc;
}

static const struct blkdev_ops cache_ops = {
    .submit = cache_submit,
    .poll = cache_poll,
    .wait = cache_wait,
};

/* ---- the public calls ---------------------------------------------------- */

int blkcache_open(struct blkdev *lower, const struct blkcache_config *config,
                  struct blkcache **out)
{
    static const struct blkcache_config defaults = {0};
    if (config == NULL)
        config = &defaults;
    if (lower == NULL || out == NULL)
        return -EINVAL;
    const struct blkdev_info *li = blkdev_info(lower);
    uint32_t ss = li->sector_size;
    if (ss < 512 || ss > 4096 || (ss & (ss - 1)) != 0 || li->sectors == 0
        || li->queue_depth == 0 || li->max_request < ss)
        return -EINVAL;
    uint32_t blocks = config->blocks ? config->blocks : BLKCACHE_DEFAULT_BLOCKS;
    if (blocks > (UINT32_MAX >> 2) || (uint64_t)blocks * ss > SIZE_MAX / 2)
        return -EINVAL;

    struct blkcache *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return -ENOMEM;
    c->lower = lower;
    c->ss = ss;
    c->blocks = blocks;
    c->depth = config->queue_depth ? config->queue_depth
                                   : BLKCACHE_DEFAULT_DEPTH;
    c->age_ns = config->write_back_age_ns ? config->write_back_age_ns
                                          : BLKCACHE_DEFAULT_AGE_NS;
    c->through = blkcache_policy_write_through();
    c->staging_sectors = li->max_request / ss;
    c->nbuckets = 1;
    while (c->nbuckets < blocks)
        c->nbuckets <<= 1;
    uint32_t nlops = li->queue_depth < MAX_LOWER_OPS ? li->queue_depth
                                                     : MAX_LOWER_OPS;
    c->e = calloc(blocks, sizeof(*c->e));
    c->data = aligned_alloc(4096, ((size_t)blocks * ss + 4095) & ~(size_t)4095);
    c->bucket = malloc(c->nbuckets * sizeof(uint32_t));
    c->free_idx = malloc(blocks * sizeof(uint32_t));
    c->staging = aligned_alloc(4096, ((size_t)c->staging_sectors * ss + 4095)
                                         & ~(size_t)4095);
    c->lops = calloc(nlops, sizeof(*c->lops));
    c->order = malloc(blocks * sizeof(uint32_t));
    c->run = malloc(c->staging_sectors * sizeof(uint32_t));
    c->repl = blkcache_repl_create(blocks);
    if (c->e == NULL || c->data == NULL || c->bucket == NULL
        || c->free_idx == NULL || c->staging == NULL || c->lops == NULL
        || c->order == NULL || c->run == NULL || c->repl == NULL) {
        blkcache_destroy(c);
        return -ENOMEM;
    }
    for (uint32_t b = 0; b < c->nbuckets; b++)
        c->bucket[b] = NONE;
    for (uint32_t i = 0; i < blocks; i++)
        c->free_idx[i] = blocks - 1 - i;
    c->nfree = blocks;
    for (uint32_t i = 0; i < nlops; i++) {
        c->lops[i].next_free = c->lop_free;
        c->lop_free = &c->lops[i];
    }
    c->dev.ops = &cache_ops;
    c->dev.name = "blkcache";
    c->dev.info = *li;
    c->dev.info.queue_depth = c->depth;
    c->dev.info.max_request = c->staging_sectors * ss;
    if (!c->through)
        c->dev.info.features |= BLKDEV_F_FLUSH;
    *out = c;
    return 0;
}

struct blkdev *blkcache_blkdev(struct blkcache *c)
{
    return &c->dev;
}

struct waiter {
    bool done;
    int status;
};

static void on_done(void *arg, int status)
{
    struct waiter *w = arg;
    w->done = true;
    w->status = status;
}

int blkcache_tick_submit(struct blkcache *c, uint64_t now_ns,
                         blkdev_done_fn done, void *arg)
{
    if (now_ns > c->now)
        c->now = now_ns;
    if (c->through || c->st.dirty == 0)
        return 1;
    struct req *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return -ENOMEM;
    r->kind = REQ_AGED;
    r->internal = true;
    r->done = done;
    r->arg = arg;
    if (c->tail != NULL)
        c->tail->next = r;
    else
        c->head = r;
    c->tail = r;
    c->kick = true;
    return 0;
}

uint32_t blkcache_waiters(const struct blkcache *c)
{
    return c->waiters;
}

int blkcache_tick(struct blkcache *c, uint64_t now_ns)
{
    struct waiter w = {.done = false};
    int rc = blkcache_tick_submit(c, now_ns, on_done, &w);
    if (rc != 0)
        return rc > 0 ? 0 : rc;
    /* As blkdev_read does: `w` is on this stack, so return only once
     * the request finished; a broken device fails it in the next poll. */
    while (!w.done) {
        (void)blkdev_poll(&c->dev);
        if (!w.done)
            (void)blkdev_wait(&c->dev, 0);
    }
    return w.status;
}

void blkcache_get_stats(const struct blkcache *c, struct blkcache_stats *out)
{
    *out = c->st;
}

int blkcache_close(struct blkcache *c)
{
    if (c->head != NULL || c->done_head != NULL)
        return -EAGAIN;
    int rc = blkdev_flush(&c->dev);
    if (rc != 0)
        return rc;
    blkcache_destroy(c);
    return 0;
}

void blkcache_destroy(struct blkcache *c)
{
    if (c == NULL)
        return;
    while (c->head != NULL) {
        struct req *r = c->head;
        c->head = r->next;
        free_req(r);
    }
    while (c->done_head != NULL) {
        struct req *r = c->done_head;
        c->done_head = r->next;
        free_req(r);
    }
    blkcache_repl_destroy(c->repl);
    free(c->e);
    free(c->data);
    free(c->bucket);
    free(c->free_idx);
    free(c->staging);
    free(c->lops);
    free(c->order);
    free(c->run);
    free(c);
}
