#!/bin/sh
# Builds every fuzz/fuzz_*.c as a libFuzzer binary into build/fuzz/ (clang,
# ASan + UBSan), from the library sources and flags the main Makefile
# names (`make fuzz-vars`), two compilers at a time (FUZZ_JOBS).
# Run one with: build/fuzz/fuzz_template fuzz/corpus/template -max_total_time=60
# or all of them with fuzz/run.sh.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
vars=$(make -s --no-print-directory fuzz-vars)
eval "$vars"
make -s --no-print-directory -j"${FUZZ_JOBS:-2}" -f fuzz/fuzz.mk \
    LIB_SRC="$LIB_SRC" LIB_CFLAGS="$LIB_CFLAGS" LIB_LIBS="$LIB_LIBS"
for f in fuzz/fuzz_*.c; do
    echo "built build/fuzz/$(basename "$f" .c)"
done
