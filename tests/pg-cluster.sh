#!/bin/sh
# A throwaway PostgreSQL cluster for the tests, on 127.0.0.1 and a free port.
#   pg-cluster.sh start DIR   prints the database URL on success
#   pg-cluster.sh stop DIR
#   pg-cluster.sh restart DIR          stop (fast) and start again, same port
#   pg-cluster.sh start-existing DIR   start a stopped cluster again, same port
# PostgreSQL refuses to run as root, so as root the cluster runs as the
# postgres user.
set -e
cmd=$1 dir=$2
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bindir" ] || { echo "pg-cluster: no PostgreSQL server installed" >&2; exit 1; }
as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "$cmd" in
start)
    rm -rf "$dir"; mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    as_pg "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 >"$dir/initdb.log" 2>&1
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 55432)
    echo "$port" >"$dir/port"
    as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c max_connections=200" start >/dev/null
    as_pg "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres phial_test
    echo "postgresql://postgres@127.0.0.1:$port/phial_test"
    ;;
start-existing)
    port=$(cat "$dir/port")
    as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c max_connections=200" start >/dev/null
    ;;
restart)
    as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 restart >/dev/null
    ;;
stop)
    as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop
    ;;
*) echo "usage: pg-cluster.sh start|stop|restart|start-existing DIR" >&2; exit 2 ;;
esac
