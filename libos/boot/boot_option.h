/*
 * Boot options: words of the command line that the boot path itself
 * reads, spelled `boot.<name>=<value>` (e.g. boot.allow_no_nx=1). They stay
 * in argv like every other word.
 *
 * Device-free and host-buildable (//libos/boot:core).
 */
#ifndef BOOT_BOOT_OPTION_H
#define BOOT_BOOT_OPTION_H

#include <stddef.h>

enum boot_flag {
    BOOT_FLAG_ABSENT = 0, /* no word names the option */
    BOOT_FLAG_OFF,        /* name=0 */
    BOOT_FLAG_ON,         /* name=1 */
    BOOT_FLAG_MALFORMED,  /* name or name=<anything but 0 or 1> */
};

/*
 * The value of the on/off option `name` (e.g. "boot.allow_no_nx") in
 * `cmdline`, whose words are separated by ASCII whitespace. A word is the
 * option only if it is `name` exactly or starts with `name=`; the last
 * such word wins, except that a malformed one wins over all: then *bad
 * and *bad_len (if not NULL) give that word, for the error message.
 */
enum boot_flag boot_option_flag(const char *cmdline, const char *name,
                                const char **bad, size_t *bad_len);

#endif /* BOOT_BOOT_OPTION_H */
