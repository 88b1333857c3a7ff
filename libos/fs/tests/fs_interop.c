/*
 * fs_interop: moves a host directory tree into a littlefs image with
 * //libos/fs, and back out, so test_interop.py can check both against
 * the Python littlefs package (the locked littlefs-python):
 *
 *   fs_interop build IMAGE BYTES SRCDIR   format an image of BYTES bytes
 *                                         (derived geometry), copy SRCDIR
 *   fs_interop extract IMAGE DESTDIR      mount IMAGE (its block size found
 *                                         on it), copy every file out
 *
 * The image sits on a //testing/ramblk of 512-byte sectors; what is
 * written out is the device's stable (flushed) contents.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <fs/fs.h>
#include <testing/ramblk.h>

enum { SECTOR = 512, PATH_MAX_LEN = 1024 };

static int fail(const char *what, const char *path, int rc)
{
    fprintf(stderr, "fs_interop: %s %s: %s (%d)\n", what, path,
            rc < 0 ? strerror(-rc) : "failed", rc);
    return 1;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    *len = n;
    return buf;
}

/* Copies host directory `src` into the volume's directory `dst`. */
static int copy_in(struct fs *v, const char *src, const char *dst)
{
    DIR *d = opendir(src);
    if (d == NULL)
        return fail("opendir", src, -errno);
    struct dirent *e;
    int bad = 0;
    while (!bad && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char from[PATH_MAX_LEN], to[PATH_MAX_LEN];
        snprintf(from, sizeof from, "%s/%s", src, e->d_name);
        snprintf(to, sizeof to, "%s/%s", dst, e->d_name);
        struct stat st;
        if (stat(from, &st) != 0)
            return fail("stat", from, -errno);
        if (S_ISDIR(st.st_mode)) {
            int rc = fs_mkdir(v, to);
            bad = rc != 0 ? fail("fs_mkdir", to, rc) : copy_in(v, from, to);
            continue;
        }
        size_t len;
        uint8_t *data = slurp(from, &len);
        if (data == NULL)
            return fail("read", from, -errno);
        int fd = fs_open(v, to, FS_O_WRONLY | FS_O_CREAT | FS_O_EXCL);
        long n = fd < 0 ? fd : fs_write(v, fd, data, len);
        free(data);
        if (n != (long)len)
            bad = fail("fs_write", to, (int)n);
        else if ((n = fs_close(v, fd)) != 0)
            bad = fail("fs_close", to, (int)n);
    }
    closedir(d);
    return bad;
}

/* Copies the volume's directory `src` out into host directory `dst`. */
static int copy_out(struct fs *v, const char *src, const char *dst)
{
    int dd = fs_opendir(v, src);
    if (dd < 0)
        return fail("fs_opendir", src, dd);
    struct fs_dirent e;
    int rc, bad = 0;
    while (!bad && (rc = fs_readdir(v, dd, &e)) == 1) {
        char from[PATH_MAX_LEN], to[PATH_MAX_LEN];
        snprintf(from, sizeof from, "%s/%s", src, e.name);
        snprintf(to, sizeof to, "%s/%s", dst, e.name);
        if (e.type == FS_TYPE_DIR) {
            if (mkdir(to, 0755) != 0)
                bad = fail("mkdir", to, -errno);
            else
                bad = copy_out(v, from, to);
            continue;
        }
        int fd = fs_open(v, from, FS_O_RDONLY);
        if (fd < 0) {
            bad = fail("fs_open", from, fd);
            continue;
        }
        uint8_t *data = malloc(e.size + 1);
        long n = fs_read(v, fd, data, e.size + 1);
        fs_close(v, fd);
        FILE *f = fopen(to, "wb");
        if (n != (long)e.size)
            bad = fail("fs_read", from, (int)n);
        else if (f == NULL || fwrite(data, 1, e.size, f) != e.size)
            bad = fail("write", to, -errno);
        if (f != NULL)
            fclose(f);
        free(data);
    }
    if (!bad && rc < 0)
        bad = fail("fs_readdir", src, rc);
    fs_closedir(v, dd);
    return bad;
}

static int build(const char *image, const char *bytes, const char *src)
{
    unsigned long long size = strtoull(bytes, NULL, 0);
    if (size == 0 || size % SECTOR != 0) {
        fprintf(stderr, "fs_interop: BYTES must be a multiple of %d\n", SECTOR);
        return 2;
    }
    struct ramblk *r = ramblk_new(SECTOR, size / SECTOR, BLKDEV_F_FLUSH, 0);
    struct fs *v;
    int rc = fs_format(ramblk_dev(r), NULL);
    if (rc != 0)
        return fail("fs_format", image, rc);
    if ((rc = fs_mount(ramblk_dev(r), NULL, &v)) != 0)
        return fail("fs_mount", image, rc);
    int bad = copy_in(v, src, "");
    if ((rc = fs_unmount(v)) != 0)
        bad = fail("fs_unmount", image, rc);
    FILE *f = fopen(image, "wb");
    if (f == NULL || fwrite(ramblk_stable(r), 1, ramblk_size(r), f) !=
                         ramblk_size(r))
        bad = fail("write", image, -errno);
    if (f != NULL)
        fclose(f);
    ramblk_free(r);
    return bad;
}

static int extract(const char *image, const char *dst)
{
    size_t len;
    uint8_t *data = slurp(image, &len);
    if (data == NULL || len == 0 || len % SECTOR != 0)
        return fail("read", image, -EINVAL);
    struct ramblk *r = ramblk_new(SECTOR, len / SECTOR, BLKDEV_F_FLUSH, 0);
    ramblk_load(r, data, len);
    free(data);
    struct fs *v;
    int rc = fs_mount(ramblk_dev(r), NULL, &v);
    if (rc != 0)
        return fail("fs_mount", image, rc);
    struct fs_statfs st;
    if (fs_statfs(v, &st) == 0)
        printf("fs_interop: %s: %u blocks of %u bytes\n", image,
               (unsigned)st.block_count, (unsigned)st.block_size);
    int bad = copy_out(v, "/", dst);
    if ((rc = fs_unmount(v)) != 0)
        bad = fail("fs_unmount", image, rc);
    ramblk_free(r);
    return bad;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "build") == 0)
        return build(argv[2], argv[3], argv[4]);
    if (argc == 4 && strcmp(argv[1], "extract") == 0)
        return extract(argv[2], argv[3]);
    fprintf(stderr, "usage: fs_interop build IMAGE BYTES SRCDIR | "
                    "fs_interop extract IMAGE DESTDIR\n");
    return 2;
}
