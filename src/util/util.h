/* util.h — small helpers shared by every layer, one header for all of
 * them: time (util/clock.h), strings (util/text.h), files (util/files.h)
 * and UTF-8 (util/utf8.h).  Include this one; the per-topic headers say
 * what each function does. */
#ifndef BB_UTIL_H
#define BB_UTIL_H

#include "util/clock.h"
#include "util/files.h"
#include "util/text.h"
#include "util/utf8.h"

#endif
