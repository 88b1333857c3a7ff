/*
 * kvstore: a persistent key-value store over HTTP/1.1 (<http/http.h>)
 * on a littlefs volume (<fs/fs.h> over //libos/blkcache over the image's
 * disk). PUT /k/<key> stores the body, GET /k/<key> returns it, DELETE
 * /k/<key> removes it, GET /k/ lists the keys. A PUT or DELETE is
 * answered only after the change is on stable storage (kv.h: file
 * synced, renamed, the cache and the device flushed). One thread per
 * connection, at most MAX_CONNECTIONS at once; the volume is used by one
 * thread at a time (a lock). One access log line per request. README.md.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <blkcache/blkcache.h>
#include <disk/any.h>
#include <fs/fs.h>
#include <http/http.h>
#include <kvstore/kv.h>
#include <net/config.h>
#include <net/net.h>
#include <netdev/nic.h>
#include <sched/sched.h>
#include <time/time.h>


#define PORT 80
#define MAX_CONNECTIONS 8   /* each holds a value buffer of KV_VALUE_MAX */
#define HEAD_MAX 4096
#define HEADERS_MAX 32
#define IDLE_TIMEOUT_MS 10000
#define STACK_SIZE 16384
#define QUEUE_WAIT_MS 1000
#define LISTEN_BACKLOG 32

static const struct http_limits LIMITS = {
    .max_head = HEAD_MAX, .max_headers = HEADERS_MAX, .max_body = KV_VALUE_MAX};

struct conn {
    bool busy;
    int fd;
    char peer[16];
    _Alignas(16) unsigned char stack[STACK_SIZE];
    char buf[HEAD_MAX];
    char out[512];
    char val[KV_VALUE_MAX]; /* a request's body, a value or the list */
};

static struct conn *conns;
static struct sched_waitq slot_freed;

/* The volume is driven by one thread at a time; the scheduler is
 * cooperative, so a flag and a wait queue are a lock. */
static struct kv store;
static bool store_held;
static struct sched_waitq store_freed;

static void store_lock(void)
{
    while (store_held)
        sched_wait(&store_freed);
    store_held = true;
}

static void store_unlock(void)
{
    store_held = false;
    sched_wake_one(&store_freed);
}

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

static void log_request(const struct conn *c, const struct http_request *req,
                        int status, uint64_t bytes)
{
    if (req && req->method_name.len) {
        int tlen = req->target.len > 200 ? 200 : (int)req->target.len;
        printf("kvstore: %s \"%.*s %.*s HTTP/1.%u\" %d %llu\n", c->peer,
               (int)req->method_name.len, req->method_name.p, tlen,
               req->target.p, req->minor, status, (unsigned long long)bytes);
    } else {
        printf("kvstore: %s \"-\" %d %llu\n", c->peer, status,
               (unsigned long long)bytes);
    }
}

/* Head and body (none for HEAD and 204). False: the peer is gone. */
static bool respond(struct conn *c, const struct http_request *req, int status,
                    const char *type, const void *body, size_t len,
                    const char *allow, bool keep_alive)
{
    bool head_only = (req && req->method == HTTP_HEAD) || status == 204;
    struct http_response r = {
        .status = status,
        .content_type = status == 204 ? NULL : type,
        .content_length = len,
        .send_length = status != 204,
        .keep_alive = keep_alive,
        .allow = allow,
    };
    size_t n = http_write_head(c->out, sizeof(c->out), &r);
    if (n == 0)
        return false;
    log_request(c, req, status, head_only ? 0 : len);
    return send_all(c->fd, c->out, n)
           && (head_only || len == 0 || send_all(c->fd, body, len));
}

/* An error: the status line's words as the body, e.g. "404 Not Found".
 * `why` adds the reason for a client that broke a limit. */
static bool respond_error(struct conn *c, const struct http_request *req,
                          int status, const char *why, const char *allow,
                          bool keep_alive)
{
    char body[160];
    int n = snprintf(body, sizeof(body), "%d %s%s%s\n", status,
                     http_reason(status), why ? ": " : "", why ? why : "");
    return respond(c, req, status, "text/plain; charset=utf-8", body,
                   (size_t)n, allow, keep_alive);
}

static bool method_is(const struct http_request *req, const char *name)
{
    size_t n = strlen(name);
    return req->method_name.len == n && memcmp(req->method_name.p, name, n) == 0;
}

/* The status for an error of kv.h or fs.h. */
static int storage_status(int rc, const char **why)
{
    switch (rc) {
    case -ENOENT: *why = NULL; return 404;
    case -ENOSPC: *why = "the volume is full"; return 507;
    default: *why = "storage error"; return 500;
    }
}

#define KEY_WHY "a key is 1 to 128 bytes of A-Z a-z 0-9 . _ - (not . or ..)"

/* Answers one request whose body (content_length bytes) is in c->val. */
static bool answer(struct conn *c, const struct http_request *req)
{
    bool ka = req->keep_alive;
    bool get = req->method == HTTP_GET || req->method == HTTP_HEAD;
    static const char prefix[] = "/k/";
    size_t plen = sizeof(prefix) - 1;
    if (req->path_len < plen || memcmp(req->path, prefix, plen) != 0)
        return respond_error(c, req, 404, "keys are under /k/", NULL, ka) && ka;
    const char *key = req->path + plen;
    size_t klen = req->path_len - plen;
    const char *why = NULL;

    if (klen == 0) { /* the list */
        if (!get)
            return respond_error(c, req, 405, NULL, "GET, HEAD", ka) && ka;
        store_lock();
        long n = kv_list(&store, c->val, sizeof(c->val));
        store_unlock();
        if (n < 0)
            return respond_error(c, req, 500,
                             n == -EOVERFLOW ? "more keys than a 64 KiB list"
                                             : "storage error",
                             NULL, ka) && ka;
        return respond(c, req, 200, "text/plain; charset=utf-8", c->val,
                       (size_t)n, NULL, ka) && ka;
    }
    int rc = kv_key_check(key, klen);
    if (rc != 0)
        return respond_error(c, req, rc == -ENAMETOOLONG ? 414 : 400, KEY_WHY,
                             NULL, ka) && ka;

    if (get) {
        store_lock();
        long n = kv_get(&store, key, klen, c->val, sizeof(c->val));
        store_unlock();
        if (n < 0) {
            int st = storage_status((int)n, &why);
            return respond_error(c, req, st, why, NULL, ka) && ka;
        }
        return respond(c, req, 200, "application/octet-stream", c->val,
                       (size_t)n, NULL, ka) && ka;
    }
    if (method_is(req, "PUT")) {
        if (!req->has_content_length)
            return respond_error(c, req, 411, "send Content-Length", NULL,
                                 false);
        store_lock();
        rc = kv_put(&store, key, klen, c->val, (size_t)req->content_length);
        store_unlock();
        if (rc < 0) {
            int st = storage_status(rc, &why);
            return respond_error(c, req, st, why, NULL, ka) && ka;
        }
        return respond(c, req, rc == 1 ? 201 : 204, NULL, NULL, 0, NULL, ka)
               && ka;
    }
    if (method_is(req, "DELETE")) {
        store_lock();
        rc = kv_delete(&store, key, klen);
        store_unlock();
        if (rc < 0) {
            int st = storage_status(rc, &why);
            return respond_error(c, req, st, why, NULL, ka) && ka;
        }
        return respond(c, req, 204, NULL, NULL, 0, NULL, ka) && ka;
    }
    return respond_error(c, req, 405, NULL, "GET, HEAD, PUT, DELETE", ka) && ka;
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

static void release(struct conn *c)
{
    close(c->fd);
    c->busy = false;
    sched_wake_one(&slot_freed);
}

static int serve(void *arg)
{
    struct conn *c = arg;
    size_t len = 0;
    uint64_t deadline = now_ms() + IDLE_TIMEOUT_MS;
    set_timeout(c->fd, SO_SNDTIMEO, IDLE_TIMEOUT_MS);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    for (;;) {
        struct http_request req;
        int status;
        enum http_parse_result res =
            http_parse(c->buf, len, &LIMITS, &req, &status);
        if (res == HTTP_PARSE_ERROR) {
            respond_error(c, NULL, status,
                          status == 413 ? "a value is at most 65536 bytes" : NULL,
                          NULL, false);
            break;
        }
        if (res == HTTP_PARSE_OK) {
            /* The body: what came with the head, then the rest straight
             * into the value buffer (no more: a pipelined request stays
             * in the socket). */
            size_t body = (size_t)req.content_length;
            size_t head = req.consumed - body;
            size_t have = len - head < body ? len - head : body;
            memcpy(c->val, c->buf + head, have);
            if (!recv_all(c->fd, c->val + have, body - have,
                          now_ms() + IDLE_TIMEOUT_MS)) {
                respond_error(c, &req, 408, NULL, NULL, false);
                break;
            }
            bool more = answer(c, &req);
            size_t drop = head + have;
            memmove(c->buf, c->buf + drop, len - drop);
            len -= drop;
            if (!more)
                break;
            deadline = now_ms() + IDLE_TIMEOUT_MS;
            continue;
        }
        uint64_t now = now_ms();
        if (now >= deadline) {
            if (len > 0)
                respond_error(c, NULL, 408, NULL, NULL, false);
            break;
        }
        set_timeout(c->fd, SO_RCVTIMEO, deadline - now);
        ssize_t n = recv(c->fd, c->buf + len, sizeof(c->buf) - len, 0);
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EWOULDBLOCK || errno == EAGAIN)
                continue;
            break;
        }
        len += (size_t)n;
    }
    release(c);
    return 0;
}

static struct conn *take_slot(void)
{
    uint64_t until = time_monotonic_ns() + QUEUE_WAIT_MS * TIME_NS_PER_MS;
    for (;;) {
        for (unsigned i = 0; i < MAX_CONNECTIONS; i++)
            if (!conns[i].busy)
                return &conns[i];
        if (sched_wait_until(&slot_freed, until) != 0)
            return NULL;
    }
}

static void refuse(int fd)
{
    static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
                               "Content-Type: text/plain; charset=utf-8\r\n"
                               "Content-Length: 24\r\nConnection: close\r\n"
                               "\r\n503 Service Unavailable\n";
    set_timeout(fd, SO_SNDTIMEO, 100);
    send(fd, busy, sizeof(busy) - 1, 0);
    close(fd);
    puts("kvstore: - \"-\" 503 0 (every connection slot is busy)");
}

/* The volume: mounted (formatted first if the disk holds none), checked
 * by reading every value back, and reported on the console, which the
 * durability test reads ("kvstore: volume clean: ..."). */
static int open_store(void)
{
    struct blkdev *disk;
    int rc = disk_open_first(&disk);
    if (rc != 0) {
        printf("kvstore: no disk (%d); attach a volume (volumes = [...]) or --disk 4M\n", rc);
        return rc;
    }
    struct blkcache *cache;
    rc = blkcache_open(disk, NULL, &cache);
    if (rc != 0) {
        printf("kvstore: no block cache (%d)\n", rc);
        return rc;
    }
    struct blkdev *bd = blkcache_blkdev(cache);
    if (bd->info.readonly) {
        puts("kvstore: the disk is read-only; attach the volume read-write");
        return -EROFS;
    }
    struct fs *fs;
    rc = fs_mount(bd, NULL, &fs);
    if (rc == -ENODEV) {
        puts("kvstore: no volume on the disk: formatting it");
        rc = fs_format(bd, NULL);
        if (rc == 0)
            rc = fs_mount(bd, NULL, &fs);
    }
    if (rc == 0)
        rc = kv_open(&store, fs);
    if (rc != 0) {
        printf("kvstore: volume damaged: mount failed (%d)\n", rc);
        return rc;
    }
    /* Every key must read back whole. */
    unsigned keys, bad;
    rc = kv_verify(&store, conns[0].val, sizeof(conns[0].val), &keys, &bad);
    struct fs_statfs sf;
    fs_statfs(fs, &sf);
    if (rc != 0 || bad) {
        printf("kvstore: volume damaged: %u of %u keys unreadable (%d)\n", bad,
               keys, rc);
        return rc ? rc : -EIO;
    }
    printf("kvstore: volume clean: %u keys, %u of %u blocks of %u bytes used "
           "(%s, %s cache)\n", keys, sf.blocks_used, sf.block_count,
           sf.block_size, disk_driver_name(), blkcache_write_policy_name());
    return 0;
}

int main(int argc, char **argv)
{
    struct net_config cfg;
    char err[NET_CONFIG_ERROR_MAX];
    if (net_config_parse(argc - 1, argv + 1, &cfg, err) != 0) {
        puts(err);
        return 2;
    }
    conns = calloc(MAX_CONNECTIONS, sizeof(*conns));
    if (!conns) {
        puts("kvstore: no memory for the connection slots; raise memory_mib");
        return 1;
    }
    sched_waitq_init(&slot_freed);
    sched_waitq_init(&store_freed);
    if (open_store() != 0)
        return 1;
    net_start();
    struct netdev *nic;
    struct net_if *nif;
    if (nic_open_first(&nic) == 0 && net_attach(nic, &cfg, &nif) == 0
        && net_wait_up(nif, 20 * TIME_NS_PER_S) == 0) {
        char ip[16];
        net_config_format_ip(net_if_ipv4(nif), ip);
        printf("kvstore: %s up\n", ip);
    }
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in any = {.sin_len = sizeof(any), .sin_family = AF_INET,
                              .sin_port = htons(PORT)};
    if (s < 0 || bind(s, (struct sockaddr *)&any, sizeof(any)) != 0
        || listen(s, LISTEN_BACKLOG) != 0) {
        puts("kvstore: cannot listen");
        return 1;
    }
    printf("kvstore: listening on port %u\n", (unsigned)PORT);
    for (;;) {
        struct sockaddr_in peer;
        socklen_t plen = sizeof(peer);
        int fd = accept(s, (struct sockaddr *)&peer, &plen);
        if (fd < 0) {
            sched_sleep_ns(TIME_NS_PER_MS);
            continue;
        }
        struct conn *c = take_slot();
        if (!c) {
            refuse(fd);
            continue;
        }
        c->busy = true;
        c->fd = fd;
        net_config_format_ip(ntohl(peer.sin_addr.s_addr), c->peer);
        struct sched_attr attr = {.priority = SCHED_PRIORITY_DEFAULT,
                                  .detached = true,
                                  .stack = c->stack,
                                  .stack_size = sizeof(c->stack)};
        if (!sched_spawn("http", serve, c, &attr)) {
            c->busy = false;
            refuse(fd);
        }
    }
}
