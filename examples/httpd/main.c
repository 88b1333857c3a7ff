/*
 * httpd: a static web server. It serves a content table
 * (<content/content.h>: the one unikernel_content made in BUILD, or the
 * files of a read-only volume read at boot; site.h) over
 * HTTP/1.1 (<http/http.h>): GET and HEAD, keep-alive and pipelining,
 * Content-Length, Content-Type, ETag and If-None-Match. The connections
 * are <http/serve.h>'s (one thread each on the scheduler; at most
 * httpd_config.max_connections at once, more wait in the listen backlog
 * until a slot frees; a request head must arrive within
 * httpd_config.idle_timeout_ms; one access log line per request on the
 * console): this file is the handler, the content lookup. README.md.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <content/content.h>
#include <http/serve.h>
#include <net/config.h>
#include <net/up.h>
#include <sched/sched.h>
#include <time/time.h>

#include "examples/httpd/config.h"
#include "examples/httpd/site.h"

#define HEAD_MAX 8192       /* request line + headers */
#define HEADERS_MAX 64      /* header lines */
#define BODY_MAX 65536      /* request bodies are read and dropped */
#define STACK_SIZE 16384
#define ARGV_MAX 32
/* Connections lwIP holds for accept(), established and with their
 * requests buffered, while every slot is busy: a SYN beyond them is
 * dropped, and the peer retries it only after a second or more. */
#define LISTEN_BACKLOG 128

static struct http_server server;

/* Answers one parsed request (<http/serve.h>); false: close. */
static bool answer(struct http_conn *c, const struct http_request *req,
                   void *body, void *ctx)
{
    (void)body;
    const struct content_table *site = ctx;
    bool ka = req->keep_alive;
    if (req->method == HTTP_OTHER)
        return http_send_error(c, req, 405, NULL, "GET, HEAD", ka) && ka;
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
        return http_send_error(c, req, 404, NULL, NULL, ka) && ka;
    struct http_response r = {
        .status = 200,
        .content_type = f->content_type,
        .etag = f->etag,
        .content_length = f->size,
        .send_length = true,
        .keep_alive = ka,
    };
    if (req->has_if_none_match && http_etag_match(req->if_none_match, f->etag)) {
        r.status = 304;
        r.content_type = NULL;
        r.send_length = false;
    }
    return http_send(c, req, &r, f->data) && ka;
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
               server.active, sum.threads, (unsigned long long)ns.rx_frames,
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
    const struct content_table *site;
    if (httpd_site_open(&site) != 0)
        return 1;
    struct net_if *nif;
    if (net_up("httpd", &cfg, 20 * TIME_NS_PER_S, &nif) == 0)
        stats_nif = nif;
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
    static struct http_server_config serve_cfg = {
        .name = "httpd",
        .limits = {.max_head = HEAD_MAX, .max_headers = HEADERS_MAX,
                   .max_body = BODY_MAX},
        .stack_size = STACK_SIZE,
    };
    serve_cfg.max_connections = httpd_config.max_connections;
    serve_cfg.idle_timeout_ms = httpd_config.idle_timeout_ms;
    http_serve(&server, s, &serve_cfg, answer, (void *)site);
    return 1;
}
