/*
 * The PV console rings. Our indexes (out_prod, in_cons) live privately
 * and are only published; the daemon's (out_cons, in_prod) are read once
 * per call and must leave between 0 and the ring's size in it. Output
 * goes through the platform's one ring writer
 * (<platform/xen/console_ring.h>), which the boot path's early console
 * used before the hand-over.
 */
#include <string.h>

#include <platform/xen/console_ring.h>

#include <evtchn/evtchn.h>
#include <hypervisor/hypervisor.h>
#include <xencons/xencons.h>

static void on_event(xenabi_evtchn_port_t port, void *arg)
{
    /* Only wakes evtchn_wait; the rings are looked at by the caller. */
    (void)port;
    (void)arg;
}

int xencons_attach(struct xencons *c, struct xenabi_console_interface *page,
                   uint32_t port)
{
    if (c == NULL || page == NULL)
        return -XENABI_EINVAL;
    memset(c, 0, sizeof(*c));
    c->page = page;
    c->port = port;
    /* Where the rings stand now (the daemon, firmware or the boot path
     * may have used them); checked like any later value. */
    xenplat_console_ring_attach(&c->out, page);
    c->in_cons = __atomic_load_n(&page->in_cons, __ATOMIC_ACQUIRE);
    int rc = evtchn_set_handler(port, on_event, c);
    if (rc == 0)
        rc = evtchn_unmask(port);
    return rc;
}

int xencons_init(struct xencons *c)
{
    uint64_t pfn = 0, port = 0;
    long rc = xen_hvm_get_param(XENABI_HVM_PARAM_CONSOLE_PFN, &pfn);
    if (rc == 0)
        rc = xen_hvm_get_param(XENABI_HVM_PARAM_CONSOLE_EVTCHN, &port);
    if (rc < 0)
        return (int)rc;
    if (pfn == 0 || port == 0)
        return -XENABI_ENOENT;
    if (port >= EVTCHN_NR_PORTS)
        return -XENABI_EINVAL;
    void *page = xen_frame_to_ptr((xenabi_pfn_t)pfn);
    if (page == NULL)
        return -XENABI_EFAULT;
    return xencons_attach(c, page, (uint32_t)port);
}

static long broken(struct xencons *c)
{
    if (!c->broken)
        c->stats.bad_index++;
    c->broken = true;
    return -XENABI_EIO;
}

static void notify(struct xencons *c)
{
    (void)evtchn_notify(c->port);
    c->stats.notifies++;
}

long xencons_write(struct xencons *c, const void *buf, size_t len)
{
    if (c->broken)
        return -XENABI_EIO;
    long n = xenplat_console_ring_put(&c->out, buf, len);
    if (n < 0)
        return broken(c);
    if (n == 0)
        return 0;
    c->stats.written += (uint64_t)n;
    notify(c);
    return n;
}

long xencons_write_all(struct xencons *c, const void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        long n = xencons_write(c, (const uint8_t *)buf + done, len - done);
        if (n < 0)
            return n;
        done += (size_t)n;
        if (n == 0) {
            c->stats.waits++;
            int rc = evtchn_wait();
            if (rc < 0)
                return rc;
        }
    }
    return (long)len;
}

long xencons_read(struct xencons *c, void *buf, size_t len)
{
    if (c->broken)
        return -XENABI_EIO;
    struct xenabi_console_interface *p = c->page;
    uint32_t prod = __atomic_load_n(&p->in_prod, __ATOMIC_ACQUIRE);
    uint32_t ready = prod - c->in_cons;
    if (ready > XENABI_CONSOLE_IN_SIZE)
        return broken(c);
    uint32_t n = len < ready ? (uint32_t)len : ready;
    uint8_t *dst = buf;
    for (uint32_t i = 0; i < n; i++)
        dst[i] = (uint8_t)p->in[xenabi_console_in_mask(c->in_cons + i)];
    if (n == 0)
        return 0;
    c->in_cons += n;
    __atomic_store_n(&p->in_cons, c->in_cons, __ATOMIC_SEQ_CST);
    c->stats.read += n;
    notify(c); /* room for more input */
    return n;
}

void xencons_get_stats(const struct xencons *c, struct xencons_stats *out)
{
    *out = c->stats;
}
