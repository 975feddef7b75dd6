/* musl_compat.h — the few glibc extensions src/ uses that musl lacks, for
 * the static release build only: build.sh compiles every file with
 * `-include src/util/musl_compat.h` (docs/release.md); with glibc this
 * header is empty.  Each stand-in keeps the glibc function's contract:
 *   - strerror_r: the GNU variant (returns the message; musl has the XSI
 *     one, which returns an int);
 *   - sigabbrev_np: "TERM" for SIGTERM, NULL for an unknown number;
 *   - posix_spawn_file_actions_addclosefrom_np: "close every descriptor
 *     >= from in the child".  musl 1.2.3 has no such action, so this adds
 *     one close action per descriptor open now (from /proc/self/fd, or by
 *     probing up to RLIMIT_NOFILE, at most 65536, where /proc is absent);
 *     musl's child ignores a close that fails.  A descriptor another thread
 *     opens between this call and posix_spawn() is not covered, so such
 *     descriptors must be O_CLOEXEC, as ours are.
 * Static inline, so a file that does not call them carries nothing. */
#ifndef BB_MUSL_COMPAT_H
#define BB_MUSL_COMPAT_H

#if defined(__linux__) && !defined(__GLIBC__)

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static inline char *bb_compat_strerror_r(int e, char *buf, size_t n)
{
    if (n == 0)
        return buf;
    if (strerror_r(e, buf, n) != 0)
        buf[0] = '\0';
    return buf;
}
#define strerror_r bb_compat_strerror_r

static inline const char *bb_compat_sigabbrev_np(int sig)
{
    static const char *const names[] = {
        [SIGHUP] = "HUP",   [SIGINT] = "INT",     [SIGQUIT] = "QUIT",   [SIGILL] = "ILL",
        [SIGTRAP] = "TRAP", [SIGABRT] = "ABRT",   [SIGBUS] = "BUS",     [SIGFPE] = "FPE",
        [SIGKILL] = "KILL", [SIGUSR1] = "USR1",   [SIGSEGV] = "SEGV",   [SIGUSR2] = "USR2",
        [SIGPIPE] = "PIPE", [SIGALRM] = "ALRM",   [SIGTERM] = "TERM",   [SIGCHLD] = "CHLD",
        [SIGCONT] = "CONT", [SIGSTOP] = "STOP",   [SIGTSTP] = "TSTP",   [SIGTTIN] = "TTIN",
        [SIGTTOU] = "TTOU", [SIGURG] = "URG",     [SIGXCPU] = "XCPU",   [SIGXFSZ] = "XFSZ",
        [SIGVTALRM] = "VTALRM", [SIGPROF] = "PROF", [SIGWINCH] = "WINCH", [SIGIO] = "IO",
        [SIGPWR] = "PWR",   [SIGSYS] = "SYS",
    };
    if (sig <= 0 || (size_t)sig >= sizeof names / sizeof names[0])
        return NULL;
    return names[sig];
}
#define sigabbrev_np bb_compat_sigabbrev_np

static inline int bb_compat_addclosefrom(posix_spawn_file_actions_t *fa, int from)
{
    int rc = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        struct dirent *de;
        while (rc == 0 && (de = readdir(d)) != NULL) {
            int fd = (int)strtol(de->d_name, NULL, 10);
            if (de->d_name[0] >= '0' && de->d_name[0] <= '9' && fd >= from && fd != dirfd(d))
                rc = posix_spawn_file_actions_addclose(fa, fd);
        }
        closedir(d);
        return rc;
    }
    struct rlimit rl;
    long max = 1024;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        max = (long)rl.rlim_cur;
    if (max > 65536)
        max = 65536;
    for (long fd = from; rc == 0 && fd < max; fd++)
        if (fcntl((int)fd, F_GETFD) != -1)
            rc = posix_spawn_file_actions_addclose(fa, (int)fd);
    return rc;
}
#define posix_spawn_file_actions_addclosefrom_np bb_compat_addclosefrom

#endif
#endif
