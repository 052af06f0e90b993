#!/bin/sh
# The ORM benchmark: loading 1,000 rows through the ORM vs a hand-written
# sqlite3 loop (bench/orm/bench_orm.c).  Builds with the project's flags
# after `make all`, runs, prints the ratio.  Usage: sh bench/orm/run.sh
set -e
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
BUILD=${BUILD:-build}
make --no-print-directory -s all BUILD="$BUILD" >/dev/null
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -g -Iinclude $(pkg-config --cflags sqlite3 libpq) \
    -o "$BUILD/bench_orm" bench/orm/bench_orm.c "$BUILD/obj/app/models.o" "$BUILD/libphial.a" \
    $(pkg-config --libs libmicrohttpd sqlite3 libpq libsodium jansson) -lpthread -lm
"$BUILD/bench_orm"
