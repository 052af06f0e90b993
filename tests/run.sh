#!/bin/sh
# Runs every test program under $BUILD/tests, with a throwaway PostgreSQL
# cluster on 127.0.0.1 for the tests that need one (PHIAL_TEST_PG_URL), and
# ends with one line: "N passed, N failed, N skipped".
BUILD=${BUILD:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
export PHIAL_TOP="$top" PHIAL_BUILD="$top/$BUILD"
# CI runs the suite as root: the servers the tests start may serve as root
# (tests/package/test_privdrop.c clears this to test the refusal).
export ALLOW_ROOT=1

pg_started=""
# The cluster lives under /tmp: the postgres user must be able to reach it,
# which a checkout under a private home folder may not allow.
pgdir=$(mktemp -d /tmp/phial-pg.XXXXXX)
if [ -z "$PHIAL_TEST_PG_URL" ] && [ -z "$PHIAL_TEST_NO_PG" ]; then
    if url=$(sh tests/pg-cluster.sh start "$pgdir"); then
        # the cluster's folder: tests that stop, restart or freeze it
        # (tests/integration/test_stalls.c) use pg-cluster.sh on it
        export PHIAL_TEST_PG_URL="$url" PHIAL_TEST_PG_DIR="$pgdir"
        pg_started=1
    else
        echo "run.sh: could not start PostgreSQL (set PHIAL_TEST_NO_PG=1 to run without it)" >&2
        exit 1
    fi
fi

passed=0 failed=0 skipped=0 broken=""
for t in $(find "$BUILD/tests" -type f -perm -u+x -name 'test_*' | sort); do
    echo "== $t"
    out=$(mktemp)
    "$t" >"$out" 2>&1
    rc=$?
    cat "$out"
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
    rm -f "$out"
    if [ -z "$line" ]; then
        broken="$broken $t"
        failed=$((failed + 1))
        echo "   (exited $rc without a summary: counted as one failure)"
        continue
    fi
    p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
    s=$(echo "$line" | sed -nE 's/.*, ([0-9]+) skipped.*/\1/p')
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + ${s:-0}))
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
        broken="$broken $t"; failed=$((failed + 1))
        echo "   (exited $rc: counted as one failure)"
    fi
done

[ -n "$pg_started" ] && sh tests/pg-cluster.sh stop "$pgdir" >/dev/null 2>&1
rm -rf "$pgdir"
[ -n "$broken" ] && echo "failing programs:$broken"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
