/*
 * http/http.h - an HTTP/1.1 request parser and response writer (RFC 9112,
 * RFC 9110), plain C over byte buffers: no sockets, no files, no
 * allocation. docs/networking.md ("HTTP").
 *
 * The caller owns a connection's receive buffer and calls http_parse()
 * on the bytes received so far each time more arrive. The parser is
 * stateless: it reads a whole request head from the start of the buffer
 * or says it needs more bytes, so a request split at any byte boundary
 * parses the same as one that arrived whole, and pipelined requests are
 * read one after another by dropping `consumed` bytes each time.
 *
 * Everything the peer sent is validated before it is used: the request
 * line (method token, origin-form target, version), every header line
 * (token name, no space before the colon, no obsolete line folding, no
 * control bytes), Host, Content-Length, Transfer-Encoding, and the path
 * (percent-decoding, no NUL, no "." or ".." segment, before or after
 * decoding). A request that breaks a rule or a limit is an error with
 * the status to answer (4xx, 5xx); the connection must then be closed,
 * since where the next request starts is no longer known.
 */
#ifndef HTTP_HTTP_H
#define HTTP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest decoded path a request may name (without its query). */
#define HTTP_PATH_MAX 512

enum http_method {
    HTTP_GET,
    HTTP_HEAD,
    HTTP_OTHER, /* a well-formed token we do not serve (POST, PUT, ...) */
};

struct http_limits {
    size_t max_head;       /* bytes of request line + headers + blank line */
    unsigned max_headers;  /* header lines */
    uint64_t max_body;     /* Content-Length above this: 413 */
};

/* A byte range of the buffer given to http_parse(). */
struct http_slice {
    const char *p;
    size_t len;
};

struct http_request {
    enum http_method method;
    struct http_slice method_name; /* as sent, for the access log */
    struct http_slice target;      /* as sent, for the access log */
    char path[HTTP_PATH_MAX + 1];  /* decoded, NUL-terminated, starts "/" */
    size_t path_len;
    unsigned minor;         /* HTTP/1.<minor>: 0 or 1 */
    bool keep_alive;        /* the peer allows another request after this */
    uint64_t content_length;
    bool has_content_length; /* a Content-Length field was sent (PUT needs one) */
    bool has_if_none_match;
    struct http_slice if_none_match;
    size_t consumed;        /* head + body bytes: drop them for the next */
};

enum http_parse_result {
    HTTP_PARSE_OK,         /* *req is filled */
    HTTP_PARSE_INCOMPLETE, /* no error so far; receive more and call again */
    HTTP_PARSE_ERROR,      /* answer *status and close the connection */
};

/*
 * Reads one request from buf[0..len). OK: *req is filled; its slices
 * point into buf, and req->consumed counts the head and the body (the
 * body itself may not have arrived yet: the caller discards that many
 * bytes as they come). INCOMPLETE: the head is unfinished and within the
 * limits. ERROR: *status is 400, 413, 414, 431, 501 or 505 (which
 * methods to serve is the caller's choice: HTTP_OTHER is not an error).
 *
 * Empty lines before a request line are skipped (RFC 9112 2.2) and count
 * towards `consumed`.
 */
enum http_parse_result http_parse(const char *buf, size_t len,
                                  const struct http_limits *limits,
                                  struct http_request *req, int *status);

/* The reason phrase of a status ("Not Found"); "Unknown" for others. */
const char *http_reason(int status);

/*
 * If-None-Match against a strong ETag (given with its quotes, e.g.
 * "\"3a7bd3e2\""): true if the field value is "*" or lists that tag,
 * compared weakly (W/"x" matches "x", RFC 9110 13.1.2). A malformed
 * list matches nothing.
 */
bool http_etag_match(struct http_slice if_none_match, const char *etag);

struct http_response {
    int status;
    const char *content_type; /* NULL: no Content-Type */
    const char *etag;         /* NULL: no ETag; with its quotes */
    uint64_t content_length;
    bool send_length;         /* false for 304 */
    bool keep_alive;          /* Connection: keep-alive or close */
    const char *allow;        /* NULL: no Allow (405 needs one) */
};

/*
 * Writes the status line and headers, ending with the blank line, into
 * buf[0..cap). The number of bytes written, or 0 if they do not fit (or a
 * field holds CR, LF or NUL).
 */
size_t http_write_head(char *buf, size_t cap, const struct http_response *r);

/*
 * The body bytes a response carries: r->content_length, or 0 for a
 * response to HEAD (req may be NULL: a request that did not parse), for
 * 1xx, 204 and 304 (RFC 9110 6.4.1).
 */
uint64_t http_body_bytes(const struct http_request *req,
                         const struct http_response *r);

/* The longest request target an access log line shows (the rest is cut). */
#define HTTP_LOG_TARGET_MAX 200

/*
 * One access log line, with its newline, into buf[0..cap):
 * `<name>: <peer> "<method> <target> HTTP/1.<minor>" <status> <bytes>`,
 * or `"-"` for the request line when req is NULL or has none. The
 * target is cut at HTTP_LOG_TARGET_MAX bytes. Returns the length written
 * (cut at cap - 1 like snprintf, always NUL-terminated when cap > 0).
 */
size_t http_log_line(char *buf, size_t cap, const char *name,
                     const char *peer, const struct http_request *req,
                     int status, uint64_t bytes);

#endif /* HTTP_HTTP_H */
