/* The storage of examples/kvstore: <kvstore/kv.h>. */
#include <kvstore/kv.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>

static bool key_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

int kv_key_check(const char *key, size_t len)
{
    if (len > KV_KEY_MAX)
        return -ENAMETOOLONG;
    if (len == 0)
        return -EINVAL;
    for (size_t i = 0; i < len; i++)
        if (!key_byte((unsigned char)key[i]))
            return -EINVAL;
    /* The directory's own names, which littlefs resolves. */
    if ((len == 1 && key[0] == '.') || (len == 2 && key[0] == '.' && key[1] == '.'))
        return -EINVAL;
    return 0;
}

/* The key as a NUL-terminated path, checked. */
static int key_path(const char *key, size_t len, char path[KV_KEY_MAX + 1])
{
    int rc = kv_key_check(key, len);
    if (rc != 0)
        return rc;
    memcpy(path, key, len);
    path[len] = '\0';
    return 0;
}

int kv_open(struct kv *kv, struct fs *fs)
{
    kv->fs = fs;
    int rc = fs_unlink(fs, KV_TEMP_NAME);
    return rc == -ENOENT ? 0 : rc;
}

int kv_put(struct kv *kv, const char *key, size_t klen, const void *value,
           size_t len)
{
    char path[KV_KEY_MAX + 1];
    int rc = key_path(key, klen, path);
    if (rc != 0)
        return rc;
    if (len > KV_VALUE_MAX)
        return -EFBIG;
    struct fs_stat st;
    rc = fs_stat(kv->fs, path, &st);
    if (rc != 0 && rc != -ENOENT)
        return rc;
    if (rc == 0 && st.type != FS_TYPE_FILE)
        return -EISDIR;
    bool is_new = rc == -ENOENT;

    int fd = fs_open(kv->fs, KV_TEMP_NAME, FS_O_WRONLY | FS_O_CREAT | FS_O_TRUNC);
    if (fd < 0)
        return fd;
    long w = len ? fs_write(kv->fs, fd, value, len) : 0;
    rc = w < 0 ? (int)w : fs_fsync(kv->fs, fd);
    int crc = fs_close(kv->fs, fd);
    if (rc == 0)
        rc = crc;
    if (rc == 0)
        rc = fs_rename(kv->fs, KV_TEMP_NAME, path);
    if (rc != 0) {
        fs_unlink(kv->fs, KV_TEMP_NAME); /* room back after -ENOSPC */
        return rc;
    }
    return is_new ? 1 : 0;
}

long kv_get(struct kv *kv, const char *key, size_t klen, void *buf,
            size_t cap)
{
    char path[KV_KEY_MAX + 1];
    int rc = key_path(key, klen, path);
    if (rc != 0)
        return rc;
    int fd = fs_open(kv->fs, path, FS_O_RDONLY);
    if (fd < 0)
        return fd == -EISDIR ? -ENOENT : fd;
    struct fs_stat st;
    long n = fs_fstat(kv->fs, fd, &st);
    if (n == 0 && st.size > cap)
        n = -EOVERFLOW;
    size_t got = 0;
    while (n == 0 && got < st.size) {
        long r = fs_read(kv->fs, fd, (char *)buf + got, st.size - got);
        if (r <= 0)
            n = r < 0 ? r : -EIO; /* shorter than its size: corrupt */
        else
            got += (size_t)r;
    }
    fs_close(kv->fs, fd);
    return n < 0 ? n : (long)got;
}

int kv_delete(struct kv *kv, const char *key, size_t klen)
{
    char path[KV_KEY_MAX + 1];
    int rc = key_path(key, klen, path);
    if (rc != 0)
        return rc;
    rc = fs_unlink(kv->fs, path);
    return rc == -EISDIR ? -ENOENT : rc;
}

/* Insertion of one line into the sorted lines of buf[0..*used). */
static int insert_sorted(char *buf, size_t cap, size_t *used,
                         const char *name, size_t len)
{
    if (*used + len + 1 > cap)
        return -EOVERFLOW;
    size_t at = 0;
    while (at < *used) {
        const char *end = memchr(buf + at, '\n', *used - at);
        size_t llen = (size_t)(end - (buf + at));
        size_t m = llen < len ? llen : len;
        int c = memcmp(buf + at, name, m);
        if (c > 0 || (c == 0 && llen > len))
            break;
        at += llen + 1;
    }
    memmove(buf + at + len + 1, buf + at, *used - at);
    memcpy(buf + at, name, len);
    buf[at + len] = '\n';
    *used += len + 1;
    return 0;
}

long kv_list(struct kv *kv, char *buf, size_t cap)
{
    int dd = fs_opendir(kv->fs, "/");
    if (dd < 0)
        return dd;
    size_t used = 0;
    struct fs_dirent ent;
    int rc;
    while ((rc = fs_readdir(kv->fs, dd, &ent)) == 1) {
        size_t len = strlen(ent.name);
        if (ent.type != FS_TYPE_FILE || kv_key_check(ent.name, len) != 0)
            continue; /* the temporary file, or not ours */
        rc = insert_sorted(buf, cap, &used, ent.name, len);
        if (rc != 0)
            break;
    }
    fs_closedir(kv->fs, dd);
    return rc < 0 ? rc : (long)used;
}

int kv_verify(struct kv *kv, void *scratch, size_t cap, unsigned *keys,
              unsigned *bad)
{
    *keys = *bad = 0;
    int dd = fs_opendir(kv->fs, "/");
    if (dd < 0)
        return dd;
    struct fs_dirent ent;
    int rc;
    while ((rc = fs_readdir(kv->fs, dd, &ent)) == 1) {
        size_t len = strlen(ent.name);
        if (ent.type != FS_TYPE_FILE || kv_key_check(ent.name, len) != 0)
            continue;
        (*keys)++;
        long n = kv_get(kv, ent.name, len, scratch, cap);
        if (n < 0 || (uint32_t)n != ent.size)
            (*bad)++;
    }
    fs_closedir(kv->fs, dd);
    return rc < 0 ? rc : 0;
}
