/* Boot options on the command line (boot_option.h). */
#include "boot_option.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f'
           || c == '\r';
}

enum boot_flag boot_option_flag(const char *cmdline, const char *name,
                                const char **bad, size_t *bad_len)
{
    enum boot_flag flag = BOOT_FLAG_ABSENT;
    size_t name_len = strlen(name);
    const char *p = cmdline;

    for (;;) {
        while (is_space(*p))
            p++;
        if (*p == '\0')
            return flag;
        const char *word = p;
        while (*p != '\0' && !is_space(*p))
            p++;
        size_t len = (size_t)(p - word);

        if (len < name_len || memcmp(word, name, name_len) != 0
            || (len > name_len && word[name_len] != '='))
            continue; /* another word, or a longer name */
        if (len == name_len + 2 && word[name_len + 1] == '1')
            flag = BOOT_FLAG_ON;
        else if (len == name_len + 2 && word[name_len + 1] == '0')
            flag = BOOT_FLAG_OFF;
        else {
            if (bad)
                *bad = word;
            if (bad_len)
                *bad_len = len;
            return BOOT_FLAG_MALFORMED;
        }
    }
}
