#!/usr/bin/python3
"""The side-by-side HTTP benchmark of `make bench`.

Four servers on 127.0.0.1 -- Phial's application (release build), the Flask
peer under gunicorn (../shared/peers/flask/run-peer.sh), the raw-C baseline
(bench/baseline, libmicrohttpd + sqlite3/libpq) and nginx (for the three
pages that touch no database) -- are loaded with wrk: a warm-up, then fixed
runs at each connection count.  The peer runs alone first.  The three C
servers then run side by side, idle but for the one measured: each run of
theirs is cut in parts (--rounds, 2 by default) taken in turn, phial,
baseline, nginx, then nginx, baseline, phial, so that a drift of this shared
machine's speed within a row weighs on each alike (the ratios of the rows
that matter most, 0.8x and 0.9x, are closer than that drift); no server
starts a part while another still works off its queue.  Before loading a
server, each workload's answer is compared with the peer's (the same bytes
for the deterministic pages, the same shape for the random ones), so the
ratios compare frameworks, not pages.  Prints one table (requests/s, p50,
p99, socket errors, non-2xx, peak RSS summed over every process of the
server, the server's CPU time per request, ratios against the peer, the
baseline and nginx) and the targets missed; writes it to
build/bench/http.md and http.json.

usage: run.py [--quick] [--duration S] [--rounds N] [--warmup S] [--connections 64,256]
              [--workloads a,b] [--db sqlite,postgresql] [--servers a,b]
              [--pg-url URL]
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PEERS = os.environ.get("PHIAL_PEERS_DIR", os.path.join(os.path.dirname(TOP), "shared", "peers"))
RELEASE = os.path.join(TOP, "build", "release")

# name, method, path on Phial, path on the peer and the baseline, uses the
# database, how answers are compared ("bytes" or "json")
WORKLOADS = [
    ("hello", "GET", "/", "/", False, "bytes"),
    ("users", "GET", "/bench/users", "/users", True, "bytes"),
    ("handler", "GET", "/bench/handlers/1", "/handlers/1", True, "bytes"),
    ("comment", "POST", "/bench/pets/1/comments", "/pets/1/comments", True, "bytes"),
    ("json", "GET", "/json", "/json", False, "bytes"),
    ("plaintext", "GET", "/plaintext", "/plaintext", False, "bytes"),
    ("db", "GET", "/db", "/db", True, "json"),
    ("queries20", "GET", "/queries?queries=20", "/queries?queries=20", True, "json"),
    ("fortunes", "GET", "/fortunes", "/fortunes", True, "bytes"),
    ("updates20", "GET", "/updates?queries=20", "/updates?queries=20", True, "json"),
]
NGINX_PATHS = {"hello": "/", "json": "/json", "plaintext": "/plaintext"}
SERVERS = ["phial", "peer", "baseline", "nginx"]
COMMENT = "comment_content=A+very+good+dog."
# Phial's run refuses to serve without a key for sessions and CSRF tokens
# (and, started as root as on the bench machine, without ALLOW_ROOT).
BENCH_SECRET_KEY = "bench-secret-key-not-for-production"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc, timeout=30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def tree_pids(root):
    """root and all its descendants."""
    parents = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    st = f.read()
                parents[int(d)] = int(st[st.rfind(")") + 2:].split()[1])
            except OSError:
                pass
    pids, todo = set(), [root]
    while todo:
        p = todo.pop()
        if p in pids:
            continue
        pids.add(p)
        todo.extend(c for c, pp in parents.items() if pp == p)
    return pids


def tree_cpu_s(root):
    """CPU time (user + system) used so far by root and its descendants."""
    ticks = 0
    for p in tree_pids(root):
        try:
            with open("/proc/%d/stat" % p) as f:
                st = f.read()
            fields = st[st.rfind(")") + 2:].split()
            ticks += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return ticks / os.sysconf("SC_CLK_TCK")


def tree_rss_kb(root):
    """Resident memory of root and all its descendants, in KiB."""
    total = 0
    for p in tree_pids(root):
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


class RssSampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop_ = pid, 0, threading.Event()

    def run(self):
        while not self.stop_.is_set():
            self.peak = max(self.peak, tree_rss_kb(self.pid))
            self.stop_.wait(0.25)

    def finish(self):
        self.stop_.set()
        self.join()
        return self.peak


# ---- data ---------------------------------------------------------------------------

def fixtures_sql():
    """100 users, a handler with 20 pets, on top of the TechEmpower data."""
    out = ['DELETE FROM petcomment', 'DELETE FROM petcategory', 'DELETE FROM pethandler',
           'DELETE FROM "user"']
    for i in range(1, 101):
        out.append("INSERT INTO \"user\" (id, username, user_email, user_password) VALUES "
                   "(%d, 'user%d', 'user%d@example.com', 'x')" % (i, i, i))
    out.append("INSERT INTO pethandler (handler_id, handler_name) VALUES (1, 'Ann Smith')")
    kinds = ["cat", "dog", "rabbit", "parrot"]
    for i in range(1, 21):
        out.append("INSERT INTO petcategory (pet_id, pet_name, pet_category, handler_id) VALUES "
                   "(%d, 'Pet %d', '%s', 1)" % (i, i, kinds[i % 4]))
    return ";\n".join(out) + ";\n"


def load_data(url, kind):
    env = dict(os.environ, DATABASE_URL=url, TEMPLATE_FOLDER=os.path.join(TOP, "app/templates"))
    subprocess.run([os.path.join(RELEASE, "app"), "db", "drop", "--yes"], env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=TOP)
    subprocess.run([os.path.join(RELEASE, "app"), "db", "create"], env=env, check=True,
                   stdout=subprocess.DEVNULL, cwd=TOP)
    with open(os.path.join(PEERS, "techempower-data.sql")) as f:
        sql = f.read() + fixtures_sql()
    if kind == "sqlite":
        db = sqlite3.connect(url[len("sqlite:///"):])
        db.executescript(sql)
        db.commit()
        db.close()
    else:
        subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", url], input=sql.encode(),
                       check=True, stdout=subprocess.DEVNULL)


def start_pg():
    """A throwaway cluster (tests/pg-cluster.sh) in its own folder under /tmp,
    which the postgres user can reach; its URL and a function that stops it."""
    d = tempfile.mkdtemp(prefix="phial-bench-pg.")
    script = os.path.join(TOP, "tests/pg-cluster.sh")
    p = subprocess.run(["sh", script, "start", d], capture_output=True, text=True)
    if p.returncode != 0:
        shutil.rmtree(d, ignore_errors=True)
        raise RuntimeError("could not start PostgreSQL: " + p.stderr.strip())

    def stop():
        subprocess.run(["sh", script, "stop", d], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        shutil.rmtree(d, ignore_errors=True)
    return p.stdout.strip(), stop


# ---- servers ------------------------------------------------------------------------

class Server:
    def __init__(self, name, tmp, url):
        self.name, self.tmp, self.url = name, tmp, url
        self.port = free_port()
        self.proc = None
        self.logf = open(os.path.join(tmp, name + ".log"), "ab")

    def start(self):
        env = dict(os.environ, DATABASE_URL=self.url)
        if self.name == "phial":
            env.update(ACCESS_LOG="0", LOG_LEVEL="warn", SECRET_KEY=BENCH_SECRET_KEY,
                       ALLOW_ROOT="1", TEMPLATE_FOLDER=os.path.join(TOP, "app/templates"),
                       STATIC_FOLDER=os.path.join(TOP, "app/static"))
            cmd = [os.path.join(RELEASE, "app"), "run", "--host", "127.0.0.1",
                   "--port", str(self.port)]
            cwd = TOP
        elif self.name == "peer":
            env["PIDFILE"] = os.path.join(self.tmp, "peer.pid")
            cmd = ["sh", os.path.join(PEERS, "flask", "run-peer.sh"), str(self.port)]
            cwd = self.tmp
        elif self.name == "baseline":
            cmd = [os.path.join(RELEASE, "bench-baseline"), "--port", str(self.port),
                   "--db", self.url, "--threads", str(os.cpu_count())]
            cwd = self.tmp
        else:
            conf = os.path.join(self.tmp, "nginx.conf")
            with open(conf, "w") as f:
                f.write(NGINX_CONF % {"tmp": self.tmp, "port": self.port})
            cmd = ["nginx", "-c", conf, "-p", self.tmp, "-e", os.path.join(self.tmp, "nginx.err")]
            cwd = self.tmp
        self.proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=self.logf, stderr=self.logf,
                                     start_new_session=True)
        if not wait_port(self.port, self.proc):
            self.stop()
            raise RuntimeError("%s did not start (see %s.log)" % (self.name, self.name))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM if self.name != "nginx" else signal.SIGQUIT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    def base(self):
        return "http://127.0.0.1:%d" % self.port


NGINX_CONF = """worker_processes auto;
daemon off;
pid %(tmp)s/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path %(tmp)s/nginx-body;
    server {
        listen 127.0.0.1:%(port)d;
        location = / { default_type "text/html; charset=utf-8"; return 200 "Hello world"; }
        location = /json { default_type application/json; return 200 '{"message":"Hello, World!"}\\n'; }
        location = /plaintext { default_type text/plain; return 200 "Hello, World!"; }
    }
}
"""


def fetch(base, method, path, body=None, headers=None):
    """One request.  A server may still be working off the queue of the
    previous run (the peer takes minutes on /queries), so a timeout is
    retried for up to three minutes before it counts as a failure."""
    req = urllib.request.Request(base + path, data=body, method=method, headers=headers or {})
    for attempt in range(3):
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, r.headers.get("Content-Type"), r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Content-Type"), e.headers, e.read()
        except (TimeoutError, socket.timeout):
            if attempt == 2:
                raise
            log("   (%s%s still busy: waiting)" % (base, path))


def csrf_for(base, w):
    """The CSRF token and cookie of the comment form on the pet's page
    (/pets/1 on every server), when the page has one: (form fields to add,
    Cookie header) fetched once."""
    pet_page = w[3].rsplit("/comments", 1)[0]
    try:
        status, _, headers, body = fetch(base, "GET", pet_page)
    except OSError:
        return "", None
    if status != 200:
        return "", None
    m = re.search(rb'name="(csrf_token)"[^>]*value="([^"]+)"', body) or \
        re.search(rb'value="([^"]+)"[^>]*name="(csrf_token)"', body)
    if not m:
        return "", None
    name, value = (m.group(1), m.group(2)) if m.group(1) == b"csrf_token" else (m.group(2), m.group(1))
    cookies = [c.split(";", 1)[0] for c in headers.get_all("Set-Cookie") or []]
    field = "&%s=%s" % (name.decode(), urllib.request.quote(value.decode(), safe=""))
    return field, "; ".join(cookies) or None


def answer(base, w, path, csrf):
    if w[1] == "POST":
        field, cookie = csrf
        hdr = {"Content-Type": "application/x-www-form-urlencoded"}
        if cookie:
            hdr["Cookie"] = cookie
        return fetch(base, "POST", path, (COMMENT + field).encode(), hdr)
    return fetch(base, "GET", path)


def same_work(w, mine, peer):
    """Whether an answer is the peer's: same status, type and bytes, or for
    the random JSON workloads the same status, type and shape."""
    if mine[0] != peer[0] or mine[1] != peer[1]:
        return False
    if w[5] == "bytes":
        return mine[3] == peer[3]
    a, b = json.loads(mine[3]), json.loads(peer[3])
    shape = lambda v: [sorted(x) for x in v] if isinstance(v, list) else sorted(v)
    return shape(a) == shape(b) and mine[3].endswith(b"\n") == peer[3].endswith(b"\n")


# ---- wrk ------------------------------------------------------------------------------

LUA_POST = """wrk.method = "POST"
wrk.body = %s
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
%s
"""


def lua_quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def ms(v, unit):
    return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url, conns, duration, script=None):
    cmd = ["wrk", "-t1", "-c%d" % conns, "-d%ds" % round(duration), "--latency", "--timeout", "10s"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run(cmd + [url], capture_output=True, text=True).stdout
    res = {"rps": 0.0, "p50": None, "p99": None, "errors": 0, "non2xx": 0, "requests": 0,
           "raw": out}
    m = re.search(r"(\d+) requests in", out)
    if m:
        res["requests"] = int(m.group(1))
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if m:
        res["rps"] = float(m.group(1))
    for pct, key in (("50", "p50"), ("99", "p99")):
        m = re.search(r"^\s+%s(?:\.000)?%%\s+([\d.]+)(us|ms|s)\s*$" % pct, out, re.M)
        if m:
            res[key] = ms(m.group(1), m.group(2))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        res["errors"] = sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        res["non2xx"] = int(m.group(1))
    return res


# ---- measuring -------------------------------------------------------------------------

def quiet(servers, limit=30.0):
    """Waits until no server of the list is still working off the queue of
    the previous run (less than 2% of a core over 0.2 s), for up to limit
    seconds, so that one server's backlog never runs during another's
    measurement."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        before = sum(tree_cpu_s(s.proc.pid) for s in servers)
        time.sleep(0.2)
        if sum(tree_cpu_s(s.proc.pid) for s in servers) - before < 0.004:
            return


def measure(srv, c, seconds, script):
    """One wrk run of one server: its result with the server's CPU time."""
    cpu0 = tree_cpu_s(srv.proc.pid)
    r = wrk(srv.target, c, seconds, script)
    r["cpu_s"] = tree_cpu_s(srv.proc.pid) - cpu0
    r["seconds"] = seconds
    del r["raw"]
    return r


def combine(parts, kind, w, c, name, rss_kb, same):
    """The halves of a server's run as one result: requests/s over the whole
    time, CPU per request over all requests, p50 the mean of the halves',
    p99 the worst."""
    total_s = sum(p["seconds"] for p in parts)
    reqs = sum(p["requests"] for p in parts)
    cpu = sum(p["cpu_s"] for p in parts)
    p50 = [p["p50"] for p in parts if p["p50"] is not None]
    p99 = [p["p99"] for p in parts if p["p99"] is not None]
    return dict(db=kind, workload=w[0], conns=c, server=name, same=same, rss_kb=rss_kb,
                rps=sum(p["rps"] * p["seconds"] for p in parts) / total_s, requests=reqs,
                p50=sum(p50) / len(p50) if p50 else None, p99=max(p99) if p99 else None,
                errors=sum(p["errors"] for p in parts), non2xx=sum(p["non2xx"] for p in parts),
                cpu_us=cpu * 1e6 / reqs if reqs else None,
                halves=[round(p["rps"]) for p in parts])


def post_script(tmp, name, csrf):
    field, cookie = csrf
    script = os.path.join(tmp, "post-%s.lua" % name)
    with open(script, "w") as f:
        f.write(LUA_POST % (lua_quote(COMMENT + field),
                            'wrk.headers["Cookie"] = %s' % lua_quote(cookie) if cookie else ""))
    return script


def run_db(kind, url, tmp, ws, servers, conns, a, results, problems):
    """Every workload of one database: the peer alone first (its answers are
    the reference, and its backlog must not overlap the others' runs), then
    the C servers all started together and measured in turns on each
    workload, in halves: phial, baseline, nginx, then nginx, baseline,
    phial, so that a drift of the machine's speed during a row weighs on
    each server alike."""
    peer_answers = {}
    peer = Server("peer", tmp, url)
    log("== peer on %s (port %d)" % (kind, peer.port))
    peer.start()
    try:
        for w in ws:
            csrf = csrf_for(peer.base(), w) if w[1] == "POST" else ("", None)
            peer_answers[w[0]] = answer(peer.base(), w, w[3], csrf)
            if "peer" not in servers:
                continue
            peer.target = peer.base() + w[3]
            script = post_script(tmp, "peer", csrf) if w[1] == "POST" else None
            wrk(peer.target, max(conns), a.warmup, script)
            quiet([peer])
            for c in conns:
                sampler = RssSampler(peer.proc.pid)
                sampler.start()
                r = measure(peer, c, a.duration, script)
                results.append(combine([r], kind, w, c, "peer", sampler.finish(), True))
                report_row(results[-1])
                quiet([peer], 180)
    finally:
        peer.stop()
    order = [s for s in ("phial", "baseline", "nginx") if s in servers and
             (s != "nginx" or kind == "sqlite")]
    up = []
    try:
        for name in order:
            srv = Server(name, tmp, url)
            log("== %s on %s (port %d)" % (name, kind, srv.port))
            srv.start()
            up.append(srv)
        for w in ws:
            mine = [s for s in up if s.name != "nginx" or w[0] in NGINX_PATHS]
            if not mine:
                continue
            plan = {}
            for srv in mine:
                path = NGINX_PATHS.get(w[0]) if srv.name == "nginx" else \
                    (w[2] if srv.name == "phial" else w[3])
                csrf = csrf_for(srv.base(), w) if w[1] == "POST" else ("", None)
                got = answer(srv.base(), w, path, csrf)
                same = same_work(w, got, peer_answers[w[0]])
                if not same:
                    problems.append("%s %s on %s: answer differs from the peer's "
                                    "(%s %s, %d bytes)" % (srv.name, w[0], kind, got[0],
                                                            got[1], len(got[3])))
                srv.target = srv.base() + path
                plan[srv.name] = (srv, post_script(tmp, srv.name, csrf)
                                  if w[1] == "POST" else None, same)
                wrk(srv.target, max(conns), a.warmup, plan[srv.name][1])
            for c in conns:
                parts = {s.name: [] for s in mine}
                samplers = {s.name: RssSampler(s.proc.pid) for s in mine}
                for s in samplers.values():
                    s.start()
                turns = [mine if i % 2 == 0 else mine[::-1] for i in range(a.rounds)]
                for turn in turns:
                    for srv in turn:
                        quiet(up)
                        script = plan[srv.name][1]
                        parts[srv.name].append(measure(srv, c, a.duration / a.rounds, script))
                for srv in mine:
                    results.append(combine(parts[srv.name], kind, w, c, srv.name,
                                           samplers[srv.name].finish(), plan[srv.name][2]))
                    report_row(results[-1])
    finally:
        for srv in up:
            srv.stop()


def report_row(r):
    log("   %-9s %-10s c=%-3d %10.0f req/s  p50 %s ms  p99 %s ms  err %d  non2xx %d  "
        "rss %d MiB  cpu %s us/req  halves %s" % (
            r["server"], r["workload"], r["conns"], r["rps"], r["p50"], r["p99"], r["errors"],
            r["non2xx"], r["rss_kb"] // 1024, "%.0f" % r["cpu_us"] if r["cpu_us"] else "-",
            r["halves"]))


# ---- the run ----------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 s a run after a 1 s warm-up, 64 connections")
    ap.add_argument("--duration", type=float, default=10, help="seconds of each measured run")
    ap.add_argument("--rounds", type=int, default=2,
                    help="parts of each run of the C servers, in alternating order")
    ap.add_argument("--warmup", type=int, default=3, help="seconds of warm-up before the runs")
    ap.add_argument("--connections", default="64,256")
    ap.add_argument("--workloads", default=",".join(w[0] for w in WORKLOADS))
    ap.add_argument("--db", default="sqlite,postgresql")
    ap.add_argument("--servers", default=",".join(SERVERS))
    ap.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL"),
                    help="an existing empty PostgreSQL database (default: a throwaway cluster)")
    a = ap.parse_args()
    if a.quick:
        a.duration, a.warmup, a.connections = 2, 1, "64"
    conns = [int(c) for c in a.connections.split(",")]
    names = a.workloads.split(",")
    unknown = [n for n in names if n not in [w[0] for w in WORKLOADS]]
    servers = a.servers.split(",")
    dbs = a.db.split(",")
    if unknown or any(s not in SERVERS for s in servers) or \
            any(d not in ("sqlite", "postgresql") for d in dbs) or a.duration < 1 or \
            a.rounds < 1 or a.duration / a.rounds < 1:
        ap.error("unknown workload, server or database (workloads: %s), or runs under "
                 "a second" % ", ".join(w[0] for w in WORKLOADS))
    if not os.path.exists(os.path.join(PEERS, "flask", "run-peer.sh")):
        sys.exit("bench: the Flask peer is not at %s (set PHIAL_PEERS_DIR)" % PEERS)
    workloads = [w for w in WORKLOADS if w[0] in names]
    tmp = tempfile.mkdtemp(prefix="phial-bench.")
    results, stop_pg, problems = [], None, []
    try:
        for kind in dbs:
            if kind == "sqlite":
                url = "sqlite:///%s/bench.db" % tmp
            else:
                url = a.pg_url
                if not url:
                    url, stop_pg = start_pg()
            load_data(url, kind)
            ws = [w for w in workloads if kind == "sqlite" or w[4]]
            run_db(kind, url, tmp, ws, servers, conns, a, results, problems)
            if stop_pg:
                stop_pg()
                stop_pg = None
    except BaseException:
        if results:  # what was measured before the failure
            report(results, problems, a)
        raise
    finally:
        if stop_pg:
            stop_pg()
        shutil.rmtree(tmp, ignore_errors=True)
    report(results, problems, a)


def report(results, problems, a):
    def find(db, w, c, s):
        for r in results:
            if (r["db"], r["workload"], r["conns"], r["server"]) == (db, w, c, s):
                return r
        return None

    lines = ["| db | workload | conns | server | req/s | p50 ms | p99 ms | errors | non-2xx | "
             "peak RSS MiB | CPU µs/req | × peer | × baseline | × nginx | CPU × baseline |",
             "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    misses = []
    for r in results:
        ratios = ["", "", "", ""]
        if r["server"] == "phial":
            b = find(r["db"], r["workload"], r["conns"], "baseline")
            if b and b.get("cpu_us") and r.get("cpu_us"):
                ratios[3] = "%.2f" % (r["cpu_us"] / b["cpu_us"])
            for i, other in enumerate(("peer", "baseline", "nginx")):
                o = find(r["db"], r["workload"], r["conns"], other)
                if o and o["rps"]:
                    ratios[i] = "%.2f" % (r["rps"] / o["rps"])
            peer = find(r["db"], r["workload"], r["conns"], "peer")
            base = find(r["db"], r["workload"], r["conns"], "baseline")
            ngx = find(r["db"], r["workload"], r["conns"], "nginx")
            tag = "%s %s c=%d" % (r["db"], r["workload"], r["conns"])
            heavy = r["workload"] not in ("hello", "json", "plaintext")
            if heavy and peer and peer["rps"] and r["rps"] < 30 * peer["rps"]:
                misses.append("%s: %.1f× the peer (target ≥ 30×)" % (tag, r["rps"] / peer["rps"]))
            if ngx and ngx["rps"] and r["rps"] < 0.9 * ngx["rps"]:
                misses.append("%s: %.2f× nginx (target ≥ 0.9×)" % (tag, r["rps"] / ngx["rps"]))
            if base and base["rps"] and r["rps"] < 0.8 * base["rps"]:
                misses.append("%s: %.2f× the baseline (target ≥ 0.8×)" % (tag, r["rps"] / base["rps"]))
            if peer and peer["rss_kb"] and r["rss_kb"] * 10 > peer["rss_kb"]:
                misses.append("%s: peak RSS %d MiB vs the peer's %d MiB (target ≤ 1/10)" %
                              (tag, r["rss_kb"] // 1024, peer["rss_kb"] // 1024))
        if r["errors"] or r["non2xx"]:
            misses.append("%s %s %s c=%d: %d errors, %d non-2xx (target 0)" %
                          (r["server"], r["db"], r["workload"], r["conns"], r["errors"], r["non2xx"]))
        f = lambda v: "%.2f" % v if v is not None else "-"
        lines.append("| %s | %s | %d | %s | %.0f | %s | %s | %d | %d | %.1f | %s | %s | %s | %s | %s |"
                     % (r["db"], r["workload"] + ("" if r["same"] else " (DIFFERS)"), r["conns"],
                        r["server"], r["rps"], f(r["p50"]), f(r["p99"]), r["errors"], r["non2xx"],
                        r["rss_kb"] / 1024.0, "%.0f" % r["cpu_us"] if r.get("cpu_us") else "-",
                        *ratios))
    machine = ("%d cores, %s; wrk -t1, %g s runs after a %d s warm-up, the C servers' "
               "in %d parts taken in alternating order" % (
                   os.cpu_count(), cpu_model(), a.duration, a.warmup, a.rounds))
    text = "\n".join(lines) + "\n\nMachine: " + machine + "\n"
    if problems:
        text += "\nAnswers that differ from the peer's:\n" + "".join("- %s\n" % p for p in problems)
    text += "\nTargets missed:\n" + ("".join("- %s\n" % m for m in misses) if misses else "- none\n")
    text = summary(results) + "\nEvery run:\n\n" + text
    print(text)
    out = os.path.join(TOP, "build", "bench")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "http.md"), "w") as f:
        f.write(text)
    with open(os.path.join(out, "http.json"), "w") as f:
        json.dump({"machine": machine, "results": results, "problems": problems,
                   "misses": misses}, f, indent=1)


def summary(results):
    """The table in short: one row per database, workload and connection
    count, Phial against the others."""
    rows = {}
    for r in results:
        rows.setdefault((r["db"], r["workload"], r["conns"]), {})[r["server"]] = r
    out = ["| db | workload | conns | Phial req/s | p50 / p99 ms | peer | baseline | nginx | "
           "× peer | × baseline | × nginx | RSS MiB Phial / peer | CPU µs/req Phial / baseline "
           "| errors + non-2xx |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for (db, w, c), by in rows.items():
        ph = by.get("phial")
        if not ph:
            continue
        rps = lambda s: "%.0f" % by[s]["rps"] if s in by else "-"
        ratio = lambda s: "%.2f" % (ph["rps"] / by[s]["rps"]) if by.get(s, {}).get("rps") else "-"
        peer, base = by.get("peer"), by.get("baseline")
        bad = sum(x["errors"] + x["non2xx"] for x in by.values())
        out.append("| %s | %s | %d | %.0f | %s / %s | %s | %s | %s | %s | %s | %s | %.0f / %s | %s / %s | %d |" % (
            db, w, c, ph["rps"], "%.1f" % ph["p50"] if ph["p50"] is not None else "-",
            "%.0f" % ph["p99"] if ph["p99"] is not None else "-", rps("peer"), rps("baseline"),
            rps("nginx"), ratio("peer"), ratio("baseline"), ratio("nginx"), ph["rss_kb"] / 1024,
            "%.0f" % (peer["rss_kb"] / 1024) if peer else "-",
            "%.0f" % ph["cpu_us"] if ph.get("cpu_us") else "-",
            "%.0f" % base["cpu_us"] if base and base.get("cpu_us") else "-", bad))
    return "\n".join(out) + "\n"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


if __name__ == "__main__":
    main()
