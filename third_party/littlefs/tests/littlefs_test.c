/*
 * littlefs from @littlefs on the host: format, mount, write, remount, read
 * back, on a RAM block device with erase/program rules checked (a program
 * of a byte that is not erased fails the test, as flash would corrupt it).
 * Then it mounts a volume written by the Python littlefs package
 * (make_volume.py, the path in argv[1]) and reads its file.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lfs.h"

enum {
    BLOCK_SIZE = 512,
    BLOCK_COUNT = 64,
    ERASED = 0xff,
};

struct ramdisk {
    uint8_t bytes[BLOCK_COUNT][BLOCK_SIZE];
    unsigned programs;
    unsigned erases;
    unsigned bad_programs;
};

static int failures;

#define CHECK(cond)                                                         \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                 \
            failures++;                                                     \
        }                                                                   \
    } while (0)

static int in_range(const struct lfs_config *c, lfs_block_t block, lfs_off_t off, lfs_size_t size) {
    return block < c->block_count && off <= c->block_size && size <= c->block_size - off;
}

static int ram_read(const struct lfs_config *c, lfs_block_t block, lfs_off_t off, void *buffer,
                    lfs_size_t size) {
    struct ramdisk *d = c->context;
    if (!in_range(c, block, off, size)) {
        return LFS_ERR_IO;
    }
    memcpy(buffer, &d->bytes[block][off], size);
    return 0;
}

static int ram_prog(const struct lfs_config *c, lfs_block_t block, lfs_off_t off,
                    const void *buffer, lfs_size_t size) {
    struct ramdisk *d = c->context;
    if (!in_range(c, block, off, size)) {
        return LFS_ERR_IO;
    }
    for (lfs_size_t i = 0; i < size; i++) {
        if (d->bytes[block][off + i] != ERASED) {
            d->bad_programs++;
        }
    }
    memcpy(&d->bytes[block][off], buffer, size);
    d->programs++;
    return 0;
}

static int ram_erase(const struct lfs_config *c, lfs_block_t block) {
    struct ramdisk *d = c->context;
    if (block >= c->block_count) {
        return LFS_ERR_IO;
    }
    memset(d->bytes[block], ERASED, sizeof d->bytes[block]);
    d->erases++;
    return 0;
}

static int ram_sync(const struct lfs_config *c) {
    (void)c;
    return 0;
}

static struct ramdisk disk;

static const struct lfs_config config = {
    .context = &disk,
    .read = ram_read,
    .prog = ram_prog,
    .erase = ram_erase,
    .sync = ram_sync,
    .read_size = 16,
    .prog_size = 16,
    .block_size = BLOCK_SIZE,
    .block_count = BLOCK_COUNT,
    .block_cycles = 500,
    .cache_size = 64,
    .lookahead_size = 16,
};

static const char message[] = "a sealed appliance keeps its data through power loss\n";

static void write_file(lfs_t *lfs, const char *path, const void *data, lfs_size_t size) {
    lfs_file_t file;
    CHECK(lfs_file_open(lfs, &file, path, LFS_O_WRONLY | LFS_O_CREAT | LFS_O_TRUNC) == 0);
    CHECK(lfs_file_write(lfs, &file, data, size) == (lfs_ssize_t)size);
    CHECK(lfs_file_close(lfs, &file) == 0);
}

/* What make_volume.py writes (BLOCK_SIZE, BLOCK_COUNT, MOTD there). */
static const char volume_motd[] = "written at build time by littlefs-python\n";

static void read_python_volume(const char *path) {
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    if (f == NULL) {
        return;
    }
    memset(disk.bytes, ERASED, sizeof disk.bytes);
    CHECK(fread(disk.bytes, 1, sizeof disk.bytes, f) == sizeof disk.bytes);
    CHECK(fgetc(f) == EOF);
    fclose(f);

    lfs_t lfs;
    lfs_file_t file;
    char text[sizeof volume_motd + 8] = {0};
    CHECK(lfs_mount(&lfs, &config) == 0);
    CHECK(lfs_file_open(&lfs, &file, "etc/motd", LFS_O_RDONLY) == 0);
    CHECK(lfs_file_read(&lfs, &file, text, sizeof text) == (lfs_ssize_t)strlen(volume_motd));
    CHECK(strcmp(text, volume_motd) == 0);
    CHECK(lfs_file_close(&lfs, &file) == 0);
    CHECK(lfs_unmount(&lfs) == 0);
}

int main(int argc, char **argv) {
    lfs_t lfs;
    memset(disk.bytes, ERASED, sizeof disk.bytes);

    /* An erased device holds no filesystem. */
    printf("littlefs_test: mounting an erased device (littlefs reports it corrupt)\n");
    fflush(stdout);
    CHECK(lfs_mount(&lfs, &config) == LFS_ERR_CORRUPT);

    CHECK(lfs_format(&lfs, &config) == 0);
    CHECK(disk.erases > 0 && disk.programs > 0);
    /* The superblock's magic sits at offset 8 of block 0 (SPEC.md). */
    CHECK(memcmp(&disk.bytes[0][8], "littlefs", 8) == 0);

    CHECK(lfs_mount(&lfs, &config) == 0);
    CHECK(lfs_mkdir(&lfs, "etc") == 0);
    write_file(&lfs, "etc/motd", message, sizeof message);

    /* A file larger than a block spans several blocks. */
    static uint8_t big[3 * BLOCK_SIZE + 7];
    for (size_t i = 0; i < sizeof big; i++) {
        big[i] = (uint8_t)(i * 7 + 3);
    }
    write_file(&lfs, "big", big, sizeof big);
    CHECK(lfs_rename(&lfs, "big", "etc/big") == 0);
    CHECK(lfs_unmount(&lfs) == 0);

    /* Everything is on the device: mount again and read it back. */
    CHECK(lfs_mount(&lfs, &config) == 0);
    struct lfs_info info;
    CHECK(lfs_stat(&lfs, "etc/motd", &info) == 0);
    CHECK(info.type == LFS_TYPE_REG && info.size == sizeof message);
    CHECK(lfs_stat(&lfs, "big", &info) == LFS_ERR_NOENT);

    lfs_file_t file;
    char text[sizeof message + 8] = {0};
    CHECK(lfs_file_open(&lfs, &file, "etc/motd", LFS_O_RDONLY) == 0);
    CHECK(lfs_file_read(&lfs, &file, text, sizeof text) == (lfs_ssize_t)sizeof message);
    CHECK(memcmp(text, message, sizeof message) == 0);
    CHECK(lfs_file_close(&lfs, &file) == 0);

    static uint8_t back[sizeof big];
    CHECK(lfs_file_open(&lfs, &file, "etc/big", LFS_O_RDONLY) == 0);
    CHECK(lfs_file_read(&lfs, &file, back, sizeof back) == (lfs_ssize_t)sizeof back);
    CHECK(memcmp(back, big, sizeof big) == 0);
    CHECK(lfs_file_close(&lfs, &file) == 0);
    CHECK(lfs_unmount(&lfs) == 0);

    /* littlefs never programs a byte it has not erased. */
    CHECK(disk.bad_programs == 0);

    if (argc != 2) {
        fprintf(stderr, "usage: littlefs_test VOLUME (a volume from make_volume.py)\n");
        return 2;
    }
    read_python_volume(argv[1]);

    if (failures != 0) {
        fprintf(stderr, "littlefs_test: %d checks failed\n", failures);
        return 1;
    }
    printf("littlefs_test: ok (littlefs %d.%d, %u programs, %u erases)\n", LFS_VERSION_MAJOR,
           LFS_VERSION_MINOR, disk.programs, disk.erases);
    return 0;
}
