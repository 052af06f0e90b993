#!/bin/sh
# Builds every fuzz/fuzz_*.c as a libFuzzer binary into build/fuzz/, compiling
# the library sources (src/*/*.c) directly with clang and the sanitizers.
# Run one with: build/fuzz/fuzz_template fuzz/corpus/template -max_total_time=60
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
CC=${CC:-clang}
PKGS="libuv sqlite3 libpq libsodium jansson"
CFLAGS="-std=c11 -D_GNU_SOURCE -g -O1 -Iinclude $(pkg-config --cflags $PKGS 2>/dev/null)"
SAN="-fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer"
LIBS="$(pkg-config --libs $PKGS 2>/dev/null) $(pkg-config --libs libunistring 2>/dev/null || echo -lunistring) -lpthread -lm"
out=build/fuzz
mkdir -p "$out/obj"
# Library objects are built with fuzzer-no-link so they are instrumented
# but carry no main().
objs=""
for src in src/*/*.c; do
    obj="$out/obj/$(echo "$src" | tr '/' '_' | sed 's/\.c$/.o/')"
    if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ]; then
        $CC $CFLAGS -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
            -c "$src" -o "$obj"
    fi
    objs="$objs $obj"
done
for f in fuzz/fuzz_*.c; do
    name=$(basename "$f" .c)
    $CC $CFLAGS $SAN -o "$out/$name" "$f" $objs $LIBS
    echo "built $out/$name"
done
