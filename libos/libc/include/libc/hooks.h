/*
 * libc/hooks.h - what the platform plugs into libc.
 *
 * libc has no devices and no idea how to stop the machine, and it must
 * not depend on the packages that do (boot depends on libc, not the other
 * way round). Instead the platform registers two plain function pointers
 * early in boot:
 *
 *   output  receives every byte stdio produces (printf, puts, ...).
 *           Until one is registered, output is silently discarded.
 *   exit    receives the status passed to exit() and must not return.
 *           Until one is registered (or if it returns anyway), exit()
 *           spins forever.
 *
 * A function pointer, rather than a weak or undefined symbol, keeps the
 * link closed: libc links and tests on its own, and which console or
 * exit mechanism is used is decided at run time by whoever boots.
 */
#ifndef LIBC_HOOKS_H
#define LIBC_HOOKS_H

#include <stddef.h>

/* Writes `len` bytes of output; must handle len == 0. */
typedef void (*libc_output_fn)(const char *buf, size_t len);

/* Ends the program with `status`; must not return. */
typedef void (*libc_exit_fn)(int status);

void libc_set_output(libc_output_fn write);
void libc_set_exit(libc_exit_fn fn);

/*
 * The status abort() (and so a failed assert()) exits with. QEMU's
 * isa-debug-exit turns status s into process exit code (2s + 1) & 0xff,
 * so 127 is the largest status that survives unambiguously (code 255).
 */
#define LIBC_ABORT_STATUS 127

#endif /* LIBC_HOOKS_H */
