/* <stream/stream.h> over a vchan to another domain (//drivers/vchan). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <evtchn_sched/evtchn_sched.h>
#include <platform/xen/guest.h>
#include <sched/sched.h>
#include <stream/stream.h>
#include <time/time.h>
#include <vchan/vchan.h>
#include <xenstore/xenstore.h>

/* Rings of 32 KiB each way by default (eight pages each, the most vchan
 * allows); vchan_ring_order=N (12..15) on the command line to change. */
#define RING_ORDER VCHAN_MAX_ORDER
/* The client's arrival and departure change no port we wait on by name:
 * look again this often. */
#define RECHECK_NS (100 * TIME_NS_PER_MS)

struct stream_listener {
    char path[32];           /* data/stream/<port>, under our home */
    bool busy;               /* a connection is open */
    bool said;               /* the first announcement was printed */
    struct sched_waitq free; /* accept waits here while busy */
};

struct stream {
    struct vchan *v;
    struct stream_listener *l;
};

static unsigned peer_domid; /* vchan_peer=N; 0: dom0 */
static unsigned ring_order = RING_ORDER;
static unsigned self_domid;

const char *stream_transport_name(void)
{
    return "vchan";
}

static int errno_of(long rc)
{
    if (rc == -XENABI_ENOTCONN)
        return -EPIPE;
    return rc < 0 ? (int)rc : -EIO; /* Xen's errno values are Linux's, as ours */
}

int stream_start(int argc, char **argv, char err[STREAM_ERROR_MAX])
{
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "vchan_ring_order=", 17) == 0) {
            char *end;
            unsigned long o = strtoul(argv[i] + 17, &end, 10);
            if (argv[i][17] == '\0' || *end != '\0' || o < 12 || o > VCHAN_MAX_ORDER) {
                snprintf(err, STREAM_ERROR_MAX,
                         "stream: %s is not a ring order (write vchan_ring_order=N, N from 12 to %d)",
                         argv[i], VCHAN_MAX_ORDER);
                return -EINVAL;
            }
            ring_order = (unsigned)o;
            continue;
        }
        if (strncmp(argv[i], "vchan_peer=", 11) != 0)
            continue;
        char *end;
        unsigned long d = strtoul(argv[i] + 11, &end, 10);
        if (argv[i][11] == '\0' || *end != '\0' || d >= 0x7ff0) {
            snprintf(err, STREAM_ERROR_MAX,
                     "stream: %s is not a domain id (write vchan_peer=N, N from 0 to 32751)", argv[i]);
            return -EINVAL;
        }
        peer_domid = (unsigned)d;
    }
    int rc = xen_guest_start();
    if (rc == -XENABI_ENOSYS) {
        snprintf(err, STREAM_ERROR_MAX,
                 "stream: vchan needs Xen, and this image runs without it (use //libos/stream:tcp)");
        return -ENODEV;
    }
    uint32_t self = 0;
    if (rc == 0)
        rc = xs_read_u32(XS_TX_NONE, "domid", &self);
    if (rc != 0) {
        snprintf(err, STREAM_ERROR_MAX, "stream: the Xen services did not start: error %d", rc);
        return errno_of(rc);
    }
    self_domid = self;
    printf("stream: vchan to dom%u, rings of %u KiB\n", peer_domid, (1u << ring_order) / 1024);
    return 0;
}

int stream_listen(uint16_t port, struct stream_listener **out)
{
    struct stream_listener *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return -ENOMEM;
    snprintf(l->path, sizeof(l->path), "data/stream/%u", (unsigned)port);
    sched_waitq_init(&l->free);
    *out = l;
    return 0;
}

int stream_accept(struct stream_listener *l, struct stream **out)
{
    while (l->busy)
        sched_wait(&l->free);
    struct stream *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    int rc = vchan_server_open((xenabi_domid_t)peer_domid, l->path, ring_order, ring_order, &s->v);
    if (rc != 0) {
        free(s);
        return errno_of(rc);
    }
    l->busy = true;
    if (!l->said) /* once: a new channel is announced for every connection */
        printf("stream: waiting for dom%u at /local/domain/%u/%s\n", peer_domid, self_domid, l->path);
    l->said = true;
    while (!vchan_peer_connected(s->v))
        (void)evtchn_sched_wait(vchan_port(s->v), time_monotonic_ns() + RECHECK_NS);
    s->l = l;
    *out = s;
    return 0;
}

long stream_read(struct stream *s, void *buf, size_t len)
{
    if (len == 0)
        return 0;
    long n = vchan_read(s->v, buf, len);
    if (n != 0)
        return n > 0 ? n : errno_of(n);
    /* Nothing there: wait for one byte (or the peer's close), then take
     * what else came with it. */
    n = vchan_read_exact(s->v, buf, 1);
    if (n == -XENABI_ENOTCONN)
        return 0; /* the end of the stream */
    if (n < 0)
        return errno_of(n);
    long more = vchan_read(s->v, (char *)buf + 1, len - 1);
    return more < 0 ? errno_of(more) : 1 + more;
}

long stream_write(struct stream *s, const void *buf, size_t len)
{
    long n = vchan_write_all(s->v, buf, len);
    return n < 0 ? errno_of(n) : n;
}

void stream_close(struct stream *s)
{
    struct stream_listener *l = s->l;
    vchan_close(s->v);
    free(s);
    l->busy = false;
    sched_wake_one(&l->free);
}
