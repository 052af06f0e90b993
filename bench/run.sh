#!/bin/sh
# Every benchmark of Phial, each a side-by-side comparison run in one go on
# this machine (never asserted by the tests): the ORM against a hand-written
# sqlite3 loop, the template engine against Jinja2.  Usage: make bench
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
for b in bench/*/run.sh; do
    echo "== $b"
    sh "$b"
done
