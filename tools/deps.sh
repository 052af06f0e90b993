#!/bin/sh
# Installs the Debian packages one use of Phial needs, when missing, and
# says which.  As root it runs apt-get; otherwise it prints the exact
# command to run.
#
#   sh tools/deps.sh run    what building and serving the tutorial needs (make run)
#   sh tools/deps.sh test   that plus what the tests need (make test, make check-asan)
#   sh tools/deps.sh fuzz   that plus clang's libFuzzer (make fuzz)
#   sh tools/deps.sh all    everything (make deps)
set -e
what=${1:-all}
# building and serving: compiler, pkg-config and the libraries Phial links
run="build-essential pkg-config libuv1-dev libsqlite3-dev libpq-dev libsodium-dev
     libjansson-dev libunistring-dev"
# the tests: a throwaway PostgreSQL, Jinja2 and Flask-SQLAlchemy (expected
# outputs), the sqlite3 shell, libcurl for test and benchmark clients,
# chromium for the browser tests (tests/e2e, driven by node's playwright-core;
# Debian's nodejs and npm are added below when there is no node at all)
test="postgresql python3-jinja2 python3-flask-sqlalchemy sqlite3 libcurl4-openssl-dev nginx-light
      chromium"
fuzz="clang libclang-rt-14-dev"
case "$what" in
run) want="$run" ;;
test) want="$run $test" ;;
fuzz) want="$run $fuzz" ;;
all) want="$run $test $fuzz" ;;
*)
    echo "usage: sh tools/deps.sh run|test|fuzz|all" >&2
    exit 2
    ;;
esac
need=""
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for p in $want; do
    have_pkg "$p" || need="$need $p"
done
case "$what" in
test | all)
    # any node will do (Debian 12's is 18; playwright-core is pinned to a
    # release that runs on it)
    if ! command -v node >/dev/null 2>&1; then
        need="$need nodejs npm"
    elif ! command -v npm >/dev/null 2>&1; then
        need="$need npm"
    fi
    ;;
esac
if [ -n "$need" ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "deps ($what): installing$need"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends $need >/dev/null
    else
        echo "deps ($what): missing Debian packages; run as root:" >&2
        echo "  apt-get install -y$need" >&2
        exit 1
    fi
fi
case "$what" in
test | all)
    # the browser tests' npm package, exactly as the lock file pins it (no
    # browser download: the tests use Debian's chromium)
    e2e=$(cd "$(dirname "$0")/../tests/e2e" && pwd)
    want_v=$(sed -n '/"node_modules\/playwright-core"/,/version/s/.*"version": "\(.*\)".*/\1/p' \
        "$e2e/package-lock.json")
    have_v=$(sed -n 's/^  "version": "\(.*\)".*/\1/p' \
        "$e2e/node_modules/playwright-core/package.json" 2>/dev/null || true)
    if [ "$want_v" != "$have_v" ]; then
        echo "deps ($what): npm ci in tests/e2e (playwright-core $want_v)"
        (cd "$e2e" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund \
            --loglevel=error >/dev/null)
    fi
    ;;
esac
exit 0
