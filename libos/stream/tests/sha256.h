/*
 * SHA-256 (FIPS 180-4) for host tests that compare what a stream carried
 * the way tests/xenlab/stream-client.py reports it: by digest.
 */
#ifndef STREAM_TESTS_SHA256_H
#define STREAM_TESTS_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

void sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]);

#endif
