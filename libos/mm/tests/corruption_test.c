/*
 * Boot test: misuse of the heap ends the image with a clear report and
 * MM_EXIT_CORRUPTION. argv[1] picks the misuse. Only the standard names
 * are used, so this also shows that they initialise mm themselves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "";
    /* Two blocks, so freeing p leaves its slab or pool in use and the
     * allocator's own bookkeeping (not just the extent table) must tell. */
    char *keep = malloc(100);
    char *p = malloc(100);
    int local = 0;

    printf("misuse: %s of %p\n", what, (void *)p);
    if (strcmp(what, "double-free") == 0) {
        free(p);
        free(p);
    } else if (strcmp(what, "interior-free") == 0) {
        free(p + 16);
    } else if (strcmp(what, "foreign-free") == 0) {
        free(&local);
    } else if (strcmp(what, "overflow") == 0) {
        /* 64 bytes past the block: over the next block's header on TLSF.
         * Volatile, so the compiler does not refuse the overflow itself. */
        volatile size_t past = 64;
        memset(p, 'A', 100 + past);
        free(p);
    } else {
        printf("unknown misuse\n");
        return 1;
    }
    printf("not reached: the fault was ignored\n");
    free(keep);
    return 2;
}
