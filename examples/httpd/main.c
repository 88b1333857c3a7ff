/*
 * httpd: a static web server. It serves a content table
 * (<content/content.h>: the one unikernel_content made in BUILD, or the
 * files of a read-only volume read at boot; site.h) over
 * HTTP/1.1 (<http/http.h>): GET and HEAD, keep-alive and pipelining,
 * Content-Length, Content-Type, ETag and If-None-Match. One thread per
 * connection on the scheduler, each on a stack of its own slot; at most
 * httpd_config.max_connections at once (more wait in the listen backlog
 * until a slot frees: accept() follows a free slot), and a request head
 * must arrive
 * within httpd_config.idle_timeout_ms. One access log line per request
 * on the console. README.md.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <content/content.h>
#include <http/http.h>
#include <net/config.h>
#include <net/net.h>
#include <netdev/nic.h>
#include <sched/sched.h>
#include <time/time.h>

#include "examples/httpd/config.h"
#include "examples/httpd/site.h"

#define HEAD_MAX 8192       /* request line + headers */
#define HEADERS_MAX 64      /* header lines */
#define BODY_MAX 65536      /* request bodies are read and dropped */
#define STACK_SIZE 16384
#define SEND_COPY_MAX 4096  /* a body this small goes out with its head */
#define ARGV_MAX 32
/* Connections lwIP holds for accept(), established and with their
 * requests buffered, while every slot is busy: a SYN beyond them is
 * dropped, and the peer retries it only after a second or more. */
#define LISTEN_BACKLOG 128

static const struct http_limits LIMITS = {
    .max_head = HEAD_MAX, .max_headers = HEADERS_MAX, .max_body = BODY_MAX};

struct conn {
    bool busy;
    int fd;
    char peer[16];
    _Alignas(16) unsigned char stack[STACK_SIZE];
    char buf[HEAD_MAX];
    char out[512 + SEND_COPY_MAX];
};

static struct conn *conns;
static const struct content_table *site;
static unsigned active;
static struct sched_waitq slot_freed;

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

/* One access log line: peer, request line (as sent), status, body bytes. */
static void log_request(const struct conn *c, const struct http_request *req,
                        int status, uint64_t bytes)
{
    if (req && req->method_name.len) {
        int tlen = req->target.len > 200 ? 200 : (int)req->target.len;
        printf("httpd: %s \"%.*s %.*s HTTP/1.%u\" %d %llu\n", c->peer,
               (int)req->method_name.len, req->method_name.p, tlen,
               req->target.p, req->minor, status,
               (unsigned long long)bytes);
    } else {
        printf("httpd: %s \"-\" %d %llu\n", c->peer, status,
               (unsigned long long)bytes);
    }
}

/* A response: head, then the body unless it is a HEAD request. */
static bool respond(struct conn *c, const struct http_response *r,
                    const void *body, bool send_body)
{
    size_t n = http_write_head(c->out, sizeof(c->out), r);
    if (n == 0)
        return false;
    uint64_t len = send_body ? r->content_length : 0;
    /* One segment for a small answer: no head waiting for its body. */
    if (len <= sizeof(c->out) - n) {
        memcpy(c->out + n, body, (size_t)len);
        return send_all(c->fd, c->out, n + (size_t)len);
    }
    return send_all(c->fd, c->out, n) && send_all(c->fd, body, (size_t)len);
}

static bool respond_error(struct conn *c, const struct http_request *req,
                          int status, bool keep_alive, bool send_body)
{
    char body[64];
    int n = snprintf(body, sizeof(body), "%d %s\n", status,
                     http_reason(status));
    struct http_response r = {
        .status = status,
        .content_type = "text/plain; charset=utf-8",
        .content_length = (uint64_t)n,
        .send_length = true,
        .keep_alive = keep_alive,
        .allow = status == 405 ? "GET, HEAD" : NULL,
    };
    log_request(c, req, status, send_body ? (uint64_t)n : 0);
    return respond(c, &r, body, send_body);
}

/* Answers one parsed request; false: close the connection. */
static bool answer(struct conn *c, const struct http_request *req)
{
    bool head = req->method == HTTP_HEAD;
    if (req->method == HTTP_OTHER)
        return respond_error(c, req, 405, req->keep_alive, true)
               && req->keep_alive;
    /* A directory's page is its index.html. */
    char path[HTTP_PATH_MAX + sizeof("index.html")];
    memcpy(path, req->path, req->path_len);
    size_t len = req->path_len;
    if (path[len - 1] == '/') {
        memcpy(path + len, "index.html", 10);
        len += 10;
    }
    const struct content_file *f = content_find(site, path, len);
    if (!f)
        return respond_error(c, req, 404, req->keep_alive, !head)
               && req->keep_alive;
    struct http_response r = {
        .status = 200,
        .content_type = f->content_type,
        .etag = f->etag,
        .content_length = f->size,
        .send_length = true,
        .keep_alive = req->keep_alive,
    };
    if (req->has_if_none_match && http_etag_match(req->if_none_match, f->etag)) {
        r.status = 304;
        r.content_type = NULL;
        r.send_length = false;
        head = true;
    }
    log_request(c, req, r.status, head ? 0 : f->size);
    return respond(c, &r, f->data, !head) && req->keep_alive;
}

static void release(struct conn *c)
{
    close(c->fd);
    c->busy = false;
    active--;
    /* No yield point from here to the thread's exit: the slot's stack,
     * on which this still runs, is reused only after that. */
    sched_wake_one(&slot_freed);
}

static int serve(void *arg)
{
    struct conn *c = arg;
    size_t len = 0;
    uint64_t skip = 0; /* bytes of a request body still to drop */
    uint64_t deadline = now_ms() + httpd_config.idle_timeout_ms;
    set_timeout(c->fd, SO_SNDTIMEO, httpd_config.idle_timeout_ms);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    for (;;) {
        if (skip == 0) {
            struct http_request req;
            int status;
            enum http_parse_result res =
                http_parse(c->buf, len, &LIMITS, &req, &status);
            if (res == HTTP_PARSE_ERROR) {
                respond_error(c, NULL, status, false, true);
                break;
            }
            if (res == HTTP_PARSE_OK) {
                bool more = answer(c, &req);
                size_t drop = req.consumed < len ? req.consumed : len;
                skip = req.consumed - drop;
                memmove(c->buf, c->buf + drop, len - drop);
                len -= drop;
                if (!more)
                    break;
                deadline = now_ms() + httpd_config.idle_timeout_ms;
                continue; /* a pipelined request may be here already */
            }
        }
        uint64_t now = now_ms();
        if (now >= deadline) {
            if (len > 0 || skip > 0)
                respond_error(c, NULL, 408, false, true);
            break;
        }
        set_timeout(c->fd, SO_RCVTIMEO, deadline - now);
        ssize_t n = recv(c->fd, c->buf + len, sizeof(c->buf) - len, 0);
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
static struct conn *take_slot(void)
{
    for (;;) {
        for (unsigned i = 0; i < httpd_config.max_connections; i++)
            if (!conns[i].busy)
                return &conns[i];
        sched_wait(&slot_freed);
    }
}

static void refuse(int fd, const char *why)
{
    static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
                               "Content-Type: text/plain; charset=utf-8\r\n"
                               "Content-Length: 24\r\nConnection: close\r\n"
                               "\r\n503 Service Unavailable\n";
    set_timeout(fd, SO_SNDTIMEO, 100);
    send(fd, busy, sizeof(busy) - 1, 0);
    close(fd);
    printf("httpd: - \"-\" 503 0 (%s)\n", why);
}

/* `stats` on the command line: a line every 2 s with the connections,
 * threads and the NIC's counters. */
static struct net_if *stats_nif;

static int print_stats(void *arg)
{
    (void)arg;
    for (;;) {
        sched_sleep_ns(2 * TIME_NS_PER_S);
        struct sched_summary sum;
        sched_get_summary(&sum);
        struct net_if_stats ns = {0};
        if (stats_nif)
            net_if_get_stats(stats_nif, &ns);
        printf("httpd: stats: %u connections, %zu threads, rx %llu dropped "
               "%llu, tx %llu errors %llu\n",
               active, sum.threads, (unsigned long long)ns.rx_frames,
               (unsigned long long)ns.rx_dropped,
               (unsigned long long)ns.tx_frames,
               (unsigned long long)ns.tx_errors);
    }
    return 0;
}

/* The baked words of BUILD, then the command line's; a word given on the
 * command line replaces the baked one with the same key. */
static int build_argv(int argc, char **argv, char *words, char **out)
{
    int n = 0;
    for (char *save = NULL, *w = strtok_r(words, " ", &save); w && n < ARGV_MAX;
         w = strtok_r(NULL, " ", &save)) {
        size_t key = strcspn(w, "=") + 1;
        bool overridden = false;
        for (int i = 1; i < argc; i++)
            overridden |= strncmp(argv[i], w, key) == 0;
        if (!overridden)
            out[n++] = w;
    }
    for (int i = 1; i < argc && n < ARGV_MAX; i++)
        out[n++] = argv[i];
    return n;
}

int main(int argc, char **argv)
{
    static char words[256];
    snprintf(words, sizeof(words), "%s", httpd_config.net_words);
    char *args[ARGV_MAX];
    int nargs = build_argv(argc, argv, words, args);
    struct net_config cfg;
    char err[NET_CONFIG_ERROR_MAX];
    if (net_config_parse(nargs, args, &cfg, err) != 0) {
        puts(err);
        return 2;
    }
    conns = calloc(httpd_config.max_connections, sizeof(*conns));
    if (!conns) {
        puts("httpd: no memory for the connection slots; raise memory_mib");
        return 1;
    }
    sched_waitq_init(&slot_freed);
    if (httpd_site_open(&site) != 0)
        return 1;
    net_start();
    struct netdev *nic;
    struct net_if *nif;
    if (nic_open_first(&nic) == 0 && net_attach(nic, &cfg, &nif) == 0
        && net_wait_up(nif, 20 * TIME_NS_PER_S) == 0) {
        char ip[16];
        net_config_format_ip(net_if_ipv4(nif), ip);
        printf("httpd: %s up\n", ip);
        stats_nif = nif;
    }
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in any = {.sin_len = sizeof(any), .sin_family = AF_INET,
                              .sin_port = htons(httpd_config.port)};
    if (s < 0 || bind(s, (struct sockaddr *)&any, sizeof(any)) != 0
        || listen(s, LISTEN_BACKLOG) != 0) {
        puts("httpd: cannot listen");
        return 1;
    }
    printf("httpd: %zu files (%s), listening on port %u\n", site->count,
           httpd_site_source,
           (unsigned)httpd_config.port);
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "stats") == 0) {
            struct sched_attr detached = {.priority = SCHED_PRIORITY_DEFAULT,
                                          .detached = true};
            sched_spawn("stats", print_stats, NULL, &detached);
        }
    for (;;) {
        /* The slot first, then the connection: at the limit, clients
         * wait in the listen backlog, as with any server that stops
         * accepting, rather than being accepted to be refused. */
        struct conn *c = take_slot();
        struct sockaddr_in peer;
        socklen_t plen = sizeof(peer);
        int fd = accept(s, (struct sockaddr *)&peer, &plen);
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
        active++;
        struct sched_attr attr = {.priority = SCHED_PRIORITY_DEFAULT,
                                  .detached = true,
                                  .stack = c->stack,
                                  .stack_size = sizeof(c->stack)};
        if (!sched_spawn("http", serve, c, &attr)) {
            c->busy = false;
            active--;
            refuse(fd, "no thread");
        }
    }
}
