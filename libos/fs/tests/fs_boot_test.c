/*
 * //libos/fs in QEMU on a virtio-blk disk (a fresh zero-filled 4 MiB raw
 * file): no volume at first; format, write files in directories,
 * fsync, unmount; mount again and read everything back, list, rename,
 * remove.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <fs/fs.h>
#include <testing/check.h>
#include <virtio_blk/virtio_blk.h>

enum { BIG = 150000 };

static uint8_t big[BIG], back[BIG];

static uint8_t byte_at(size_t i)
{
    return (uint8_t)(i * 13 + (i >> 10) + 5);
}

static void put(struct fs *v, const char *path, const void *data, size_t len)
{
    int fd = fs_open(v, path, FS_O_WRONLY | FS_O_CREAT | FS_O_EXCL);
    CHECK(fd >= 0);
    CHECK_EQ(fs_write(v, fd, data, len), (long)len);
    CHECK_EQ(fs_fsync(v, fd), 0);
    CHECK_EQ(fs_close(v, fd), 0);
}

static bool has(struct fs *v, const char *path, const void *data, size_t len)
{
    int fd = fs_open(v, path, FS_O_RDONLY);
    if (fd < 0)
        return false;
    long n = fs_read(v, fd, back, sizeof back);
    fs_close(v, fd);
    return n == (long)len && memcmp(back, data, len) == 0;
}

int main(void)
{
    struct blkdev *bd;
    struct fs *v;
    if (!check_verdict(virtio_blk_open_first(&bd) == 0, "virtio-blk disk"))
        return check_finish();

    for (size_t i = 0; i < BIG; i++)
        big[i] = byte_at(i);

    CHECK_EQ(fs_mount(bd, NULL, &v), -ENODEV);
    CHECK_EQ(fs_format(bd, NULL), 0);
    CHECK_EQ(fs_mount(bd, NULL, &v), 0);
    struct fs_statfs st;
    CHECK_EQ(fs_statfs(v, &st), 0);
    printf("fs: %u blocks of %u bytes on %s\n", (unsigned)st.block_count,
           (unsigned)st.block_size, bd->name);
    CHECK_EQ(fs_mkdir(v, "etc"), 0);
    CHECK_EQ(fs_mkdir(v, "data"), 0);
    put(v, "etc/motd", "stored by littlefs on virtio-blk\n", 33);
    put(v, "data/big", big, BIG);
    for (int i = 0; i < 20; i++) {
        char path[32], text[32];
        snprintf(path, sizeof path, "data/small%02d", i);
        snprintf(text, sizeof text, "file number %d", i);
        put(v, path, text, strlen(text));
    }
    CHECK_EQ(fs_unmount(v), 0);

    CHECK_EQ(fs_mount(bd, NULL, &v), 0);
    bool ok = has(v, "etc/motd", "stored by littlefs on virtio-blk\n", 33) &&
              has(v, "data/big", big, BIG);
    int dd = fs_opendir(v, "data");
    struct fs_dirent e;
    int entries = 0;
    while (fs_readdir(v, dd, &e) == 1)
        entries++;
    CHECK_EQ(fs_closedir(v, dd), 0);
    CHECK_EQ(entries, 21);
    for (int i = 0; i < 20; i++) {
        char path[32], text[32];
        snprintf(path, sizeof path, "data/small%02d", i);
        snprintf(text, sizeof text, "file number %d", i);
        ok = ok && has(v, path, text, strlen(text));
    }
    check_verdict(ok, "files read back after a remount");

    CHECK_EQ(fs_rename(v, "data/big", "etc/big"), 0);
    CHECK_EQ(fs_unlink(v, "data/small00"), 0);
    CHECK_EQ(fs_unmount(v), 0);
    CHECK_EQ(fs_mount(bd, NULL, &v), 0);
    struct fs_stat s;
    check_verdict(fs_stat(v, "data/small00", &s) == -ENOENT &&
                      has(v, "etc/big", big, BIG),
                  "rename and unlink kept");
    CHECK_EQ(fs_statfs(v, &st), 0);
    printf("fs: %u of %u blocks used\n", (unsigned)st.blocks_used,
           (unsigned)st.block_count);
    CHECK_EQ(fs_unmount(v), 0);
    return check_finish();
}
