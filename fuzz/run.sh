#!/bin/sh
# Runs every libFuzzer target built by fuzz/build.sh for FUZZ_SECONDS (30 by
# default) each, under ASan+UBSan, starting from a copy of its seed corpus
# (fuzz/corpus/<name without fuzz_>).  Exits non-zero when one finds a crash
# (the input is left in build/fuzz/crashes/ to become a regression test).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
secs=${FUZZ_SECONDS:-30}
mkdir -p build/fuzz/crashes
rc=0
for bin in build/fuzz/fuzz_*; do
    [ -x "$bin" ] || continue
    name=$(basename "$bin")
    seeds="fuzz/corpus/${name#fuzz_}"
    work=$(mktemp -d)
    [ -d "$seeds" ] && cp -r "$seeds"/. "$work"/
    if "$bin" "$work" -max_total_time="$secs" -artifact_prefix=build/fuzz/crashes/"$name"- \
        >build/fuzz/"$name".log 2>&1; then
        echo "fuzz: $name: $(grep -E '^Done' build/fuzz/"$name".log | tail -n 1)"
    else
        echo "fuzz: $name FAILED (see build/fuzz/$name.log)"
        tail -n 30 build/fuzz/"$name".log
        rc=1
    fi
    rm -rf "$work"
done
exit $rc
