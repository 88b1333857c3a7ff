/*
 * lwIP's test/unit/lwip_check.h includes <config.h>, an autoconf-style header
 * of the build around the tests. Nothing needs configuring here.
 */
#ifndef RULES_UNIKERNEL_LWIP_TEST_CONFIG_H
#define RULES_UNIKERNEL_LWIP_TEST_CONFIG_H
#endif
