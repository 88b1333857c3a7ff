/*
 * rand.c - LWIP_RAND() in an image: TCP initial sequence numbers,
 * ephemeral ports, DNS ids and source ports come from the boot entropy
 * source (RDRAND mixed with the TSC; the TSC alone on CPUs without
 * RDRAND, which <boot/boot.h> calls weak).
 */
#include <stdint.h>

#include <boot/boot.h>

uint32_t net_port_rand(void);

uint32_t net_port_rand(void)
{
    return (uint32_t)boot_random_u64();
}
