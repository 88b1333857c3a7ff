/*
 * Writing Xen's PV console ring (<platform/xen/console_ring.h>).
 */
#include <platform/xen/console_ring.h>
#include <xenabi/errno.h>

void xenplat_console_ring_attach(struct xenplat_console_ring *r,
                                 struct xenabi_console_interface *page)
{
    r->page = page;
    r->out_prod = __atomic_load_n(&page->out_prod, __ATOMIC_ACQUIRE);
    r->broken = false;
}

/* The bytes in the ring by the daemon's index, read once; UINT32_MAX if
 * that index is impossible (the ring is then broken for good). */
static uint32_t used(struct xenplat_console_ring *r)
{
    uint32_t cons = __atomic_load_n(&r->page->out_cons, __ATOMIC_ACQUIRE);
    uint32_t n = r->out_prod - cons;

    if (n > XENABI_CONSOLE_OUT_SIZE)
        r->broken = true;
    return r->broken ? UINT32_MAX : n;
}

long xenplat_console_ring_put(struct xenplat_console_ring *r,
                              const void *buf, size_t len)
{
    uint32_t in_ring = used(r);

    if (in_ring == UINT32_MAX)
        return -XENABI_EIO;
    uint32_t space = XENABI_CONSOLE_OUT_SIZE - in_ring;
    uint32_t n = len < space ? (uint32_t)len : space;
    const char *src = buf;
    for (uint32_t i = 0; i < n; i++)
        r->page->out[xenabi_console_out_mask(r->out_prod + i)] = src[i];
    if (n == 0)
        return 0;
    r->out_prod += n;
    /* The bytes before the index the daemon trusts. */
    __atomic_store_n(&r->page->out_prod, r->out_prod, __ATOMIC_RELEASE);
    return n;
}

long xenplat_console_ring_pending(struct xenplat_console_ring *r)
{
    uint32_t in_ring = used(r);

    return in_ring == UINT32_MAX ? -XENABI_EIO : (long)in_ring;
}
