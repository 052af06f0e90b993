#!/bin/sh
# The side-by-side HTTP benchmark (bench/http/run.py): builds Phial's
# application as a release build (build/release/app, -O3 -DNDEBUG) and the
# raw-C baseline (build/release/bench-baseline), then runs the table.
# QUICK=1 runs a few seconds a workload; BENCH_ARGS passes flags to run.py
# (--duration S --warmup S --connections 64,256 --workloads a,b
#  --db sqlite,postgresql --servers phial,peer,baseline,nginx --pg-url URL).
set -e
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
rel=build/release
make --no-print-directory -j2 BUILD=$rel OPT="-O3 -DNDEBUG" $rel/app >/dev/null
mkdir -p $rel
pkgs="libmicrohttpd sqlite3 libpq"
# shellcheck disable=SC2046
cc -std=c11 -D_GNU_SOURCE -O3 -DNDEBUG -Wall -Wextra -Wshadow -Wstrict-prototypes \
   -Wmissing-prototypes -Wvla -Werror $(pkg-config --cflags $pkgs) \
   -o $rel/bench-baseline bench/baseline/baseline.c $(pkg-config --libs $pkgs) -lpthread
quick=""
[ "${QUICK:-0}" != 0 ] && quick=--quick
# shellcheck disable=SC2086
exec /usr/bin/python3 bench/http/run.py $quick ${BENCH_ARGS:-}
