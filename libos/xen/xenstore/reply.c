/*
 * What a complete message from xenstored may be, and where it goes: a
 * watch event to the event queue, a reply to the request waiting for it.
 * The payload is our private copy, NUL-terminated one past its length.
 */
#include <string.h>

#include "internal.h"

static struct xs_pending *waiting_for(uint32_t req_id)
{
    for (unsigned i = 0; i < XS_MAX_INFLIGHT; i++) {
        struct xs_pending *p = &xs_state.pending[i];
        if (p->in_use && !p->done && p->req_id == req_id)
            return p;
    }
    return NULL;
}

/* Exactly one NUL-terminated string filling the payload. */
static bool one_string(const char *payload, uint32_t len)
{
    return len > 0 && strlen(payload) == len - 1;
}

/* "path\0token\0": two strings, the path non-empty and not too long. */
static void take_watch_event(const char *payload, uint32_t len)
{
    size_t path_len = strlen(payload); /* stops at the NUL we appended */
    if (path_len == 0 || path_len > XENABI_XENSTORE_ABS_PATH_MAX
        || path_len + 1 >= len) {
        xs_state.stats.bad_payload++;
        return;
    }
    const char *token = payload + path_len + 1;
    if (!one_string(token, len - (uint32_t)path_len - 1)) {
        xs_state.stats.bad_payload++;
        return;
    }
    xs_queue_event(payload, path_len, token);
}

/* Entries of a directory listing: non-empty names, each NUL-terminated. */
static bool valid_listing(const char *payload, uint32_t len)
{
    if (len == 0 || (len == 1 && payload[0] == '\0'))
        return true; /* no children, in either spelling servers use */
    if (payload[len - 1] != '\0')
        return false;
    for (uint32_t i = 0; i < len; i++)
        if (payload[i] == '\0' && (i == 0 || payload[i - 1] == '\0'))
            return false;
    return true;
}

static bool valid_reply(uint32_t type, const char *payload, uint32_t len)
{
    switch (type) {
    case XENABI_XS_READ:
        return true; /* any bytes */
    case XENABI_XS_DIRECTORY:
        return valid_listing(payload, len);
    case XENABI_XS_TRANSACTION_START:
        return one_string(payload, len); /* the id; parsed by the caller */
    default:
        /* Everything else is acknowledged with "OK". */
        return len == 3 && memcmp(payload, "OK", 3) == 0;
    }
}

static void complete(struct xs_pending *p, int result, const char *payload,
                     uint32_t len)
{
    p->reply_len = len;
    if (result == 0 && p->reply != NULL) {
        if (len > p->reply_cap)
            result = -XENABI_ERANGE;
        else
            memcpy(p->reply, payload, len);
    }
    p->result = result;
    p->done = true;
}

void xs_handle_message(const struct xenabi_xsd_sockmsg *header,
                       char *payload)
{
    struct xs_stats *st = &xs_state.stats;
    uint32_t type = header->type;
    uint32_t len = header->len; /* checked against the limit already */

    if (type >= XENABI_XS_TYPE_COUNT || type == 20 /* XS_RESTRICT, gone */) {
        st->bad_type++;
        return;
    }
    if (type == XENABI_XS_WATCH_EVENT) {
        take_watch_event(payload, len);
        return;
    }

    struct xs_pending *p = waiting_for(header->req_id);
    if (p == NULL) {
        st->unexpected_id++;
        return;
    }
    if (type != p->type && type != XENABI_XS_ERROR) {
        st->bad_type++; /* not an answer to this question: keep waiting */
        return;
    }

    if (type == XENABI_XS_ERROR) {
        int err = one_string(payload, len) ? xs_error_from_name(payload) : 0;
        if (err == 0) {
            st->bad_payload++;
            err = -XENABI_EIO;
        }
        st->replies++;
        complete(p, err, payload, 0);
        return;
    }
    if (!valid_reply(type, payload, len)) {
        st->bad_payload++;
        complete(p, -XENABI_EIO, payload, 0);
        return;
    }
    st->replies++;
    complete(p, 0, payload, len);
}
