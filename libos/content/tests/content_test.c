/*
 * content_test.c - the table unikernel_content made from tests/sample,
 * looked up on the host: every file by its path with its exact bytes,
 * size, type and ETag; paths that are not there.
 */
#include <string.h>

#include <content/content.h>
#include <testing/check.h>

struct want {
    const char *path;
    const unsigned char *data;
    size_t size;
    const char *type;
};

static const struct want FILES[] = {
    {"/empty.txt", (const unsigned char *)"", 0, "text/plain; charset=utf-8"},
    {"/index.html", (const unsigned char *)"<h1>hi</h1>\n", 12,
     "text/html; charset=utf-8"},
    {"/sub/raw.bin", (const unsigned char *)"a\0b\xff", 4,
     "application/octet-stream"},
    {"/sub/style.css", (const unsigned char *)"body { color: red; }\n", 21,
     "text/css; charset=utf-8"},
};

static void test_every_file(void)
{
    size_t n = sizeof(FILES) / sizeof(FILES[0]);
    CHECK_EQ(content_table.count, n);
    for (size_t i = 0; i < n; i++) {
        const struct want *w = &FILES[i];
        const struct content_file *f =
            content_find(&content_table, w->path, strlen(w->path));
        CHECK_MSG(f != NULL, w->path);
        if (!f)
            continue;
        CHECK(f == &content_table.files[i]); /* sorted bytewise */
        CHECK_EQ(f->size, w->size);
        CHECK(memcmp(f->data, w->data, w->size) == 0);
        CHECK(strcmp(f->content_type, w->type) == 0);
        CHECK_EQ(strlen(f->etag), 18);
        CHECK(f->etag[0] == '"' && f->etag[17] == '"');
    }
    /* The ETag is a hash of the bytes: different files, different tags. */
    CHECK(strcmp(content_table.files[1].etag, content_table.files[3].etag)
          != 0);
}

static void test_misses(void)
{
    const char *misses[] = {"/", "", "/index.htm", "/index.html/", "/sub",
                            "/sub/", "/SUB/raw.bin", "/zzz", "/a"};
    for (size_t i = 0; i < sizeof(misses) / sizeof(misses[0]); i++)
        CHECK_MSG(content_find(&content_table, misses[i],
                               strlen(misses[i])) == NULL,
                  misses[i]);
    /* A prefix of a path given with its length is not that path. */
    CHECK(content_find(&content_table, "/index.html", 6) == NULL);
    struct content_table empty = {NULL, 0};
    CHECK(content_find(&empty, "/index.html", 11) == NULL);
}

int main(void)
{
    RUN(test_every_file);
    RUN(test_misses);
    return check_finish();
}
