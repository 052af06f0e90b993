#!/usr/bin/python3
"""Jinja2 side of the template benchmark: the same fortunes page and rows,
template compiled once, rendered N times; prints microseconds per render
and the output length (or the page itself with BENCH_PRINT set)."""
import os
import sys
import time

import jinja2


class Fortune:
    __slots__ = ("id", "message")

    def __init__(self, id, message):
        self.id = id
        self.message = message


def main():
    d, n = sys.argv[1], int(sys.argv[2])
    with open(os.path.join(d, "messages.txt"), encoding="utf-8") as f:
        msgs = [l.rstrip("\n") for l in f if l.strip("\n")]
    rows = [Fortune(i + 1, msgs[i % len(msgs)]) for i in range(100)]
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(d),
                             autoescape=jinja2.select_autoescape(["html"]))
    t = env.get_template("fortunes.html")
    out = ""
    t0 = time.process_time()
    for _ in range(n):
        out = t.render(fortunes=rows)
    t1 = time.process_time()
    if os.environ.get("BENCH_PRINT"):
        sys.stdout.write(out)
        return
    print("%.3f %d" % ((t1 - t0) * 1e6 / n, len(out.encode("utf-8"))))


if __name__ == "__main__":
    main()
