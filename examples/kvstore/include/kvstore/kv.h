/*
 * kvstore/kv.h - the storage half of examples/kvstore: keys and values
 * as files of a littlefs volume (<fs/fs.h>), each change durable before
 * the call returns. No sockets, no threads: the HTTP server (main.c)
 * calls it under a lock of its own, and the host tests call it over
 * //testing/ramblk with power cuts (tests/kv_crash_test.c).
 *
 * Layout: every key is one file in the volume's root, named by the key.
 * A value is written to the temporary file KV_TEMP_NAME, synced, closed
 * and renamed over the key's file (littlefs renames within a directory
 * in one commit), so after a crash at any point a key holds either its
 * old value or its new one, never a mixture. kv_open removes a
 * temporary file a crash left behind.
 *
 * Keys are 1 to KV_KEY_MAX bytes of [A-Za-z0-9._-], not "." or "..".
 * Values are 0 to KV_VALUE_MAX bytes, any bytes.
 *
 * Errors are negative errno values: -EINVAL (bad key), -ENAMETOOLONG
 * (key above KV_KEY_MAX), -EFBIG (value above KV_VALUE_MAX), -ENOENT
 * (no such key), -EOVERFLOW (a buffer too small for a value or the list),
 * and whatever <fs/fs.h> returns (-ENOSPC, -EIO, ...).
 */
#ifndef KVSTORE_KV_H
#define KVSTORE_KV_H

#include <stdbool.h>
#include <stddef.h>

#include <fs/fs.h>

#define KV_KEY_MAX 128
#define KV_VALUE_MAX (64 * 1024)
/* Not a key: '~' is outside the key alphabet. */
#define KV_TEMP_NAME "~put"

struct kv {
    struct fs *fs;
};

/* 0 if key[0..len) is a valid key, else -EINVAL or -ENAMETOOLONG. */
int kv_key_check(const char *key, size_t len);

/* Binds `kv` to a mounted volume and removes a temporary file left by
 * a crash (durably). */
int kv_open(struct kv *kv, struct fs *fs);

/* Stores value[0..len) under the key, durably. 1: the key is new,
 * 0: it replaced a value. */
int kv_put(struct kv *kv, const char *key, size_t klen, const void *value,
           size_t len);

/* The value's length (copied into buf), -ENOENT, or -EOVERFLOW if it is
 * longer than cap. */
long kv_get(struct kv *kv, const char *key, size_t klen, void *buf,
            size_t cap);

/* Removes the key, durably. -ENOENT if it is not there. */
int kv_delete(struct kv *kv, const char *key, size_t klen);

/* Every key, sorted bytewise, one per line ("a\nb\n"), into buf: the
 * bytes written, or -EOVERFLOW if they do not fit in cap. */
long kv_list(struct kv *kv, char *buf, size_t cap);

/* Reads every key back, into scratch[0..cap) (KV_VALUE_MAX bytes fit
 * any value): *keys counts the keys, *bad those that cannot be read
 * whole. 0, or the error of listing the volume. Unlike kv_list, no
 * limit on the number of keys. */
int kv_verify(struct kv *kv, void *scratch, size_t cap, unsigned *keys,
              unsigned *bad);

#endif /* KVSTORE_KV_H */
