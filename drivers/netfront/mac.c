/*
 * The vif's MAC address as the toolstack writes it to xenstore.
 */
#include <netfront/netfront.h>

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int netfront_parse_mac(const char *text, uint8_t mac[NETFRONT_MAC_LEN])
{
    uint8_t out[NETFRONT_MAC_LEN];
    unsigned any = 0;
    for (unsigned i = 0; i < NETFRONT_MAC_LEN; i++) {
        const char *p = text + 3 * i;
        int hi = hex_digit(p[0]);
        int lo = hi < 0 ? -1 : hex_digit(p[1]);
        if (lo < 0)
            return -XENABI_EINVAL;
        char sep = p[2];
        if (sep != (i + 1 < NETFRONT_MAC_LEN ? ':' : '\0'))
            return -XENABI_EINVAL;
        out[i] = (uint8_t)(hi << 4 | lo);
        any |= out[i];
    }
    /* A vif's own address: multicast or all-zero would be a toolstack
     * error we would otherwise answer ARP with. */
    if ((out[0] & 1) != 0 || any == 0)
        return -XENABI_EINVAL;
    for (unsigned i = 0; i < NETFRONT_MAC_LEN; i++)
        mac[i] = out[i];
    return 0;
}
