#!/usr/bin/env python3
"""An HTTP/1.1 proxy that logs every request it forwards, for bench/clickhouse.sh: one JSON
line per request (method, path, the SQL from the `query` parameter and the body, status, and
the milliseconds from forwarding the request to the end of the answer) to LOG, so requests
per run can be counted on servers that log nothing themselves (ClickHouse 18.16). Keep-alive
connections stay open (each client connection gets its own upstream one); bodies with
Content-Length or chunked, answers with either or until the server closes.
Usage: count_proxy.py LISTEN_PORT TARGET_HOST TARGET_PORT LOG
Prints "ready" once listening on 127.0.0.1:LISTEN_PORT."""
import json
import socket
import socketserver
import sys
import threading
import time
from urllib.parse import parse_qsl, urlsplit

listen_port, host, port, log_path = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
LOG = open(log_path, "a", buffering=1)
LOG_LOCK = threading.Lock()


def read_head(f):
    """The start line and header lines (raw bytes) up to the blank line; None at EOF."""
    lines = []
    while True:
        line = f.readline(65537)
        if not line:
            return None
        if line in (b"\r\n", b"\n"):
            return lines
        lines.append(line)


def headers_of(lines):
    out = {}
    for line in lines[1:]:
        k, _, v = line.decode("latin-1").partition(":")
        out[k.strip().lower()] = v.strip()
    return out


def copy_body(src, dst, headers, until_close=False):
    """Forwards a body as it is framed; returns its bytes (decoded from chunks)."""
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = []
        while True:
            size_line = src.readline()
            dst.write(size_line)
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while True:  # trailers, then the blank line
                    t = src.readline()
                    dst.write(t)
                    if t in (b"\r\n", b"\n", b""):
                        return b"".join(body)
            chunk = src.read(size)
            body.append(chunk)
            dst.write(chunk)
            dst.write(src.readline())
    if "content-length" in headers:
        data = src.read(int(headers["content-length"]))
        dst.write(data)
        return data
    if until_close:
        data = src.read()
        dst.write(data)
        return data
    return b""


class Handler(socketserver.StreamRequestHandler):
    # Heads and bodies go out in separate writes: without TCP_NODELAY, Nagle's algorithm holds
    # a body back until the head is acknowledged, a delayed ACK (40 ms) later.
    disable_nagle_algorithm = True

    def handle(self):
        up = socket.create_connection((host, port))
        up.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        up_r, up_w = up.makefile("rb"), up.makefile("wb")
        try:
            while True:
                head = read_head(self.rfile)
                if head is None:
                    return
                method, path = head[0].decode("latin-1").split(" ")[:2]
                h = headers_of(head)
                started = time.monotonic()
                up_w.write(b"".join(head) + b"\r\n")
                body = copy_body(self.rfile, up_w, h)
                up_w.flush()
                rhead = read_head(up_r)
                if rhead is None:
                    return
                status = int(rhead[0].split(b" ")[1])
                rh = headers_of(rhead)
                self.wfile.write(b"".join(rhead) + b"\r\n")
                if method != "HEAD" and status not in (204, 304) and status >= 200:
                    copy_body(up_r, self.wfile, rh, until_close=True)
                self.wfile.flush()
                ms = round((time.monotonic() - started) * 1000, 2)
                query = dict(parse_qsl(urlsplit(path).query)).get("query", "")
                sql = (query + "\n" if query else "") + body[:2000].decode("utf-8", "replace")
                with LOG_LOCK:
                    LOG.write(json.dumps({"method": method, "path": urlsplit(path).path, "sql": sql,
                                          "status": status, "ms": ms}) + "\n")
                if rh.get("connection", "").lower() == "close" or h.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, OSError):
            pass
        finally:
            up.close()


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


server = Server(("127.0.0.1", listen_port), Handler)
print("ready", flush=True)
server.serve_forever()
