/*
 * content.c - looking a path up in a content table (<content/content.h>).
 */
#include <string.h>

#include <content/content.h>

/* Bytewise order of two byte strings, shorter first on a common prefix:
 * the order the build tool sorts paths in. */
static int compare(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

const struct content_file *content_find(const struct content_table *t,
                                        const char *path, size_t len)
{
    size_t lo = 0, hi = t->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct content_file *f = &t->files[mid];
        int c = compare(path, len, f->path, f->path_len);
        if (c == 0)
            return f;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}
