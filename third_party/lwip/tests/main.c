/*
 * Runs lwIP's own unit tests: test/unit/lwip_unittests.c, whose main is
 * renamed lwip_unittests_main by the build (its LWIP_UNITTESTS_LIB switch
 * does not compile in 2.1.3: lwip_check.h's declaration lacks a ';').
 * Check writes lwip_unittests.xml into the working directory: run from
 * Bazel's undeclared test outputs, so the report lands in the test's outputs
 * and not in the runfiles tree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int lwip_unittests_main(void);

int main(void) {
    const char *out = getenv("TEST_UNDECLARED_OUTPUTS_DIR");
    if (out == NULL) {
        out = getenv("TEST_TMPDIR");
    }
    if (out != NULL && chdir(out) != 0) {
        fprintf(stderr, "lwip_unittests: cannot enter %s for the XML report\n", out);
        return 1;
    }
    return lwip_unittests_main();
}
