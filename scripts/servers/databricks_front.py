#!/usr/bin/env python3
"""The token-checking front of the Databricks stand-in (scripts/servers/databricks.sh).

Databricks SQL warehouses and clusters serve TCLIService (HiveServer2's Thrift protocol) as HTTP
POSTs on their http_path, with `Authorization: Bearer <personal access token>`. The Spark Thrift
Server behind this front speaks the same protocol on /cliservice, but in its HTTP mode reads the
Authorization header only as Basic (a Bearer header fails there: "Illegal base64 character 20")
and checks no password (authentication NONE). This front listens on 127.0.0.1:PORT, checks the
token as Databricks does, and passes each accepted request to the Spark server over the unix
socket bridged into its network namespace, as `Authorization: Basic base64("<user>:x")`.
Python standard library only; one thread per client connection; HTTP/1.1 keep-alive on both
sides (each client connection has its own connection to the server).

usage: databricks_front.py PORT UNIX_SOCKET [DIR]   (DIR: the server folder, for stop_pid only)
  DBX_TOKEN            the accepted personal access token
  DBX_FORBIDDEN_TOKEN  a token that is valid but may not use the endpoint (HTTP 403); optional
  DBX_USER             the user name the server sees (current_user()); default "token"
  DBX_WAREHOUSE_ID     the SQL warehouse: POST /sql/1.0/warehouses/<id>
  DBX_ORG_ID, DBX_CLUSTER_ID   the cluster: POST /sql/protocolv1/o/<org>/<cluster>
  DBX_CALLS_LOG        a file that gets one line per request: time, number, method, path, the
                       Thrift call (OpenSession, ExecuteStatement, CancelOperation, ...), the HTTP
                       status, ms; e.g. "2026-12-02T02:30:01.123 #12 POST /sql/1.0/warehouses/x
                       CancelOperation 200 3.1 ms" (tests read it to see which calls reached the
                       server); optional
  DATABRICKS_SERVER_DEBUG=1    the same lines on stderr too

Answers, in this order of checks:
  - no `Authorization: Bearer <token>`, or another token: 401, "Invalid access token." in an
    HTML error page like the one Databricks' Jetty sends (a Basic header is refused too);
  - DBX_FORBIDDEN_TOKEN: 403, "User does not have permission to use this endpoint.";
  - a path that is none of the three (/sql/1.0/warehouses/<id>, /sql/protocolv1/o/<org>/<cluster>,
    /cliservice; a query string is ignored): 404;
  - a method other than POST: 405;
  - else the server's answer (status, Content-Type, body); a server that cannot be reached: 502.
"""
import base64
import http.client
import http.server
import itertools
import os
import signal
import socket
import struct
import sys
import threading
import time
from urllib.parse import urlsplit

TOKEN = os.environ.get("DBX_TOKEN", "")
FORBIDDEN_TOKEN = os.environ.get("DBX_FORBIDDEN_TOKEN", "")
USER = os.environ.get("DBX_USER", "token")
PATHS = {"/cliservice"}
if os.environ.get("DBX_WAREHOUSE_ID"):
    PATHS.add("/sql/1.0/warehouses/" + os.environ["DBX_WAREHOUSE_ID"])
if os.environ.get("DBX_ORG_ID") and os.environ.get("DBX_CLUSTER_ID"):
    PATHS.add(f"/sql/protocolv1/o/{os.environ['DBX_ORG_ID']}/{os.environ['DBX_CLUSTER_ID']}")
DEBUG = os.environ.get("DATABRICKS_SERVER_DEBUG", "") not in ("", "0")
CALLS_LOG = os.environ.get("DBX_CALLS_LOG", "")
CALLS_LOCK = threading.Lock()
KEEP_ALIVE = 300  # seconds an idle client connection stays open
UPSTREAM_IDLE = 60.0  # an upstream connection idle this long is opened anew (Spark's Jetty: 1800 s)
BASIC = "Basic " + base64.b64encode(f"{USER}:x".encode()).decode()
UPSTREAM_HEADERS = ("content-type", "accept", "user-agent", "x-databricks-user-agent",
                    "x-databricks-org-id", "x-request-id")

SOCKET_PATH = ""


class UnixConnection(http.client.HTTPConnection):
    """An HTTP/1.1 connection to the Spark server through the bridge's unix socket."""

    def __init__(self, path):
        super().__init__("localhost", timeout=None)  # statements may run for long
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(self.unix_path)
        except OSError:
            s.close()
            raise
        self.sock = s


def thrift_call(body):
    """The method name in a TBinaryProtocol message (strict or old form), or "-"."""
    try:
        if body[0] & 0x80:  # strict: version and type, then the name's length and the name
            (n,) = struct.unpack_from(">i", body, 4)
            return body[8:8 + n].decode("ascii")
        (n,) = struct.unpack_from(">i", body, 0)
        return body[4:4 + n].decode("ascii") if 0 < n < 100 else "-"
    except (IndexError, struct.error, UnicodeDecodeError):
        return "-"


def log_call(n, handler, body, status, ms):
    line = (f"{time.strftime('%Y-%m-%dT%H:%M:%S')}.{int(time.time() * 1000) % 1000:03d} #{n} {handler.command} "
            f"{handler.path} {thrift_call(body) if body else '-'} {status} {ms:.1f} ms\n")
    if CALLS_LOG:
        with CALLS_LOCK, open(CALLS_LOG, "a") as f:
            f.write(line)
    if DEBUG:
        sys.stderr.write(line)
        sys.stderr.flush()


def error_page(status, reason, path):
    """The HTML error page Databricks' Jetty answers with (HTTP ERROR <n> ... Reason: ...)."""
    return (f"<html>\n<head>\n<meta http-equiv=\"Content-Type\" content=\"text/html;charset=utf-8\"/>\n"
            f"<title>Error {status} {reason}</title>\n</head>\n<body><h2>HTTP ERROR {status}</h2>\n"
            f"<p>Problem accessing {path}. Reason:\n<pre>    {reason}</pre></p>\n</body>\n</html>\n").encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = KEEP_ALIVE
    # The answer's head and body go out in two writes: with Nagle's algorithm the body would
    # wait for the client's delayed ACK of the head (40 ms a call).
    disable_nagle_algorithm = True
    numbers = itertools.count(1)

    def setup(self):
        super().setup()
        self.upstream, self.upstream_used = None, 0.0

    def finish(self):
        if self.upstream is not None:
            self.upstream.close()
        super().finish()

    def log_message(self, *args):
        pass  # DATABRICKS_SERVER_DEBUG logs requests instead

    def do_POST(self):
        self.handle_any()

    do_GET = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = do_POST

    def handle_any(self):
        started = time.monotonic()
        n = next(Handler.numbers)
        body = self.read_body()
        path = urlsplit(self.path).path
        auth = self.headers.get("Authorization", "")
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        if token is None or not token or token not in (TOKEN, FORBIDDEN_TOKEN):
            status, headers, out = 401, [("Content-Type", "text/html;charset=utf-8")], \
                error_page(401, "Invalid access token.", path)
        elif token == FORBIDDEN_TOKEN:
            status, headers, out = 403, [("Content-Type", "text/html;charset=utf-8")], \
                error_page(403, "User does not have permission to use this endpoint.", path)
        elif path not in PATHS:
            status, headers, out = 404, [("Content-Type", "text/html;charset=utf-8")], \
                error_page(404, "Not Found", path)
        elif self.command != "POST":
            status, headers, out = 405, [("Content-Type", "text/html;charset=utf-8"), ("Allow", "POST")], \
                error_page(405, "Method Not Allowed", path)
        else:
            try:
                status, headers, out = self.upstream_request(body)
            except Exception as e:  # the server is down, or a bug here: a 502 the client may retry
                status, headers = 502, [("Content-Type", "text/plain;charset=utf-8")]
                out = f"databricks_front: {type(e).__name__}: {e}\n".encode()
                print(f"front error on {self.command} {self.path}: {type(e).__name__}: {e}",
                      file=sys.stderr, flush=True)
        self.reply(status, headers, out)
        log_call(n, self, body, status, (time.monotonic() - started) * 1000)

    def upstream_request(self, body):
        """POSTs the body to the server's /cliservice over this client connection's own
        connection (opened anew when idle for long); returns (status, headers, body)."""
        conn = self.upstream
        if conn is None or time.monotonic() - self.upstream_used > UPSTREAM_IDLE:
            if conn is not None:
                conn.close()
            conn = self.upstream = UnixConnection(SOCKET_PATH)
        headers = {k: v for k, v in self.headers.items() if k.lower() in UPSTREAM_HEADERS}
        headers.setdefault("Content-Type", "application/x-thrift")
        headers["Authorization"] = BASIC
        try:
            conn.request("POST", "/cliservice", body=body, headers=headers)
            resp = conn.getresponse()
            out = resp.read()
        except Exception:
            conn.close()
            self.upstream = None
            raise
        self.upstream_used = time.monotonic()
        if resp.will_close:
            conn.close()
            self.upstream = None
        keep = [(k, v) for k, v in resp.getheaders() if k.lower() == "content-type"]
        return resp.status, keep, out

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline().strip():  # trailers
                pass
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def reply(self, status, headers, body):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # SIGTERM ends the front at once, idle keep-alive clients or not
    request_queue_size = 128

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError, TimeoutError)):
            super().handle_error(request, client_address)


def stop(*_):
    raise KeyboardInterrupt


def main():
    global SOCKET_PATH
    if not TOKEN:
        sys.exit("databricks_front.py: DBX_TOKEN is not set")
    port, SOCKET_PATH = int(sys.argv[1]), sys.argv[2]
    server = Server(("127.0.0.1", port), Handler)
    signal.signal(signal.SIGTERM, stop)
    print(f"databricks front on 127.0.0.1:{port} -> {SOCKET_PATH} /cliservice as {USER}; paths: "
          + ", ".join(sorted(PATHS)), file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
