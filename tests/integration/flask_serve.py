"""Serves the Flask peer (its app.py) over HTTP for the shared-database test
(tests/integration/test_flask_shared.c), with Werkzeug's server: no
gunicorn needed, one process, threads.

usage: flask_serve.py PEER_DIR PORT   (the database is DATABASE_URL)
"""
import sys

peer_dir, port = sys.argv[1], int(sys.argv[2])
sys.path.insert(0, peer_dir)
import app as peer  # noqa: E402  (the peer reads DATABASE_URL and runs create_all at import)

peer.app.run(host="127.0.0.1", port=port, threaded=True, use_reloader=False)
