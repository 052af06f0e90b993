#!/usr/bin/python3
"""Renders every conformance case with Jinja2 itself and prints the results
as JSON: {"case name": {"ok": true, "out": "..."} or {"ok": false,
"err": "..."}}.  Run with Debian's /usr/bin/python3 (python3-jinja2).

Usage: jinja_expected.py CASES_DIR
Each CASES_DIR/*.json file maps case names to
  {"t": SOURCE}                 one template named main.html, or
  {"templates": {NAME: SOURCE}, "render": NAME}
plus an optional "ctx" object (the render context) and "name" to rename
the single template (to pick autoescape by extension).
"""
import json
import os
import sys

import jinja2


def main():
    cases_dir = sys.argv[1]
    results = {}
    for fn in sorted(os.listdir(cases_dir)):
        if not fn.endswith(".json"):
            continue
        with open(os.path.join(cases_dir, fn), encoding="utf-8") as f:
            cases = json.load(f)
        for name, case in cases.items():
            if "t" in case:
                tname = case.get("name", "main.html")
                templates = {tname: case["t"]}
            else:
                templates = case["templates"]
                tname = case["render"]
            env = jinja2.Environment(
                loader=jinja2.DictLoader(templates),
                autoescape=jinja2.select_autoescape(["html", "htm", "xml", "svg"]),
            )
            try:
                out = env.get_template(tname).render(**case.get("ctx", {}))
                results[name] = {"ok": True, "out": out}
            except Exception as e:  # every Jinja error: Phial must fail too
                results[name] = {"ok": False, "err": "%s: %s" % (type(e).__name__, e)}
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
