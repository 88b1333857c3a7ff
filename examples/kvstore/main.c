/*
 * kvstore: a persistent key-value store over HTTP/1.1 (<http/http.h>)
 * on a littlefs volume (<fs/fs.h> over //libos/blkcache over the image's
 * disk). PUT /k/<key> stores the body, GET /k/<key> returns it, DELETE
 * /k/<key> removes it, GET /k/ lists the keys. A PUT or DELETE is
 * answered only after the change is on stable storage (kv.h: file
 * synced, renamed, the cache and the device flushed). The connections
 * are <http/serve.h>'s (one thread each, at most MAX_CONNECTIONS at once,
 * more wait in the listen backlog; one access log line per request):
 * this file is the handler, the /k/ API on the volume, which one thread
 * at a time uses (a lock). README.md.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <blkcache/blkcache.h>
#include <disk/any.h>
#include <fs/fs.h>
#include <http/serve.h>
#include <kvstore/kv.h>
#include <net/config.h>
#include <net/up.h>
#include <sched/sched.h>
#include <time/time.h>


#define PORT 80
#define MAX_CONNECTIONS 8   /* each holds a value buffer of KV_VALUE_MAX */
#define HEAD_MAX 4096
#define HEADERS_MAX 32
#define IDLE_TIMEOUT_MS 10000
#define STACK_SIZE 16384
/* Connections lwIP holds for accept() while every slot is busy. */
#define LISTEN_BACKLOG 32

static const struct http_server_config SERVE = {
    .name = "kvstore",
    .limits = {.max_head = HEAD_MAX, .max_headers = HEADERS_MAX,
               .max_body = KV_VALUE_MAX},
    .max_connections = MAX_CONNECTIONS,
    .idle_timeout_ms = IDLE_TIMEOUT_MS,
    .stack_size = STACK_SIZE,
    .read_body = true,
    .too_large = "a value is at most 65536 bytes",
};

static struct http_server server;

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

/* A response with a body (none for HEAD and 204). False: the peer is gone. */
static bool respond(struct http_conn *c, const struct http_request *req,
                    int status, const char *type, const void *body, size_t len,
                    bool keep_alive)
{
    struct http_response r = {
        .status = status,
        .content_type = status == 204 ? NULL : type,
        .content_length = len,
        .send_length = status != 204,
        .keep_alive = keep_alive,
    };
    return http_send(c, req, &r, body);
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

/* Answers one request (<http/serve.h>) whose body (content_length bytes)
 * is in val, the connection's buffer of KV_VALUE_MAX bytes, where a GET's
 * value or list is read too. */
static bool answer(struct http_conn *c, const struct http_request *req,
                   void *body, void *ctx)
{
    (void)ctx;
    char *val = body;
    bool ka = req->keep_alive;
    bool get = req->method == HTTP_GET || req->method == HTTP_HEAD;
    static const char prefix[] = "/k/";
    size_t plen = sizeof(prefix) - 1;
    if (req->path_len < plen || memcmp(req->path, prefix, plen) != 0)
        return http_send_error(c, req, 404, "keys are under /k/", NULL, ka)
               && ka;
    const char *key = req->path + plen;
    size_t klen = req->path_len - plen;
    const char *why = NULL;

    if (klen == 0) { /* the list */
        if (!get)
            return http_send_error(c, req, 405, NULL, "GET, HEAD", ka) && ka;
        store_lock();
        long n = kv_list(&store, val, KV_VALUE_MAX);
        store_unlock();
        if (n < 0)
            return http_send_error(c, req, 500,
                                   n == -EOVERFLOW
                                       ? "more keys than a 64 KiB list"
                                       : "storage error",
                                   NULL, ka) && ka;
        return respond(c, req, 200, "text/plain; charset=utf-8", val,
                       (size_t)n, ka) && ka;
    }
    int rc = kv_key_check(key, klen);
    if (rc != 0)
        return http_send_error(c, req, rc == -ENAMETOOLONG ? 414 : 400,
                               KEY_WHY, NULL, ka) && ka;

    if (get) {
        store_lock();
        long n = kv_get(&store, key, klen, val, KV_VALUE_MAX);
        store_unlock();
        if (n < 0) {
            int st = storage_status((int)n, &why);
            return http_send_error(c, req, st, why, NULL, ka) && ka;
        }
        return respond(c, req, 200, "application/octet-stream", val,
                       (size_t)n, ka) && ka;
    }
    if (method_is(req, "PUT")) {
        if (!req->has_content_length)
            return http_send_error(c, req, 411, "send Content-Length",
                                   NULL, false);
        store_lock();
        rc = kv_put(&store, key, klen, val, (size_t)req->content_length);
        store_unlock();
        if (rc < 0) {
            int st = storage_status(rc, &why);
            return http_send_error(c, req, st, why, NULL, ka) && ka;
        }
        return respond(c, req, rc == 1 ? 201 : 204, NULL, NULL, 0, ka)
               && ka;
    }
    if (method_is(req, "DELETE")) {
        store_lock();
        rc = kv_delete(&store, key, klen);
        store_unlock();
        if (rc < 0) {
            int st = storage_status(rc, &why);
            return http_send_error(c, req, st, why, NULL, ka) && ka;
        }
        return respond(c, req, 204, NULL, NULL, 0, ka) && ka;
    }
    return http_send_error(c, req, 405, NULL, "GET, HEAD, PUT, DELETE", ka)
           && ka;
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
    char *scratch = malloc(KV_VALUE_MAX);
    if (!scratch) {
        puts("kvstore: no memory to check the volume; raise memory_mib");
        return -ENOMEM;
    }
    rc = kv_verify(&store, scratch, KV_VALUE_MAX, &keys, &bad);
    free(scratch);
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
    sched_waitq_init(&store_freed);
    if (open_store() != 0)
        return 1;
    struct net_if *nif;
    (void)net_up("kvstore", &cfg, 20 * TIME_NS_PER_S, &nif);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in any = {.sin_len = sizeof(any), .sin_family = AF_INET,
                              .sin_port = htons(PORT)};
    if (s < 0 || bind(s, (struct sockaddr *)&any, sizeof(any)) != 0
        || listen(s, LISTEN_BACKLOG) != 0) {
        puts("kvstore: cannot listen");
        return 1;
    }
    printf("kvstore: listening on port %u\n", (unsigned)PORT);
    http_serve(&server, s, &SERVE, answer, NULL);
    return 1;
}
