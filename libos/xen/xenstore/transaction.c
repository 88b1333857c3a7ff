/*
 * Transactions: start, end, and the retry loop a conflict calls for.
 */
#include "internal.h"

int xs_transaction_start(xs_tx_t *tx)
{
    /* The payload is an empty string. */
    struct xs_part part = {"", 1};
    char id[16];
    size_t len = 0;
    int rc = xs_request(XENABI_XS_TRANSACTION_START, XS_TX_NONE, &part, 1, id,
                        sizeof(id) - 1, &len);
    if (rc == -XENABI_ERANGE) {
        xs_state.stats.bad_payload++; /* no 32-bit id is that long */
        return -XENABI_EIO;
    }
    if (rc < 0)
        return rc;
    id[len] = '\0';
    uint32_t value;
    if (!xs_parse_u32(id, &value) || value == XS_TX_NONE) {
        xs_state.stats.bad_payload++;
        return -XENABI_EIO;
    }
    *tx = value;
    return 0;
}

int xs_transaction_end(xs_tx_t tx, bool commit)
{
    if (tx == XS_TX_NONE)
        return -XENABI_EINVAL;
    struct xs_part part = {commit ? "T" : "F", 2};
    return xs_request(XENABI_XS_TRANSACTION_END, tx, &part, 1, NULL, 0, NULL);
}

int xs_transaction(xs_tx_body_fn body, void *arg, unsigned attempts)
{
    for (unsigned attempt = 0; attempt < attempts; attempt++) {
        if (attempt > 0)
            xs_state.stats.tx_retries++;
        xs_tx_t tx;
        int rc = xs_transaction_start(&tx);
        if (rc < 0)
            return rc;
        rc = body(tx, arg);
        if (rc < 0) {
            (void)xs_transaction_end(tx, false);
            if (rc == -XENABI_EAGAIN)
                continue;
            return rc;
        }
        rc = xs_transaction_end(tx, true);
        if (rc != -XENABI_EAGAIN)
            return rc;
    }
    return -XENABI_EAGAIN;
}
