#!/bin/sh
# Installs what `make bench` needs beyond `make test`'s packages, when
# missing: wrk (the load), nginx-light (the static reference), gunicorn and
# the Flask peer's Python packages (python3-psycopg2 for its PostgreSQL
# runs), libmicrohttpd-dev (the raw-C baseline).  As root it runs apt-get;
# otherwise it prints the command.
set -e
need=""
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for p in wrk nginx-light gunicorn python3-flask python3-flask-sqlalchemy python3-psycopg2 \
         libmicrohttpd-dev libsqlite3-dev libpq-dev postgresql; do
    have_pkg "$p" || need="$need $p"
done
[ -z "$need" ] && exit 0
if [ "$(id -u)" = 0 ]; then
    echo "bench deps: installing$need"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $need >/dev/null
else
    echo "bench deps: missing Debian packages; run as root:" >&2
    echo "  apt-get install -y$need" >&2
    exit 1
fi
