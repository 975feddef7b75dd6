/* unit.h — batchbox's header-only unit-test framework.
 *
 * One test file is one binary (the Makefile builds tests/unit/test_X.c into
 * $(BUILD)/tests/test_X).  A test file looks like:
 *
 *     #define UNIT_MAIN          // this file gets the runner's main()
 *     #include "unit.h"
 *
 *     TEST(parses_empty_object) {
 *         CHECK(thing != NULL);
 *         CHECK_EQ_INT(count, 3);
 *         CHECK_STR_EQ(name, "alice");
 *     }
 *
 * TEST functions register themselves through a constructor attribute.  A
 * failed CHECK records "file:line: what" and returns from the enclosing
 * function, so use CHECKs in TEST bodies or in void helpers.
 *
 * The runner runs each test in its own forked process (a crash, a sanitizer
 * report or a hang fails that test only; per-test timeout UNIT_TIMEOUT
 * seconds, default 20), prints "ok - name" or "not ok - name: reason", and
 * finally "N passed, N failed"; it exits 1 if anything failed.  Arguments
 * are name filters: a test runs if its name contains any of them (a filter
 * that matches nothing prints "0 passed, 0 failed"; a file without any
 * TEST fails).
 * UNIT_NOFORK=1 runs tests in-process (for a debugger); --list prints the
 * names. */
#ifndef BB_UNIT_H
#define BB_UNIT_H

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define UNIT_MAX_TESTS 1024
#define UNIT_MSG_MAX 1024

struct unit_test {
    const char *name;
    void (*fn)(void);
};

/* One test file is one translation unit, so file-static state is the
 * whole registry. */
static struct unit_test unit_tests_[UNIT_MAX_TESTS];
static size_t unit_ntests_;
static int unit_overflow_;
static int unit_failed_;             /* the running test failed */
static char unit_msg_[UNIT_MSG_MAX]; /* its first failure, "file:line: ..." */

__attribute__((unused)) static void unit_register_(const char *name,
                                                   void (*fn)(void))
{
    if (unit_ntests_ == UNIT_MAX_TESTS) {
        unit_overflow_ = 1;
        return;
    }
    unit_tests_[unit_ntests_].name = name;
    unit_tests_[unit_ntests_].fn = fn;
    unit_ntests_++;
}

/* Records a failure of the running test; the first one wins. */
__attribute__((unused, format(printf, 3, 4))) static void
unit_fail_(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (unit_failed_)
        return;
    unit_failed_ = 1;
    n = snprintf(unit_msg_, sizeof unit_msg_, "%s:%d: ", file, line);
    if (n < 0 || (size_t)n >= sizeof unit_msg_)
        return;
    va_start(ap, fmt);
    if (vsnprintf(unit_msg_ + n, sizeof unit_msg_ - (size_t)n, fmt, ap) < 0)
        unit_msg_[n] = '\0';
    va_end(ap);
}

#define TEST(name)                                                         \
    static void unit_test_##name(void);                                    \
    __attribute__((constructor)) static void unit_register_##name(void)    \
    {                                                                      \
        unit_register_(#name, unit_test_##name);                           \
    }                                                                      \
    static void unit_test_##name(void)

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            unit_fail_(__FILE__, __LINE__, "%s", #cond);                   \
            return;                                                        \
        }                                                                  \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                 \
    do {                                                                   \
        long long unit_a_ = (long long)(a), unit_b_ = (long long)(b);      \
        if (unit_a_ != unit_b_) {                                          \
            unit_fail_(__FILE__, __LINE__, "%s == %s (%lld != %lld)", #a,  \
                       #b, unit_a_, unit_b_);                              \
            return;                                                        \
        }                                                                  \
    } while (0)

#define CHECK_STR_EQ(a, b)                                                 \
    do {                                                                   \
        const char *unit_sa_ = (a), *unit_sb_ = (b);                       \
        if (unit_sa_ == NULL || unit_sb_ == NULL ||                        \
            strcmp(unit_sa_, unit_sb_) != 0) {                             \
            unit_fail_(__FILE__, __LINE__,                                 \
                       "%s == %s (\"%.200s\" != \"%.200s\")", #a, #b,      \
                       unit_sa_ ? unit_sa_ : "(null)",                     \
                       unit_sb_ ? unit_sb_ : "(null)");                    \
            return;                                                        \
        }                                                                  \
    } while (0)

/* Fails the running test with a printf-style message. */
#define FAIL(...)                                                          \
    do {                                                                   \
        unit_fail_(__FILE__, __LINE__, __VA_ARGS__);                       \
        return;                                                            \
    } while (0)

#ifdef UNIT_MAIN

static int unit_selected_(const char *name, int argc, char **argv)
{
    int i, any = 0;

    for (i = 1; i < argc; i++) {
        if (argv[i][0] == '-')
            continue;
        any = 1;
        if (strstr(name, argv[i]) != NULL)
            return 1;
    }
    return !any;
}

/* Runs one test in this process; returns 0 if it passed. */
static int unit_run_inline_(const struct unit_test *t, char *msg, size_t cap)
{
    unit_failed_ = 0;
    unit_msg_[0] = '\0';
    t->fn();
    snprintf(msg, cap, "%s", unit_msg_);
    return unit_failed_;
}

/* Runs one test in a child process with a timeout; returns 0 if it passed,
 * else 1 with the reason in msg. */
static int unit_run_forked_(const struct unit_test *t, unsigned timeout,
                            char *msg, size_t cap)
{
    int fds[2], status;
    pid_t pid;
    size_t got = 0;
    ssize_t n;

    msg[0] = '\0';
    if (fflush(NULL) != 0 || pipe(fds) != 0) {
        snprintf(msg, cap, "runner: pipe: %s", strerror(errno));
        return 1;
    }
    pid = fork();
    if (pid < 0) {
        snprintf(msg, cap, "runner: fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return 1;
    }
    if (pid == 0) {
        size_t len, off = 0;

        close(fds[0]);
        alarm(timeout);
        unit_failed_ = 0;
        unit_msg_[0] = '\0';
        t->fn();
        len = strlen(unit_msg_);
        while (unit_failed_ && off < len) {
            n = write(fds[1], unit_msg_ + off, len - off);
            if (n <= 0)
                break;
            off += (size_t)n;
        }
        close(fds[1]);
        /* exit(), not _exit(): LeakSanitizer checks this test's leaks. */
        exit(unit_failed_ ? 1 : 0);
    }
    close(fds[1]);
    while (got + 1 < cap) {
        n = read(fds[0], msg + got, cap - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    msg[got] = '\0';
    close(fds[0]);
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            snprintf(msg, cap, "runner: waitpid: %s", strerror(errno));
            return 1;
        }
    }
    if (WIFSIGNALED(status)) {
        char first[UNIT_MSG_MAX];
        size_t flen = got < sizeof first - 1 ? got : sizeof first - 1;

        memcpy(first, msg, flen);
        first[flen] = '\0';
        if (WTERMSIG(status) == SIGALRM)
            snprintf(msg, cap, "timed out after %u s", timeout);
        else
            snprintf(msg, cap, "killed by signal %d (%s)%s%.*s",
                     WTERMSIG(status), strsignal(WTERMSIG(status)),
                     got ? "; first failure: " : "", 512, first);
        return 1;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && got == 0)
        return 0;
    if (got == 0)
        snprintf(msg, cap, "exited with status %d (see stderr)",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 1;
}

int main(int argc, char **argv)
{
    char msg[UNIT_MSG_MAX + 128];
    const char *env_timeout = getenv("UNIT_TIMEOUT");
    int nofork = getenv("UNIT_NOFORK") != NULL, i, list = 0;
    unsigned timeout = 20;
    size_t passed = 0, failed = 0, ran = 0, k;

    for (i = 1; i < argc; i++)
        if (strcmp(argv[i], "--list") == 0)
            list = 1;
    if (env_timeout != NULL && atoi(env_timeout) > 0)
        timeout = (unsigned)atoi(env_timeout);
    if (unit_overflow_) {
        printf("not ok - registry: more than %d tests in one file\n",
               UNIT_MAX_TESTS);
        failed++;
    }
    for (k = 0; k < unit_ntests_; k++) {
        const struct unit_test *t = &unit_tests_[k];
        int bad;

        if (!unit_selected_(t->name, argc, argv))
            continue;
        if (list) {
            printf("%s\n", t->name);
            continue;
        }
        ran++;
        if (nofork)
            bad = unit_run_inline_(t, msg, sizeof msg);
        else
            bad = unit_run_forked_(t, timeout, msg, sizeof msg);
        if (bad) {
            printf("not ok - %s: %s\n", t->name, msg);
            failed++;
        } else {
            printf("ok - %s\n", t->name);
            passed++;
        }
        fflush(stdout);
    }
    if (list)
        return 0;
    if (ran == 0 && unit_ntests_ == 0) {
        printf("not ok - this file registers no TEST\n");
        failed++;
    } else if (ran == 0) {
        printf("# no test matched the filter\n");
    }
    printf("%zu passed, %zu failed\n", passed, failed);
    return failed ? 1 : 0;
}

#endif /* UNIT_MAIN */

#endif /* BB_UNIT_H */
