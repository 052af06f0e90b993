"""Answers one GET with the Flask peer (its app.py, run in-process by
Flask's test client) on a given database, for byte comparisons with Phial.

usage: flask_peer.py PEER_DIR DATABASE_URL PATH OUT
OUT gets the status, the Content-Type and the body, as
"<status>\n<content-type>\n<body bytes>".
"""
import os
import sys

peer_dir, url, path, out = sys.argv[1:5]
os.environ["DATABASE_URL"] = url
sys.path.insert(0, peer_dir)
import app as peer  # noqa: E402  (the peer reads DATABASE_URL at import)

r = peer.app.test_client().get(path)
with open(out, "wb") as f:
    f.write(b"%d\n%s\n" % (r.status_code, r.headers.get("Content-Type", "").encode()))
    f.write(r.data)
