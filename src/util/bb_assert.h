/* bb_assert.h — BB_ASSERT(cond): an invariant the code relies on (which
 * thread may call a function, the order of ids, an accounting identity).
 * Checked in debug and sanitizer builds (BB_DEBUG, set by the Makefile for
 * SANITIZE=1, SANITIZE=thread and DEBUG=1): a broken invariant prints the
 * file, line and condition and aborts, so the sanitizer and test runners
 * report it with a stack.  In release builds the condition is not evaluated,
 * so it must have no side effect.  Preconditions of input handling are not
 * asserts: bad input gets an error, never an abort. */
#ifndef BB_ASSERT_H
#define BB_ASSERT_H

#ifdef BB_DEBUG
#include <stdio.h>
#include <stdlib.h>
#define BB_ASSERT(cond)                                                       \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s:%d: %s: invariant failed: %s\n", __FILE__,    \
                    __LINE__, __func__, #cond);                               \
            abort();                                                          \
        }                                                                     \
    } while (0)
#else
#define BB_ASSERT(cond) ((void)0)
#endif

#endif
