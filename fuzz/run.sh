#!/bin/sh
# Builds the libFuzzer targets (fuzz/build.sh) and runs every
# fuzz/fuzz_NAME.c for FUZZ_SECONDS (default 30) under ASan + UBSan on its
# corpus fuzz/corpus/NAME, FUZZ_JOBS (default 2) at a time.  New inputs go
# to build/fuzz/corpus/NAME (the checked-in corpus is only read), a crash's
# input to build/fuzz/crashes/.  A target that crashes, leaks, hangs, runs
# out of memory or has no corpus fails.  Prints a line per target and ends
# with "N passed, N failed"; exits 1 when any failed.  FUZZ_SEED=N fixes
# libFuzzer's seed, so that a run on the same binary walks the same inputs.
#   FUZZ_SECONDS=5 sh fuzz/run.sh            every target, 5 s each
#   sh fuzz/run.sh template form             only these
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
secs=${FUZZ_SECONDS:-30}
out=build/fuzz

# One target: sh fuzz/run.sh --one NAME (run by xargs below).
if [ "${1:-}" = "--one" ]; then
    name=$2
    log="$out/logs/$name.log"
    if [ ! -d "fuzz/corpus/$name" ] || [ -z "$(ls -A "fuzz/corpus/$name")" ]; then
        echo "no corpus: fuzz/corpus/$name is missing or empty" >"$log"
        echo 1 >"$out/logs/$name.rc"
        exit 0
    fi
    mkdir -p "$out/corpus/$name" "$out/crashes"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$out/fuzz_$name" -max_total_time="$secs" ${FUZZ_SEED:+-seed="$FUZZ_SEED"} \
        -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$out/crashes/$name-" \
        "$out/corpus/$name" "fuzz/corpus/$name" >"$log" 2>&1
    echo $? >"$out/logs/$name.rc"
    exit 0
fi

sh fuzz/build.sh >/dev/null || { echo "fuzz: build failed"; echo "0 passed, 1 failed"; exit 1; }
if [ $# -gt 0 ]; then
    names="$*"
else
    names=$(for f in fuzz/fuzz_*.c; do basename "$f" .c | sed 's/^fuzz_//'; done)
fi
mkdir -p "$out/logs"
for name in $names; do
    rm -f "$out/logs/$name.log" "$out/logs/$name.rc"
done
echo "fuzz: $(echo $names | wc -w) targets, ${secs} s each, ${FUZZ_JOBS:-2} at a time"
printf '%s\n' $names | xargs -P "${FUZZ_JOBS:-2}" -n 1 sh fuzz/run.sh --one

passed=0 failed=0
for name in $names; do
    log="$out/logs/$name.log"
    rc=$(cat "$out/logs/$name.rc" 2>/dev/null || echo 1)
    runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" 2>/dev/null | tail -n 1)
    if [ "$rc" = 0 ]; then
        passed=$((passed + 1))
        echo "ok   fuzz_$name: ${runs:-?} runs in ${secs} s, no crash"
    else
        failed=$((failed + 1))
        echo "FAIL fuzz_$name (exit $rc): log $log"
        tail -n 40 "$log" | sed 's/^/  /'
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
