/*
 * The file API of <fs/fs.h> over littlefs, and littlefs's block device
 * callbacks over <blkdev/blkdev.h>.
 *
 * Geometry: littlefs reads and programs whole sectors (read_size =
 * prog_size = the device's sector size) at sector-aligned offsets inside
 * a block of block_size bytes, so every callback is one or more whole
 * blkdev requests. A block device needs no erase (a write replaces a
 * sector whatever it held, and littlefs checksums what it takes for
 * erased space), so erase does nothing and prog is a write; sync is a
 * device flush, which is what makes fs_fsync durable.
 *
 * Memory: everything littlefs needs (its caches, the lookahead bitmap,
 * one cache per descriptor, a bounce buffer) is allocated at mount and
 * handed to it (LFS_NO_MALLOC); after fs_mount returns nothing allocates.
 *
 * Every rule littlefs asserts on (flags, access modes, configuration) is
 * checked here first and answered with an errno.
 */
#include <fs/fs.h>

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lfs.h"

enum {
    DEFAULT_BLOCK_SIZE = 4096,
    DEFAULT_CACHE_MAX = 4096,
    DEFAULT_LOOKAHEAD_MAX = 512,
    DEFAULT_OPEN_MAX = 8,
    OPEN_MAX_LIMIT = 1024,
    BOUNCE_MAX = 16384,
    MIN_BLOCKS = 4,
    LFS_MIN_BLOCK = 128,
    PROBE_MAX_BLOCK = 1u << 20,
    PATH_DEPTH_MAX = 128,
};

enum slot_kind {
    SLOT_FREE,
    SLOT_FILE,
    SLOT_DIR,
};

struct slot {
    enum slot_kind kind;
    int flags; /* FS_O_* of a file */
    union {
        lfs_file_t file;
        lfs_dir_t dir;
    } u;
    struct lfs_file_config fcfg;
};

struct fs {
    struct blkdev *dev;
    uint32_t sector_size;
    uint64_t dev_bytes;
    uint32_t max_request; /* whole sectors */
    bool readonly;
    /* The device failed a request: littlefs's caches may now disagree
     * with the device (it does not recover from a failed program), so
     * every later call fails with -EIO until the volume is unmounted and
     * mounted again. */
    bool failed;

    lfs_t lfs;
    struct lfs_config cfg;

    uint8_t *read_buffer;
    uint8_t *prog_buffer;
    uint8_t *lookahead_buffer;
    uint8_t *bounce;
    uint32_t bounce_size;
    uint32_t cache_alloc; /* bytes of each cache buffer allocated */

    uint32_t open_max;
    struct slot *slots;
    uint8_t *file_buffers; /* open_max * cache_alloc */
};

/* ---- littlefs's reports --------------------------------------------- */

_Noreturn void fs_lfs_assert_failed(const char *expr, const char *file,
                                    int line)
{
    printf("littlefs: assertion \"%s\" failed at %s:%d\n", expr, file, line);
#if __STDC_HOSTED__
    fflush(stdout); /* a host test's buffered output would die with it */
#endif
    abort();
}

void fs_lfs_log(const char *level, const char *file, int line,
                const char *fmt, ...)
{
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    printf("littlefs: %s: %s (%s:%d)\n", level, text, file, line);
}

/* ---- the block device ----------------------------------------------- */

static uint32_t min32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

/* Moves `size` bytes at byte `pos` (both whole sectors) between the
 * device and `buf`, through the bounce buffer when `buf` is not aligned
 * as the device wants. */
static int transfer(struct fs *fs, enum blkdev_op op, uint64_t pos,
                    uint8_t *buf, uint32_t size)
{
    if (pos % fs->sector_size != 0 || size % fs->sector_size != 0)
        return -EIO; /* littlefs keeps to read_size/prog_size: a bug */
    while (size > 0) {
        bool direct = ((uintptr_t)buf % BLKDEV_ALIGN) == 0;
        uint32_t n = min32(size, direct ? fs->max_request : fs->bounce_size);
        uint64_t sector = pos / fs->sector_size;
        int rc;
        if (op == BLKDEV_OP_READ) {
            rc = blkdev_read(fs->dev, sector, direct ? buf : fs->bounce, n);
            if (rc == 0 && !direct)
                memcpy(buf, fs->bounce, n);
        } else {
            if (!direct)
                memcpy(fs->bounce, buf, n);
            rc = blkdev_write(fs->dev, sector, direct ? buf : fs->bounce, n);
        }
        if (rc != 0) {
            fs->failed = true;
            return rc < 0 ? rc : -EIO;
        }
        buf += n;
        pos += n;
        size -= n;
    }
    return 0;
}

static int bd_read(const struct lfs_config *c, lfs_block_t block,
                   lfs_off_t off, void *buffer, lfs_size_t size)
{
    struct fs *fs = c->context;
    uint64_t pos = (uint64_t)block * c->block_size + off;
    /* Past the device: while fs_mount tries block sizes, a guess can
     * point there; it is "no volume here", not a device failure. */
    if (pos + size > fs->dev_bytes)
        return LFS_ERR_CORRUPT;
    return transfer(fs, BLKDEV_OP_READ, pos, buffer, size);
}

static int bd_prog(const struct lfs_config *c, lfs_block_t block,
                   lfs_off_t off, const void *buffer, lfs_size_t size)
{
    struct fs *fs = c->context;
    uint64_t pos = (uint64_t)block * c->block_size + off;
    if (pos + size > fs->dev_bytes)
        return -EIO;
    /* transfer() only reads from the buffer of a write. */
    return transfer(fs, BLKDEV_OP_WRITE, pos, (uint8_t *)(uintptr_t)buffer,
                    size);
}

static int bd_erase(const struct lfs_config *c, lfs_block_t block)
{
    (void)c;
    (void)block;
    return 0;
}

static int bd_sync(const struct lfs_config *c)
{
    struct fs *fs = c->context;
    int rc = blkdev_flush(fs->dev);
    if (rc != 0)
        fs->failed = true;
    return rc < 0 ? rc : 0;
}

/* ---- configuration ---------------------------------------------------- */

/* littlefs's error codes are Linux's errno values but for CORRUPT. */
static int errno_of(int err)
{
    return err == LFS_ERR_CORRUPT ? -EIO : err;
}

static int config_error(const struct fs *fs, const char *what)
{
    printf("fs: %s: %s\n", fs->dev->name ? fs->dev->name : "blkdev", what);
    return -EINVAL;
}

/* The largest multiple of the sector size, at most `max`, that divides
 * the block size (the sector size always does). */
static uint32_t default_cache(uint32_t block_size, uint32_t sector_size,
                              uint32_t max)
{
    uint32_t c = min32(block_size, max);
    c -= c % sector_size;
    while (c > sector_size && block_size % c != 0)
        c -= sector_size;
    return c < sector_size ? sector_size : c;
}

/* Fills fs->cfg for a volume of `block_size` (and `block_count`, 0 at
 * mount: littlefs takes the volume's), from `user` where it says so.
 * -EINVAL with a console line for a value littlefs could not use. */
static int make_config(struct fs *fs, const struct fs_config *user,
                       uint32_t block_size, uint32_t block_count)
{
    char why[160];
    uint32_t ss = fs->sector_size;

    if (block_size < LFS_MIN_BLOCK || block_size % ss != 0) {
        snprintf(why, sizeof why,
                 "block_size %u must be a multiple of the sector size %u "
                 "and at least %u",
                 block_size, ss, LFS_MIN_BLOCK);
        return config_error(fs, why);
    }
    uint32_t cache = user && user->cache_size
                         ? user->cache_size
                         : default_cache(block_size, ss, DEFAULT_CACHE_MAX);
    if (cache % ss != 0 || block_size % cache != 0) {
        snprintf(why, sizeof why,
                 "cache_size %u must be a multiple of the sector size %u "
                 "dividing block_size %u",
                 cache, ss, block_size);
        return config_error(fs, why);
    }
    if (cache > fs->cache_alloc) {
        snprintf(why, sizeof why, "cache_size %u is above the %u allocated",
                 cache, fs->cache_alloc);
        return config_error(fs, why);
    }
    uint64_t blocks = block_count ? block_count : fs->dev_bytes / block_size;
    uint32_t lookahead = user && user->lookahead_size ? user->lookahead_size
                                                      : 0;
    if (lookahead == 0) {
        uint64_t want = (blocks + 63) / 64 * 8;
        lookahead = want > DEFAULT_LOOKAHEAD_MAX ? DEFAULT_LOOKAHEAD_MAX
                                                 : (uint32_t)want;
    }
    if (lookahead % 8 != 0 || lookahead > DEFAULT_LOOKAHEAD_MAX * 16) {
        snprintf(why, sizeof why,
                 "lookahead_size %u must be a multiple of 8, at most %u",
                 lookahead, DEFAULT_LOOKAHEAD_MAX * 16);
        return config_error(fs, why);
    }

    fs->cfg = (struct lfs_config){
        .context = fs,
        .read = bd_read,
        .prog = bd_prog,
        .erase = bd_erase,
        .sync = bd_sync,
        .read_size = ss,
        .prog_size = ss,
        .block_size = block_size,
        .block_count = block_count,
        .block_cycles = user && user->block_cycles ? user->block_cycles : -1,
        .cache_size = cache,
        .lookahead_size = lookahead,
        .read_buffer = fs->read_buffer,
        .prog_buffer = fs->prog_buffer,
        .lookahead_buffer = fs->lookahead_buffer,
    };
    return 0;
}

static void *alloc_aligned(size_t size)
{
    size = (size + BLKDEV_ALIGN - 1) / BLKDEV_ALIGN * BLKDEV_ALIGN;
    void *p = aligned_alloc(BLKDEV_ALIGN, size);
    if (p != NULL)
        memset(p, 0, size);
    return p;
}

static void fs_free(struct fs *fs)
{
    if (fs == NULL)
        return;
    free(fs->read_buffer);
    free(fs->prog_buffer);
    free(fs->lookahead_buffer);
    free(fs->bounce);
    free(fs->file_buffers);
    free(fs->slots);
    free(fs);
}

/* A handle on `dev` with the buffers for `user`'s sizes; open_max
 * descriptors when `with_slots`. */
static int fs_new(struct blkdev *dev, const struct fs_config *user,
                  bool with_slots, struct fs **out)
{
    const struct blkdev_info *info = blkdev_info(dev);
    if (info->sector_size < 512 || info->sector_size > 4096 ||
        (info->sector_size & (info->sector_size - 1)) != 0 ||
        info->max_request < info->sector_size)
        return -EINVAL; /* not what <blkdev/blkdev.h> promises */
    struct fs *fs = calloc(1, sizeof *fs);
    if (fs == NULL)
        return -ENOMEM;
    fs->dev = dev;
    fs->sector_size = info->sector_size;
    fs->dev_bytes = info->sectors * (uint64_t)info->sector_size;
    fs->readonly = info->readonly;
    fs->max_request = info->max_request - info->max_request % info->sector_size;
    fs->cache_alloc = DEFAULT_CACHE_MAX > fs->sector_size ? DEFAULT_CACHE_MAX
                                                          : fs->sector_size;
    if (user && user->cache_size > fs->cache_alloc)
        fs->cache_alloc = user->cache_size;
    if (fs->cache_alloc > (1u << 24)) {
        fs_free(fs);
        return -EINVAL;
    }
    uint32_t lookahead = user && user->lookahead_size ? user->lookahead_size
                                                      : DEFAULT_LOOKAHEAD_MAX;
    if (lookahead > DEFAULT_LOOKAHEAD_MAX * 16)
        lookahead = DEFAULT_LOOKAHEAD_MAX * 16; /* make_config refuses it */
    fs->bounce_size = min32(fs->max_request, BOUNCE_MAX);
    if (fs->bounce_size < fs->sector_size)
        fs->bounce_size = fs->sector_size;
    fs->read_buffer = alloc_aligned(fs->cache_alloc);
    fs->prog_buffer = alloc_aligned(fs->cache_alloc);
    fs->lookahead_buffer = alloc_aligned(lookahead);
    fs->bounce = alloc_aligned(fs->bounce_size);
    if (!fs->read_buffer || !fs->prog_buffer || !fs->lookahead_buffer ||
        !fs->bounce) {
        fs_free(fs);
        return -ENOMEM;
    }
    if (with_slots) {
        fs->open_max = user && user->open_max ? user->open_max
                                              : DEFAULT_OPEN_MAX;
        if (fs->open_max > OPEN_MAX_LIMIT) {
            char why[80];
            snprintf(why, sizeof why, "open_max %u is above %u",
                     fs->open_max, OPEN_MAX_LIMIT);
            int rc = config_error(fs, why);
            fs_free(fs);
            return rc;
        }
        fs->slots = calloc(fs->open_max, sizeof *fs->slots);
        fs->file_buffers = alloc_aligned((size_t)fs->open_max * fs->cache_alloc);
        if (!fs->slots || !fs->file_buffers) {
            fs_free(fs);
            return -ENOMEM;
        }
    }
    *out = fs;
    return 0;
}

/* ---- format, mount, unmount ----------------------------------------- */

int fs_format(struct blkdev *dev, const struct fs_config *cfg)
{
    struct fs *fs;
    int rc = fs_new(dev, cfg, false, &fs);
    if (rc != 0)
        return rc;
    if (fs->readonly) {
        fs_free(fs);
        return -EROFS;
    }
    uint32_t block_size = cfg && cfg->block_size ? cfg->block_size
                          : fs->sector_size > DEFAULT_BLOCK_SIZE
                              ? fs->sector_size
                              : DEFAULT_BLOCK_SIZE;
    uint64_t fit = block_size ? fs->dev_bytes / block_size : 0;
    uint64_t count = cfg && cfg->block_count ? cfg->block_count : fit;
    if (count > UINT32_MAX)
        count = UINT32_MAX;
    if (count > fit) {
        char why[160];
        snprintf(why, sizeof why,
                 "block_count %u of %u bytes is more than the device's "
                 "%llu bytes",
                 (unsigned)count, block_size,
                 (unsigned long long)fs->dev_bytes);
        rc = config_error(fs, why);
    } else if (count < MIN_BLOCKS) {
        rc = -ENOSPC; /* littlefs needs a few blocks to work in */
    } else {
        rc = make_config(fs, cfg, block_size, (uint32_t)count);
    }
    if (rc == 0)
        rc = errno_of(lfs_format(&fs->lfs, &fs->cfg));
    fs_free(fs);
    return rc;
}

/* The block size a superblock at byte `pos` records, or 0. Every
 * compaction of the superblock pair (blocks 0 and 1, which format writes
 * both) starts the block with the revision count, the name tag,
 * "littlefs", the struct tag, then version, block_size, block_count,
 * little-endian (littlefs's SPEC.md). It is a hint: mounting verifies. */
static uint32_t superblock_at(struct fs *fs, uint64_t pos)
{
    if (pos % fs->sector_size != 0 || pos + fs->sector_size > fs->dev_bytes ||
        blkdev_read(fs->dev, pos / fs->sector_size, fs->bounce,
                    fs->sector_size) != 0)
        return 0;
    const uint8_t *b = fs->bounce;
    if (memcmp(b + 8, "littlefs", 8) != 0)
        return 0;
    return (uint32_t)b[24] | (uint32_t)b[25] << 8 | (uint32_t)b[26] << 16 |
           (uint32_t)b[27] << 24;
}

static bool plausible_block(const struct fs *fs, uint32_t bs)
{
    return bs >= LFS_MIN_BLOCK && bs % fs->sector_size == 0 &&
           bs <= PROBE_MAX_BLOCK && 2ull * bs <= fs->dev_bytes;
}

/* Mounts with block size `bs`: 0, or 1 to try another size, or a
 * negative errno. */
static int try_mount(struct fs *fs, const struct fs_config *cfg, uint32_t bs,
                     bool quiet)
{
    int rc = make_config(fs, cfg, bs, cfg ? cfg->block_count : 0);
    if (rc != 0)
        return quiet ? 1 : rc;
    rc = lfs_mount(&fs->lfs, &fs->cfg);
    if (rc == LFS_ERR_CORRUPT || rc == LFS_ERR_INVAL)
        return 1;
    return rc;
}

int fs_mount(struct blkdev *dev, const struct fs_config *cfg, struct fs **out)
{
    struct fs *fs;
    int rc = fs_new(dev, cfg, true, &fs);
    if (rc != 0)
        return rc;

    if (cfg && cfg->block_size) {
        rc = try_mount(fs, cfg, cfg->block_size, false);
    } else {
        /* The block size the superblock in block 0 names; or, if block 0
         * holds none (a cut while it was being rewritten), the size whose
         * block 1 holds a superblock naming it. A device with neither
         * is not littlefs (and littlefs is not asked, which would fill
         * the console with its complaints). */
        uint32_t bs = superblock_at(fs, 0);
        for (uint32_t b = fs->sector_size; !plausible_block(fs, bs) &&
                                           plausible_block(fs, b);
             b *= 2)
            if (superblock_at(fs, b) == b)
                bs = b;
        rc = plausible_block(fs, bs) ? try_mount(fs, cfg, bs, true) : 1;
    }
    if (rc == 1) {
        printf("fs: %s: no littlefs volume found (fs_format the device "
               "first)\n",
               dev->name ? dev->name : "blkdev");
        fs_free(fs);
        return -ENODEV;
    }
    if (rc != 0) {
        fs_free(fs);
        return errno_of(rc);
    }

    struct lfs_fsinfo info;
    rc = lfs_fs_stat(&fs->lfs, &info);
    if (rc == 0 &&
        (uint64_t)info.block_count * info.block_size > fs->dev_bytes) {
        char why[160];
        snprintf(why, sizeof why,
                 "the volume (%u blocks of %u bytes) is larger than the "
                 "device (%llu bytes)",
                 (unsigned)info.block_count, (unsigned)info.block_size,
                 (unsigned long long)fs->dev_bytes);
        rc = config_error(fs, why);
    }
    /* Finish what a crash interrupted (a rename between directories is
     * two commits, a removed directory can leave an orphan) now, not at
     * the first write: with a rename pending, littlefs 2.11's lookups
     * miss the entry after the moved one until then (the power-loss
     * test finds it). A read-only device is left as it is. */
    if (rc == 0 && !fs->readonly)
        rc = lfs_fs_mkconsistent(&fs->lfs);
    if (rc != 0) {
        lfs_unmount(&fs->lfs);
        fs_free(fs);
        return errno_of(rc);
    }
    *out = fs;
    return 0;
}

int fs_unmount(struct fs *fs)
{
    if (fs == NULL)
        return -EINVAL;
    for (uint32_t i = 0; i < fs->open_max; i++)
        if (fs->slots[i].kind != SLOT_FREE)
            return -EBUSY;
    int rc = errno_of(lfs_unmount(&fs->lfs));
    fs_free(fs);
    return rc;
}

/* ---- paths ------------------------------------------------------------ */

struct span {
    const char *p;
    size_t n;
};

/* Splits `path` into its components with "." and empty ones dropped and
 * ".." applied (at the root it stays there, as in POSIX). Returns the
 * number of components, -ENAMETOOLONG for a component above name_max,
 * -EINVAL for a path too deep to check. */
static int components(const char *path, uint32_t name_max, struct span *out,
                      int max)
{
    int depth = 0;
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        const char *start = p;
        while (*p && *p != '/')
            p++;
        size_t n = (size_t)(p - start);
        if (n == 0 || (n == 1 && start[0] == '.'))
            continue;
        if (n > name_max)
            return -ENAMETOOLONG;
        if (n == 2 && start[0] == '.' && start[1] == '.') {
            if (depth > 0)
                depth--;
            continue;
        }
        if (depth == max)
            return -EINVAL;
        out[depth++] = (struct span){start, n};
    }
    return depth;
}

static int check_path(const struct fs *fs, const char *path)
{
    struct span parts[PATH_DEPTH_MAX];
    if (path == NULL)
        return -EINVAL;
    if (fs->failed)
        return -EIO;
    int n = components(path, fs->lfs.name_max, parts, PATH_DEPTH_MAX);
    return n < 0 ? n : 0;
}

/* Is the directory `from` `to` itself or one of its ancestors? */
static bool is_ancestor(const struct fs *fs, const char *from, const char *to)
{
    struct span a[PATH_DEPTH_MAX], b[PATH_DEPTH_MAX];
    int na = components(from, fs->lfs.name_max, a, PATH_DEPTH_MAX);
    int nb = components(to, fs->lfs.name_max, b, PATH_DEPTH_MAX);
    if (na < 0 || nb < 0 || na > nb)
        return false;
    for (int i = 0; i < na; i++)
        if (a[i].n != b[i].n || memcmp(a[i].p, b[i].p, a[i].n) != 0)
            return false;
    return true;
}

/* ---- descriptors ------------------------------------------------------ */

static struct slot *slot_of(struct fs *fs, int fd, enum slot_kind kind)
{
    if (fs == NULL || fd < 0 || (uint32_t)fd >= fs->open_max)
        return NULL;
    struct slot *s = &fs->slots[fd];
    return s->kind == kind ? s : NULL;
}

static int free_slot(struct fs *fs)
{
    for (uint32_t i = 0; i < fs->open_max; i++)
        if (fs->slots[i].kind == SLOT_FREE)
            return (int)i;
    return -EMFILE;
}

int fs_open(struct fs *fs, const char *path, int flags)
{
    const int known = FS_O_ACCMODE | FS_O_CREAT | FS_O_EXCL | FS_O_TRUNC |
                      FS_O_APPEND;
    if (fs == NULL || (flags & ~known) != 0 ||
        (flags & FS_O_ACCMODE) == FS_O_ACCMODE)
        return -EINVAL;
    int rc = check_path(fs, path);
    if (rc != 0)
        return rc;
    int mode = flags & FS_O_ACCMODE;
    bool writes = mode != FS_O_RDONLY ||
                  (flags & (FS_O_CREAT | FS_O_TRUNC)) != 0;
    if (writes && fs->readonly)
        return -EROFS;
    if (mode == FS_O_RDONLY && (flags & FS_O_TRUNC))
        return -EINVAL; /* littlefs cannot truncate a read-only file */
    if (fs->failed)
        return -EIO;
    int fd = free_slot(fs);
    if (fd < 0)
        return fd;

    int lflags = mode == FS_O_RDONLY   ? LFS_O_RDONLY
                 : mode == FS_O_WRONLY ? LFS_O_WRONLY
                                       : LFS_O_RDWR;
    if (flags & FS_O_CREAT)
        lflags |= LFS_O_CREAT;
    if (flags & FS_O_EXCL)
        lflags |= LFS_O_EXCL;
    if (flags & FS_O_TRUNC)
        lflags |= LFS_O_TRUNC;
    if (flags & FS_O_APPEND)
        lflags |= LFS_O_APPEND;

    struct slot *s = &fs->slots[fd];
    memset(s, 0, sizeof *s);
    s->fcfg.buffer = fs->file_buffers + (size_t)fd * fs->cache_alloc;
    rc = lfs_file_opencfg(&fs->lfs, &s->u.file, path, lflags, &s->fcfg);
    if (rc != 0)
        return errno_of(rc);
    s->kind = SLOT_FILE;
    s->flags = flags;
    return fd;
}

int fs_close(struct fs *fs, int fd)
{
    struct slot *s = slot_of(fs, fd, SLOT_FILE);
    if (s == NULL)
        return -EBADF;
    s->kind = SLOT_FREE;
    if (fs->failed)
        return -EIO; /* littlefs is not touched again before unmount */
    return errno_of(lfs_file_close(&fs->lfs, &s->u.file));
}

static bool can_read(const struct slot *s)
{
    return (s->flags & FS_O_ACCMODE) != FS_O_WRONLY;
}

static bool can_write(const struct slot *s)
{
    return (s->flags & FS_O_ACCMODE) != FS_O_RDONLY;
}

long fs_read(struct fs *fs, int fd, void *buf, size_t len)
{
    struct slot *s = slot_of(fs, fd, SLOT_FILE);
    if (s == NULL) {
        /* read(2) on a directory descriptor says EISDIR */
        return slot_of(fs, fd, SLOT_DIR) ? -EISDIR : -EBADF;
    }
    if (fs->failed)
        return -EIO;
    if (!can_read(s))
        return -EBADF;
    if (len > INT32_MAX)
        len = INT32_MAX; /* a short read, as POSIX allows */
    lfs_ssize_t n = lfs_file_read(&fs->lfs, &s->u.file, buf, (lfs_size_t)len);
    return n < 0 ? errno_of((int)n) : (long)n;
}

long fs_write(struct fs *fs, int fd, const void *buf, size_t len)
{
    struct slot *s = slot_of(fs, fd, SLOT_FILE);
    if (s == NULL)
        return slot_of(fs, fd, SLOT_DIR) ? -EISDIR : -EBADF;
    if (fs->failed)
        return -EIO;
    if (!can_write(s))
        return -EBADF;
    if (len > INT32_MAX)
        return -EFBIG;
    lfs_ssize_t n = lfs_file_write(&fs->lfs, &s->u.file, buf, (lfs_size_t)len);
    return n < 0 ? errno_of((int)n) : (long)n;
}

int64_t fs_seek(struct fs *fs, int fd, int64_t offset, int whence)
{
    struct slot *s = slot_of(fs, fd, SLOT_FILE);
    if (s == NULL)
        return -EBADF;
    if (fs->failed)
        return -EIO;
    int64_t base;
    switch (whence) {
    case FS_SEEK_SET:
        base = 0;
        break;
    case FS_SEEK_CUR:
        base = lfs_file_tell(&fs->lfs, &s->u.file);
        break;
    case FS_SEEK_END:
        base = lfs_file_size(&fs->lfs, &s->u.file);
        break;
    default:
        return -EINVAL;
    }
    if (base < 0)
        return errno_of((int)base);
    if ((offset > 0 && offset > (int64_t)fs->lfs.file_max - base) ||
        base + offset < 0)
        return -EINVAL;
    lfs_soff_t pos = lfs_file_seek(&fs->lfs, &s->u.file,
                                   (lfs_soff_t)(base + offset), LFS_SEEK_SET);
    return pos < 0 ? errno_of((int)pos) : (int64_t)pos;
}

int fs_ftruncate(struct fs *fs, int fd, uint32_t size)
{
    struct slot *s = slot_of(fs, fd, SLOT_FILE);
    if (s == NULL || !can_write(s))
        return -EBADF;
    if (fs->failed)
        return -EIO;
    if (size > fs->lfs.file_max)
        return -EFBIG;
    return errno_of(lfs_file_truncate(&fs->lfs, &s->u.file, size));
}

int fs_fsync(struct fs *fs, int fd)
{
    struct slot *s = slot_of(fs, fd, SLOT_FILE);
    if (s == NULL)
        return -EBADF;
    if (fs->failed)
        return -EIO;
    return errno_of(lfs_file_sync(&fs->lfs, &s->u.file));
}

int fs_fstat(struct fs *fs, int fd, struct fs_stat *st)
{
    struct slot *s = slot_of(fs, fd, SLOT_FILE);
    if (s == NULL)
        return -EBADF;
    if (fs->failed)
        return -EIO;
    lfs_soff_t size = lfs_file_size(&fs->lfs, &s->u.file);
    if (size < 0)
        return errno_of((int)size);
    *st = (struct fs_stat){.type = FS_TYPE_FILE, .size = (uint32_t)size};
    return 0;
}

/* ---- names ------------------------------------------------------------ */

int fs_stat(struct fs *fs, const char *path, struct fs_stat *st)
{
    if (fs == NULL)
        return -EINVAL;
    int rc = check_path(fs, path);
    if (rc != 0)
        return rc;
    struct lfs_info info;
    rc = lfs_stat(&fs->lfs, path, &info);
    if (rc != 0)
        return errno_of(rc);
    bool dir = info.type == LFS_TYPE_DIR;
    *st = (struct fs_stat){
        .type = dir ? FS_TYPE_DIR : FS_TYPE_FILE,
        .size = dir ? 0 : info.size,
    };
    return 0;
}

static int check_change(struct fs *fs, const char *path)
{
    if (fs == NULL)
        return -EINVAL;
    int rc = check_path(fs, path);
    if (rc != 0)
        return rc;
    return fs->readonly ? -EROFS : 0;
}

int fs_mkdir(struct fs *fs, const char *path)
{
    int rc = check_change(fs, path);
    return rc != 0 ? rc : errno_of(lfs_mkdir(&fs->lfs, path));
}

static int remove_typed(struct fs *fs, const char *path, enum fs_type want)
{
    int rc = check_change(fs, path);
    if (rc != 0)
        return rc;
    struct fs_stat st;
    rc = fs_stat(fs, path, &st);
    if (rc != 0)
        return rc;
    if (st.type != want)
        return want == FS_TYPE_FILE ? -EISDIR : -ENOTDIR;
    struct span parts[PATH_DEPTH_MAX];
    if (components(path, fs->lfs.name_max, parts, PATH_DEPTH_MAX) == 0)
        return -EBUSY; /* the root */
    return errno_of(lfs_remove(&fs->lfs, path));
}

int fs_unlink(struct fs *fs, const char *path)
{
    return remove_typed(fs, path, FS_TYPE_FILE);
}

int fs_rmdir(struct fs *fs, const char *path)
{
    return remove_typed(fs, path, FS_TYPE_DIR);
}

int fs_rename(struct fs *fs, const char *from, const char *to)
{
    int rc = check_change(fs, from);
    if (rc == 0)
        rc = check_change(fs, to);
    if (rc != 0)
        return rc;
    struct fs_stat st;
    rc = fs_stat(fs, from, &st);
    if (rc != 0)
        return rc;
    /* A directory cannot move into itself (littlefs would make a loop). */
    if (st.type == FS_TYPE_DIR && is_ancestor(fs, from, to) &&
        !is_ancestor(fs, to, from))
        return -EINVAL;
    return errno_of(lfs_rename(&fs->lfs, from, to));
}

/* ---- directories ------------------------------------------------------ */

int fs_opendir(struct fs *fs, const char *path)
{
    if (fs == NULL)
        return -EINVAL;
    int rc = check_path(fs, path);
    if (rc != 0)
        return rc;
    int dd = free_slot(fs);
    if (dd < 0)
        return dd;
    struct slot *s = &fs->slots[dd];
    memset(s, 0, sizeof *s);
    rc = lfs_dir_open(&fs->lfs, &s->u.dir, path);
    if (rc != 0)
        return errno_of(rc);
    s->kind = SLOT_DIR;
    return dd;
}

int fs_readdir(struct fs *fs, int dd, struct fs_dirent *ent)
{
    struct slot *s = slot_of(fs, dd, SLOT_DIR);
    if (s == NULL)
        return -EBADF;
    if (fs->failed)
        return -EIO;
    for (;;) {
        struct lfs_info info;
        int rc = lfs_dir_read(&fs->lfs, &s->u.dir, &info);
        if (rc <= 0)
            return errno_of(rc);
        if (strcmp(info.name, ".") == 0 || strcmp(info.name, "..") == 0)
            continue;
        bool dir = info.type == LFS_TYPE_DIR;
        ent->type = dir ? FS_TYPE_DIR : FS_TYPE_FILE;
        ent->size = dir ? 0 : info.size;
        _Static_assert(sizeof ent->name == sizeof info.name,
                       "FS_NAME_MAX is littlefs's LFS_NAME_MAX");
        memcpy(ent->name, info.name, sizeof ent->name);
        return 1;
    }
}

int fs_closedir(struct fs *fs, int dd)
{
    struct slot *s = slot_of(fs, dd, SLOT_DIR);
    if (s == NULL)
        return -EBADF;
    s->kind = SLOT_FREE;
    if (fs->failed)
        return -EIO;
    return errno_of(lfs_dir_close(&fs->lfs, &s->u.dir));
}

int fs_statfs(struct fs *fs, struct fs_statfs *st)
{
    if (fs == NULL)
        return -EINVAL;
    if (fs->failed)
        return -EIO;
    struct lfs_fsinfo info;
    int rc = lfs_fs_stat(&fs->lfs, &info);
    if (rc != 0)
        return errno_of(rc);
    lfs_ssize_t used = lfs_fs_size(&fs->lfs);
    if (used < 0)
        return errno_of((int)used);
    *st = (struct fs_statfs){
        .block_size = info.block_size,
        .block_count = info.block_count,
        .blocks_used = (uint32_t)used,
        .name_max = info.name_max,
        .file_max = info.file_max,
    };
    return 0;
}
