/*
 * http/serve.h - the connection server of an HTTP/1.1 appliance: accepts
 * on a listening socket, serves each connection on a thread of its own
 * on the scheduler, parses requests (<http/http.h>) and hands each one to
 * the application's handler. docs/networking.md ("HTTP").
 *
 * What it does for every appliance alike:
 *
 * - At most max_connections at once, each on a slot allocated when
 *   http_serve() starts (a thread stack, the receive buffer, the send
 *   buffer and, with read_body, a body buffer). The server takes a free
 *   slot before it accepts, so a client beyond the limit is not refused:
 *   it waits in the listen backlog until a slot frees. A 503 is sent only
 *   when the scheduler has no thread for a connection.
 * - A request head must arrive whole within idle_timeout_ms of the
 *   connection opening or of the previous response (408 for an unfinished
 *   one; an idle keep-alive connection is closed), and a body within
 *   idle_timeout_ms of its head; a send blocked that long closes the
 *   connection.
 * - A malformed request gets the parser's status and a close.
 * - One access log line per response on the console:
 *   `<name>: 10.0.2.2 "GET /index.html HTTP/1.1" 200 465`
 *   (http_log_line() in <http/http.h>).
 *
 * The handler answers with http_send() or http_send_error() and returns
 * whether the connection stays open. Threads are cooperative: a handler
 * runs until it blocks (a send, a disk request) and no other handler
 * runs in between.
 */
#ifndef HTTP_SERVE_H
#define HTTP_SERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <http/http.h>
#include <sched/sched.h>

struct http_conn; /* one connection's slot; the handler's handle */

/*
 * Answers one request. With read_body, `body` is the connection's buffer
 * of limits.max_body bytes, holding the request's content_length bytes;
 * it is the handler's until it returns (to build its answer in, say).
 * Without, `body` is NULL (the body is read and dropped after the
 * handler returns). Returns true to keep the connection for another
 * request (the usual `http_send(...) && req->keep_alive`).
 */
typedef bool (*http_handler)(struct http_conn *c,
                             const struct http_request *req, void *body,
                             void *ctx);

struct http_server_config {
    const char *name;          /* the access log's prefix: "httpd" */
    struct http_limits limits; /* the parser's; max_head is the receive buffer */
    unsigned max_connections;  /* slots, 1 or more */
    uint64_t idle_timeout_ms;
    size_t stack_size;         /* each connection thread's; a multiple of 16 */
    /* true: a request's body is read whole (up to limits.max_body, into a
     * buffer of that size per slot) before the handler is called; false:
     * it is read and dropped after the handler answered. */
    bool read_body;
    /* The reason sent with 413 ("a value is at most 65536 bytes"); NULL:
     * none. */
    const char *too_large;
};

struct http_server {
    const struct http_server_config *cfg;
    http_handler handler;
    void *ctx;
    struct http_conn *conns;
    unsigned active; /* connections being served now */
    struct sched_waitq slot_freed; /* the accept loop waits here at the limit */
};

/*
 * Serves `listener` (a socket bound and listening; its backlog holds the
 * clients beyond max_connections) for ever. Returns only when the slots
 * cannot be allocated: -ENOMEM (after a console line saying to raise
 * memory_mib), or -EINVAL for a config without slots, a name or a head
 * buffer. `srv` is the caller's, for its statistics (srv->active).
 */
int http_serve(struct http_server *srv, int listener,
               const struct http_server_config *cfg, http_handler handler,
               void *ctx);

/* The peer's IPv4 address, dotted ("10.0.2.2"). */
const char *http_conn_peer(const struct http_conn *c);

/*
 * Sends a response: the head from `r`, then r->content_length bytes of
 * `body`, unless the response carries no body (a HEAD request, 204,
 * 304: http_body_bytes()); writes its access log line. A small body goes
 * out in one segment with its head. False: the head did not fit or the
 * peer is gone (close the connection).
 */
bool http_send(struct http_conn *c, const struct http_request *req,
               const struct http_response *r, const void *body);

/*
 * An error response whose body is the status line's words and, given
 * `why`, the reason: "404 Not Found: keys are under /k/\n"
 * (text/plain). `req` may be NULL (a request that did not parse);
 * `allow` is the Allow field a 405 needs.
 */
bool http_send_error(struct http_conn *c, const struct http_request *req,
                     int status, const char *why, const char *allow,
                     bool keep_alive);

#endif /* HTTP_SERVE_H */
