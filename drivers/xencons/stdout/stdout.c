/*
 * The image's standard output through the PV console driver: printf goes
 * to //drivers/xencons (one producer, daemon indexes validated, waits
 * that park the calling thread) instead of the Xen platform's early
 * writer, which hands the ring over (<platform/xen/xen.h>); both put bytes
 * in the ring through <platform/xen/console_ring.h>. On PVH port 0xe9
 * keeps its copy for `xl dmesg`.
 */
#include <libc/hooks.h>
#include <platform/xen/xen.h>
#include <stddef.h>
#include <xencons/xencons.h>

static struct xencons console;

static void write_out(const char *buf, size_t len)
{
    xenplat_debug_write(buf, len);
    /* A broken daemon (-XENABI_EIO): the ring is lost, port 0xe9 stays. */
    (void)xencons_write_all(&console, buf, len);
}

int xencons_stdout_init(void)
{
    int rc = xencons_init(&console);
    if (rc < 0)
        return rc;
    /* Attached where the early writer stopped; nothing is printed between. */
    xenplat_console_handover();
    libc_set_output(write_out);
    return 0;
}
