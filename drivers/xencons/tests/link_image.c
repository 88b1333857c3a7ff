/*
 * xencons in an image: linked with every public function, and the
 * "not on Xen" path run under QEMU.
 */
#include <stddef.h>
#include <stdio.h>

#include <xencons/xencons.h>

static void *volatile keep[] = {
    (void *)xencons_init,      (void *)xencons_attach,
    (void *)xencons_write,     (void *)xencons_write_all,
    (void *)xencons_read,      (void *)xencons_get_stats,
};

static struct xencons con;

int main(void)
{
    /* Read the table: without a use, the compiler drops it, and with it
     * every reference into the driver (the link then proves nothing). */
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
        if (keep[i] == NULL)
            return 2;
    int rc = xencons_init(&con);
    printf("xencons link test: %s\n",
           rc == -XENABI_ENOSYS ? "not on Xen (ENOSYS)" : "unexpected");
    return rc == -XENABI_ENOSYS ? 0 : 1;
}
