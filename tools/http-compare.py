#!/usr/bin/env python3
"""Sends every framing case of the HTTP connection layer to nginx and to a
running Phial server (started with PHIAL_TEST_ROUTES=1), and prints one
Markdown table: the status line(s) each answered, whether it closed the
connection, and whether the request sent after the case was answered.

    python3 tools/http-compare.py PHIAL_PORT

nginx (Debian's nginx-light plus libnginx-mod-http-echo, to read bodies) is
started here in a temporary folder on a free port and stopped at the end.
The README's table in "The HTTP connection layer" comes from this script.
"""
import os, shutil, signal, socket, subprocess, sys, tempfile, time

NGINX_CONF = """
load_module /usr/lib/nginx/modules/ngx_http_echo_module.so;
daemon off;
worker_processes 1;
pid %(dir)s/nginx.pid;
error_log %(dir)s/error.log;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path %(dir)s/body;
    client_max_body_size 1m;
    server {
        listen 127.0.0.1:%(port)d;
        location / {
            echo_read_request_body;
            echo "method=$request_method uri=$request_uri body=[$request_body]";
        }
    }
}
"""

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p

SM = b"GET /_test/echo?smuggled=1 HTTP/1.1\r\nHost: x\r\n\r\n"
def P(h, body=b"", smug=True):
    return b"POST /_test/echo HTTP/1.1\r\nHost: x\r\n" + h + b"\r\n" + body + (SM if smug else b"")
cases = [
 ("CL + TE chunked", P(b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n")),
 ("two different CLs", P(b"Content-Length: 5\r\nContent-Length: 49\r\n", b"hello")),
 ("two equal CLs", P(b"Content-Length: 5\r\nContent-Length: 5\r\n", b"hello")),
 ("'Content-Length : 5'", P(b"Content-Length : 5\r\n", b"hello")),
 ("TE gzip", P(b"Transfer-Encoding: gzip\r\n", b"hello")),
 ("TE 'chunked, gzip'", P(b"Transfer-Encoding: chunked, gzip\r\n", b"0\r\n\r\n")),
 ("TE 'gzip, chunked'", P(b"Transfer-Encoding: gzip, chunked\r\n", b"0\r\n\r\n")),
 ("TE twice", P(b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n")),
 ("TE in HTTP/1.0", b"POST /_test/echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SM),
 ("CL '+5'", P(b"Content-Length: +5\r\n", b"hello")),
 ("CL '5, 5'", P(b"Content-Length: 5, 5\r\n", b"hello")),
 ("CL '0x5'", P(b"Content-Length: 0x5\r\n", b"hello")),
 ("CL '-1'", P(b"Content-Length: -1\r\n", b"hello")),
 ("CL 20 digits", P(b"Content-Length: 99999999999999999999\r\n", b"hello")),
 ("CL over the limit", P(b"Content-Length: 2000000\r\n", b"hello")),
 ("two Host headers", b"GET /_test/echo HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" + SM),
 ("no Host (HTTP/1.1)", b"GET /_test/echo HTTP/1.1\r\n\r\n" + SM),
 ("no Host (HTTP/1.0)", b"GET /_test/echo HTTP/1.0\r\n\r\n"),
 ("Host with '/'", b"GET /_test/echo HTTP/1.1\r\nHost: a/b\r\n\r\n" + SM),
 ("empty Host", b"GET /_test/echo HTTP/1.1\r\nHost: \r\n\r\n" + SM),
 ("folded header line", b"GET /_test/echo HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  more\r\n\r\n" + SM),
 ("empty header name", b"GET /_test/echo HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n" + SM),
 ("space in header name", b"GET /_test/echo HTTP/1.1\r\nHost: x\r\nX A: 1\r\n\r\n" + SM),
 ("bare CR in header value", b"GET /_test/echo HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n" + SM),
 ("bare CR in request line", b"GET /_test/echo\r HTTP/1.1\r\nHost: x\r\n\r\n" + SM),
 ("NUL in target", b"GET /_test/echo\x00.png HTTP/1.1\r\nHost: x\r\n\r\n" + SM),
 ("NUL in header value", b"GET /_test/echo HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n" + SM),
 ("HTTP/2.0 request line", b"GET /_test/echo HTTP/2.0\r\nHost: x\r\n\r\n"),
 ("HTTP/1.2", b"GET /_test/echo HTTP/1.2\r\nHost: x\r\n\r\n"),
 ("garbage version", b"GET /_test/echo HTTX/1.1\r\nHost: x\r\n\r\n"),
 ("two spaces after method", b"GET  /_test/echo HTTP/1.1\r\nHost: x\r\n\r\n"),
 ("LF-only line ends", b"GET /_test/echo HTTP/1.1\nHost: x\n\n"),
 ("empty line before request", b"\r\nGET /_test/echo HTTP/1.1\r\nHost: x\r\n\r\n"),
 ("absolute-form target", b"GET http://x/_test/echo HTTP/1.1\r\nHost: x\r\n\r\n"),
 ("obs-text in value", b"GET /_test/echo HTTP/1.1\r\nHost: x\r\nX-A: caf\xc3\xa9\r\n\r\n"),
 ("URL of 9000 bytes", b"GET /" + b"a"*9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"),
 ("header of 20000 bytes", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: " + b"h"*20000 + b"\r\n\r\n"),
 ("chunk size 'zz'", P(b"Transfer-Encoding: chunked\r\n", b"zz\r\nhello\r\n0\r\n\r\n")),
 ("chunk size '+5'", P(b"Transfer-Encoding: chunked\r\n", b"+5\r\nhello\r\n0\r\n\r\n")),
 ("chunk size '0x5'", P(b"Transfer-Encoding: chunked\r\n", b"0x5\r\nhello\r\n0\r\n\r\n")),
 ("chunk data without CRLF", P(b"Transfer-Encoding: chunked\r\n", b"5\r\nhelloXX0\r\n\r\n")),
 ("chunk extension", P(b"Transfer-Encoding: chunked\r\n", b"5;a=b\r\nhello\r\n0\r\n\r\n")),
 ("chunked trailer", P(b"Transfer-Encoding: chunked\r\n", b"5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n")),
 ("chunk over the limit", P(b"Transfer-Encoding: chunked\r\n", b"200000\r\nhello")),
 ("chunk size 17 hex digits", P(b"Transfer-Encoding: chunked\r\n", b"10000000000000000\r\nhello")),
 ("Expect: 100-continue", b"POST /_test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello"),
]
def run(port, raw):
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(1.0)
    try:
        s.sendall(raw)
    except OSError:
        pass
    data = b""; closed = False
    t0 = time.time()
    while time.time() - t0 < 1.5:
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            closed = "reset"; break
        if not d:
            closed = True; break
        data += d
    s.close()
    lines = [l for l in data.split(b"\r\n") if l.startswith(b"HTTP/1.")]
    st = " ".join(l.split(b" ")[1].decode() for l in lines) or "-"
    sm = "next request answered" if b"smuggled" in data else ""
    return st, ("close" if closed is True else closed or "open"), sm

def table(ports, names):
    print("| case | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(ports))
    for name, raw in cases:
        res = []
        for p in ports:
            st, cl, sm = run(p, raw)
            res.append(f"{st}, {cl}{', ' + sm if sm else ''}")
        print(f"| {name} | " + " | ".join(res) + " |")

def main():
    if len(sys.argv) != 2:
        sys.exit("usage: http-compare.py PHIAL_PORT")
    d = tempfile.mkdtemp(prefix="phial-nginx-")
    port = free_port()
    with open(os.path.join(d, "nginx.conf"), "w") as f:
        f.write(NGINX_CONF % {"dir": d, "port": port})
    ngx = subprocess.Popen(["nginx", "-c", os.path.join(d, "nginx.conf"), "-p", d],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port)).close()
                break
            except OSError:
                time.sleep(0.05)
        table([port, int(sys.argv[1])], ["nginx 1.22", "Phial"])
    finally:
        ngx.send_signal(signal.SIGQUIT)
        ngx.wait(10)
        shutil.rmtree(d, ignore_errors=True)

if __name__ == "__main__":
    main()
