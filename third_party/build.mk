# third_party/build.mk — how the fetched third-party sources are compiled.
# Included by the top-level Makefile; the sources themselves come from the
# Debian source packages pinned in third_party/pins (see README.md here).

# civetweb: HTTP/1.1 server.  Plain HTTP only (batchbox listens on loopback
# or behind a TLS proxy), no CGI, no built-in static file serving (web/ is
# embedded and served by our own handlers), 512 KiB thread stacks.
# SOCKET_TIMEOUT_QUANTUM: how long civetweb's threads sleep in poll() before
# looking at the stop flag (default 2000 ms, which made every shutdown take
# ~2 s); 200 ms costs an idle connection thread 5 wake-ups a second.
# REENTRANT_TIME: the Date header is formatted with gmtime_r, not gmtime,
# whose one static struct tm every connection thread would share (a race
# ThreadSanitizer reports).
CIVETWEB_SRC  := third_party/civetweb/src/civetweb.c
CIVETWEB_INC  := third_party/civetweb/include
CIVETWEB_DEFS := -DNO_SSL -DNO_CGI -DNO_FILES -DUSE_STACK_SIZE=524288 -DNDEBUG \
                 -DSOCKET_TIMEOUT_QUANTUM=200 -DREENTRANT_TIME

# cJSON: JSON parser/printer (Debian's patches include the CVE fixes).
CJSON_SRC     := third_party/cjson/cJSON.c
CJSON_INC     := third_party/cjson
CJSON_DEFS    :=

# Marker written by build.sh once the pinned sources are verified and
# extracted; the Makefile refuses to build without it.
THIRD_PARTY_STAMP := third_party/.stamp
