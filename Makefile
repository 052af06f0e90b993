# Phial — one Makefile.  `make run` builds and serves the tutorial app on
# http://127.0.0.1:5000; `make test` builds and runs every test;
# `make check-asan` runs the same suite under AddressSanitizer + UBSan;
# `make install PREFIX=/usr/local DESTDIR=` installs the library, headers,
# phial.pc and the phial commands; `make uninstall` removes them.
# `make PG=0` builds without PostgreSQL (no libpq needed).

BUILD    ?= build
CC       ?= cc
SAN      ?=
OPT      ?= -O2 -g
PG       ?= 1

PREFIX     ?= /usr/local
DESTDIR    ?=
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PCDIR      ?= $(LIBDIR)/pkgconfig

# One version, read from the header that also gives it to C.
VERSION  := $(shell sed -n 's/^\#define PHIAL_VERSION_STRING "\(.*\)"/\1/p' include/phial/version.h)
SOMAJOR  := $(firstword $(subst ., ,$(VERSION)))
SONAME   := libphial.so.$(SOMAJOR)

# What the library links: jansson is part of its API (json_t in http.h and
# orm.h), so phial.pc Requires it; the rest are Requires.private.  The
# tutorial app and the tools add nothing to it.
PUBLIC_PKGS := jansson
PKGS     := libuv sqlite3 libsodium $(PUBLIC_PKGS)
# libpq is not linked: src/db/pg.c opens it with dlopen at the first
# postgresql:// URL (its dependencies cost an application on SQLite ~6 MB a
# process); its headers come from pkg-config, libdl from libc.
ifeq ($(PG),0)
PGDEF    := -DPH_NO_POSTGRES
PQ_CFLAGS :=
else
PGDEF    :=
PQ_CFLAGS := $(shell pkg-config --cflags libpq 2>/dev/null)
endif

WARN     := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wformat=2 -Wno-format-nonliteral -Wvla -Werror
CFLAGS   ?= $(OPT)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(PQ_CFLAGS)
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -Iinclude -fPIC -fvisibility=hidden \
             $(PGDEF) $(PKG_CFLAGS) $(SANFLAGS)
# libunistring (templates' Unicode case mapping) ships no .pc file in Debian
# 12: pkg-config when it has one, else the plain -l.
UNISTRING_LIBS := $(shell pkg-config --libs libunistring 2>/dev/null || echo -lunistring)
LIBS     := $(shell pkg-config --libs $(PKGS) 2>/dev/null) $(UNISTRING_LIBS) -lpthread -lm -ldl
ifeq ($(SAN),1)
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

LIB_SRC  := $(sort $(wildcard src/*/*.c))
ifeq ($(PG),0)
LIB_SRC  := $(filter-out src/db/pg.c,$(LIB_SRC))
else
LIB_SRC  := $(filter-out src/db/pg_off.c,$(LIB_SRC))
endif
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
APP_SRC  := $(sort $(wildcard app/*.c))
APP_OBJ  := $(APP_SRC:%.c=$(BUILD)/obj/%.o)
# The test build of the app: the same sources with the test-only routes
# (/_test/...) compiled in; the app that is deployed has none.
APP_TEST_OBJ := $(APP_SRC:%.c=$(BUILD)/obj-test/%.o)
TOOL_SRC := $(sort $(wildcard tools/*.c))
TOOLS    := $(TOOL_SRC:tools/%.c=$(BUILD)/%)
TEST_SRC := $(sort $(wildcard tests/*/test_*.c))
TESTS    := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
# Objects shared by the tests of one folder (tests/<dir>/*.c without test_).
TEST_LIB_SRC := $(filter-out $(TEST_SRC),$(sort $(wildcard tests/*/*.c)))
TEST_LIB_OBJ := $(TEST_LIB_SRC:%.c=$(BUILD)/obj/%.o)
# The tutorial app's objects minus main, linked only into the tests that
# use its models (those that include a header of app/); the library's own
# tests link the library alone.
APP_LIB_OBJ  := $(filter-out $(BUILD)/obj/app/main.o,$(APP_OBJ))
APP_TESTS    := $(patsubst tests/%.c,$(BUILD)/tests/%,\
                  $(shell grep -l '^\#include "\.\./\.\./app/' $(TEST_SRC) 2>/dev/null))
# The files `phial new` writes, embedded into the phial command.
SCAFFOLD := $(sort $(shell find tools/scaffold -type f 2>/dev/null))

SHLIB    := $(BUILD)/libphial.so.$(VERSION)
LIBS_OUT := $(BUILD)/libphial.a $(SHLIB) $(BUILD)/$(SONAME) $(BUILD)/libphial.so

.PHONY: all deps deps-run deps-test run test check-asan bench clean format fuzz fuzz-vars install \
        uninstall
all: $(LIBS_OUT) $(BUILD)/app $(BUILD)/app-test $(TOOLS) $(TESTS)

# Test helpers and app objects are prerequisites of pattern rules only;
# without this make would delete them as intermediates and relink every
# test on the next run.
.SECONDARY: $(TEST_LIB_OBJ) $(APP_LIB_OBJ) $(BUILD)/obj/gen/scaffold.o $(BUILD)/gen/scaffold.c \
            $(BUILD)/obj/gen/assets.o $(BUILD)/gen/assets.c

deps:
	@sh tools/deps.sh all
deps-run:
	@sh tools/deps.sh run
deps-test:
	@sh tools/deps.sh test

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj-test/app/%.o: app/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DPHIAL_TEST_ROUTES -MMD -MP -c $< -o $@

$(BUILD)/libphial.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(SHLIB): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--no-undefined $(SANFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/$(SONAME) $(BUILD)/libphial.so: $(SHLIB)
	ln -sf $(notdir $<) $@

# phial.pc names the prefix it is installed under, so it is written by
# `make install` (PHIAL_PC is the sed that fills tools/phial.pc.in).
PHIAL_PC = sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCLUDEDIR@|$(INCLUDEDIR)|' \
               -e 's|@BINDIR@|$(BINDIR)|; s|@VERSION@|$(VERSION)|; s|@REQUIRES@|$(PUBLIC_PKGS)|' \
               -e 's|@REQUIRES_PRIVATE@|$(filter-out $(PUBLIC_PKGS),$(PKGS))|' \
               -e 's|@LIBS_PRIVATE@|$(UNISTRING_LIBS) -lpthread -lm -ldl|'

# The tutorial's templates and static files, embedded (one-file deployment).
ASSETS   := $(sort $(shell find app/templates app/static -type f 2>/dev/null))
$(BUILD)/gen/assets.c: $(ASSETS) $(BUILD)/phial-embed
	@mkdir -p $(dir $@)
	$(BUILD)/phial-embed --name app_assets -o $@ templates=app/templates static=app/static
	@touch $@ # phial-embed keeps an unchanged file's time; make needs it newer

$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/app: $(APP_OBJ) $(BUILD)/obj/gen/assets.o $(BUILD)/libphial.a
	$(CC) $(SANFLAGS) -o $@ $(APP_OBJ) $(BUILD)/obj/gen/assets.o $(BUILD)/libphial.a $(LIBS)

$(BUILD)/app-test: $(APP_TEST_OBJ) $(BUILD)/obj/gen/assets.o $(BUILD)/libphial.a
	$(CC) $(SANFLAGS) -o $@ $(APP_TEST_OBJ) $(BUILD)/obj/gen/assets.o $(BUILD)/libphial.a $(LIBS)

$(BUILD)/gen/scaffold.c: $(SCAFFOLD) $(BUILD)/phial-embed
	@mkdir -p $(dir $@)
	$(BUILD)/phial-embed --name phial_scaffold -o $@ tools/scaffold
	@touch $@

$(BUILD)/phial: tools/phial.c $(BUILD)/obj/gen/scaffold.o $(BUILD)/libphial.a
	$(CC) $(ALL_CFLAGS) -MMD -MP -MF $(BUILD)/obj/tools/phial.d -o $@ $< \
	    $(BUILD)/obj/gen/scaffold.o $(BUILD)/libphial.a $(LIBS)

$(filter-out $(BUILD)/phial,$(TOOLS)): $(BUILD)/%: tools/%.c $(BUILD)/libphial.a
	@mkdir -p $(BUILD)/obj/tools
	$(CC) $(ALL_CFLAGS) -MMD -MP -MF $(BUILD)/obj/tools/$*.d -o $@ $< $(BUILD)/libphial.a $(LIBS)

$(filter-out $(APP_TESTS),$(TESTS)): $(BUILD)/tests/%: tests/%.c $(BUILD)/libphial.a $(TEST_LIB_OBJ)
	@mkdir -p $(dir $@) $(dir $(BUILD)/obj/tests/$*)
	$(CC) $(ALL_CFLAGS) -Itests -MMD -MP -MF $(BUILD)/obj/tests/$*.d -o $@ $< \
	    $(filter $(BUILD)/obj/tests/$(firstword $(subst /, ,$*))/%,$(TEST_LIB_OBJ)) \
	    $(BUILD)/libphial.a $(LIBS)

$(APP_TESTS): $(BUILD)/tests/%: tests/%.c $(BUILD)/libphial.a $(TEST_LIB_OBJ) $(APP_LIB_OBJ)
	@mkdir -p $(dir $@) $(dir $(BUILD)/obj/tests/$*)
	$(CC) $(ALL_CFLAGS) -Itests -MMD -MP -MF $(BUILD)/obj/tests/$*.d -o $@ $< \
	    $(filter $(BUILD)/obj/tests/$(firstword $(subst /, ,$*))/%,$(TEST_LIB_OBJ)) \
	    $(APP_LIB_OBJ) $(BUILD)/libphial.a $(LIBS)

# Installs into $(DESTDIR)$(PREFIX); phial.pc names the final PREFIX.
install: $(LIBS_OUT) $(BUILD)/phial $(BUILD)/phial-render $(BUILD)/phial-embed
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/phial \
	    $(DESTDIR)$(PCDIR)
	install -m 644 include/phial/*.h $(DESTDIR)$(INCLUDEDIR)/phial/
	install -m 644 $(BUILD)/libphial.a $(DESTDIR)$(LIBDIR)/
	install -m 755 $(SHLIB) $(DESTDIR)$(LIBDIR)/
	ln -sf libphial.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libphial.so
	$(PHIAL_PC) tools/phial.pc.in > $(DESTDIR)$(PCDIR)/phial.pc && chmod 644 $(DESTDIR)$(PCDIR)/phial.pc
	install -m 755 $(BUILD)/phial $(BUILD)/phial-render $(BUILD)/phial-embed $(DESTDIR)$(BINDIR)/

uninstall:
	rm -f $(addprefix $(DESTDIR)$(INCLUDEDIR)/phial/,$(notdir $(wildcard include/phial/*.h)))
	-rmdir $(DESTDIR)$(INCLUDEDIR)/phial 2>/dev/null
	rm -f $(DESTDIR)$(LIBDIR)/libphial.a $(DESTDIR)$(LIBDIR)/libphial.so.$(VERSION) \
	    $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libphial.so $(DESTDIR)$(PCDIR)/phial.pc
	rm -f $(DESTDIR)$(BINDIR)/phial $(DESTDIR)$(BINDIR)/phial-render $(DESTDIR)$(BINDIR)/phial-embed

run: deps-run
	@$(MAKE) --no-print-directory $(BUILD)/app
	@echo "Serving the tutorial application on http://127.0.0.1:$${PORT:-5000} (Ctrl-C stops)"
	$(BUILD)/app db create
	@if [ "$$(id -u)" = 0 ] && [ -z "$$RUN_AS_USER" ]; then \
	    echo "(started as root: serving as root for development, ALLOW_ROOT=1;" \
	         "a deployment sets RUN_AS_USER)"; fi
	if [ "$$(id -u)" = 0 ] && [ -z "$$RUN_AS_USER" ]; then export ALLOW_ROOT=1; fi; \
	SECRET_KEY_FILE=$${SECRET_KEY_FILE:-instance/secret_key} exec $(BUILD)/app run

test: deps-test
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) sh tests/run.sh

check-asan: deps-test
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 OPT="-O1 -g" all
	@BUILD=build/asan ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 sh tests/run.sh

# QUICK=1: a few seconds a workload; BENCH_ARGS: flags of bench/http/run.py
bench: deps all
	@QUICK=$(QUICK) BENCH_ARGS="$(BENCH_ARGS)" sh bench/run.sh

# `make fuzz` builds the libFuzzer targets; FUZZ_SECONDS=N runs each N
# seconds on its corpus too (fuzz/run.sh; CI runs 30).
fuzz:
	@sh tools/deps.sh fuzz
	@if [ -n "$(FUZZ_SECONDS)" ]; then FUZZ_SECONDS=$(FUZZ_SECONDS) sh fuzz/run.sh; \
	 else sh fuzz/build.sh; fi

# What fuzz/build.sh compiles the library from (sh-quoted assignments).
fuzz-vars:
	@echo "LIB_SRC='$(LIB_SRC)'"
	@echo "LIB_CFLAGS='$(PGDEF) $(PKG_CFLAGS)'"
	@echo "LIB_LIBS='$(LIBS)'"

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(APP_OBJ:.o=.d) $(APP_TEST_OBJ:.o=.d) $(TEST_LIB_OBJ:.o=.d) \
         $(TESTS:$(BUILD)/tests/%=$(BUILD)/obj/tests/%.d) $(TOOLS:$(BUILD)/%=$(BUILD)/obj/tools/%.d)

# What a program using the library links with (read by tests/readme).
all: $(BUILD)/link-flags
$(BUILD)/link-flags: Makefile
	@mkdir -p $(dir $@)
	@echo '$(SANFLAGS) $(LIBS)' > $@
