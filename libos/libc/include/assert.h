/*
 * assert.h - diagnostics (C11 7.2). Deliberately without an include
 * guard: C lets a file re-include <assert.h> after changing NDEBUG.
 *
 * A failed assertion prints the expression and its location, then calls
 * abort(), which exits with LIBC_ABORT_STATUS (<libc/hooks.h>).
 */
#undef assert

#ifdef NDEBUG
#define assert(expr) ((void)0)
#else
#define assert(expr)                                                       \
    ((expr) ? (void)0 : __assert_fail(#expr, __FILE__, __LINE__, __func__))
#endif

#ifndef _ASSERT_H_DECLS
#define _ASSERT_H_DECLS
_Noreturn void __assert_fail(const char *expr, const char *file, int line,
                             const char *func);
#define static_assert _Static_assert
#endif
