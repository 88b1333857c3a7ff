/*
 * http_test.c - <http/http.h> on the host: good requests, a table of
 * malformed ones, pipelining split at every byte, limits, ETag lists,
 * response heads, random mutations.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <http/http.h>
#include <testing/check.h>

static const struct http_limits LIMITS = {
    .max_head = 8192, .max_headers = 32, .max_body = 1 << 20};

static enum http_parse_result parse(const char *s, size_t len,
                                    struct http_request *req, int *status)
{
    return http_parse(s, len, &LIMITS, req, status);
}

static enum http_parse_result parse_str(const char *s,
                                        struct http_request *req, int *status)
{
    return parse(s, strlen(s), req, status);
}

static bool slice_is(struct http_slice s, const char *want)
{
    return s.len == strlen(want) && memcmp(s.p, want, s.len) == 0;
}

static void test_good_requests(void)
{
    struct http_request r;
    int st;
    const char *get = "GET /a/b%20c.html?x=1 HTTP/1.1\r\nHost: h\r\n"
                      "If-None-Match: \"abc\"\r\n\r\n";
    CHECK_EQ(parse_str(get, &r, &st), HTTP_PARSE_OK);
    CHECK_EQ(r.method, HTTP_GET);
    CHECK(strcmp(r.path, "/a/b c.html") == 0);
    CHECK(slice_is(r.target, "/a/b%20c.html?x=1"));
    CHECK(slice_is(r.method_name, "GET"));
    CHECK_EQ(r.minor, 1);
    CHECK(r.keep_alive);
    CHECK(r.has_if_none_match);
    CHECK(slice_is(r.if_none_match, "\"abc\""));
    CHECK_EQ(r.consumed, strlen(get));

    CHECK_EQ(parse_str("HEAD / HTTP/1.0\r\n\r\n", &r, &st), HTTP_PARSE_OK);
    CHECK_EQ(r.method, HTTP_HEAD);
    CHECK_EQ(r.minor, 0);
    CHECK(!r.keep_alive); /* 1.0 closes unless asked */

    CHECK_EQ(parse_str("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
                       &r, &st), HTTP_PARSE_OK);
    CHECK(r.keep_alive);
    CHECK_EQ(parse_str("GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, "
                       "close\r\n\r\n", &r, &st), HTTP_PARSE_OK);
    CHECK(!r.keep_alive);

    /* A body is counted in consumed; empty lines before a request too. */
    const char *post = "\r\n\r\nPOST /x HTTP/1.1\r\nHost: h\r\n"
                       "Content-Length: 5\r\n\r\nhello";
    CHECK_EQ(parse_str(post, &r, &st), HTTP_PARSE_OK);
    CHECK_EQ(r.method, HTTP_OTHER);
    CHECK(slice_is(r.method_name, "POST"));
    CHECK_EQ(r.content_length, 5);
    CHECK(r.has_content_length);
    CHECK_EQ(r.consumed, strlen(post));
    /* Without the field there is no length to trust (a PUT answers 411);
     * an explicit 0 is a length. */
    CHECK_EQ(parse_str("PUT /x HTTP/1.1\r\nHost: h\r\n\r\n", &r, &st),
             HTTP_PARSE_OK);
    CHECK(!r.has_content_length);
    CHECK_EQ(parse_str("PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0"
                       "\r\n\r\n", &r, &st), HTTP_PARSE_OK);
    CHECK(r.has_content_length);

    /* Unfinished heads ask for more. */
    CHECK_EQ(parse_str("GET / HTTP/1.1\r\nHost: h\r\n", &r, &st),
             HTTP_PARSE_INCOMPLETE);
    CHECK_EQ(parse_str("GET / HTTP/1.1\r\nHost: h\r\n\r", &r, &st),
             HTTP_PARSE_INCOMPLETE);
    CHECK_EQ(parse_str("", &r, &st), HTTP_PARSE_INCOMPLETE);
    CHECK_EQ(parse_str("\r", &r, &st), HTTP_PARSE_INCOMPLETE);
    /* "get" is not GET: methods are case-sensitive. */
    CHECK_EQ(parse_str("get / HTTP/1.1\r\nHost: h\r\n\r\n", &r, &st),
             HTTP_PARSE_OK);
    CHECK_EQ(r.method, HTTP_OTHER);
    /* HTTP/1.9 is answered as 1.1. */
    CHECK_EQ(parse_str("GET / HTTP/1.9\r\nHost: h\r\n\r\n", &r, &st),
             HTTP_PARSE_OK);
    CHECK_EQ(r.minor, 1);
}

struct bad_case {
    const char *what;
    const char *req;
    size_t len; /* 0: strlen(req) */
    int status;
};

static const struct bad_case BAD[] = {
    {"bare LF", "GET / HTTP/1.1\nHost: h\n\n", 0, 400},
    {"bare LF after CRLF", "GET / HTTP/1.1\r\nHost: h\r\n\n", 0, 400},
    {"CR without LF", "GET / HTTP/1.1\rHost: h\r\n\r\n", 0, 400},
    {"NUL in the target", "GET /a\0b HTTP/1.1\r\nHost: h\r\n\r\n", 31, 400},
    {"NUL in a field", "GET / HTTP/1.1\r\nHost: h\0\r\n\r\n", 28, 400},
    {"no method", " / HTTP/1.1\r\nHost: h\r\n\r\n", 0, 400},
    {"method with a slash", "GE/T / HTTP/1.1\r\nHost: h\r\n\r\n", 0, 400},
    {"method of bytes", "G\xffT / HTTP/1.1\r\nHost: h\r\n\r\n", 0, 400},
    {"two spaces", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 0, 400},
    {"no version", "GET /\r\nHost: h\r\n\r\n", 0, 400},
    {"HTTP/0.9 style", "GET / \r\n\r\n", 0, 400},
    {"lower-case version", "GET / http/1.1\r\nHost: h\r\n\r\n", 0, 400},
    {"version 2.0", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 0, 505},
    {"version junk", "GET / HTTP/1.1x\r\nHost: h\r\n\r\n", 0, 400},
    {"tab in the target", "GET /a\tb HTTP/1.1\r\nHost: h\r\n\r\n", 0, 400},
    {"asterisk form", "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", 0, 400},
    {"absolute form", "GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n", 0, 400},
    {"fragment", "GET /a#b HTTP/1.1\r\nHost: h\r\n\r\n", 0, 400},
    {"percent at the end", "GET /a% HTTP/1.1\r\nHost: h\r\n\r\n", 0, 400},
    {"percent one digit", "GET /a%4 HTTP/1.1\r\nHost: h\r\n\r\n", 0, 400},
    {"percent not hex", "GET /a%zz HTTP/1.1\r\nHost: h\r\n\r\n", 0, 400},
    {"percent NUL", "GET /a%00b HTTP/1.1\r\nHost: h\r\n\r\n", 0, 400},
    {"dot-dot", "GET /../etc/passwd HTTP/1.1\r\nHost: h\r\n\r\n", 0, 400},
    {"dot-dot inside", "GET /a/../../b HTTP/1.1\r\nHost: h\r\n\r\n", 0, 400},
    {"dot-dot at the end", "GET /a/.. HTTP/1.1\r\nHost: h\r\n\r\n", 0, 400},
    {"dot segment", "GET /./a HTTP/1.1\r\nHost: h\r\n\r\n", 0, 400},
    {"encoded dot-dot", "GET /%2e%2e/x HTTP/1.1\r\nHost: h\r\n\r\n", 0, 400},
    {"encoded upper", "GET /%2E%2E/x HTTP/1.1\r\nHost: h\r\n\r\n", 0, 400},
    {"half encoded", "GET /.%2e/x HTTP/1.1\r\nHost: h\r\n\r\n", 0, 400},
    {"encoded slash", "GET /a%2f..%2fb HTTP/1.1\r\nHost: h\r\n\r\n", 0, 400},
    {"no Host in 1.1", "GET / HTTP/1.1\r\n\r\n", 0, 400},
    {"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 0, 400},
    {"space before colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", 0, 400},
    {"no colon", "GET / HTTP/1.1\r\nHost h\r\n\r\n", 0, 400},
    {"empty name", "GET / HTTP/1.1\r\n: h\r\nHost: h\r\n\r\n", 0, 400},
    {"obs-fold", "GET / HTTP/1.1\r\nHost: h\r\n x\r\n\r\n", 0, 400},
    {"control in value", "GET / HTTP/1.1\r\nHost: h\x01\r\n\r\n", 0, 400},
    {"DEL in value", "GET / HTTP/1.1\r\nHost: h\x7f\r\n\r\n", 0, 400},
    {"negative length", "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: -1"
                        "\r\n\r\n", 0, 400},
    {"length in hex", "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x10"
                      "\r\n\r\n", 0, 400},
    {"empty length", "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: "
                     "\r\n\r\n", 0, 400},
    {"length list", "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 1"
                    "\r\n\r\n", 0, 400},
    {"two lengths", "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n"
                    "Content-Length: 2\r\n\r\n", 0, 400},
    {"absurd length", "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: "
                      "99999999999999999999999999\r\n\r\n", 0, 413},
    {"length over the limit", "GET / HTTP/1.1\r\nHost: h\r\n"
                              "Content-Length: 1048577\r\n\r\n", 0, 413},
    {"chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked"
                "\r\n\r\n", 0, 501},
};

static void test_malformed_table(void)
{
    for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
        const struct bad_case *c = &BAD[i];
        size_t len = c->len ? c->len : strlen(c->req);
        struct http_request r;
        int st = 0;
        enum http_parse_result res = parse(c->req, len, &r, &st);
        if (res != HTTP_PARSE_ERROR || st != c->status)
            printf("  %s: result %d status %d, want status %d\n", c->what,
                   (int)res, st, c->status);
        CHECK_MSG(res == HTTP_PARSE_ERROR && st == c->status, c->what);
    }
}

static void test_limits(void)
{
    struct http_request r;
    int st;
    /* A 1 MB header line: refused once the head outgrows the limit. */
    size_t big = 1 << 20;
    char *buf = malloc(big);
    memcpy(buf, "GET / HTTP/1.1\r\nX: ", 19);
    memset(buf + 19, 'a', big - 19);
    CHECK_EQ(parse(buf, big, &r, &st), HTTP_PARSE_ERROR);
    CHECK_EQ(st, 431);
    /* ... also when only the limit's worth has arrived. */
    CHECK_EQ(parse(buf, LIMITS.max_head, &r, &st), HTTP_PARSE_ERROR);
    CHECK_EQ(st, 431);
    CHECK_EQ(parse(buf, LIMITS.max_head - 1, &r, &st), HTTP_PARSE_INCOMPLETE);
    /* A 1 MB request line. */
    memcpy(buf, "GET /", 5);
    memset(buf + 5, 'a', big - 5);
    CHECK_EQ(parse(buf, big, &r, &st), HTTP_PARSE_ERROR);
    CHECK_EQ(st, 414);
    free(buf);

    /* A decoded path longer than HTTP_PATH_MAX. */
    char line[HTTP_PATH_MAX + 64];
    int n = snprintf(line, sizeof(line), "GET /%0*d HTTP/1.1\r\nHost: h\r\n\r\n",
                     HTTP_PATH_MAX, 0);
    CHECK_EQ(parse(line, (size_t)n, &r, &st), HTTP_PARSE_ERROR);
    CHECK_EQ(st, 414);
    n = snprintf(line, sizeof(line), "GET /%0*d HTTP/1.1\r\nHost: h\r\n\r\n",
                 HTTP_PATH_MAX - 1, 0);
    CHECK_EQ(parse(line, (size_t)n, &r, &st), HTTP_PARSE_OK);
    CHECK_EQ(r.path_len, HTTP_PATH_MAX);

    /* Header count: the limit passes, one more is refused. */
    char many[4096];
    size_t m = (size_t)snprintf(many, sizeof(many), "GET / HTTP/1.1\r\n");
    for (unsigned i = 0; i < LIMITS.max_headers; i++)
        m += (size_t)snprintf(many + m, sizeof(many) - m, "%s: v\r\n",
                              i == 0 ? "Host" : "X-A");
    memcpy(many + m, "\r\n", 2);
    CHECK_EQ(parse(many, m + 2, &r, &st), HTTP_PARSE_OK);
    memcpy(many + m, "X-B: v\r\n\r\n", 10);
    CHECK_EQ(parse(many, m + 10, &r, &st), HTTP_PARSE_ERROR);
    CHECK_EQ(st, 431);
    /* Too many headers are refused before the head ends. */
    CHECK_EQ(parse(many, m + 8, &r, &st), HTTP_PARSE_ERROR);
    CHECK_EQ(st, 431);
}

/* A connection's receive buffer fed in pieces: the requests it parses. */
struct conn_sim {
    char buf[8192];
    size_t len;
    uint64_t skip; /* body bytes still to drop */
    char paths[8][32];
    int methods[8];
    int count;
    int error;
};

static void conn_feed(struct conn_sim *c, const char *p, size_t n)
{
    while (n > 0 && c->skip > 0) {
        c->skip--;
        p++;
        n--;
    }
    CHECK(c->len + n <= sizeof(c->buf));
    memcpy(c->buf + c->len, p, n);
    c->len += n;
    for (;;) {
        struct http_request r;
        int st;
        enum http_parse_result res = http_parse(c->buf, c->len, &LIMITS, &r,
                                                &st);
        if (res == HTTP_PARSE_INCOMPLETE)
            return;
        if (res == HTTP_PARSE_ERROR) {
            c->error = st;
            c->len = 0;
            return;
        }
        if (c->count < 8) {
            snprintf(c->paths[c->count], 32, "%.31s", r.path);
            c->methods[c->count] = (int)r.method;
        }
        c->count++;
        size_t drop = r.consumed < c->len ? r.consumed : c->len;
        c->skip = r.consumed - drop;
        memmove(c->buf, c->buf + drop, c->len - drop);
        c->len -= drop;
    }
}

static const char PIPELINE[] =
    "GET /one HTTP/1.1\r\nHost: h\r\n\r\n"
    "HEAD /two%21 HTTP/1.1\r\nHost: h\r\nX-Long: abcdefghij\r\n\r\n"
    "POST /three HTTP/1.1\r\nHost: h\r\nContent-Length: 7\r\n\r\nGET /no"
    "\r\nGET /four HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";

static bool pipeline_ok(const struct conn_sim *c)
{
    return c->error == 0 && c->count == 4 && c->len == 0 && c->skip == 0
           && strcmp(c->paths[0], "/one") == 0
           && strcmp(c->paths[1], "/two!") == 0
           && strcmp(c->paths[2], "/three") == 0
           && strcmp(c->paths[3], "/four") == 0
           && c->methods[0] == HTTP_GET && c->methods[1] == HTTP_HEAD
           && c->methods[2] == HTTP_OTHER && c->methods[3] == HTTP_GET;
}

static void test_pipelining_split_everywhere(void)
{
    size_t total = sizeof(PIPELINE) - 1;
    unsigned good = 0;
    /* Two pieces, split at every byte boundary. */
    for (size_t k = 0; k <= total; k++) {
        struct conn_sim c = {0};
        conn_feed(&c, PIPELINE, k);
        conn_feed(&c, PIPELINE + k, total - k);
        good += pipeline_ok(&c);
    }
    CHECK_EQ(good, total + 1);
    /* One byte at a time. */
    struct conn_sim c = {0};
    for (size_t k = 0; k < total; k++)
        conn_feed(&c, PIPELINE + k, 1);
    CHECK(pipeline_ok(&c));
    /* Three pieces at random boundaries. */
    rng_seed(12);
    good = 0;
    for (int i = 0; i < 500; i++) {
        size_t a = (size_t)rng_below(total + 1);
        size_t b = a + (size_t)rng_below(total - a + 1);
        struct conn_sim d = {0};
        conn_feed(&d, PIPELINE, a);
        conn_feed(&d, PIPELINE + a, b - a);
        conn_feed(&d, PIPELINE + b, total - b);
        good += pipeline_ok(&d);
    }
    CHECK_EQ(good, 500);
}

static void test_etag_match(void)
{
    const char *tag = "\"0123abcd\"";
    struct {
        const char *inm;
        bool match;
    } cases[] = {
        {"\"0123abcd\"", true},
        {"*", true},
        {"W/\"0123abcd\"", true},
        {"\"x\", \"0123abcd\"", true},
        {"\"x\",\"0123abcd\" ,", true},
        {"\"0123abcd", false},
        {"0123abcd", false},
        {"\"0123abce\"", false},
        {"\"0123abcd\"x", false},
        {"", false},
        {"\"x\" \"0123abcd\"", false},
        {"w/\"0123abcd\"", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct http_slice s = {cases[i].inm, strlen(cases[i].inm)};
        CHECK_MSG(http_etag_match(s, tag) == cases[i].match, cases[i].inm);
    }
}

static void test_write_head(void)
{
    char buf[256];
    struct http_response r = {.status = 200,
                              .content_type = "text/html; charset=utf-8",
                              .etag = "\"ab\"",
                              .content_length = 1234,
                              .send_length = true,
                              .keep_alive = true};
    size_t n = http_write_head(buf, sizeof(buf), &r);
    const char *want = "HTTP/1.1 200 OK\r\n"
                       "Content-Type: text/html; charset=utf-8\r\n"
                       "Content-Length: 1234\r\n"
                       "ETag: \"ab\"\r\n"
                       "Connection: keep-alive\r\n\r\n";
    CHECK_EQ(n, strlen(want));
    CHECK(n == strlen(want) && memcmp(buf, want, n) == 0);
    /* Every shorter buffer is refused, never overrun. */
    unsigned refused = 0;
    for (size_t cap = 0; cap <= n; cap++)
        refused += http_write_head(buf, cap, &r) == 0;
    CHECK_EQ(refused, n + 1);

    struct http_response e = {.status = 405, .allow = "GET, HEAD",
                              .send_length = true, .content_length = 0};
    n = http_write_head(buf, sizeof(buf), &e);
    want = "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n"
           "Allow: GET, HEAD\r\nConnection: close\r\n\r\n";
    CHECK(n == strlen(want) && memcmp(buf, want, n) == 0);
    struct http_response inj = {.status = 200, .etag = "\"a\"\r\nX: y"};
    CHECK_EQ(http_write_head(buf, sizeof(buf), &inj), 0);
    CHECK(strcmp(http_reason(431), "Request Header Fields Too Large") == 0);
    CHECK(strcmp(http_reason(999), "Unknown") == 0);
    CHECK(strcmp(http_reason(201), "Created") == 0);
    CHECK(strcmp(http_reason(204), "No Content") == 0);
    CHECK(strcmp(http_reason(411), "Length Required") == 0);
    CHECK(strcmp(http_reason(507), "Insufficient Storage") == 0);
}

/* What the server's access log and body rule say about a response. */
static void test_log_line_and_body_bytes(void)
{
    struct http_request req;
    int status;
    CHECK_EQ(parse_str("HEAD /a%20b?x=1 HTTP/1.0\r\n\r\n", &req, &status),
             HTTP_PARSE_OK);
    char buf[512];
    size_t n = http_log_line(buf, sizeof(buf), "kvstore", "10.0.2.2", &req,
                             200, 0);
    const char *want = "kvstore: 10.0.2.2 \"HEAD /a%20b?x=1 HTTP/1.0\" 200 0\n";
    CHECK_EQ(n, strlen(want));
    CHECK(strcmp(buf, want) == 0);
    n = http_log_line(buf, sizeof(buf), "httpd", "1.2.3.4", NULL, 400, 12);
    CHECK(strcmp(buf, "httpd: 1.2.3.4 \"-\" 400 12\n") == 0);
    CHECK_EQ(n, strlen(buf));
    /* A short buffer: cut, terminated, never overrun (ASan). */
    for (size_t cap = 1; cap < 16; cap++) {
        char *small = malloc(cap);
        n = http_log_line(small, cap, "httpd", "1.2.3.4", NULL, 400, 12);
        CHECK_EQ(n, cap - 1);
        CHECK_EQ(strlen(small), cap - 1);
        free(small);
    }
    /* A long target is cut at HTTP_LOG_TARGET_MAX bytes. */
    static char longreq[1024];
    memcpy(longreq, "GET /", 5);
    memset(longreq + 5, 'a', 400);
    strcpy(longreq + 405, " HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK_EQ(parse_str(longreq, &req, &status), HTTP_PARSE_OK);
    n = http_log_line(buf, sizeof(buf), "httpd", "1.2.3.4", &req, 404, 10);
    CHECK_EQ(n, strlen("httpd: 1.2.3.4 \"GET ") + HTTP_LOG_TARGET_MAX
                    + strlen(" HTTP/1.1\" 404 10\n"));

    struct http_response r = {.status = 200, .content_length = 465};
    CHECK_EQ(http_body_bytes(&req, &r), 465); /* GET */
    CHECK_EQ(http_body_bytes(NULL, &r), 465); /* no request parsed */
    r.status = 304;
    CHECK_EQ(http_body_bytes(&req, &r), 0);
    r.status = 204;
    CHECK_EQ(http_body_bytes(&req, &r), 0);
    r.status = 404;
    CHECK_EQ(http_body_bytes(&req, &r), 465);
    CHECK_EQ(parse_str("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", &req, &status),
             HTTP_PARSE_OK);
    CHECK_EQ(http_body_bytes(&req, &r), 0); /* HEAD: the head only */
}

/* Random mutations of a good pipeline: whatever comes back, the parser
 * stays inside the buffer (ASan) and its answer is consistent. */
static void test_mutations(void)
{
    rng_seed(2026);
    size_t total = sizeof(PIPELINE) - 1;
    char buf[sizeof(PIPELINE)];
    unsigned consistent = 0, runs = 20000;
    for (unsigned i = 0; i < runs; i++) {
        memcpy(buf, PIPELINE, total);
        unsigned flips = 1 + (unsigned)rng_below(4);
        for (unsigned f = 0; f < flips; f++)
            buf[rng_below(total)] = (char)rng_below(256);
        size_t len = (size_t)rng_below(total + 1);
        /* An exactly sized heap copy, so a read past the end faults. */
        char *copy = malloc(len ? len : 1);
        memcpy(copy, buf, len);
        struct http_request r;
        int st = 0;
        enum http_parse_result res = parse(copy, len, &r, &st);
        bool ok = true;
        if (res == HTTP_PARSE_OK)
            ok = st == 0 && r.path[0] == '/' && r.path_len < sizeof(r.path)
                 && strlen(r.path) == r.path_len
                 && strstr(r.path, "/../") == NULL
                 && r.method_name.p >= copy
                 && r.method_name.p + r.method_name.len <= copy + len;
        else if (res == HTTP_PARSE_ERROR)
            ok = st >= 400 && st < 600;
        consistent += ok;
        free(copy);
    }
    CHECK_EQ(consistent, runs);
}

int main(void)
{
    RUN(test_good_requests);
    RUN(test_malformed_table);
    RUN(test_limits);
    RUN(test_pipelining_split_everywhere);
    RUN(test_etag_match);
    RUN(test_write_head);
    RUN(test_log_line_and_body_bytes);
    RUN(test_mutations);
    return check_finish();
}
