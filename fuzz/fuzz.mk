# The libFuzzer targets: every fuzz/fuzz_*.c linked with the library's
# sources compiled by clang under ASan + UBSan (any UB report aborts, so
# it is a crash the fuzzer stops on).  Run through fuzz/build.sh, which
# passes the library's sources and flags from the main Makefile
# (`make fuzz-vars`): LIB_SRC, LIB_CFLAGS, LIB_LIBS.  (clang warns of the
# form macros' designated initializers, which gcc accepts: not shown.)
OUT      ?= build/fuzz
CC       := clang
SAN      := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
CFLAGS   := -std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Wno-missing-field-initializers -Iinclude $(LIB_CFLAGS)
OBJ      := $(LIB_SRC:%.c=$(OUT)/obj/%.o)
TARGETS  := $(patsubst fuzz/%.c,$(OUT)/%,$(sort $(wildcard fuzz/fuzz_*.c)))

.PHONY: all
all: $(TARGETS)

# Library objects: instrumented for the fuzzer, without its main().
$(OUT)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fsanitize=fuzzer-no-link $(SAN) -MMD -MP -c $< -o $@

$(OUT)/fuzz_%: fuzz/fuzz_%.c $(OBJ)
	$(CC) $(CFLAGS) -fsanitize=fuzzer $(SAN) -MMD -MP -MF $(OUT)/obj/fuzz_$*.d -o $@ $< \
	    $(OBJ) $(LIB_LIBS)

-include $(OBJ:.o=.d) $(TARGETS:$(OUT)/%=$(OUT)/obj/%.d)
