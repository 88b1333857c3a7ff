/*
 * site.h from a volume: the image's first disk (<disk/any.h>), a littlefs
 * volume (<fs/fs.h>, unikernel_volume in BUILD, attached read-only), is
 * walked at boot and every file read into memory as a content table:
 * served path "/" + its path in the volume, content type by extension (the
 * types unikernel_content uses), a strong ETag from a 64-bit FNV-1a hash
 * of the bytes. The volume is then unmounted: serving never touches the
 * disk, and a file cannot change under a response.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <disk/any.h>
#include <fs/fs.h>

#include "examples/httpd/site.h"

#define FILES_MAX 4096
#define DEPTH_MAX 16
#define PATH_MAX_BYTES 512 /* HTTP_PATH_MAX: longer paths cannot be asked for */

const char httpd_site_source[] = "volume";

static struct content_file files[FILES_MAX];
static struct content_table table = {.files = files};

/* Content types by extension, lower-cased (as unikernel_content). */
static const struct {
    const char *ext;
    const char *type;
} TYPES[] = {
    {"html", "text/html; charset=utf-8"}, {"htm", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"}, {"json", "application/json"},
    {"txt", "text/plain; charset=utf-8"},
    {"md", "text/markdown; charset=utf-8"}, {"csv", "text/csv; charset=utf-8"},
    {"xml", "application/xml"}, {"svg", "image/svg+xml"}, {"png", "image/png"},
    {"jpg", "image/jpeg"}, {"jpeg", "image/jpeg"}, {"gif", "image/gif"},
    {"webp", "image/webp"}, {"avif", "image/avif"},
    {"ico", "image/vnd.microsoft.icon"}, {"pdf", "application/pdf"},
    {"wasm", "application/wasm"}, {"woff", "font/woff"},
    {"woff2", "font/woff2"}, {"map", "application/json"},
};

static const char *type_of(const char *path)
{
    const char *name = strrchr(path, '/');
    const char *dot = strrchr(name ? name : path, '.');
    if (!dot)
        return "application/octet-stream";
    char ext[8];
    size_t n = strlen(dot + 1);
    if (n == 0 || n >= sizeof(ext))
        return "application/octet-stream";
    for (size_t i = 0; i <= n; i++) {
        char c = dot[1 + i];
        ext[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    for (size_t i = 0; i < sizeof(TYPES) / sizeof(TYPES[0]); i++)
        if (strcmp(TYPES[i].ext, ext) == 0)
            return TYPES[i].type;
    return "application/octet-stream";
}

static char *etag_of(const unsigned char *p, uint64_t n)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (uint64_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3u;
    char *tag = malloc(19);
    if (tag)
        snprintf(tag, 19, "\"%016llx\"", (unsigned long long)h);
    return tag;
}

/* Bytewise, shorter first on a common prefix (content_find's order). */
static int compare(const struct content_file *a, const struct content_file *b)
{
    size_t n = a->path_len < b->path_len ? a->path_len : b->path_len;
    int c = memcmp(a->path, b->path, n);
    return c ? c : (a->path_len > b->path_len) - (a->path_len < b->path_len);
}

static int add_file(struct fs *fs, const char *path, uint32_t size)
{
    if (table.count == FILES_MAX) {
        printf("httpd: the volume has more than %d files; serve fewer\n", FILES_MAX);
        return -EFBIG;
    }
    size_t plen = strlen(path);
    char *served = malloc(plen + 2);
    unsigned char *data = malloc(size ? size : 1);
    if (!served || !data) {
        printf("httpd: no memory for %s (%u bytes); raise memory_mib\n", path, size);
        return -ENOMEM;
    }
    served[0] = '/';
    memcpy(served + 1, path, plen + 1);
    int fd = fs_open(fs, path, FS_O_RDONLY);
    long got = fd < 0 ? fd : 0;
    while (fd >= 0 && got >= 0 && (uint32_t)got < size) {
        long r = fs_read(fs, fd, data + got, size - (uint32_t)got);
        got = r <= 0 ? (r < 0 ? r : -EIO) : got + r;
    }
    if (fd >= 0)
        fs_close(fs, fd);
    if (got < 0) {
        printf("httpd: cannot read %s from the volume (%ld)\n", path, got);
        return (int)got;
    }
    struct content_file f = {
        .path = served, .path_len = plen + 1, .data = data, .size = size,
        .content_type = type_of(served), .etag = etag_of(data, size),
    };
    if (!f.etag)
        return -ENOMEM;
    /* Insertion keeps the table sorted as it grows. */
    size_t at = table.count;
    while (at > 0 && compare(&files[at - 1], &f) > 0) {
        files[at] = files[at - 1];
        at--;
    }
    files[at] = f;
    table.count++;
    return 0;
}

/* Every file under dir ("" is the root), depth-first. */
static int walk(struct fs *fs, char *path, size_t len, int depth)
{
    if (depth > DEPTH_MAX) {
        printf("httpd: %s is nested deeper than %d directories\n", path, DEPTH_MAX);
        return -EINVAL;
    }
    int dd = fs_opendir(fs, len ? path : "/");
    if (dd < 0)
        return dd;
    struct fs_dirent ent;
    int rc;
    while ((rc = fs_readdir(fs, dd, &ent)) == 1) {
        size_t n = strlen(ent.name);
        if (len + n + 2 > PATH_MAX_BYTES) {
            printf("httpd: %s/%s: a path longer than %d bytes cannot be served\n",
                   path, ent.name, PATH_MAX_BYTES - 1);
            rc = -ENAMETOOLONG;
            break;
        }
        size_t sub = len;
        if (sub)
            path[sub++] = '/';
        memcpy(path + sub, ent.name, n + 1);
        rc = ent.type == FS_TYPE_DIR ? walk(fs, path, sub + n, depth + 1)
                                     : add_file(fs, path, ent.size);
        path[len] = '\0';
        if (rc != 0)
            break;
    }
    fs_closedir(fs, dd);
    return rc < 0 ? rc : 0;
}

int httpd_site_open(const struct content_table **out)
{
    struct blkdev *disk;
    int rc = disk_open_first(&disk);
    if (rc != 0) {
        printf("httpd: no disk for the site (%d); attach its volume (httpd_image volume = ...)\n", rc);
        return rc;
    }
    struct fs *fs;
    rc = fs_mount(disk, NULL, &fs);
    if (rc != 0) {
        printf("httpd: no littlefs volume on %s (%d); attach a unikernel_volume\n",
               disk->name, rc);
        return rc;
    }
    static char path[PATH_MAX_BYTES];
    path[0] = '\0';
    rc = walk(fs, path, 0, 0);
    fs_unmount(fs);
    if (rc != 0)
        return rc;
    printf("httpd: %zu files read from the volume on %s (%s)\n", table.count,
           disk->name, disk_driver_name());
    *out = &table;
    return 0;
}
