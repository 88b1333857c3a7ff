/*
 * fs_lfs_defines.h - how littlefs reports, in our image and host tests
 * alike. lfs_util.h includes this first (LFS_DEFINES, set by
 * //libos/fs:lfs_config); lfs_util.h's own defaults apply to whatever is
 * not defined here.
 *
 * - LFS_ASSERT: a broken invariant inside littlefs is a bug: the
 *   expression and its place go to the console, then abort() stops the
 *   image (exit status LIBC_ABORT_STATUS) or the host test. fs.c checks
 *   every configuration value littlefs would assert on before passing
 *   it, so bad input is an -EINVAL, never an abort.
 * - LFS_ERROR, LFS_WARN: one console line, prefixed "littlefs: ".
 * - LFS_DEBUG, LFS_TRACE: compiled out, unless the build defines
 *   FS_LFS_DEBUG (then they go to the console too).
 *
 * LFS_NO_MALLOC is set beside this: fs.c gives littlefs every buffer, all
 * allocated at mount, so no file operation allocates.
 */
#ifndef FS_LFS_DEFINES_H
#define FS_LFS_DEFINES_H

_Noreturn void fs_lfs_assert_failed(const char *expr, const char *file,
                                    int line);
void fs_lfs_log(const char *level, const char *file, int line,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define LFS_ASSERT(test)                                                   \
    ((test) ? (void)0 : fs_lfs_assert_failed(#test, __FILE__, __LINE__))
#define LFS_ERROR(...) fs_lfs_log("error", __FILE__, __LINE__, __VA_ARGS__)
#define LFS_WARN(...) fs_lfs_log("warn", __FILE__, __LINE__, __VA_ARGS__)
#ifdef FS_LFS_DEBUG
#define LFS_DEBUG(...) fs_lfs_log("debug", __FILE__, __LINE__, __VA_ARGS__)
#define LFS_TRACE(...) fs_lfs_log("trace", __FILE__, __LINE__, __VA_ARGS__)
#else
#define LFS_DEBUG(...) ((void)0)
#define LFS_TRACE(...) ((void)0)
#endif

#endif /* FS_LFS_DEFINES_H */
