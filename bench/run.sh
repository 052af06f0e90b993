#!/bin/sh
# Every benchmark of Phial, each a side-by-side comparison run in one go on
# this machine (never asserted by the tests): the HTTP servers side by side
# (bench/http: Phial, the Flask peer, a raw-C baseline, nginx), the ORM
# against a hand-written sqlite3 loop, the template engine against Jinja2.
# Usage: make bench [QUICK=1] [BENCH_ARGS="--workloads users,db --db sqlite"]
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
sh bench/deps.sh
for b in bench/*/run.sh; do
    echo "== $b"
    sh "$b"
done
