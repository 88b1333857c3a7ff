/*
 * config.h - the web server's settings, generated at build time from the
 * attributes of httpd_image in BUILD (httpd.bzl), checked there at
 * analysis time.
 */
#ifndef HTTPD_CONFIG_H
#define HTTPD_CONFIG_H

#include <stdint.h>

struct httpd_config {
    const char *net_words;    /* "ip=... gw=... dns=..." (<net/config.h>) */
    uint16_t port;
    unsigned max_connections; /* served at once; beyond: the listen backlog */
    uint32_t idle_timeout_ms; /* a whole request head must arrive in this */
};

extern const struct httpd_config httpd_config;

#endif /* HTTPD_CONFIG_H */
