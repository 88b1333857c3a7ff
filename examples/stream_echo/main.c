/*
 * stream_echo: an echo service on <stream/stream.h>. The same code serves
 * over TCP (image :image, //libos/stream:tcp) or over a vchan to dom0
 * (image :image_vchan, //libos/stream:vchan): the BUILD file chooses.
 * One thread per connection. README.md.
 */
#include <stdint.h>
#include <stdio.h>

#include <sched/sched.h>
#include <stream/stream.h>
#include <time/time.h>

#define PORT 7

static int serve(void *arg)
{
    struct stream *s = arg;
    char buf[4096];
    long n;
    while ((n = stream_read(s, buf, sizeof(buf))) > 0)
        if (stream_write(s, buf, (size_t)n) != n)
            break;
    stream_close(s);
    return 0;
}

int main(int argc, char **argv)
{
    char err[STREAM_ERROR_MAX];
    if (stream_start(argc, argv, err) != 0) {
        puts(err);
        return 2;
    }
    struct stream_listener *l;
    if (stream_listen(PORT, &l) != 0) {
        puts("stream_echo: cannot listen");
        return 1;
    }
    printf("stream_echo: serving port %d over %s\n", PORT, stream_transport_name());
    struct sched_attr detached = {.priority = SCHED_PRIORITY_DEFAULT, .detached = true};
    for (;;) {
        struct stream *s;
        int rc = stream_accept(l, &s);
        if (rc != 0) { /* out of sockets or grants, say: back off, never spin */
            printf("stream_echo: accept: error %d\n", rc);
            sched_sleep_ns(100 * TIME_NS_PER_MS);
            continue;
        }
        if (!sched_spawn("conn", serve, s, &detached))
            stream_close(s);
    }
}
