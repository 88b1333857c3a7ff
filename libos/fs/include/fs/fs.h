/*
 * fs/fs.h - files on a block device: littlefs behind a small API.
 *
 * A volume is littlefs (power-loss resilient: after a crash at any point
 * a volume mounts with every file as it was at its last fs_fsync or
 * fs_close) on any struct blkdev (<blkdev/blkdev.h>: virtio-blk,
 * blkfront, or a cache stacked on one). The names carry an `fs_` prefix
 * and take the volume as their first argument: an image may mount
 * several volumes, and files are not sockets (docs/storage.md).
 *
 * Errors are negative errno values (<errno.h>), as in the Linux kernel:
 *   -ENOENT        no such file or directory (or a missing parent)
 *   -EEXIST        FS_O_CREAT|FS_O_EXCL, fs_mkdir, on a name that exists
 *   -ENOTDIR       a path component, fs_opendir or fs_rmdir names a file
 *   -EISDIR        fs_open for writing, fs_read/fs_write or fs_unlink on a
 *                  directory
 *   -ENOTEMPTY     fs_rmdir, fs_rename over a directory that has entries
 *   -ENAMETOOLONG  a path component is longer than the volume's name_max
 *   -ENOSPC        the volume is full
 *   -EFBIG         a file would grow beyond the volume's file_max
 *   -EBADF         a descriptor that is not open (or not open for this),
 *                  a write to a file opened read-only and vice versa
 *   -EMFILE        every descriptor of the volume is in use (open_max)
 *   -EINVAL        bad flags, whence, negative offset, bad configuration
 *   -EBUSY         fs_unmount with descriptors still open
 *   -ENODEV        fs_mount: no littlefs volume on the device
 *   -EROFS         writing to a volume mounted from a read-only device
 *   -EIO           the device failed, or the volume is corrupt
 *   -ENOMEM        fs_format or fs_mount could not allocate its buffers
 *
 * Durability. fs_fsync(fd) and fs_close(fd) return 0 only after the
 * file's data and metadata reached stable storage (a completed
 * BLKDEV_OP_FLUSH). fs_mkdir, fs_rename, fs_unlink, fs_rmdir and
 * creating a file (fs_open with FS_O_CREAT) are durable when they return.
 * Data written to an open file and not yet synced is lost by a crash;
 * the file then has its last synced contents, never a mixture.
 *
 * Paths are relative to the volume's root ("etc/motd", "/etc/motd" and
 * "etc//motd" are the same file); "." and ".." are resolved by littlefs.
 *
 * One thread at a time uses one volume (as for its blkdev).
 */
#ifndef FS_FS_H
#define FS_FS_H

#include <stddef.h>
#include <stdint.h>

#include <blkdev/blkdev.h>

/* fs_open flags: one access mode, or'ed with any of the others. */
#define FS_O_RDONLY 0x0
#define FS_O_WRONLY 0x1
#define FS_O_RDWR 0x2
#define FS_O_ACCMODE 0x3
#define FS_O_CREAT 0x100  /* create the file if it is missing */
#define FS_O_EXCL 0x200   /* with FS_O_CREAT: -EEXIST if it exists */
#define FS_O_TRUNC 0x400  /* empty the file on open */
#define FS_O_APPEND 0x800 /* every write goes to the end */

/* fs_seek whence. */
#define FS_SEEK_SET 0
#define FS_SEEK_CUR 1
#define FS_SEEK_END 2

#define FS_NAME_MAX 255 /* bytes of one path component, at most */

enum fs_type {
    FS_TYPE_FILE = 1,
    FS_TYPE_DIR = 2,
};

/*
 * Geometry and memory. Every field 0 means "derive it"; any other value
 * overrides the derivation and must satisfy the rule beside it
 * (fs_format and fs_mount return -EINVAL and say why on the console).
 */
struct fs_config {
    /* littlefs block, bytes: a multiple of the device's sector size,
     * >= 128. fs_format: 4096 (or the sector size if larger). fs_mount:
     * the volume's own, found on the device. */
    uint32_t block_size;
    /* Blocks in the volume. fs_format: as many as fit on the device.
     * fs_mount: the volume's own (it must fit on the device). */
    uint32_t block_count;
    /* Bytes of each of littlefs's read and write caches and of each open
     * file's cache: a multiple of the sector size dividing block_size.
     * Default: min(block_size, 4096). */
    uint32_t cache_size;
    /* Bytes of the free-block bitmap scanned at once, a multiple of 8.
     * Default: enough for the whole volume, at most 512 (4096 blocks). */
    uint32_t lookahead_size;
    /* Erase cycles after which littlefs moves a metadata block (wear
     * levelling); -1 disables it. Default: -1 (a disk levels wear
     * itself). */
    int32_t block_cycles;
    /* Descriptors (files and directories) open at once. Default: 8. */
    uint32_t open_max;
};

struct fs;

struct fs_stat {
    enum fs_type type;
    uint32_t size; /* bytes; 0 for a directory */
};

struct fs_dirent {
    enum fs_type type;
    uint32_t size;
    char name[FS_NAME_MAX + 1];
};

struct fs_statfs {
    uint32_t block_size;
    uint32_t block_count;
    uint32_t blocks_used; /* including blocks being written */
    uint32_t name_max;
    uint32_t file_max;
};

/* Writes an empty volume over the device (everything on it is lost), in
 * the geometry of `cfg` (NULL: all derived). Durable when it returns. */
int fs_format(struct blkdev *dev, const struct fs_config *cfg);

/* Mounts the volume on `dev`; *out is the handle of the mounted volume.
 * `cfg` may be NULL. -ENODEV when the device holds no littlefs volume
 * (fs_format it first). */
int fs_mount(struct blkdev *dev, const struct fs_config *cfg,
             struct fs **out);

/* Unmounts and frees the handle. -EBUSY (and nothing done) while a
 * descriptor is open. */
int fs_unmount(struct fs *fs);

/* Opens a file; a descriptor (>= 0) or a negative errno. */
int fs_open(struct fs *fs, const char *path, int flags);
/* Syncs the file (as fs_fsync) and frees the descriptor, which is freed
 * even when syncing fails (the error is returned). */
int fs_close(struct fs *fs, int fd);
/* Bytes read (0 at the end of the file), or a negative errno. */
long fs_read(struct fs *fs, int fd, void *buf, size_t len);
/* Bytes written (all of them, or an error), or a negative errno. A write
 * beyond the end fills the gap with zeroes. */
long fs_write(struct fs *fs, int fd, const void *buf, size_t len);
/* The new offset, or a negative errno (-EINVAL before the start). */
int64_t fs_seek(struct fs *fs, int fd, int64_t offset, int whence);
/* Cuts or extends (with zeroes) the file to `size` bytes. */
int fs_ftruncate(struct fs *fs, int fd, uint32_t size);
/* Makes the file's data and metadata durable. */
int fs_fsync(struct fs *fs, int fd);
int fs_fstat(struct fs *fs, int fd, struct fs_stat *st);

int fs_stat(struct fs *fs, const char *path, struct fs_stat *st);
int fs_mkdir(struct fs *fs, const char *path);
/* Removes a file (-EISDIR for a directory: fs_rmdir). */
int fs_unlink(struct fs *fs, const char *path);
/* Removes an empty directory. */
int fs_rmdir(struct fs *fs, const char *path);
/* Moves `from` to `to`, replacing a file or an empty directory there
 * (a file by a file, a directory by a directory). */
int fs_rename(struct fs *fs, const char *from, const char *to);

/* Opens a directory for listing; a descriptor or a negative errno. */
int fs_opendir(struct fs *fs, const char *path);
/* The next entry into *ent: 1, or 0 at the end, or a negative errno.
 * "." and ".." are not listed. */
int fs_readdir(struct fs *fs, int dd, struct fs_dirent *ent);
int fs_closedir(struct fs *fs, int dd);

int fs_statfs(struct fs *fs, struct fs_statfs *st);

#endif /* FS_FS_H */
