# third_party/release.mk — builds the static musl libraries that go into the
# release binary (./build.sh release; docs/release.md).  Run by build.sh as
#
#   nice -n 19 make -f third_party/release.mk PREFIX=/abs/dir WORK=/abs/dir -j2
#
# from the repository root, after build.sh has fetched, verified and
# unpacked the pinned Debian source packages into third_party/<dir>
# (third_party/pins).  Each library is copied into WORK, gets our own patch
# series (third_party/patches/<dir>/series, applied in order with
# `patch -p1`; none yet — issue 17 item 12 adds libs3's), is built with
# musl-gcc and installed into PREFIX (include/, lib/*.a).  The order is the
# dependency chain: zlib -> mbedTLS -> curl -> libxml2 -> libs3, with
# SQLite and libsodium on their own, and libarchive on zlib.  civetweb and cJSON are compiled by the
# main Makefile with musl-gcc like our own code.
#
# build.sh keys its cache on this file, third_party/pins and
# third_party/patches/, so editing any of them rebuilds everything here.

ifndef PREFIX
$(error PREFIX is not set: run ./build.sh release)
endif
ifndef WORK
$(error WORK is not set: run ./build.sh release)
endif

.DELETE_ON_ERROR:
.SUFFIXES:
.PHONY: all

TP      := $(CURDIR)/third_party
CC      := musl-gcc
AR      := ar
# Linux's own headers (linux/, asm/) are not part of musl; a few configure
# checks look for them.  -idirafter keeps musl's headers first.
KINC    := $(WORK)/kernel-include
CFLAGS  := -O2 -fno-strict-aliasing -fPIE -idirafter $(KINC)
CPPFLAGS:= -I$(PREFIX)/include
LDFLAGS := -static -L$(PREFIX)/lib
# configure scripts: static libraries only, installed into PREFIX.
CONF    := CC=$(CC) CFLAGS="$(CFLAGS)" CPPFLAGS="$(CPPFLAGS)" LDFLAGS="$(LDFLAGS)" \
           --prefix=$(PREFIX) --disable-shared --enable-static
# Quiet logs: each step's output goes to WORK/<dir>.log, shown on failure.
run = cd $(WORK)/$(1) && { $(2); } >>$(WORK)/$(1).log 2>&1 || \
      { tail -n 60 $(WORK)/$(1).log; echo "release.mk: building $(1) failed (log: $(WORK)/$(1).log)"; exit 1; }

LIBS := zlib mbedtls curl libxml2 libs3 sqlite3 libsodium libarchive
all: $(LIBS:%=$(WORK)/%.done)

$(KINC)/.done:
	@mkdir -p $(KINC)
	ln -sfn /usr/include/linux $(KINC)/linux
	ln -sfn /usr/include/asm-generic $(KINC)/asm-generic
	ln -sfn /usr/include/x86_64-linux-gnu/asm $(KINC)/asm
	@touch $@

# $(WORK)/<dir>.src: a fresh copy of the unpacked Debian tree with our
# patch series applied.
$(WORK)/%.src: $(KINC)/.done
	@echo "release.mk: preparing $*"
	@test -d $(TP)/$*/debian || { echo "release.mk: $(TP)/$* is missing: run ./build.sh third_party"; exit 1; }
	rm -rf $(WORK)/$* $(WORK)/$*.log
	cp -a $(TP)/$* $(WORK)/$*
	@if [ -f $(TP)/patches/$*/series ]; then \
	    for p in $$(grep -v '^#' $(TP)/patches/$*/series); do \
	        echo "release.mk: $*: applying patches/$*/$$p"; \
	        patch -d $(WORK)/$* -p1 --forward --batch <$(TP)/patches/$*/$$p || exit 1; \
	    done; \
	fi
	@touch $@

# ------------------------------------------------------------------ zlib
$(WORK)/zlib.done: $(WORK)/zlib.src
	@echo "release.mk: building zlib"
	$(call run,zlib,CC=$(CC) CFLAGS="$(CFLAGS)" ./configure --static --prefix=$(PREFIX) && \
	    $(MAKE) libz.a && $(MAKE) install)
	@touch $@

# --------------------------------------------------------------- mbedTLS
# Debian's defaults plus thread safety (curl's handles run on several
# threads), as Debian's own package does.
$(WORK)/mbedtls.done: $(WORK)/mbedtls.src
	@echo "release.mk: building mbedtls"
	$(call run,mbedtls,perl scripts/config.pl set MBEDTLS_THREADING_C && \
	    perl scripts/config.pl set MBEDTLS_THREADING_PTHREAD && \
	    $(MAKE) -C library CC=$(CC) AR=$(AR) CFLAGS="$(CFLAGS)" static && \
	    mkdir -p $(PREFIX)/include $(PREFIX)/lib && \
	    cp -R include/mbedtls $(PREFIX)/include/ && \
	    cp library/libmbedtls.a library/libmbedx509.a library/libmbedcrypto.a $(PREFIX)/lib/)
	@touch $@

# ------------------------------------------------------------------ curl
# HTTP and HTTPS only, mbedTLS, zlib; no CA bundle compiled in (batchbox
# finds one at run time: src/infra/net/ca_bundle.c).  Debian's series ends
# with two patches that rename the library for its GnuTLS and NSS flavours
# (libcurl-gnutls, libcurl-nss); like debian/rules for the plain flavour we
# take them back off, then autoreconf because Debian's patches touch
# configure.ac and Makefile.am.
CURL_OFF := --disable-ftp --disable-file --disable-ldap --disable-ldaps --disable-rtsp \
            --disable-dict --disable-telnet --disable-tftp --disable-pop3 --disable-imap \
            --disable-smb --disable-smtp --disable-gopher --disable-mqtt --disable-manual \
            --disable-ntlm --disable-ntlm-wb --disable-kerberos-auth --disable-negotiate-auth \
            --without-brotli --without-zstd --without-libpsl --without-libidn2 \
            --without-nghttp2 --without-librtmp --without-libssh2 --without-libgsasl \
            --without-hyper --without-ca-bundle --without-ca-path
$(WORK)/curl.done: $(WORK)/curl.src $(WORK)/zlib.done $(WORK)/mbedtls.done
	@echo "release.mk: building curl"
	$(call run,curl,patch -R -p1 <debian/patches/99_nss.patch && \
	    patch -R -p1 <debian/patches/90_gnutls.patch && autoreconf -fi && \
	    ./configure $(CONF) --with-mbedtls=$(PREFIX) --with-zlib=$(PREFIX) \
	        --enable-threaded-resolver --enable-ipv6 $(CURL_OFF) && \
	    $(MAKE) -C lib && $(MAKE) -C lib install && $(MAKE) -C include install)
	@touch $@

# --------------------------------------------------------------- libxml2
# Only what libs3 uses (parsing S3's XML replies): no network, Python,
# ICU, lzma, zlib or modules.
$(WORK)/libxml2.done: $(WORK)/libxml2.src
	@echo "release.mk: building libxml2"
	$(call run,libxml2,autoreconf -fi && \
	    ./configure $(CONF) --without-python --without-lzma --without-icu --without-zlib \
	        --without-http --without-ftp --without-modules --without-readline \
	        --without-history --without-debug --without-docbook --with-threads && \
	    $(MAKE) libxml2.la && $(MAKE) install-libLTLIBRARIES && $(MAKE) -C include install)
	@touch $@

# ----------------------------------------------------------------- libs3
# Its GNUmakefile calls `gcc` by name, so the same sources and defines are
# compiled here (LIBS3_SOURCES and CFLAGS of libs3-2.0/GNUmakefile).
LIBS3_SOURCES := acl.c bucket.c error_parser.c general.c object.c request.c \
                 request_context.c response_headers_handler.c \
                 service_access_logging.c service.c simplexml.c util.c
LIBS3_DEFS := -Iinc -I$(PREFIX)/include -I$(PREFIX)/include/libxml2 \
              -DLIBS3_VER_MAJOR=\"2\" -DLIBS3_VER_MINOR=\"0\" -DLIBS3_VER=\"2.0\" \
              -D__STRICT_ANSI__ -D_ISOC99_SOURCE -D_POSIX_C_SOURCE=200112L
$(WORK)/libs3.done: $(WORK)/libs3.src $(WORK)/curl.done $(WORK)/libxml2.done
	@echo "release.mk: building libs3"
	$(call run,libs3,mkdir -p obj && \
	    for f in $(LIBS3_SOURCES); do \
	        $(CC) $(CFLAGS) -w $(LIBS3_DEFS) -c -o obj/$${f%.c}.o src/$$f || exit 1; \
	    done && \
	    rm -f obj/libs3.a && $(AR) rcs obj/libs3.a obj/*.o && \
	    mkdir -p $(PREFIX)/include $(PREFIX)/lib && \
	    cp inc/libs3.h $(PREFIX)/include/ && cp obj/libs3.a $(PREFIX)/lib/)
	@touch $@

# ---------------------------------------------------------------- SQLite
# Debian's tree is SQLite's full source: configure + `make sqlite3.c`
# (needs tclsh) makes the amalgamation, compiled with debian/rules' options
# plus FTS5 and the math functions (Debian's configure adds both), without
# loadable extensions (a static binary cannot dlopen).
SQLITE_DEFS := -DSQLITE_SECURE_DELETE -DSQLITE_ENABLE_COLUMN_METADATA \
               -DSQLITE_ENABLE_FTS3 -DSQLITE_ENABLE_FTS3_PARENTHESIS -DSQLITE_ENABLE_FTS4 \
               -DSQLITE_ENABLE_FTS5 -DSQLITE_ENABLE_RTREE=1 -DSQLITE_SOUNDEX=1 \
               -DSQLITE_ENABLE_UNLOCK_NOTIFY -DSQLITE_OMIT_LOOKASIDE=1 \
               -DSQLITE_ENABLE_DBSTAT_VTAB -DSQLITE_ALLOW_ROWID_IN_VIEW \
               -DSQLITE_ENABLE_UPDATE_DELETE_LIMIT=1 -DSQLITE_OMIT_LOAD_EXTENSION \
               -DSQLITE_LIKE_DOESNT_MATCH_BLOBS -DSQLITE_THREADSAFE=1 \
               -DSQLITE_USE_URI=1 -DSQLITE_MAX_SCHEMA_RETRY=25 \
               -DSQLITE_ENABLE_PREUPDATE_HOOK -DSQLITE_ENABLE_SESSION \
               -DSQLITE_ENABLE_STMTVTAB -DSQLITE_MAX_VARIABLE_NUMBER=250000 \
               -DSQLITE_ENABLE_MATH_FUNCTIONS -DHAVE_USLEEP=1 -DHAVE_LOCALTIME_R=1 \
               -DHAVE_GMTIME_R=1 -DHAVE_STRCHRNUL=1 -DHAVE_FDATASYNC=1
$(WORK)/sqlite3.done: $(WORK)/sqlite3.src
	@echo "release.mk: building sqlite3"
	$(call run,sqlite3,./configure CC=$(CC) --disable-tcl --disable-readline \
	        --disable-load-extension --enable-fts5 && \
	    $(MAKE) sqlite3.c && \
	    $(CC) $(CFLAGS) -w $(SQLITE_DEFS) -c -o sqlite3.o sqlite3.c && \
	    rm -f libsqlite3.a && $(AR) rcs libsqlite3.a sqlite3.o && \
	    mkdir -p $(PREFIX)/include $(PREFIX)/lib && \
	    cp sqlite3.h sqlite3ext.h $(PREFIX)/include/ && cp libsqlite3.a $(PREFIX)/lib/)
	@touch $@

# ------------------------------------------------------------- libsodium
# Debian's tree is the git checkout: autoreconf makes configure (the
# upstream autogen.sh would also download config.guess; we do not).
$(WORK)/libsodium.done: $(WORK)/libsodium.src
	@echo "release.mk: building libsodium"
	$(call run,libsodium,autoreconf -fi && ./configure $(CONF) && \
	    $(MAKE) && $(MAKE) install)
	@touch $@

# ------------------------------------------------------------ libarchive
# The gallery's ZIP writer (docs/gallery.md): only the library, writing
# ZIP with deflate through the zlib above.  No programs (bsdtar, bsdcpio,
# bsdcat), no other compressors, no crypto, XML, iconv, ACLs or extended
# attributes.  autoreconf because Debian's patches touch configure.ac and
# Makefile.am.
ARCHIVE_OFF := --disable-bsdtar --disable-bsdcpio --disable-bsdcat --disable-acl \
               --disable-xattr --disable-posix-regex-lib --without-bz2lib --without-libb2 \
               --without-iconv --without-libiconv-prefix --without-lz4 --without-zstd \
               --without-lzma --without-lzo2 --without-cng --without-mbedtls \
               --without-nettle --without-openssl --without-xml2 --without-expat
$(WORK)/libarchive.done: $(WORK)/libarchive.src $(WORK)/zlib.done
	@echo "release.mk: building libarchive"
	$(call run,libarchive,autoreconf -fi && \
	    ./configure $(CONF) --with-zlib $(ARCHIVE_OFF) && \
	    $(MAKE) libarchive.la && \
	    $(MAKE) install-libLTLIBRARIES install-includeHEADERS)
	@touch $@
