/*
 * content/content.h - files linked into the image as a read-only table.
 *
 * `unikernel_content(name, srcs, strip_prefix)` in BUILD turns a set of
 * files into one table (docs/rules.md): each file's served path ("/" and
 * its path under strip_prefix), its bytes, size, content type (by
 * extension) and ETag (a hash of the bytes), sorted by path, all const,
 * so the linker places them in read-only memory. An image links at most
 * one table (component slot "content"); it is `content_table`.
 *
 * Nothing here knows HTTP: a server maps request paths onto
 * content_find() itself.
 */
#ifndef CONTENT_CONTENT_H
#define CONTENT_CONTENT_H

#include <stddef.h>
#include <stdint.h>

struct content_file {
    const char *path;         /* "/index.html": UTF-8, NUL-terminated */
    size_t path_len;
    const unsigned char *data;
    uint64_t size;
    const char *content_type; /* "text/html; charset=utf-8" */
    const char *etag;         /* a strong ETag with its quotes */
};

struct content_table {
    const struct content_file *files; /* sorted by path, bytewise */
    size_t count;
};

/* The image's table, defined by the unikernel_content target it links. */
extern const struct content_table content_table;

/* The file served at path[0..len) (exact, bytewise), or NULL. */
const struct content_file *content_find(const struct content_table *t,
                                        const char *path, size_t len);

#endif /* CONTENT_CONTENT_H */
