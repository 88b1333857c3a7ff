/*
 * RDRAND health checks: the boot path's defence against a CPU whose RDRAND
 * says it succeeded (CF=1) but hands out garbage. Known failure modes of
 * shipped parts: all ones forever (AMD family 15h/16h after a resume from
 * suspend, until a microcode update), all zeros, and one value repeated
 * (a stuck output). Any of them makes RDRAND useless for the rest of the
 * boot, and the caller falls back to the TSC.
 *
 * Device-free and host-buildable (//libos/boot:core): the instruction
 * itself is a callback, so host tests feed the bad patterns. entropy.c
 * calls this before the stack protector's canary exists, so nothing here
 * may be protected (RDRAND_NO_PROTECTOR).
 */
#ifndef BOOT_RDRAND_CHECK_H
#define BOOT_RDRAND_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#define RDRAND_NO_PROTECTOR __attribute__((no_stack_protector))

/* RDRAND can transiently fail (CF=0); Intel suggests up to ten tries. */
#define RDRAND_RETRIES 10

/* Values drawn and checked before the first one is used. */
#define RDRAND_SELF_TEST_DRAWS 3

enum rdrand_fault {
    RDRAND_FAULT_NONE = 0,
    RDRAND_FAULT_ABSENT,   /* the CPU has no RDRAND (CPUID) */
    RDRAND_FAULT_NO_VALUE, /* CF=0 on every one of RDRAND_RETRIES tries */
    RDRAND_FAULT_ZEROS,    /* a value of all zero bits */
    RDRAND_FAULT_ONES,     /* a value of all one bits */
    RDRAND_FAULT_REPEATED, /* the same value twice in a row */
};

/*
 * What is known about this CPU's RDRAND; zero-initialised means "not
 * tested yet" (tested false). Once `fault` is set it stays set: RDRAND is
 * not used again in this boot.
 */
struct rdrand_health {
    bool tested;            /* rdrand_self_test() ran */
    enum rdrand_fault fault; /* the first fault seen, or NONE */
    bool have_last;
    uint64_t last; /* the previous value, for the repeat check */
};

/*
 * One RDRAND instruction: returns 1 and sets *out if the CPU delivered a
 * value (CF=1), 0 if not (CF=0).
 */
typedef int (*rdrand_insn_fn)(void *ctx, uint64_t *out);

/*
 * The first use: records RDRAND_FAULT_ABSENT if `present` is false,
 * otherwise draws RDRAND_SELF_TEST_DRAWS values through rdrand_draw()
 * (so a constant output is caught before any value is used). Returns
 * whether RDRAND is usable.
 */
bool rdrand_self_test(struct rdrand_health *h, bool present,
                      rdrand_insn_fn insn, void *ctx);

/*
 * A checked value: up to RDRAND_RETRIES instructions until one delivers,
 * then the value must not be all zeros, all ones, or equal to the
 * previous one. Returns true and sets *out if so; otherwise records the
 * fault (and never calls `insn` again) and returns false.
 */
bool rdrand_draw(struct rdrand_health *h, rdrand_insn_fn insn, void *ctx,
                 uint64_t *out);

/* A short phrase for a fault, e.g. "returned all ones"; "" for NONE. */
const char *rdrand_fault_text(enum rdrand_fault fault);

#endif /* BOOT_RDRAND_CHECK_H */
