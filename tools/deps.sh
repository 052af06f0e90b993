#!/bin/sh
# Installs the Debian packages Phial builds and tests with, when missing.
# As root it runs apt-get; otherwise it prints the exact command to run.
set -e
need=""
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for p in build-essential pkg-config libuv1-dev libsqlite3-dev libpq-dev \
         libsodium-dev libjansson-dev libunistring-dev libcurl4-openssl-dev postgresql python3-jinja2 \
         python3-flask-sqlalchemy sqlite3 clang libclang-rt-14-dev nginx-light; do
    have_pkg "$p" || need="$need $p"
done
[ -z "$need" ] && exit 0
if [ "$(id -u)" = 0 ]; then
    echo "deps: installing$need"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $need >/dev/null
else
    echo "deps: missing Debian packages; run as root:" >&2
    echo "  apt-get install -y$need" >&2
    exit 1
fi
