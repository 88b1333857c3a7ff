/*
 * Runs lwIP's own unit tests against the port: the port's lwipopts.h and
 * sys_arch (libos/net) on the scheduler's host runtime
 * (//testing/hostsched), so lwIP's tcpip thread is a real scheduler
 * thread and blocking calls really park.
 *
 * Each suite named on the command line runs in a child process of its
 * own (Check's CK_RUN_SUITE), so a suite left out here is visible in the
 * BUILD file with its reason, and one suite's state cannot leak into the
 * next. The MDNS and MQTT suites test applications the port does not
 * ship; the MEM suite tests lwIP's own heap, which the port replaces
 * with malloc (MEM_LIBC_MALLOC); the PBUF suite needs DNS off and TCP
 * window scaling on. Their sources are not built and their suite
 * functions below return empty suites.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lwip/arch.h"

#include <xensim/sim.h>

int lwip_unittests_main(void);

/* The clock lwIP's tests set by hand (NET_PORT_TEST_CLOCK). */
u32_t lwip_sys_now;

/* Only lwIP's test sys_arch needs a callback to make progress while a
 * thread waits; with the port's, the tcpip thread really runs. */
typedef int (*test_sys_arch_waiting_fn)(void *sem, void *mbox);
void test_sys_arch_wait_callback(test_sys_arch_waiting_fn fn);
void test_sys_arch_wait_callback(test_sys_arch_waiting_fn fn)
{
    (void)fn;
}

uint32_t net_port_rand(void);
uint32_t net_port_rand(void)
{
    return (uint32_t)rand(); /* deterministic, as in lwIP's own config */
}

Suite *mdns_suite(void);
Suite *mqtt_suite(void);
Suite *mem_suite(void);
Suite *pbuf_suite(void);
Suite *pbuf_suite(void)
{
    return suite_create("PBUF (needs DNS off, window scaling on)");
}
Suite *mem_suite(void)
{
    return suite_create("MEM (lwIP's heap: not in the port)");
}
Suite *mdns_suite(void)
{
    return suite_create("MDNS (not in the port)");
}
Suite *mqtt_suite(void)
{
    return suite_create("MQTT (not in the port)");
}

/* Tests in the XML report Check wrote for the last suite: a suite name
 * that matches nothing would otherwise "pass" with no test run. */
static int tests_reported(void)
{
    FILE *f = fopen("lwip_unittests.xml", "r");
    if (f == NULL)
        return 0;
    static const char tag[] = "<test result=";
    int n = 0;
    size_t matched = 0;
    for (int c; (c = fgetc(f)) != EOF;) {
        matched = (c == tag[matched]) ? matched + 1 : (c == tag[0]);
        if (matched == sizeof(tag) - 1) {
            n++;
            matched = 0;
        }
    }
    fclose(f);
    return n;
}

int main(int argc, char **argv)
{
    const char *out = getenv("TEST_UNDECLARED_OUTPUTS_DIR");
    if (out == NULL)
        out = getenv("TEST_TMPDIR");
    if (out != NULL && chdir(out) != 0) {
        fprintf(stderr, "lwip_unittests_port: cannot enter %s\n", out);
        return 1;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: lwip_unittests_port SUITE...\n");
        return 2;
    }
    int failed = 0;
    for (int i = 1; i < argc; i++) {
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0) {
            setenv("CK_RUN_SUITE", argv[i], 1);
            remove("lwip_unittests.xml");
            sim_reset(); /* the host runtime's idle step runs the simulator */
            exit(lwip_unittests_main());
        }
        int status = 0;
        waitpid(pid, &status, 0);
        int ran = tests_reported();
        int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && ran > 0;
        printf("suite %s: %d tests, %s\n", argv[i], ran,
               ok ? "passed" : "FAILED");
        failed += !ok;
    }
    printf("%d suites, %d failed\n", argc - 1, failed);
    return failed ? 1 : 0;
}
