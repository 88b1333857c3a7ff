/*
 * oracle.h - a table of "our value == their value" checks, where "ours"
 * is a //libos/xen:abi (or //libos/boot) definition and "theirs" the same
 * fact taken from Xen's public headers (Debian's libxen-dev). The tables
 * are the tests; oracle.c runs them and reports every mismatch.
 */
#ifndef XEN_TESTS_ORACLE_H
#define XEN_TESTS_ORACLE_H

#include <stddef.h>
#include <stdint.h>

struct oracle_check {
    const char *ours;   /* the expression, as written */
    const char *theirs;
    uint64_t our_value; /* negative constants compare as two's complement */
    uint64_t their_value;
};

struct oracle_tally {
    size_t checks;
    size_t mismatches;
};

/* Run a table: print each mismatch with both names and values. */
void oracle_run(struct oracle_tally *tally, const char *table,
                const struct oracle_check *checks, size_t count);

#define ORACLE_RUN(tally, checks) \
    oracle_run((tally), __FILE__, (checks), sizeof(checks) / sizeof((checks)[0]))

/* The tables, one per file (each includes a different set of headers). */
void xen_abi_checks(struct oracle_tally *tally);
void start_info_checks(struct oracle_tally *tally);

/* sizeof of a type. */
#define CHECK_SIZE(ours, theirs) \
    {"sizeof(" #ours ")", "sizeof(" #theirs ")", sizeof(ours), sizeof(theirs)}

/* Offset and size of a field (two checks), same name on both sides. */
#define CHECK_FIELD(ours, theirs, field) \
    CHECK_FIELD_AS(ours, field, theirs, field)

/* ... when the names differ. */
#define CHECK_FIELD_AS(ours, our_field, theirs, their_field)                  \
    CHECK_OFFSET_AS(ours, our_field, theirs, their_field),                    \
    {"sizeof(" #ours "." #our_field ")", "sizeof(" #theirs "." #their_field ")", \
     sizeof(((ours *)0)->our_field), sizeof(((theirs *)0)->their_field)}

/* Offset only (flexible array members have no size). */
#define CHECK_OFFSET_AS(ours, our_field, theirs, their_field)            \
    {"offsetof(" #ours ", " #our_field ")",                              \
     "offsetof(" #theirs ", " #their_field ")",                          \
     offsetof(ours, our_field), offsetof(theirs, their_field)}

/* A constant (or any integer expression). */
#define CHECK_VALUE(ours, theirs) \
    {#ours, #theirs, (uint64_t)(ours), (uint64_t)(theirs)}

#endif /* XEN_TESTS_ORACLE_H */
