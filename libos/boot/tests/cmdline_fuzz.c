/*
 * Fuzz target: the boot command line, as the boot path reads it. The
 * input is the command line's bytes (up to the first NUL, as boot.c's
 * copy_cmdline keeps it); the boot options are looked up in it
 * (boot_option_flag) and its words, split at ASCII whitespace as
 * boot.c's split_args does, go to the network words' parser
 * (net_config_parse: ip=, gw=, dns=).
 *
 * Properties besides memory safety: an error is one non-empty line that
 * starts with "net: "; a success gives a configuration the parser's
 * contract promises (a prefix of 1..32 with its netmask, a gateway inside
 * the prefix, at most NET_CONFIG_DNS_MAX resolvers).
 */
#include <stdlib.h>
#include <string.h>

#include "libos/boot/boot_option.h"
#include <net/config.h>
#include <testing/fuzz.h>

#define ARGV_MAX 64

const char *const fuzz_dictionary[] = {
    "ip=", "gw=", "dns=", "ip=dhcp", "boot.allow_no_nx", "boot.allow_no_nx=1",
    "boot.allow_no_nx=0", "/24", "/32", "/0", "/33", ".255", ".256", "10.",
    "0.", "127.", "224.", ",", " ", "\t", "=", "1000", NULL,
};

void fuzz_seeds(fuzz_add_fn add)
{
    static const char *const lines[] = {
        "",
        "ip=10.0.0.2/24 gw=10.0.0.1 dns=10.0.0.1",
        "ip=dhcp",
        "ip=192.168.1.7/16 dns=1.1.1.1,8.8.8.8",
        "ip=10.1.2.3/31 gw=10.1.2.2",
        "ip=10.1.2.3/32",
        "boot.allow_no_nx=1 ip=172.16.0.9/12 gw=172.16.0.1",
        "verbose port=80\tip=10.0.2.15/24\ngw=10.0.2.2 dns=10.0.2.3",
        "boot.allow_no_nx boot.allow_no_nx=0",
        "ip=10.0.0.300/24 gw=",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        add(lines[i], strlen(lines[i]));
}

static int check_error(const char *err)
{
    size_t n = strnlen(err, NET_CONFIG_ERROR_MAX);
    if (n == NET_CONFIG_ERROR_MAX || n <= 5 || strncmp(err, "net: ", 5) != 0)
        return 1;
    return 0;
}

static int check_config(const struct net_config *c)
{
    if (c->dns_count > NET_CONFIG_DNS_MAX)
        return 1;
    if (c->mode == NET_ADDR_STATIC) {
        if (c->prefix < 1 || c->prefix > 32)
            return 1;
        uint32_t mask = UINT32_MAX << (32 - c->prefix);
        if (c->netmask != mask)
            return 1;
        if (c->gw != 0 && ((c->gw & mask) != (c->ip & mask) || c->gw == c->ip))
            return 1;
    } else if (c->gw != 0) {
        return 1; /* a gateway without a static address */
    }
    return 0;
}

int fuzz_one(const uint8_t *data, size_t len)
{
    char *line = malloc(len + 1);
    memcpy(line, data, len);
    line[len] = '\0';

    (void)boot_option_flag(line, "boot.allow_no_nx", NULL, NULL);
    const char *bad = NULL;
    size_t bad_len = 0;
    if (boot_option_flag(line, "boot.allow_no_nx", &bad, &bad_len)
            == BOOT_FLAG_MALFORMED
        && (bad == NULL || bad < line || bad + bad_len > line + strlen(line))) {
        free(line);
        return 1; /* the malformed word must point into the line */
    }

    char *argv[ARGV_MAX + 1];
    int argc = 0;
    char *save;
    argv[argc++] = "program";
    for (char *w = strtok_r(line, " \t\n\v\f\r", &save); w != NULL && argc < ARGV_MAX;
         w = strtok_r(NULL, " \t\n\v\f\r", &save))
        argv[argc++] = w;
    argv[argc] = NULL;

    struct net_config cfg;
    memset(&cfg, 0xa5, sizeof cfg);
    char err[NET_CONFIG_ERROR_MAX];
    int rc = net_config_parse(argc, argv, &cfg, err);
    int broken = rc == 0 ? check_config(&cfg) : check_error(err);
    free(line);
    return broken;
}
