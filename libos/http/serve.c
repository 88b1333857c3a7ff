/*
 * serve.c - the connection server of an HTTP/1.1 appliance
 * (<http/serve.h>): slots, one thread per connection, timeouts, the
 * access log, and the send helpers.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <http/serve.h>
#include <net/config.h>
#include <sched/sched.h>
#include <time/time.h>

#define SEND_COPY_MAX 4096 /* a body this small goes out with its head */
#define OUT_HEAD_MAX 512

struct http_conn {
    bool busy;
    int fd;
    char peer[16];
    struct http_server *srv;
    unsigned char *stack; /* stack_size bytes, 16-aligned */
    char *buf;            /* limits.max_head bytes: the request heads */
    char *body;           /* limits.max_body bytes with read_body, else NULL */
    char out[OUT_HEAD_MAX + SEND_COPY_MAX];
};

static uint64_t now_ms(void)
{
    return time_monotonic_ns() / TIME_NS_PER_MS;
}

static void set_timeout(int fd, int option, uint64_t ms)
{
    struct timeval tv = {.tv_sec = (long)(ms / 1000),
                         .tv_usec = (long)(ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, option, &tv, sizeof(tv));
}

static bool send_all(int fd, const void *p, size_t n)
{
    const char *b = p;
    while (n > 0) {
        ssize_t w = send(fd, b, n, 0);
        if (w <= 0)
            return false;
        b += w;
        n -= (size_t)w;
    }
    return true;
}

static void log_request(const struct http_conn *c,
                        const struct http_request *req, int status,
                        uint64_t bytes)
{
    char line[HTTP_LOG_TARGET_MAX + 160];
    http_log_line(line, sizeof(line), c->srv->cfg->name, c->peer, req, status,
                  bytes);
    printf("%s", line);
}

const char *http_conn_peer(const struct http_conn *c)
{
    return c->peer;
}

bool http_send(struct http_conn *c, const struct http_request *req,
               const struct http_response *r, const void *body)
{
    size_t n = http_write_head(c->out, sizeof(c->out), r);
    if (n == 0)
        return false;
    uint64_t len = http_body_bytes(req, r);
    log_request(c, req, r->status, len);
    /* One segment for a small answer: no head waiting for its body. */
    if (len <= sizeof(c->out) - n) {
        if (len)
            memcpy(c->out + n, body, (size_t)len);
        return send_all(c->fd, c->out, n + (size_t)len);
    }
    return send_all(c->fd, c->out, n) && send_all(c->fd, body, (size_t)len);
}

bool http_send_error(struct http_conn *c, const struct http_request *req,
                     int status, const char *why, const char *allow,
                     bool keep_alive)
{
    char body[160];
    int n = snprintf(body, sizeof(body), "%d %s%s%s\n", status,
                     http_reason(status), why ? ": " : "", why ? why : "");
    if (n < 0)
        return false;
    if ((size_t)n >= sizeof(body))
        n = (int)sizeof(body) - 1;
    struct http_response r = {
        .status = status,
        .content_type = "text/plain; charset=utf-8",
        .content_length = (uint64_t)n,
        .send_length = true,
        .keep_alive = keep_alive,
        .allow = allow,
    };
    return http_send(c, req, &r, body);
}

/* Receives into p[0..n) by the deadline. */
static bool recv_all(int fd, char *p, size_t n, uint64_t deadline)
{
    while (n > 0) {
        uint64_t now = now_ms();
        if (now >= deadline)
            return false;
        set_timeout(fd, SO_RCVTIMEO, deadline - now);
        ssize_t r = recv(fd, p, n, 0);
        if (r == 0)
            return false;
        if (r < 0) {
            if (errno == EWOULDBLOCK || errno == EAGAIN)
                continue;
            return false;
        }
        p += r;
        n -= (size_t)r;
    }
    return true;
}

static void release(struct http_conn *c)
{
    close(c->fd);
    c->busy = false;
    c->srv->active--;
    /* No yield point from here to the thread's exit: the slot's stack,
     * on which this still runs, is reused only after that. */
    sched_wake_one(&c->srv->slot_freed);
}

/*
 * One parsed request: its body read (read_body) or left to be dropped,
 * the handler called. False: close. *drop: bytes of c->buf the request
 * used; *skip: body bytes still to drop as they arrive.
 */
static bool handle(struct http_conn *c, const struct http_request *req,
                   size_t len, size_t *drop, uint64_t *skip)
{
    const struct http_server_config *cfg = c->srv->cfg;
    if (!cfg->read_body) {
        bool more = c->srv->handler(c, req, NULL, c->srv->ctx);
        *drop = req->consumed < len ? req->consumed : len;
        *skip = req->consumed - *drop;
        return more;
    }
    /* The body: what came with the head, then the rest straight into the
     * body buffer (no more: a pipelined request stays in the socket). */
    size_t body = (size_t)req->content_length;
    size_t head = req->consumed - body;
    size_t have = len - head < body ? len - head : body;
    memcpy(c->body, c->buf + head, have);
    *drop = head + have;
    *skip = 0;
    if (!recv_all(c->fd, c->body + have, body - have,
                  now_ms() + cfg->idle_timeout_ms)) {
        http_send_error(c, req, 408, NULL, NULL, false);
        return false;
    }
    return c->srv->handler(c, req, c->body, c->srv->ctx);
}

static int serve(void *arg)
{
    struct http_conn *c = arg;
    const struct http_server_config *cfg = c->srv->cfg;
    size_t len = 0;
    uint64_t skip = 0; /* bytes of a request body still to drop */
    uint64_t deadline = now_ms() + cfg->idle_timeout_ms;
    set_timeout(c->fd, SO_SNDTIMEO, cfg->idle_timeout_ms);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    for (;;) {
        if (skip == 0) {
            struct http_request req;
            int status;
            enum http_parse_result res =
                http_parse(c->buf, len, &cfg->limits, &req, &status);
            if (res == HTTP_PARSE_ERROR) {
                http_send_error(c, NULL, status,
                                status == 413 ? cfg->too_large : NULL, NULL,
                                false);
                break;
            }
            if (res == HTTP_PARSE_OK) {
                size_t drop;
                bool more = handle(c, &req, len, &drop, &skip);
                memmove(c->buf, c->buf + drop, len - drop);
                len -= drop;
                if (!more)
                    break;
                deadline = now_ms() + cfg->idle_timeout_ms;
                continue; /* a pipelined request may be here already */
            }
        }
        uint64_t now = now_ms();
        if (now >= deadline) {
            if (len > 0 || skip > 0)
                http_send_error(c, NULL, 408, NULL, NULL, false);
            break;
        }
        set_timeout(c->fd, SO_RCVTIMEO, deadline - now);
        ssize_t n = recv(c->fd, c->buf + len, cfg->limits.max_head - len, 0);
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EWOULDBLOCK || errno == EAGAIN)
                continue; /* the deadline decides */
            break;
        }
        size_t got = (size_t)n;
        if (skip > 0) {
            size_t d = skip < got ? (size_t)skip : got;
            memmove(c->buf + len, c->buf + len + d, got - d);
            skip -= d;
            got -= d;
        }
        len += got;
    }
    release(c);
    return 0;
}

/* A free slot, waiting as long as it takes: a slot frees when its
 * connection closes, which idle_timeout_ms bounds. */
static struct http_conn *take_slot(struct http_server *srv)
{
    for (;;) {
        for (unsigned i = 0; i < srv->cfg->max_connections; i++)
            if (!srv->conns[i].busy)
                return &srv->conns[i];
        sched_wait(&srv->slot_freed);
    }
}

static void refuse(const struct http_server *srv, int fd, const char *why)
{
    static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
                               "Content-Type: text/plain; charset=utf-8\r\n"
                               "Content-Length: 24\r\nConnection: close\r\n"
                               "\r\n503 Service Unavailable\n";
    set_timeout(fd, SO_SNDTIMEO, 100);
    send(fd, busy, sizeof(busy) - 1, 0);
    close(fd);
    printf("%s: - \"-\" 503 0 (%s)\n", srv->cfg->name, why);
}

/* Every slot's buffers, allocated once: one block, each slot's stack
 * (16-aligned: stack_size is a multiple of 16, so is each slot's share),
 * receive buffer and body buffer in turn. */
static int alloc_slots(struct http_server *srv)
{
    const struct http_server_config *cfg = srv->cfg;
    size_t head = (cfg->limits.max_head + 15) & ~(size_t)15;
    size_t body = cfg->read_body ? (size_t)cfg->limits.max_body : 0;
    size_t slot = cfg->stack_size + head + ((body + 15) & ~(size_t)15);
    srv->conns = calloc(cfg->max_connections, sizeof(*srv->conns));
    unsigned char *mem = calloc(cfg->max_connections, slot);
    if (!srv->conns || !mem) {
        free(srv->conns);
        free(mem);
        return -ENOMEM;
    }
    for (unsigned i = 0; i < cfg->max_connections; i++) {
        struct http_conn *c = &srv->conns[i];
        unsigned char *p = mem + (size_t)i * slot;
        c->srv = srv;
        c->stack = p;
        c->buf = (char *)p + cfg->stack_size;
        c->body = body ? (char *)p + cfg->stack_size + head : NULL;
    }
    return 0;
}

int http_serve(struct http_server *srv, int listener,
               const struct http_server_config *cfg, http_handler handler,
               void *ctx)
{
    if (!cfg->name || cfg->max_connections == 0 || cfg->limits.max_head == 0
        || cfg->stack_size == 0 || cfg->stack_size % 16 != 0)
        return -EINVAL;
    *srv = (struct http_server){.cfg = cfg, .handler = handler, .ctx = ctx};
    sched_waitq_init(&srv->slot_freed);
    if (alloc_slots(srv) != 0) {
        printf("%s: no memory for %u connection slots; raise memory_mib\n",
               cfg->name, cfg->max_connections);
        return -ENOMEM;
    }
    for (;;) {
        /* The slot first, then the connection: at the limit, clients
         * wait in the listen backlog, as with any server that stops
         * accepting, rather than being accepted to be refused. */
        struct http_conn *c = take_slot(srv);
        struct sockaddr_in peer;
        socklen_t plen = sizeof(peer);
        int fd = accept(listener, (struct sockaddr *)&peer, &plen);
        if (fd < 0) {
            /* Out of sockets, say: back off rather than spin (the
             * scheduler is cooperative; a loop that never blocks starves
             * every other thread). */
            sched_sleep_ns(TIME_NS_PER_MS);
            continue;
        }
        c->busy = true;
        c->fd = fd;
        net_config_format_ip(ntohl(peer.sin_addr.s_addr), c->peer);
        srv->active++;
        struct sched_attr attr = {.priority = SCHED_PRIORITY_DEFAULT,
                                  .detached = true,
                                  .stack = c->stack,
                                  .stack_size = cfg->stack_size};
        if (!sched_spawn("http", serve, c, &attr)) {
            c->busy = false;
            srv->active--;
            refuse(srv, fd, "no thread");
        }
    }
}
