# third_party/build.mk — how the fetched third-party sources are compiled.
# Included by the top-level Makefile; the sources themselves come from the
# Debian source packages pinned in third_party/pins (see README.md here).

# civetweb: HTTP/1.1 server.  Plain HTTP only (batchbox listens on loopback
# or behind a TLS proxy), no CGI, no built-in static file serving (web/ is
# embedded and served by our own handlers), 512 KiB thread stacks.
# USE_WEBSOCKET: its WebSocket client, one socket per ComfyUI server
# (src/infra/comfyui/ws.c); batchbox serves no WebSocket itself.
# SOCKET_TIMEOUT_QUANTUM: how long civetweb's threads sleep in poll() before
# looking at the stop flag (default 2000 ms, which made every shutdown take
# ~2 s); 200 ms costs an idle connection thread 5 wake-ups a second.
# REENTRANT_TIME: the Date header is formatted with gmtime_r, not gmtime,
# whose one static struct tm every connection thread would share (a race
# ThreadSanitizer reports).
# Our patch series third_party/patches/civetweb/ goes on top (overall read
# deadlines, an accept-time hook: docs/operations.md, "Slow clients and
# connection limits"): the Makefile copies the Debian tree's src/ and
# include/ into CIVETWEB_TREE ($(BUILD)/third_party/civetweb), applies the
# series there with `patch -p1`, and compiles that copy, so the normal,
# sanitizer and release builds all compile the same patched source.  A
# unit that #includes civetweb.c must include this copy (-I$(CIVETWEB_TREE)/src).
CIVETWEB_DEBIAN  := third_party/civetweb
CIVETWEB_SERIES  := third_party/patches/civetweb/series
CIVETWEB_PATCHES := $(addprefix third_party/patches/civetweb/,$(shell grep -v '^\#' $(CIVETWEB_SERIES) 2>/dev/null))
CIVETWEB_TREE  = $(BUILD)/third_party/civetweb
CIVETWEB_SRC   = $(CIVETWEB_TREE)/src/civetweb.c
CIVETWEB_INC   = $(CIVETWEB_TREE)/include
CIVETWEB_DEFS := -DNO_SSL -DNO_CGI -DNO_FILES -DUSE_STACK_SIZE=524288 -DNDEBUG -DUSE_WEBSOCKET \
                 -DSOCKET_TIMEOUT_QUANTUM=200 -DREENTRANT_TIME

# cJSON: JSON parser/printer (Debian's patches include the CVE fixes).
CJSON_SRC     := third_party/cjson/cJSON.c
CJSON_INC     := third_party/cjson
CJSON_DEFS    :=

# Marker written by build.sh once the pinned sources are verified and
# extracted; the Makefile refuses to build without it.
THIRD_PARTY_STAMP := third_party/.stamp

# libs3: S3 client (Debian's 2.0-5 source package, pinned for the release
# build) with our patch series third_party/patches/libs3/ on top: AWS
# Signature V4, TLS verification (docs/storage.md).  The unpacked Debian
# tree stays as build.sh made it (release.mk copies it too); the Makefile
# copies its src/ and inc/ into LIBS3_TREE, applies the series there with
# `patch -p1`, and compiles the library's sources (the list and defines of
# libs3-2.0/GNUmakefile) into $(BUILD)/obj/third_party/libs3/, linked into
# the binary like civetweb and cJSON.  SHA-256 and HMAC come from
# libsodium; libcurl and libxml2 from Debian's -dev packages.
LIBS3_DEBIAN  := third_party/libs3
LIBS3_SERIES  := third_party/patches/libs3/series
LIBS3_PATCHES := $(addprefix third_party/patches/libs3/,$(shell grep -v '^\#' $(LIBS3_SERIES) 2>/dev/null))
LIBS3_SOURCES := acl.c bucket.c error_parser.c general.c object.c request.c \
                 request_context.c response_headers_handler.c \
                 service_access_logging.c service.c simplexml.c util.c
LIBS3_DEFS    := -DLIBS3_VER_MAJOR=\"2\" -DLIBS3_VER_MINOR=\"0\" -DLIBS3_VER=\"2.0\" \
                 -D__STRICT_ANSI__ -D_ISOC99_SOURCE -D_POSIX_C_SOURCE=200112L \
                 $(shell pkg-config --cflags libxml-2.0 2>/dev/null || echo -I/usr/include/libxml2)
