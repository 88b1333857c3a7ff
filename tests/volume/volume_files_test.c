/*
 * A volume built by unikernel_volume, read through //libos/fs in the guest:
 * every file the rule was given is there with its exact bytes (the
 * expected bytes are compiled in from the same sources by :site_expected),
 * and no other file is. Read-only volumes mount read-only: a write is
 * refused with EROFS and the volume stays as built.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <blkdev/blkdev.h>
#include <fs/fs.h>
#include <testing/check.h>
#include <virtio_blk/virtio_blk.h>

#include "tests/volume/site_expected.h"

static char back[16384];

static int count_files(struct fs *v, const char *dir)
{
    int dd = fs_opendir(v, dir[0] ? dir : "/"), n = 0;
    if (dd < 0)
        return -1;
    struct fs_dirent e;
    while (fs_readdir(v, dd, &e) > 0) {
        if (strcmp(e.name, ".") == 0 || strcmp(e.name, "..") == 0)
            continue;
        if (e.type == FS_TYPE_DIR) {
            char sub[128];
            snprintf(sub, sizeof sub, "%s%s%s", dir, dir[0] ? "/" : "", e.name);
            int m = count_files(v, sub);
            n += m < 0 ? 0 : m;
        } else {
            n++;
        }
    }
    fs_closedir(v, dd);
    return n;
}

int main(void)
{
    struct blkdev *bd;
    struct fs *v;
    if (!check_verdict(virtio_blk_open_first(&bd) == 0, "the volume's disk"))
        return check_finish();
    if (!check_verdict(fs_mount(bd, NULL, &v) == 0, "the volume mounts"))
        return check_finish();
    for (size_t i = 0; i < SITE_FILES; i++) {
        int fd = fs_open(v, site_files[i].path, FS_O_RDONLY);
        long n = fd < 0 ? fd : fs_read(v, fd, back, sizeof back);
        if (fd >= 0)
            fs_close(v, fd);
        bool same = n == (long)site_files[i].size && memcmp(back, site_files[i].bytes, site_files[i].size) == 0;
        CHECK_MSG(same, site_files[i].path);
        printf("volume: %s: %ld bytes, %s\n", site_files[i].path, n, same ? "as built" : "DIFFERENT");
    }
    CHECK_EQ(count_files(v, ""), (int)SITE_FILES);
    int fd = fs_open(v, "new", FS_O_WRONLY | FS_O_CREAT);
    CHECK_EQ(fd, -EROFS);
    printf("volume: a write is refused (%d)\n", fd);
    CHECK_EQ(fs_unmount(v), 0);
    return check_finish();
}
