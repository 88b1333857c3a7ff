/*
 * A UDP-only program for the specialisation test: one round trip over
 * the loopback. It is linked with three stack variants; what each image
 * keeps of lwIP is read from its manifest (specialisation.py).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <net/net.h>

int main(void)
{
    net_start();
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_len = sizeof(a);
    a.sin_family = AF_INET;
    a.sin_port = htons(9);
    a.sin_addr.s_addr = inet_addr("127.0.0.1");
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) != 0) {
        printf("udp program: no socket\n");
        return 1;
    }
    char buf[16];
    if (sendto(s, "ping", 4, 0, (struct sockaddr *)&a, sizeof(a)) != 4
        || recvfrom(s, buf, sizeof(buf), 0, NULL, NULL) != 4
        || memcmp(buf, "ping", 4) != 0) {
        printf("udp program: no round trip\n");
        return 1;
    }
    close(s);
    printf("udp program: round trip over the loopback\n");
    return 0;
}
