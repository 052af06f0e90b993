# Phial — one Makefile.  `make run` builds and serves the tutorial app on
# http://127.0.0.1:5000; `make test` builds and runs every test;
# `make check-asan` runs the same suite under AddressSanitizer + UBSan.

BUILD    ?= build
CC       ?= cc
PKGS     := libuv sqlite3 libpq libsodium jansson
SAN      ?=
OPT      ?= -O2 -g

WARN     := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wformat=2 -Wno-format-nonliteral -Wvla -Werror
CFLAGS   ?= $(OPT)
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -Iinclude -fPIC \
             $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(SANFLAGS)
# libunistring (templates' Unicode case mapping) ships no .pc file in Debian
# 12: pkg-config when it has one, else the plain -l.
UNISTRING_LIBS := $(shell pkg-config --libs libunistring 2>/dev/null || echo -lunistring)
LIBS     = $(shell pkg-config --libs $(PKGS) 2>/dev/null) $(UNISTRING_LIBS) -lpthread -lm
ifeq ($(SAN),1)
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

LIB_SRC  := $(sort $(wildcard src/*/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
APP_SRC  := $(sort $(wildcard app/*.c))
APP_OBJ  := $(APP_SRC:%.c=$(BUILD)/obj/%.o)
TOOL_SRC := $(sort $(wildcard tools/*.c))
TOOLS    := $(TOOL_SRC:tools/%.c=$(BUILD)/%)
TEST_SRC := $(sort $(wildcard tests/*/test_*.c))
TESTS    := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
# Objects shared by the tests of one folder (tests/<dir>/*.c without test_).
TEST_LIB_SRC := $(filter-out $(TEST_SRC),$(sort $(wildcard tests/*/*.c)))
TEST_LIB_OBJ := $(TEST_LIB_SRC:%.c=$(BUILD)/obj/%.o)
# The tutorial app's objects minus main, so tests can use its models.
APP_LIB_OBJ  := $(filter-out $(BUILD)/obj/app/main.o,$(APP_OBJ))

.PHONY: all deps run test check-asan bench clean format fuzz
all: $(BUILD)/libphial.a $(BUILD)/libphial.so $(BUILD)/app $(TOOLS) $(TESTS)

deps:
	@sh tools/deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libphial.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libphial.so: $(LIB_OBJ)
	$(CC) -shared $(SANFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/app: $(APP_OBJ) $(BUILD)/libphial.a
	$(CC) $(SANFLAGS) -o $@ $(APP_OBJ) $(BUILD)/libphial.a $(LIBS)

$(BUILD)/%: tools/%.c $(BUILD)/libphial.a
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libphial.a $(LIBS)

$(BUILD)/tests/%: tests/%.c $(BUILD)/libphial.a $(TEST_LIB_OBJ) $(APP_LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests -o $@ $< $(filter $(BUILD)/obj/tests/$(firstword $(subst /, ,$*))/%,$(TEST_LIB_OBJ)) $(APP_LIB_OBJ) $(BUILD)/libphial.a $(LIBS)

run: deps
	@$(MAKE) --no-print-directory $(BUILD)/app
	@echo "Serving the tutorial application on http://127.0.0.1:$${PORT:-5000} (Ctrl-C stops)"
	$(BUILD)/app db create
	SECRET_KEY_FILE=$${SECRET_KEY_FILE:-instance/secret_key} exec $(BUILD)/app run

test: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) sh tests/run.sh

check-asan: deps
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 OPT="-O1 -g" all
	@BUILD=build/asan ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 sh tests/run.sh

# QUICK=1: a few seconds a workload; BENCH_ARGS: flags of bench/http/run.py
bench: deps all
	@QUICK=$(QUICK) BENCH_ARGS="$(BENCH_ARGS)" sh bench/run.sh

fuzz:
	@sh fuzz/build.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(APP_OBJ:.o=.d) $(TEST_LIB_OBJ:.o=.d)

# ---- examples/todo: an application built on the public headers alone ----
TODO_SRC := $(sort $(wildcard examples/todo/*.c))
TODO_OBJ := $(TODO_SRC:%.c=$(BUILD)/obj/%.o)
all: $(BUILD)/examples/todo $(BUILD)/tests/examples/test_todo
$(BUILD)/examples/todo: $(TODO_OBJ) $(BUILD)/libphial.a
	@mkdir -p $(dir $@)
	$(CC) $(SANFLAGS) -o $@ $(TODO_OBJ) $(BUILD)/libphial.a $(LIBS)
$(BUILD)/tests/examples/test_todo: examples/todo/tests/test_todo.c $(filter-out %/main.o,$(TODO_OBJ)) $(BUILD)/libphial.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Iexamples/todo -Itests -o $@ $< $(filter-out %/main.o,$(TODO_OBJ)) $(BUILD)/libphial.a $(LIBS)
-include $(TODO_OBJ:.o=.d)

# What a program using the library links with (read by tests/readme).
all: $(BUILD)/link-flags
$(BUILD)/link-flags: Makefile
	@mkdir -p $(dir $@)
	@echo '$(SANFLAGS) $(LIBS)' > $@
