#!/usr/bin/env python3
"""A minimal TCLIService client for the Databricks stand-in (scripts/servers/databricks.sh): the
readiness check, and a helper for trying statements by hand.

It runs in <repo>/.venv-databricks (thrift, and PyHive's generated TCLIService module), over one
HTTP/1.1 keep-alive connection per client, with `Authorization: Bearer <token>` as a Databricks
client sends it.

  python tcli.py probe PORT HTTP_PATH TOKEN       OpenSession + SELECT 1 (+ fetch) + CloseSession
                                                  within 30 s; exit 0 when the answer is 1
  python tcli.py sql PORT HTTP_PATH TOKEN SQL...  runs each statement in one session and prints
                                                  the status, sqlState, hasResultSet,
                                                  modifiedRowCount and rows (a tool for notes)
"""
import http.client
import sys
from io import BytesIO

from thrift.protocol import TBinaryProtocol
from thrift.transport import TTransport
from TCLIService import TCLIService, ttypes


class KeepAliveHttp(TTransport.TTransportBase):
    """Thrift over HTTP/1.1 POSTs on one persistent connection (thrift's THttpClient opens a new
    connection for every call)."""

    def __init__(self, host, port, path, headers, timeout=None):
        self.host, self.port, self.path, self.headers, self.timeout = host, port, path, headers, timeout
        self.conn = None
        self.wbuf, self.rbuf = BytesIO(), BytesIO()
        self.status = None

    def isOpen(self):
        return self.conn is not None

    def open(self):
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def read(self, sz):
        return self.rbuf.read(sz)

    def write(self, buf):
        self.wbuf.write(buf)

    def flush(self):
        if self.conn is None:
            self.open()
        body, self.wbuf = self.wbuf.getvalue(), BytesIO()
        headers = {"Content-Type": "application/x-thrift", **self.headers}
        self.conn.request("POST", self.path, body=body, headers=headers)
        resp = self.conn.getresponse()
        data = resp.read()
        self.status = resp.status
        if resp.status != 200:
            raise TTransport.TTransportException(
                TTransport.TTransportException.UNKNOWN, f"HTTP {resp.status}: {data[:200]!r}")
        self.rbuf = BytesIO(data)


def client(port, path, token, timeout=None, host="127.0.0.1"):
    """(TCLIService.Client, transport) through the front, with a Bearer token."""
    t = KeepAliveHttp(host, int(port), path, {"Authorization": f"Bearer {token}"}, timeout)
    return TCLIService.Client(TBinaryProtocol.TBinaryProtocol(t)), t


def ok(status):
    return status.statusCode in (ttypes.TStatusCode.SUCCESS_STATUS, ttypes.TStatusCode.SUCCESS_WITH_INFO_STATUS)


def rows(c, op, max_rows=1000):
    """The rows of a finished operation with a result set, as lists."""
    r = c.FetchResults(ttypes.TFetchResultsReq(operationHandle=op, orientation=ttypes.TFetchOrientation.FETCH_NEXT,
                                               maxRows=max_rows))
    if not ok(r.status):
        raise RuntimeError(r.status.errorMessage)
    cols = []
    for col in r.results.columns or []:
        for kind in ("boolVal", "byteVal", "i16Val", "i32Val", "i64Val", "doubleVal", "stringVal", "binaryVal"):
            v = getattr(col, kind)
            if v is not None:
                nulls = v.nulls or b""
                vals = [None if i // 8 < len(nulls) and nulls[i // 8] >> (i % 8) & 1 else x
                        for i, x in enumerate(v.values)]
                cols.append(vals)
                break
    return [list(r) for r in zip(*cols)]


def probe(port, path, token):
    c, t = client(port, path, token, timeout=30)
    try:
        s = c.OpenSession(ttypes.TOpenSessionReq())
        if not ok(s.status):
            return False
        e = c.ExecuteStatement(ttypes.TExecuteStatementReq(sessionHandle=s.sessionHandle, statement="SELECT 1"))
        good = ok(e.status) and rows(c, e.operationHandle) == [[1]]
        c.CloseSession(ttypes.TCloseSessionReq(sessionHandle=s.sessionHandle))
        return good
    finally:
        t.close()


def run_sql(port, path, token, statements):
    c, t = client(port, path, token)
    s = c.OpenSession(ttypes.TOpenSessionReq())
    print("OpenSession:", s.status.statusCode, "serverProtocolVersion", s.serverProtocolVersion)
    for sql in statements:
        e = c.ExecuteStatement(ttypes.TExecuteStatementReq(sessionHandle=s.sessionHandle, statement=sql))
        print(f"== {sql}")
        if not ok(e.status):
            print(f"   ERROR sqlState={e.status.sqlState} errorCode={e.status.errorCode}: {e.status.errorMessage}")
            continue
        h = e.operationHandle
        print(f"   hasResultSet={h.hasResultSet} modifiedRowCount={h.modifiedRowCount}")
        if h.hasResultSet:
            print("  ", rows(c, h))
        c.CloseOperation(ttypes.TCloseOperationReq(operationHandle=h))
    c.CloseSession(ttypes.TCloseSessionReq(sessionHandle=s.sessionHandle))
    t.close()


if __name__ == "__main__":
    cmd, port, path, token = sys.argv[1:5]
    if cmd == "probe":
        try:
            sys.exit(0 if probe(port, path, token) else 1)
        except Exception as e:
            print(f"probe: {type(e).__name__}: {e}", file=sys.stderr)
            sys.exit(1)
    elif cmd == "sql":
        run_sql(port, path, token, sys.argv[5:])
    else:
        sys.exit(__doc__)
