/* An application in a workspace of its own, built with rules_unikernel. */
#include <stdio.h>

int main(int argc, char **argv) {
    printf("consumer app: argc=%d last=%s\n", argc, argv[argc - 1]);
    return 7;
}
