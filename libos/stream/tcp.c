/* <stream/stream.h> over TCP: BSD sockets on //libos/net. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <net/up.h>
#include <stream/stream.h>
#include <time/time.h>

#define UP_TIMEOUT_NS (20 * TIME_NS_PER_S)

struct stream_listener {
    int fd;
};

struct stream {
    int fd;
};

const char *stream_transport_name(void)
{
    return "tcp";
}

int stream_start(int argc, char **argv, char err[STREAM_ERROR_MAX])
{
    struct net_config cfg;
    char why[NET_CONFIG_ERROR_MAX];
    if (net_config_parse(argc, argv, &cfg, why) != 0) {
        snprintf(err, STREAM_ERROR_MAX, "%s", why);
        return -EINVAL;
    }
    struct net_if *nif;
    int rc = net_up("stream", &cfg, UP_TIMEOUT_NS, &nif);
    if (rc == -ENODEV)
        return 0; /* TCP on the loopback (net_up said so) */
    if (rc != 0) {
        snprintf(err, STREAM_ERROR_MAX,
                 "stream: no TCP over the NIC (the line above says why)");
        return rc;
    }
    return 0;
}

int stream_listen(uint16_t port, struct stream_listener **out)
{
    struct stream_listener *l = malloc(sizeof(*l));
    if (l == NULL)
        return -ENOMEM;
    struct sockaddr_in any = {.sin_len = sizeof(any), .sin_family = AF_INET,
                              .sin_port = htons(port)};
    l->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (l->fd < 0 || bind(l->fd, (struct sockaddr *)&any, sizeof(any)) != 0
        || listen(l->fd, 8) != 0) {
        int e = errno ? errno : EIO;
        if (l->fd >= 0)
            close(l->fd);
        free(l);
        return -e;
    }
    *out = l;
    return 0;
}

int stream_accept(struct stream_listener *l, struct stream **out)
{
    struct stream *s = malloc(sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    s->fd = accept(l->fd, NULL, NULL);
    if (s->fd < 0) {
        int e = errno ? errno : EIO;
        free(s);
        return -e;
    }
    *out = s;
    return 0;
}

long stream_read(struct stream *s, void *buf, size_t len)
{
    ssize_t n = recv(s->fd, buf, len, 0);
    return n < 0 ? -(errno ? errno : EIO) : n;
}

long stream_write(struct stream *s, const void *buf, size_t len)
{
    const char *p = buf;
    size_t done = 0;
    while (done < len) {
        ssize_t n = send(s->fd, p + done, len - done, 0);
        if (n <= 0)
            return errno == ENOTCONN || errno == ECONNRESET || n == 0 ? -EPIPE
                                                                      : -(errno ? errno : EIO);
        done += (size_t)n;
    }
    return (long)len;
}

void stream_close(struct stream *s)
{
    close(s->fd);
    free(s);
}
