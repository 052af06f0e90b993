#!/usr/bin/python3
"""Instructions per request, Phial against the raw-C baseline, under callgrind.

Wall-clock figures on a shared 2-core machine are noisy; the number of
instructions a server executes per request is not.  For each workload this
starts Phial's release build (one worker, one thread) and the baseline (one
thread) under valgrind --tool=callgrind, sends a warm-up, zeroes the
counters, sends N requests one after another on one keep-alive connection,
dumps the counters and divides.  Both servers run the same queries and send
the same bytes (bench/http/run.py checks that), so the difference is what
the framework costs, HTTP layer included.  A second figure is the part
above the HTTP layer: the instructions inside Phial's ph_app_handle (routing,
request context, sessions and CSRF, the handler: ORM, templates, response)
and inside the baseline's handler function.  The dumps stay in --out for
callgrind_annotate.

usage: profile.py [--requests N] [--warmup N] [--workloads a,b]
                  [--servers phial,baseline] [--db sqlite|postgresql]
                  [--pg-url URL] [--out DIR]
"""
import argparse
import glob
import http.client
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("bench_run", os.path.join(HERE, "run.py"))
run = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run)


def start(name, tmp, url, out):
    port = run.free_port()
    env = dict(os.environ, DATABASE_URL=url)
    vg = ["valgrind", "--tool=callgrind", "--trace-children=yes",
          "--callgrind-out-file=%s/%s.%%p.out" % (out, name)]
    if name == "phial":
        env.update(ACCESS_LOG="0", LOG_LEVEL="warn", WORKERS="1", THREADS="1",
                   SECRET_KEY=run.BENCH_SECRET_KEY, ALLOW_ROOT="1",
                   TEMPLATE_FOLDER=os.path.join(run.TOP, "app/templates"),
                   STATIC_FOLDER=os.path.join(run.TOP, "app/static"))
        cmd = [os.path.join(run.RELEASE, "app"), "run", "--host", "127.0.0.1",
               "--port", str(port)]
    else:
        cmd = [os.path.join(run.RELEASE, "bench-baseline"), "--port", str(port),
               "--db", url, "--threads", "1"]
    logf = open(os.path.join(tmp, name + ".log"), "ab")
    proc = subprocess.Popen(vg + cmd, env=env, cwd=run.TOP if name == "phial" else tmp,
                            stdout=logf, stderr=logf, start_new_session=True)
    if not run.wait_port(port, proc, 120):
        stop(proc)
        with open(os.path.join(tmp, name + ".log"), errors="replace") as f:
            sys.stderr.write(f.read()[-2000:])
        sys.exit("%s did not start under valgrind" % name)
    return proc, port


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def control(opt, pids):
    for p in pids:
        subprocess.run(["callgrind_control", opt, str(p)], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


def send(port, w, path, csrf, n):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    body, hdr = None, {}
    if w[1] == "POST":
        field, cookie = csrf
        body = (run.COMMENT + field).encode()
        hdr = {"Content-Type": "application/x-www-form-urlencoded"}
        if cookie:
            hdr["Cookie"] = cookie
    for _ in range(n):
        c.request(w[1], path, body=body, headers=hdr)
        r = c.getresponse()
        r.read()
        if r.status >= 300:
            sys.exit("%s %s: status %d" % (w[1], path, r.status))
    c.close()


# The function whose inclusive count is the part above the HTTP layer.
HANDLER_FN = {"phial": "ph_app_handle", "baseline": "handle"}


def inclusive(f, fn):
    """Instructions spent inside fn (inclusive), from one dump."""
    out = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", f],
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+) \([^)]*\)\s+\S*:%s \[" % re.escape(fn), line)
        if m:
            return int(m.group(1).replace(",", ""))
    return 0


def dumped_total(out, name, pids):
    """Instructions in the dumps made by callgrind_control -d (files *.out.N):
    in all, and inside the handler function."""
    total = handler = 0
    for p in pids:
        for f in glob.glob("%s/%s.%d.out.*" % (out, name, p)):
            with open(f) as fh:
                for line in fh:
                    m = re.match(r"(?:summary|totals): (\d+)", line)
                    if m:
                        total += int(m.group(1))
                        break
            handler += inclusive(f, HANDLER_FN[name])
            os.rename(f, f + ".done")
    return total, handler


def measure(name, w, url, tmp, out, warmup, n):
    proc, port = start(name, tmp, url, out)
    try:
        path = w[2] if name == "phial" else w[3]
        csrf = run.csrf_for("http://127.0.0.1:%d" % port, w) if w[1] == "POST" else ("", None)
        send(port, w, path, csrf, warmup)
        pids = sorted(run.tree_pids(proc.pid))
        control("-z", pids)
        send(port, w, path, csrf, n)
        control("-d", pids)
        time.sleep(0.5)
        total, handler = dumped_total(out, name, pids)
    finally:
        stop(proc)
    for f in glob.glob("%s/%s.*.out.*.done" % (out, name)):  # NAME-WORKLOAD.PID.callgrind
        pid = f[len("%s/%s." % (out, name)):].split(".")[0]
        os.rename(f, "%s/%s-%s.%s.callgrind" % (out, name, w[0], pid))
    for f in glob.glob("%s/%s.*.out" % (out, name)):  # the counts after the dump
        os.unlink(f)
    return total / n, handler / n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--workloads", default=",".join(w[0] for w in run.WORKLOADS))
    ap.add_argument("--servers", default="phial,baseline")
    ap.add_argument("--db", default="sqlite", choices=["sqlite", "postgresql"])
    ap.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL"))
    ap.add_argument("--out", default=os.path.join(run.TOP, "build", "bench", "callgrind"))
    a = ap.parse_args()
    names = a.workloads.split(",")
    workloads = [w for w in run.WORKLOADS if w[0] in names]
    if len(workloads) != len(names) or a.requests < 1 or \
            any(s not in HANDLER_FN for s in a.servers.split(",")):
        ap.error("unknown workload (workloads: %s)" % ", ".join(w[0] for w in run.WORKLOADS))
    a.out = os.path.abspath(a.out)
    os.makedirs(a.out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="phial-profile.")
    stop_pg = None
    try:
        if a.db == "sqlite":
            url = "sqlite:///%s/bench.db" % tmp
        else:
            url = a.pg_url
            if not url:
                url, stop_pg = run.start_pg()
        servers = a.servers.split(",")
        print("| workload | %s | Phial / baseline | %s | Phial / baseline |" % (
            " | ".join("%s instr/req" % s for s in servers),
            " | ".join("%s in %s" % (s, HANDLER_FN[s]) for s in servers)))
        print("|---|%s---:|%s---:|" % ("---:|" * len(servers), "---:|" * len(servers)))
        for w in workloads:
            if a.db != "sqlite" and not w[4]:
                continue
            got = {}
            for s in servers:
                run.load_data(url, a.db)  # same data for each: comments and updates write
                got[s] = measure(s, w, url, tmp, a.out, a.warmup, a.requests)

            def ratio(i):
                ph, base = got.get("phial"), got.get("baseline")
                return "%.2f" % (ph[i] / base[i]) if ph and base and base[i] else "-"
            print("| %s | %s | %s | %s | %s |" % (
                w[0], " | ".join("%.0f" % v[0] for v in got.values()), ratio(0),
                " | ".join("%.0f" % v[1] for v in got.values()), ratio(1)), flush=True)
    finally:
        if stop_pg:
            stop_pg()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
