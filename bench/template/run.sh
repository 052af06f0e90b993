#!/bin/sh
# Template benchmark: the fortunes page (100 rows, loop, autoescape, a
# filter) rendered N times by Phial (C), by Jinja2 (/usr/bin/python3,
# template precompiled, same rows) and by hand-written C into a buffer;
# prints the three times and the ratios (the goals: Phial at least 20x
# Jinja2, and within 2x of the hand-written C).  Checks first that all
# three produce the same page.  Not part of the tests.
set -e
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
N=${N:-20000}
NJ=${NJ:-2000}
out=${BUILD:-$top/build}/bench
mkdir -p "$out"
cd "$top"
# linked with the library as built by make (templates read model columns
# through the ORM's metadata, which draws in the database layer)
make --no-print-directory -s all BUILD="${BUILD:-build}" >/dev/null
cc -std=c11 -D_GNU_SOURCE -O2 -Iinclude -o "$out/bench_template" bench/template/bench_template.c \
    "${BUILD:-build}/libphial.a" $(pkg-config --cflags --libs jansson sqlite3 libpq libsodium libuv) \
    $(pkg-config --libs libunistring 2>/dev/null || echo -lunistring) -lpthread -lm
BENCH_PRINT=1 "$out/bench_template" "$here" 1 >"$out/phial.html"
BENCH_PRINT=1 /usr/bin/python3 "$here/bench_jinja.py" "$here" 1 >"$out/jinja.html"
BENCH_PRINT=1 "$out/bench_template" "$here" 1 c >"$out/byhand.html"
if cmp -s "$out/phial.html" "$out/jinja.html" && cmp -s "$out/byhand.html" "$out/jinja.html"; then
    echo "outputs identical ($(wc -c <"$out/phial.html") bytes)"
else
    echo "WARNING: outputs differ:"; diff "$out/jinja.html" "$out/phial.html" | head -20
    diff "$out/jinja.html" "$out/byhand.html" | head -20
fi
# best of several runs each: the machine may be busy with other work
best() { sort -n | head -n 1; }  # times are CPU time (see the sources)
R=${R:-7}
p=$(for i in $(seq "$R"); do "$out/bench_template" "$here" "$N" | cut -d' ' -f1; done | best)
j=$(for i in 1 2 3 4 5; do /usr/bin/python3 "$here/bench_jinja.py" "$here" "$NJ" | cut -d' ' -f1; done | best)
c=$(for i in $(seq "$R"); do "$out/bench_template" "$here" "$N" c | cut -d' ' -f1; done | best)
echo "phial:  $p us/render (best of $R x $N renders)"
echo "jinja2: $j us/render (best of 5 x $NJ renders)"
echo "C:      $c us/render (hand-written, best of $R x $N renders)"
awk -v p="$p" -v j="$j" 'BEGIN { printf "ratio:  Phial is %.1fx faster than Jinja2\n", j / p }'
awk -v p="$p" -v c="$c" 'BEGIN { printf "ratio:  Phial takes %.2fx the time of hand-written C\n", p / c }'
