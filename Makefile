# Makefile — builds batchbox with GNU make.  Normally driven by ./build.sh,
# which first installs the apt packages and prepares third_party/; see
# docs/build.md.
#
#   make                              build/batchbox, unit tests, benchmarks
#   make SANITIZE=1 BUILD=build/asan  the same under ASan+UBSan
#   make SANITIZE=thread              the same under ThreadSanitizer (build/tsan)
#   make batchbox | tests | bench | clean   (run clean on its own: make clean && make)
#   make V=1                          show full command lines
#
# Sources are discovered, never listed: every src/**/*.c except src/tools/
# is part of the program; every tests/unit/**/test_*.c is a unit-test binary;
# every bench/*.c is a benchmark (linked with BENCH_LIB_SRCS).  Object files mirror the source tree under
# $(BUILD)/obj/.  File names must not contain spaces.

SANITIZE ?= 0
DEBUG ?= 0
ifeq ($(SANITIZE),1)
BUILD ?= build/asan
else ifeq ($(SANITIZE),thread)
BUILD ?= build/tsan
else
BUILD ?= build
endif

.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
.SUFFIXES:
.PHONY: all batchbox tests bench clean help

include third_party/build.mk

ifeq ($(V),1)
Q :=
say = @:
else
Q := @
say = @printf '  %-7s %s\n' $(1) $(2)
endif

# Goals that need neither third_party/ nor the generated files.
NOBUILD_GOALS := clean help
ifeq ($(MAKECMDGOALS),)
NEEDS_BUILD := 1
else ifneq ($(filter-out $(NOBUILD_GOALS),$(MAKECMDGOALS)),)
NEEDS_BUILD := 1
endif

# ---------------------------------------------------------------- sources

SRCS       := $(shell find src -path src/tools -prune -o -name '*.c' -print | LC_ALL=C sort)
OBJS       := $(SRCS:%.c=$(BUILD)/obj/%.o)
MAIN_OBJ   := $(BUILD)/obj/src/main.o
LIB_OBJS   := $(filter-out $(MAIN_OBJ),$(OBJS))

TEST_SRCS  := $(shell find tests/unit -name 'test_*.c' 2>/dev/null | LC_ALL=C sort)
TEST_OBJS  := $(TEST_SRCS:%.c=$(BUILD)/obj/%.o)
TEST_NAMES := $(basename $(notdir $(TEST_SRCS)))
TEST_BINS  := $(addprefix $(BUILD)/tests/,$(TEST_NAMES))
ifneq ($(words $(TEST_NAMES)),$(words $(sort $(TEST_NAMES))))
$(error two unit tests share a file name under tests/unit: $(TEST_SRCS))
endif

BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))
# The parts of src/ the benchmarks link (built again with the benchmark's
# flags, without sanitizers): the SSE parser and the buffers it uses.
BENCH_LIB_SRCS := src/infra/net/sse_parse.c src/util/buf.c
BENCH_LIB_OBJS := $(BENCH_LIB_SRCS:%.c=$(BUILD)/benchobj/%.o)

# Embedded assets: every file under web/ (hidden files, node_modules/ and
# the npm manifests web/package*.json excepted) plus schema.sql.  web/x/y.css is served as "/x/y.css".
# web/vendor/ is generated: the browser libraries' dist files, copied from
# web/node_modules/ (installed by `npm ci` in web/, which ./build.sh runs;
# versions pinned in web/package-lock.json).  It is git-ignored, listed
# here explicitly (it may not exist yet when make reads this file) and
# served as /vendor/NAME.  preact's hooks import the bare name "preact";
# the copy points that at ./preact.module.js, as the page has no import
# map (the CSP allows no inline script).  Source-map comments are dropped
# because the maps are not embedded.  uPlot ships its minified build only
# as a script defining `var uPlot`; one appended line makes it an ES module.
NODE_MODULES := web/node_modules
VENDOR_FILES := web/vendor/preact.module.js web/vendor/hooks.module.js \
                web/vendor/htm.module.js web/vendor/uPlot.min.js web/vendor/uPlot.min.css
WEB_FILES   := $(shell find web \( -name '.*' -o -name node_modules -o -path web/vendor \
                 -o -path web/package.json -o -path web/package-lock.json \) -prune \
                 -o -type f -print 2>/dev/null | LC_ALL=C sort)
ASSET_FILES := $(WEB_FILES) $(VENDOR_FILES) schema.sql src/infra/config_defaults.json
EMBEDGEN    := $(BUILD)/embedgen
GEN_C       := $(BUILD)/gen/assets.c
GEN_OBJ     := $(BUILD)/obj/gen/assets.o
ASSET_LIST  := $(BUILD)/gen/assets.list

# libs3, patched (third_party/build.mk); the release build links its own
# libs3.a instead and empties LIBS3_OBJS.
LIBS3_TREE := $(BUILD)/third_party/libs3
LIBS3_OBJS := $(LIBS3_SOURCES:%.c=$(BUILD)/obj/third_party/libs3/%.o)
TP_OBJS    := $(BUILD)/obj/third_party/civetweb.o $(BUILD)/obj/third_party/cJSON.o $(LIBS3_OBJS)

# ------------------------------------------------------------------ flags

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wno-unused-parameter \
            -Wno-format-truncation
# -Wno-format-truncation: snprintf into fixed buffers truncates on purpose
# (messages, paths already length-checked); gcc's -O2 guesses are noise.
# libarchive (the gallery's ZIP writer, docs/gallery.md): Debian's
# libarchive-dev, flags from pkg-config; the release build (build.sh)
# empties ARCHIVE_CFLAGS and links its own static libarchive.a instead.
ARCHIVE_CFLAGS ?= $(shell pkg-config --cflags libarchive 2>/dev/null)
ARCHIVE_LIBS   ?= $(or $(shell pkg-config --libs libarchive 2>/dev/null),-larchive)
# libs3.h (patched, third_party/build.mk) as a system header: it has old-style
# declarations our -Wstrict-prototypes would reject.
# libxml2 (XLIFF, docs/translate.md) from pkg-config like libarchive; the
# release build points XML2_CFLAGS at its own static libxml2.
XML2_CFLAGS ?= $(or $(shell pkg-config --cflags libxml-2.0 2>/dev/null),-I/usr/include/libxml2)
# md4c (Debian's libmd4c-dev): the translate workflow's Markdown parser.  The
# release build sets MD4C_DEFS empty (no pinned md4c source; docs/release.md).
MD4C_DEFS ?= -DBB_HAVE_MD4C
INCLUDES := -Isrc -I$(BUILD)/gen -I$(CIVETWEB_INC) -I$(CJSON_INC) -isystem $(LIBS3_TREE)/inc \
            $(ARCHIVE_CFLAGS) $(XML2_CFLAGS) $(MD4C_DEFS)

ifeq ($(SANITIZE),1)
OPT    := -O1 -g -fno-omit-frame-pointer
SAN    := -fsanitize=address,undefined -fno-sanitize-recover=undefined
# Third-party code gets ASan (it touches our buffers) but not UBSan: a
# halt on undefined behaviour inside civetweb is not ours to fix.
TP_SAN := -fsanitize=address
else ifeq ($(SANITIZE),thread)
OPT    := -O1 -g -fno-omit-frame-pointer
SAN    := -fsanitize=thread
# Third-party code gets TSan too: civetweb's threads and cJSON's hooks
# touch memory our threads share, and TSan needs to see every such access
# (an uninstrumented side hides races and can report false ones).
# libs3 is compiled here too (third_party/build.mk); SQLite, libsodium and
# libcurl are prebuilt archives and stay uninstrumented.  STOP_FLAG_NEEDS_LOCK is civetweb's own switch that
# makes its stop flag (written by mg_stop, polled by every civetweb
# thread) atomic instead of a plain volatile int, which TSan rightly
# reports as a race on every shutdown (tests/tsan.supp: the one plain
# read left in its STOP_FLAG_ASSIGN).
TP_SAN := -fsanitize=thread -DSTOP_FLAG_NEEDS_LOCK
# TSan's instrumented frames are larger: cJSON's recursive parser at its
# nesting limit (1000) overflows civetweb's 512 KiB connection stacks
# (tests/api test_deeply_nested_json_400 crashed the server), so the TSan
# build gives them 2 MiB.
CIVETWEB_SAN_DEFS := -UUSE_STACK_SIZE -DUSE_STACK_SIZE=2097152
else ifneq ($(SANITIZE),0)
$(error SANITIZE must be 0, 1 (ASan+UBSan) or thread (TSan), not '$(SANITIZE)')
else
OPT    := -O2 -g
SAN    :=
TP_SAN :=
endif
# BB_ASSERT (src/util/bb_assert.h) is checked in sanitizer and debug builds.
ifneq ($(SANITIZE)$(DEBUG),00)
SAN    += -DBB_DEBUG
endif

BB_CFLAGS    := -std=c11 $(WARN) -D_GNU_SOURCE $(INCLUDES) $(OPT) $(SAN) -pthread $(CFLAGS)
TEST_CFLAGS  := $(BB_CFLAGS) -Itests/unit
TP_CFLAGS    := -w $(OPT) $(TP_SAN) -pthread -I$(CIVETWEB_INC) -I$(CJSON_INC) $(CFLAGS)
TOOL_CFLAGS  := -std=c11 $(WARN) -D_GNU_SOURCE $(OPT) $(SAN) $(CFLAGS)
BENCH_CFLAGS := -std=c11 $(WARN) -D_GNU_SOURCE -O2 -g -pthread $(CFLAGS)

# Static archives, by full path: ask the compiler first, fall back to
# Debian's locations.
find_static = $(or $(realpath $(shell $(CC) -print-file-name=$(1) 2>/dev/null)),$(2))
SQLITE_A := $(call find_static,libsqlite3.a,/usr/lib/x86_64-linux-gnu/libsqlite3.a)
SODIUM_A := $(call find_static,libsodium.a,/usr/lib/x86_64-linux-gnu/libsodium.a)
STATIC_LIBS := $(SQLITE_A) $(SODIUM_A)

# libcurl (and its TLS/compression libraries) stays dynamic (docs/build.md,
# "Dynamic libraries"); libxml2 is needed by libs3.  --as-needed drops what nothing uses.
BB_LDFLAGS := -pthread $(SAN) -Wl,--as-needed $(LDFLAGS)
BB_LDLIBS  := $(STATIC_LIBS) $(ARCHIVE_LIBS) -lcurl -lxml2 -lmd4c -lpthread -lm -ldl -lz $(LDLIBS)

# Everything is rebuilt when the flags (or the compiler) change: the
# command lines are recorded in $(BUILD)/.flags, rewritten only on change.
FLAGS_FILE := $(BUILD)/.flags
FLAGS_NOW  := $(CC) | $(BB_CFLAGS) | $(TP_CFLAGS) | $(TOOL_CFLAGS) | $(BENCH_CFLAGS) | $(BB_LDFLAGS) | $(BB_LDLIBS) | $(CIVETWEB_DEFS) $(CIVETWEB_SAN_DEFS) | $(CJSON_DEFS) | $(LIBS3_DEFS)

# Writes $(2) into file $(1) only when it differs, so its mtime means
# "last changed".
define write_if_changed
$(shell mkdir -p $(dir $(1)) && printf '%s\n' '$(2)' > '$(1).tmp' && \
  { cmp -s '$(1).tmp' '$(1)' && rm -f '$(1).tmp' || mv -f '$(1).tmp' '$(1)'; })
endef

ifdef NEEDS_BUILD
ifeq ($(wildcard $(THIRD_PARTY_STAMP)),)
$(error third_party/ is not prepared: run ./build.sh, which fetches, verifies and extracts the pinned sources (third_party/README.md))
endif
$(call write_if_changed,$(FLAGS_FILE),$(FLAGS_NOW))
$(call write_if_changed,$(ASSET_LIST),$(ASSET_FILES))
# A test whose source was deleted must not keep running from a stale binary.
STALE_TESTS := $(filter-out $(TEST_BINS),$(wildcard $(BUILD)/tests/test_*))
$(if $(STALE_TESTS),$(shell rm -f $(STALE_TESTS)))
endif

# ---------------------------------------------------------------- targets

BIN := $(BUILD)/batchbox

all: batchbox tests bench
batchbox: $(BIN)
tests: $(TEST_BINS)
bench: $(BENCH_BINS)

help:
	@sed -n '1,15p' Makefile

clean:
	rm -rf $(BUILD) web/vendor

$(BIN): $(OBJS) $(GEN_OBJ) $(TP_OBJS) $(STATIC_LIBS)
	$(call say,LINK,$@)
	$(Q)$(CC) $(BB_LDFLAGS) -o $@ $(filter %.o,$^) $(BB_LDLIBS)

# Our code (src/ and tests/unit/), mirrored under $(BUILD)/obj/.
$(BUILD)/obj/%.o: %.c $(FLAGS_FILE)
	$(call say,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(BB_CFLAGS) -MMD -MP -c -o $@ $<

$(TEST_OBJS): BB_CFLAGS := $(TEST_CFLAGS)

# One binary per unit test, linked with everything but src/main.c.
define test_rule
$(BUILD)/tests/$(basename $(notdir $(1))): $(BUILD)/obj/$(1:.c=.o) $$(LIB_OBJS) $$(GEN_OBJ) $$(TP_OBJS) $$(STATIC_LIBS)
	$$(call say,LINK,$$@)
	@mkdir -p $$(@D)
	$$(Q)$$(CC) $$(BB_LDFLAGS) -o $$@ $$(filter %.o,$$^) $$(BB_LDLIBS)
endef
$(foreach t,$(TEST_SRCS),$(eval $(call test_rule,$(t))))

# Third-party objects: their own flags, warnings silenced.
# civetweb: a copy of Debian's src/ and include/ with our patch series
# applied (third_party/build.mk), made again when the series or a patch
# changes.
$(CIVETWEB_TREE)/.patched: $(THIRD_PARTY_STAMP) $(CIVETWEB_SERIES) $(CIVETWEB_PATCHES)
	$(call say,PATCH,civetweb)
	$(Q)rm -rf $(CIVETWEB_TREE) $(CIVETWEB_TREE).tmp && mkdir -p $(CIVETWEB_TREE).tmp
	$(Q)cp -R $(CIVETWEB_DEBIAN)/src $(CIVETWEB_DEBIAN)/include $(CIVETWEB_TREE).tmp/
	$(Q)for p in $(CIVETWEB_PATCHES); do \
	    patch -s -d $(CIVETWEB_TREE).tmp -p1 --forward --batch <$$p || \
	    { echo "civetweb: $$p does not apply to $(CIVETWEB_DEBIAN)" >&2; exit 1; }; \
	done
	$(Q)touch $(CIVETWEB_TREE).tmp/.patched && mv $(CIVETWEB_TREE).tmp $(CIVETWEB_TREE)

$(CIVETWEB_SRC): $(CIVETWEB_TREE)/.patched ;

# civetweb is compiled through our glue unit, which #includes civetweb.c (found on the
# -I of its source directory) and adds mg_hijack_socket() for the stream hub
# (docs/architecture.md, "The stream hub and civetweb").  The release build
# uses this same rule with musl-gcc.
CIVETWEB_GLUE := glue/civetweb_glue.c
$(BUILD)/obj/third_party/civetweb.o: $(CIVETWEB_GLUE) $(CIVETWEB_SRC) $(FLAGS_FILE)
	$(call say,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(TP_CFLAGS) $(CIVETWEB_DEFS) $(CIVETWEB_SAN_DEFS) -I$(dir $(CIVETWEB_SRC)) \
	    -MMD -MP -c -o $@ $(CIVETWEB_GLUE)

$(BUILD)/obj/third_party/cJSON.o: $(CJSON_SRC) $(FLAGS_FILE)
	$(call say,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(TP_CFLAGS) $(CJSON_DEFS) -MMD -MP -c -o $@ $<

# libs3: a copy of Debian's tree with our patch series applied, made again
# when the series or a patch changes; then each source with its own defines.
$(LIBS3_TREE)/.patched: $(THIRD_PARTY_STAMP) $(LIBS3_SERIES) $(LIBS3_PATCHES)
	$(call say,PATCH,libs3)
	$(Q)rm -rf $(LIBS3_TREE) $(LIBS3_TREE).tmp && mkdir -p $(LIBS3_TREE).tmp
	$(Q)cp -R $(LIBS3_DEBIAN)/src $(LIBS3_DEBIAN)/inc $(LIBS3_TREE).tmp/
	$(Q)for p in $(LIBS3_PATCHES); do \
	    patch -s -d $(LIBS3_TREE).tmp -p1 --forward --batch <$$p || \
	    { echo "libs3: $$p does not apply to $(LIBS3_DEBIAN)" >&2; exit 1; }; \
	done
	$(Q)touch $(LIBS3_TREE).tmp/.patched && mv $(LIBS3_TREE).tmp $(LIBS3_TREE)

$(LIBS3_OBJS): $(BUILD)/obj/third_party/libs3/%.o: $(LIBS3_TREE)/.patched $(FLAGS_FILE)
	$(call say,CC,libs3/src/$*.c)
	@mkdir -p $(@D)
	$(Q)$(CC) $(TP_CFLAGS) -I$(LIBS3_TREE)/inc $(LIBS3_DEFS) -MMD -MP -c -o $@ $(LIBS3_TREE)/src/$*.c

# Our code includes the patched libs3.h.
$(OBJS) $(TEST_OBJS): | $(LIBS3_TREE)/.patched
# ... and the patched civetweb.h.
$(OBJS) $(TEST_OBJS): | $(CIVETWEB_TREE)/.patched

# Embedded assets.
$(EMBEDGEN): src/tools/embedgen.c $(FLAGS_FILE)
	$(call say,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(TOOL_CFLAGS) -MMD -MP -MF $@.d -MT $@ -o $@ $<

web/vendor/preact.module.js: $(NODE_MODULES)/preact/dist/preact.module.js
web/vendor/hooks.module.js: $(NODE_MODULES)/preact/hooks/dist/hooks.module.js
web/vendor/htm.module.js: $(NODE_MODULES)/htm/dist/htm.module.js
web/vendor/uPlot.min.css: $(NODE_MODULES)/uplot/dist/uPlot.min.css
$(filter-out web/vendor/uPlot.min.js,$(VENDOR_FILES)):
	$(call say,VENDOR,$@)
	@mkdir -p $(@D)
	$(Q)sed -e '/^\/\/# sourceMappingURL=/d' -e 's#from"preact"#from"./preact.module.js"#g' $< > $@.tmp
	$(Q)mv -f $@.tmp $@

web/vendor/uPlot.min.js: $(NODE_MODULES)/uplot/dist/uPlot.iife.min.js
	$(call say,VENDOR,$@)
	@mkdir -p $(@D)
	$(Q){ cat $< && printf '\nexport default uPlot;\n'; } > $@.tmp
	$(Q)mv -f $@.tmp $@

$(NODE_MODULES)/%:
	@echo "$@ is missing: the web UI's libraries are not installed." >&2
	@echo "Run ./build.sh (it runs 'npm ci' in web/), or: npm ci --prefix web" >&2
	@exit 1

$(GEN_C): $(EMBEDGEN) $(ASSET_FILES) $(ASSET_LIST)
	$(call say,GEN,$@)
	@mkdir -p $(@D)
	$(Q)$(EMBEDGEN) -o $@ -s web/ $(ASSET_FILES)

$(GEN_OBJ): $(GEN_C) $(FLAGS_FILE)
	$(call say,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(BB_CFLAGS) -MMD -MP -c -o $@ $<

# Benchmarks: standalone programs, pthreads only, plus BENCH_LIB_OBJS.
$(BUILD)/benchobj/%.o: %.c $(FLAGS_FILE)
	$(call say,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(BENCH_CFLAGS) -Isrc -MMD -MP -c -o $@ $<

$(BUILD)/bench/%: bench/%.c $(BENCH_LIB_OBJS) $(FLAGS_FILE)
	$(call say,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(BENCH_CFLAGS) -Isrc -MMD -MP -MF $@.d -MT $@ -o $@ $< $(BENCH_LIB_OBJS) -lpthread

-include $(OBJS:.o=.d) $(TEST_OBJS:.o=.d) $(GEN_OBJ:.o=.d) $(TP_OBJS:.o=.d) \
         $(EMBEDGEN).d $(BENCH_BINS:=.d) $(BENCH_LIB_OBJS:.o=.d)
