/*
 * exit() and abort(): libc decides nothing about how the machine stops;
 * it hands the status to the hook the platform registered.
 */
#include <libc/hooks.h>
#include <stdlib.h>

#include "internal.h"

static libc_exit_fn exit_hook;

void libc_set_exit(libc_exit_fn fn)
{
    exit_hook = fn;
}

_Noreturn void exit(int status)
{
    if (exit_hook)
        exit_hook(status);
    /*
     * No hook, or one that broke its contract by returning: there is no
     * way back into the caller, so wait here (visible in a debugger)
     * rather than fall off into whatever code comes next.
     */
    for (;;) {
    }
}

_Noreturn void abort(void)
{
    static const char msg[] = "abort() called\n";

    __libc_write(msg, sizeof msg - 1);
    exit(LIBC_ABORT_STATUS);
}
