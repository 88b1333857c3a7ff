/*
 * xenabi/xenstore.h - talking to xenstored over the shared ring page.
 *
 * The page (HVM_PARAM_STORE_PFN, or start_info.store_mfn) holds two byte
 * rings of 1024 bytes: requests from us, and responses plus watch events
 * to us, each with free-running consumer/producer indices reduced modulo
 * XENABI_XENSTORE_RING_SIZE. The writer of a ring advances prod after
 * copying bytes in; the reader advances cons after copying them out;
 * either signals the store event channel afterwards.
 *
 * A message is a struct xenabi_xsd_sockmsg header and then len bytes of
 * payload, usually NUL-separated strings (a path, then a value; a write's
 * value is not NUL-terminated). Responses echo req_id; XS_ERROR carries
 * an errno name such as "ENOENT"; XS_WATCH_EVENT arrives unasked, with
 * the path and the token.
 */
#ifndef XENABI_XENSTORE_H
#define XENABI_XENSTORE_H

#include <xenabi/types.h>

/* Message types. */
enum xenabi_xs_type {
    XENABI_XS_CONTROL = 0, /* a.k.a. XS_DEBUG */
    XENABI_XS_DIRECTORY = 1,
    XENABI_XS_READ = 2,
    XENABI_XS_GET_PERMS = 3,
    XENABI_XS_WATCH = 4,
    XENABI_XS_UNWATCH = 5,
    XENABI_XS_TRANSACTION_START = 6,
    XENABI_XS_TRANSACTION_END = 7,
    XENABI_XS_INTRODUCE = 8,
    XENABI_XS_RELEASE = 9,
    XENABI_XS_GET_DOMAIN_PATH = 10,
    XENABI_XS_WRITE = 11,
    XENABI_XS_MKDIR = 12,
    XENABI_XS_RM = 13,
    XENABI_XS_SET_PERMS = 14,
    XENABI_XS_WATCH_EVENT = 15,
    XENABI_XS_ERROR = 16,
    XENABI_XS_IS_DOMAIN_INTRODUCED = 17,
    XENABI_XS_RESUME = 18,
    XENABI_XS_SET_TARGET = 19,
    /* 20 was XS_RESTRICT, removed. */
    XENABI_XS_RESET_WATCHES = 21,
    XENABI_XS_DIRECTORY_PART = 22,
    XENABI_XS_TYPE_COUNT = 23,
    XENABI_XS_INVALID = 0xffff,
};

struct xenabi_xsd_sockmsg {
    uint32_t type;   /* enum xenabi_xs_type */
    uint32_t req_id; /* ours; echoed in the response */
    uint32_t tx_id;  /* transaction, 0 for none */
    uint32_t len;    /* payload bytes that follow */
};
XENABI_ASSERT_SIZE(struct xenabi_xsd_sockmsg, 16);
XENABI_ASSERT_OFFSET(struct xenabi_xsd_sockmsg, type, 0);
XENABI_ASSERT_OFFSET(struct xenabi_xsd_sockmsg, req_id, 4);
XENABI_ASSERT_OFFSET(struct xenabi_xsd_sockmsg, tx_id, 8);
XENABI_ASSERT_OFFSET(struct xenabi_xsd_sockmsg, len, 12);

/* Watch events' payload: the path that changed, then the watch's token. */
#define XENABI_XS_WATCH_PATH 0
#define XENABI_XS_WATCH_TOKEN 1

/* Limits: a longer payload makes xenstored drop the connection. */
#define XENABI_XENSTORE_PAYLOAD_MAX 4096
#define XENABI_XENSTORE_ABS_PATH_MAX 3072 /* longer paths get an error */
#define XENABI_XENSTORE_REL_PATH_MAX 2048

#define XENABI_XENSTORE_RING_SIZE 1024 /* bytes in each direction */
typedef uint32_t xenabi_xenstore_ring_idx_t;

static inline uint32_t xenabi_xenstore_mask(xenabi_xenstore_ring_idx_t idx)
{
    return idx & (XENABI_XENSTORE_RING_SIZE - 1);
}

struct xenabi_xenstore_domain_interface {
    char req[XENABI_XENSTORE_RING_SIZE]; /* we write, xenstored reads */
    char rsp[XENABI_XENSTORE_RING_SIZE]; /* xenstored writes, we read */
    xenabi_xenstore_ring_idx_t req_cons, req_prod;
    xenabi_xenstore_ring_idx_t rsp_cons, rsp_prod;
    uint32_t server_features; /* XENABI_XENSTORE_SERVER_FEATURE_* */
    uint32_t connection;      /* XENABI_XENSTORE_CONNECTED / _RECONNECT */
    uint32_t error;           /* XENABI_XENSTORE_ERROR_* */
};
XENABI_ASSERT_SIZE(struct xenabi_xenstore_domain_interface, 2076);
XENABI_ASSERT_OFFSET(struct xenabi_xenstore_domain_interface, req, 0);
XENABI_ASSERT_OFFSET(struct xenabi_xenstore_domain_interface, rsp, 1024);
XENABI_ASSERT_OFFSET(struct xenabi_xenstore_domain_interface, req_cons, 2048);
XENABI_ASSERT_OFFSET(struct xenabi_xenstore_domain_interface, req_prod, 2052);
XENABI_ASSERT_OFFSET(struct xenabi_xenstore_domain_interface, rsp_cons, 2056);
XENABI_ASSERT_OFFSET(struct xenabi_xenstore_domain_interface, rsp_prod, 2060);
XENABI_ASSERT_OFFSET(struct xenabi_xenstore_domain_interface, server_features,
                     2064);
XENABI_ASSERT_OFFSET(struct xenabi_xenstore_domain_interface, connection, 2068);
XENABI_ASSERT_OFFSET(struct xenabi_xenstore_domain_interface, error, 2072);

#define XENABI_XENSTORE_SERVER_FEATURE_RECONNECTION 1u /* `connection` works */
#define XENABI_XENSTORE_SERVER_FEATURE_ERROR 2u        /* error field works */

#define XENABI_XENSTORE_CONNECTED 0 /* normal operation */
#define XENABI_XENSTORE_RECONNECT 1 /* guest asks to reset the rings */

#define XENABI_XENSTORE_ERROR_NONE 0
#define XENABI_XENSTORE_ERROR_COMM 1    /* communication problem */
#define XENABI_XENSTORE_ERROR_RINGIDX 2 /* an index was out of range */
#define XENABI_XENSTORE_ERROR_PROTO 3   /* e.g. a payload over the limit */

#endif /* XENABI_XENSTORE_H */
