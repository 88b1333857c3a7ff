/*
 * vchan in an image: references every public function so the link
 * proves they all resolve for the image, and runs the "not on Xen" path.
 */
#include <stddef.h>
#include <stdio.h>

#include <evtchn/evtchn.h>
#include <vchan/vchan.h>

static void *volatile keep[] = {
    (void *)vchan_server_open,    (void *)vchan_client_open,
    (void *)vchan_client_attach,  (void *)vchan_write,
    (void *)vchan_read,           (void *)vchan_data_ready,
    (void *)vchan_buffer_space,   (void *)vchan_write_all,
    (void *)vchan_read_exact,     (void *)vchan_peer_connected,
    (void *)vchan_read_size,      (void *)vchan_write_size,
    (void *)vchan_port,           (void *)vchan_get_stats,
    (void *)vchan_close,
};

int main(void)
{
    /* Read the table: without a use, the compiler drops it, and with it
     * every reference into the driver (the link then proves nothing). */
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
        if (keep[i] == NULL)
            return 2;
    int rc = evtchn_init();
    printf("vchan link test: %s (%s)\n",
           rc == -XENABI_ENOSYS ? "not on Xen" : "on Xen?",
           rc == -XENABI_ENOSYS ? "ENOSYS" : "unexpected");
    return rc == -XENABI_ENOSYS ? 0 : 1;
}
