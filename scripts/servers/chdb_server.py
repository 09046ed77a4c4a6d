#!/usr/bin/env python3
"""A ClickHouse HTTP server for tests: the HTTP interface in front of chdb (ClickHouse's own
engine, 26.9, as a Python library, which has no server of its own). Loopback only.

usage: chdb_server.py DATA_DIR PORT
  users: $CH_USER / $CH_PASSWORD (migrator / secret), and `default` without a password
  CHDB_SERVER_DEBUG=1 writes one JSON line per request to stderr (method, URL with the password
  hidden, SQL, data size, status, time)

What it does as the server does (src/Server/HTTPHandler.cpp and friends):
  - GET/POST `/` (GET `/` without a query and `/ping` answer "Ok.\\n"); the query is the `query`
    URL parameter, a newline and the body; `database` (or X-ClickHouse-Database),
    `default_format` (or X-ClickHouse-Format), `query_id`, `param_*` query parameters; every
    other URL parameter is a setting for this query (an unknown one is an error); GET runs
    read-only (readonly=2).
  - credentials from X-ClickHouse-User/-Key, HTTP basic auth, or `user`/`password` parameters;
    wrong ones get 403 and Code 516 (AUTHENTICATION_FAILED), as modern servers answer.
  - one statement per request: a second one after `;` is refused with Code 62 "Multi-statements
    are not allowed"; INSERT ... VALUES / FORMAT X takes the rest of the text as its data.
  - errors: the status the server gives the error code (400 syntax, 404 unknown table, ...),
    a `Code: N. DB::Exception: ...` body and the X-ClickHouse-Exception-Code header.
  - headers X-ClickHouse-Query-Id, -Format, -Timezone, -Summary, -Server-Display-Name.
  - a server's defaults where clickhouse-local (chdb) has others: mutations_sync = 0, so ALTER
    ... UPDATE/DELETE return at once and the mutation runs in the background.
  - concurrency: each request (each session) gets its own chdb connection, and chdb runs the
    queries of different connections in parallel; a slow query does not hold up the others.
  - `query_id`: the X-ClickHouse-Query-Id header echoes it (or a new UUID); a second query with
    the id of a running one is refused (Code 216); `KILL QUERY WHERE query_id = '...'` finds a
    query by the id its client gave. The engine itself does not take ids from outside: each
    query carries its client's id as its `log_comment` setting, and KILL QUERY's condition is
    rewritten to ask that (so a client that sets log_comment itself cannot be killed by id, and
    system.processes / system.query_log show the engine's own ids).
  - session_id: a session keeps its own chdb connection, so SET, USE and temporary tables last
    (session_timeout, default 60 s; session_check; close_session); a session busy with another
    request is refused (Code 373).
Differences that remain: in a session, the URL's settings and database are applied to the
session (SET, USE), so they outlast the request (a server applies them to the one request).
The engine has no users: currentUser() is `default` whoever logs in. async_insert is 1, chdb's
value (ClickHouse's current settings reference gives 1 too; wait_for_async_insert is 1, so an
INSERT returns once its rows are in).
Not emulated (refused with Code 48, NOT_IMPLEMENTED, status 501, rather than half done):
compress=1 / decompress=1 (ClickHouse's native block compression) and external data
(multipart bodies). Results are buffered whole (as with wait_end_of_query=1), so an error
never follows a 200. There is no native TCP protocol.
"""
import base64
import gzip
import http.server
import itertools
import json
import os
import re
import signal
import socket
import sys
import threading
import time
import uuid
import zlib
from urllib.parse import parse_qsl, urlsplit

import chdb
from chdb import _chdb  # the engine binding: connections, query, streaming insert, classify

VERSION = chdb.engine_version
USERS = {os.environ.get("CH_USER", "migrator"): os.environ.get("CH_PASSWORD", "secret"), "default": ""}
DEBUG = os.environ.get("CHDB_SERVER_DEBUG", "") not in ("", "0")
KEEP_ALIVE = 30  # seconds an idle connection stays open, as a modern server's keep_alive_timeout

# Settings where clickhouse-local (and so chdb) starts from other values than a server does.
# They are set on every connection we open; a request's own settings come after.
SERVER_DEFAULTS = {"mutations_sync": "0", "implicit_select": "0", "allow_introspection_functions": "0"}

# URL parameters that are not settings: the ones the server's HTTP handler reads itself.
NOT_SETTINGS = {"query", "database", "default_format", "user", "password", "quota_key", "query_id",
                "compress", "decompress", "stacktrace", "buffer_size", "wait_end_of_query",
                "session_id", "session_timeout", "session_check", "client_protocol_version",
                "close_session"}

# HTTP status of an error, by error name, as exceptionCodeToHTTPStatus maps them; others are 500.
STATUS_BY_NAME = {
    **dict.fromkeys(["REQUIRED_PASSWORD"], 401),
    **dict.fromkeys(["UNKNOWN_USER", "WRONG_PASSWORD", "AUTHENTICATION_FAILED",
                     "SET_NON_GRANTED_ROLE", "ACCESS_DENIED"], 403),
    **dict.fromkeys(["BAD_ARGUMENTS", "CANNOT_COMPILE_REGEXP", "CANNOT_PARSE_TEXT",
                     "CANNOT_PARSE_ESCAPE_SEQUENCE", "CANNOT_PARSE_QUOTED_STRING", "CANNOT_PARSE_DATE",
                     "CANNOT_PARSE_DATETIME", "CANNOT_PARSE_NUMBER", "CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING",
                     "CANNOT_PARSE_IPV4", "CANNOT_PARSE_IPV6", "CANNOT_PARSE_INPUT_ASSERTION_FAILED",
                     "CANNOT_PARSE_UUID", "DUPLICATE_COLUMN", "ILLEGAL_COLUMN", "UNKNOWN_ELEMENT_IN_AST",
                     "UNKNOWN_TYPE_OF_AST_NODE", "THERE_IS_NO_COLUMN", "TOO_DEEP_AST", "TOO_BIG_AST",
                     "UNEXPECTED_AST_STRUCTURE", "SYNTAX_ERROR", "INCORRECT_DATA", "TYPE_MISMATCH",
                     "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE"], 400),
    **dict.fromkeys(["UNKNOWN_TABLE", "UNKNOWN_FUNCTION", "UNKNOWN_IDENTIFIER", "UNKNOWN_TYPE",
                     "UNKNOWN_STORAGE", "UNKNOWN_DATABASE", "UNKNOWN_SETTING", "UNKNOWN_DIRECTION_OF_SORTING",
                     "UNKNOWN_AGGREGATE_FUNCTION", "UNKNOWN_FORMAT", "UNKNOWN_DATABASE_ENGINE",
                     "UNKNOWN_TYPE_OF_QUERY", "UNKNOWN_ROLE"], 404),
    "QUERY_IS_TOO_LARGE": 413, "NOT_IMPLEMENTED": 501, "SOCKET_TIMEOUT": 503, "CANNOT_OPEN_FILE": 503,
    "HTTP_LENGTH_REQUIRED": 411, "TIMEOUT_EXCEEDED": 408, "CANNOT_SCHEDULE_TASK": 503,
}

CONTENT_TYPES = {"tabseparated": "text/tab-separated-values", "tsv": "text/tab-separated-values",
                 "csv": "text/csv", "csvwithnames": "text/csv", "json": "application/json",
                 "jsoncompact": "application/json", "jsoneachrow": "application/x-ndjson"}


class ChError(Exception):
    """An error as the server reports it: code, name and message."""

    def __init__(self, code, name, text):
        super().__init__(text)
        self.code, self.name, self.text = code, name, text

    @classmethod
    def from_engine(cls, exc):
        # chdb wraps a message in itself at times ("Code: 73. DB::Exception: Code: 73. ..."):
        # keep the innermost one, up to its first "(NAME)".
        msg = str(exc)
        heads = list(re.finditer(r"Code: (\d+)\. DB::Exception: ", msg))
        names = re.findall(r"\(([A-Z][A-Z0-9_]*)\)", msg)
        if not heads or not names:
            return cls(1001, "STD_EXCEPTION", msg)
        rest = msg[heads[-1].end():]
        cut = rest.find(f" ({names[-1]})")
        return cls(int(heads[-1].group(1)), names[-1], rest[:cut] if cut >= 0 else rest)

    def status(self):
        return STATUS_BY_NAME.get(self.name, 500)

    def body(self):
        dot = "" if self.text.endswith(".") else "."
        return f"Code: {self.code}. DB::Exception: {self.text}{dot} ({self.name}) (version {VERSION})\n".encode()


def not_implemented(what):
    return ChError(48, "NOT_IMPLEMENTED", f"{what} is not supported by this test server (scripts/servers/chdb_server.py)")


# ---- Lexing: just enough of ClickHouse's lexer to find statements, FORMAT and INSERT data ----

WORD = re.compile(r"[A-Za-z0-9_]+", re.ASCII)
HEREDOC = re.compile(r"\$([A-Za-z0-9_]*)\$", re.ASCII)
SPACE = " \t\n\r\f\v"


def tokens(sql):
    """(kind, start, end) of each token of sql, skipping whitespace and comments. Kinds: word,
    string ('...' or a heredoc), ident ("..." or `...`), punct (one other character)."""
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c in SPACE:
            i += 1
        elif sql.startswith("--", i) or (c == "#" and sql[i + 1:i + 2] in (" ", "!")):
            j = sql.find("\n", i)
            i = n if j < 0 else j + 1
        elif sql.startswith("/*", i):  # multi-line comments nest
            depth, i = 1, i + 2
            while i < n and depth:
                if sql.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif sql.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif c in "'\"`":
            j = i + 1
            while j < n and sql[j] != c or sql[j + 1:j + 2] == c:  # backslash escapes, doubled quotes
                j += 2 if sql[j] in ("\\", c) else 1
            yield ("string" if c == "'" else "ident", i, min(j + 1, n))
            i = j + 1
        elif (m := HEREDOC.match(sql, i)) and (j := sql.find(m.group(0), m.end())) >= 0:
            yield ("string", i, j + len(m.group(0)))
            i = j + len(m.group(0))
        elif m := WORD.match(sql, i):
            yield ("word", i, m.end())
            i = m.end()
        else:
            yield ("punct", i, i + 1)
            i += 1


class Statement:
    """The request's one statement: `sql` to run, or an INSERT's `head`, `data_format` and
    `data`; `out_format` is its FORMAT clause, if any."""
    sql = head = data_format = data = out_format = None


def parse(text, classify):
    """Splits the request's text as the server's parser would. text is latin-1 (one character
    per byte, so positions are byte offsets, as in the server's messages, and INSERT data
    comes back byte for byte). classify(sql) is chdb's classify_query (statement_count: how
    many statements its parser finds)."""
    st = Statement()
    lexer = tokens(text)
    first = next(lexer, None)
    if first and text[first[1]:first[2]].upper() == "INSERT":
        # INSERT ... VALUES / FORMAT X: the rest of the text is data, read by that format (and
        # not lexed here: it can be large).
        depth = 0
        for kind, s, e in lexer:
            ch = text[s] if kind == "punct" else ""
            depth += (ch in "([") - (ch in ")]")
            word = text[s:e].upper() if kind == "word" and not depth else None
            if word in ("SELECT", "WITH"):
                break  # INSERT ... SELECT: an ordinary statement
            if word == "VALUES":
                st.head, st.data_format, st.data = text[:s], "Values", values_data(text[e:])
                return st
            if word == "FORMAT":
                name = next(lexer, None)
                if not name or name[0] != "word":
                    break
                # Data starts after the format name's blanks and one line break.
                j = name[2]
                while j < len(text) and text[j] in " \t\f":
                    j += 1
                j += text.startswith("\r", j)
                j += text.startswith("\n", j)
                st.head, st.data_format, st.data = text[:s], text[name[1]:name[2]], text[j:]
                return st
    toks = list(tokens(text))
    word = [text[s:e].upper() if k == "word" else None for k, s, e in toks]
    if not toks:
        raise ChError(62, "SYNTAX_ERROR", "Empty query")
    semi = next((i for i, (k, s, e) in enumerate(toks) if k == "punct" and text[s] == ";"), None)
    end = len(toks) if semi is None else semi
    if end == 0:
        raise ChError(62, "SYNTAX_ERROR", "Empty query")
    if semi is not None and any(not (k == "punct" and text[s] == ";") for k, s, e in toks[semi:]):
        statement1 = text[:toks[semi][1]]
        if classify(statement1)["statement_count"] == 0:
            st.sql = statement1  # the first statement does not parse: let the engine say why
            return st
        raise multi_statement_error(text, toks[semi][1])
    st.sql = text[:toks[end - 1][2]]  # without a trailing `;`
    if classify(st.sql)["statement_count"] > 1:
        raise multi_statement_error(text, len(st.sql))  # a split this lexer missed
    # The output format: the last FORMAT clause outside brackets.
    depth = 0
    for i in range(end - 1):
        kind, s, e = toks[i]
        ch = text[s] if kind == "punct" else ""
        depth += (ch in "([") - (ch in ")]")
        if depth == 0 and word[i] == "FORMAT" and toks[i + 1][0] == "word":
            st.out_format = text[toks[i + 1][1]:toks[i + 1][2]]
    # KILL QUERY WHERE query_id ...: the engine does not know the ids clients gave; each query
    # carries its client's id as its log_comment setting (see run), so the condition asks that.
    if word[0] == "KILL" and len(word) > 1 and word[1] == "QUERY":
        for kind, s, e in reversed(toks[:end]):
            if kind == "word" and text[s:e] == "query_id":
                st.sql = st.sql[:s] + "Settings['log_comment']" + st.sql[e:]
    return st


def values_data(data):
    """VALUES data up to its `;`. The server's Values format refuses anything but blanks after
    it; chdb's ignores it, so a second statement there would be lost without a word."""
    for kind, s, e in tokens(data):
        if kind == "punct" and data[s] == ";":
            if data[s + 1:].strip(SPACE):
                raise ChError(33, "CANNOT_READ_ALL_DATA",
                              "Cannot read data after semicolon (and input_format_values_allow_data_after_semicolon=0)")
            return data[:s]
    return data


def multi_statement_error(text, pos):
    where = ""
    if "\n" in text.rstrip("\n"):
        line = text.count("\n", 0, pos) + 1
        where = f" (line {line}, col {pos - (text.rfind(chr(10), 0, pos) + 1) + 1})"
    rest = utf8(text[pos:])
    shown = rest[:160] + ("... " if len(rest) > 160 else ". ")
    return ChError(62, "SYNTAX_ERROR", f"Syntax error (Multi-statements are not allowed): failed at "
                                      f"position {pos + 1} (end of query){where}: {shown}")


def utf8(latin1):
    return latin1.encode("latin-1").decode("utf-8", "replace")


def sql_string(value):
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


# ---- Running a request ----

ENGINE_PATH = None  # every connection must name the same path as the first
RUNNING = set()  # query ids of the queries running now
RUNNING_LOCK = threading.Lock()
SESSIONS = {}  # (user, session_id) -> Session
SESSIONS_LOCK = threading.Lock()
MUTATING = (_chdb.query_class.MUTATING, _chdb.query_class.MUTATING_GLOBAL)


def open_connection():
    conn = _chdb.connect(ENGINE_PATH)
    conn.query("SET " + settings_sql(SERVER_DEFAULTS), "TSV")
    return conn


def settings_sql(settings):
    return ", ".join(f"{k} = {sql_string(v)}" for k, v in settings.items())


class Session:
    """A session_id's own chdb connection, so that SET, USE and temporary tables last from one
    request to the next. One request at a time, as on the server."""

    def __init__(self, key, timeout):
        self.key, self.timeout, self.conn = key, timeout, open_connection()
        self.lock = threading.Lock()
        self.last_used = time.monotonic()


def take_session(user, params):
    """The request's session, locked for it (made unless session_check=1 asks for an old one)."""
    sid, raw = params["session_id"], params.get("session_timeout", "60")
    if not raw.isdigit():
        raise ChError(374, "INVALID_SESSION_TIMEOUT", f"Invalid session timeout: '{raw}'")
    if int(raw) > 3600:
        raise ChError(374, "INVALID_SESSION_TIMEOUT", f"Session timeout '{raw}' is larger than max_session_timeout: "
                      "3600. Maximum session timeout could be modified in configuration file.")
    now = time.monotonic()
    with SESSIONS_LOCK:
        for key, old in list(SESSIONS.items()):  # sessions idle past their timeout end
            if now - old.last_used > old.timeout and old.lock.acquire(blocking=False):
                del SESSIONS[key]
                old.conn.close()
        session = SESSIONS.get((user, sid))
        if session is None:
            if params.get("session_check") == "1":
                raise ChError(372, "SESSION_NOT_FOUND", f"Session {sid} not found")
            session = SESSIONS[(user, sid)] = Session((user, sid), int(raw))
        if not session.lock.acquire(blocking=False):
            raise ChError(373, "SESSION_IS_LOCKED", f"Session {sid} is locked by a concurrent client")
        session.timeout = int(raw)
    return session


def release_session(session, close):
    session.last_used = time.monotonic()
    if close:
        with SESSIONS_LOCK:
            SESSIONS.pop(session.key, None)
        session.conn.close()
    session.lock.release()


def run(method, user, params, headers, body):
    """Runs one request's query; returns (result bytes, response headers)."""
    if params.get("compress") == "1" or params.get("decompress") == "1":
        raise not_implemented("ClickHouse's native compression (compress=1, decompress=1)")
    query_id = params.get("query_id") or headers.get("X-ClickHouse-Query-Id") or str(uuid.uuid4())
    database = headers.get("X-ClickHouse-Database") or params.get("database")
    out_format = headers.get("X-ClickHouse-Format") or params.get("default_format") or "TabSeparated"
    settings = {"log_comment": query_id}
    for name, value in params.items():
        if name not in NOT_SETTINGS and not name.startswith("param_") and name:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise ChError(115, "UNKNOWN_SETTING", f"Unknown setting '{name}'")
            settings[name] = value
    query_params = {k[6:]: v for k, v in params.items() if k.startswith("param_")}
    text = params["query"] + "\n" if params.get("query") else ""
    text = text.encode("utf-8").decode("latin-1") + body.decode("latin-1")

    with RUNNING_LOCK:
        if query_id in RUNNING:
            raise ChError(216, "QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING", f"Query with id = {query_id} is already running.")
        RUNNING.add(query_id)
    session = conn = None
    try:
        # Without a session: a fresh connection, as a server makes a fresh context per request.
        # In a session the URL's settings and database are SET and USEd on its connection, so
        # they last (on a server they hold for the one request): the same ones on every request
        # come out the same.
        if "session_id" in params:
            session = take_session(user, params)
            conn = session.conn
        else:
            conn = open_connection()
            if method != "POST" and settings.get("readonly", "0") in ("0", ""):
                settings["readonly"] = "2"  # as the server: only POST may write
        conn.query("SET " + settings_sql(settings), "TSV")
        if database and (session or database != "default"):
            conn.query("USE `" + database.replace("\\", "\\\\").replace("`", "\\`") + "`", "TSV")
        st = parse(text, lambda sql: conn.classify_query(utf8(sql)))
        if session and method != "POST" and (
                st.head is not None or conn.classify_query(utf8(st.sql))["query_class"] in MUTATING):
            # readonly=2 cannot be undone on the session's connection: ask the parser instead
            raise ChError(164, "READONLY", "Cannot execute query in readonly mode. For queries over HTTP, "
                          "method GET implies readonly. You should use method POST for modifying queries")
        started = time.monotonic()
        if st.head is not None:  # INSERT with data: streamed to the engine as the format's bytes
            handle = conn.send_insert(utf8(st.head), st.data_format)
            try:
                if st.data:
                    conn.insert_append(handle, st.data.encode("latin-1"))
                res = conn.insert_done(handle)
            except BaseException:
                try:
                    conn.insert_cancel(handle)
                except RuntimeError:
                    pass  # already ended by the error
                raise
            out, fmt, summary = b"", None, {"written_rows": res.rows_written(), "written_bytes": res.bytes_written()}
        else:
            res = conn.query(utf8(st.sql), out_format, params=query_params)
            out, fmt = res.bytes(), st.out_format or out_format
            summary = {"read_rows": res.rows_read(), "read_bytes": res.bytes_read(),
                       "written_rows": res.rows_written(), "written_bytes": res.bytes_written()}
        summary["elapsed_ns"] = int((time.monotonic() - started) * 1e9)
        summary["result_bytes"] = len(out)
        reply = {"X-ClickHouse-Query-Id": query_id,
                 "X-ClickHouse-Summary": json.dumps({k: str(v) for k, v in summary.items()})}
        if fmt is not None and (out or st.out_format or not is_command(st.sql)):
            reply["X-ClickHouse-Format"] = fmt
            reply["Content-Type"] = CONTENT_TYPES.get(fmt.lower(), "text/plain") + "; charset=UTF-8"
        return out, reply
    except RuntimeError as e:
        raise ChError.from_engine(e) from None
    finally:
        if session:
            release_session(session, params.get("close_session") == "1")
        elif conn:
            conn.close()
        with RUNNING_LOCK:
            RUNNING.discard(query_id)


def is_command(sql):
    """True for statements that return no result set (DDL, SET, ...)."""
    first = next(tokens(sql), None)
    return first is not None and sql[first[1]:first[2]].upper() not in (
        "SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXISTS", "EXPLAIN", "CHECK", "KILL", "(")


# ---- HTTP ----

def authenticate(params, headers):
    """Checks a request's credentials as the server does; returns how they came (for the log)."""
    h_user, h_key = headers.get("X-ClickHouse-User", ""), headers.get("X-ClickHouse-Key", "")
    auth = headers.get("Authorization", "")
    in_params = any(k in params for k in ("user", "password", "quota_key"))
    if h_user or h_key:
        if auth or in_params:
            raise ChError(516, "AUTHENTICATION_FAILED", "Invalid authentication: it is not allowed to use "
                          "X-ClickHouse HTTP headers and other authentication methods simultaneously")
        user, password, how = h_user, h_key, "X-ClickHouse-User/Key"
    elif auth:
        if in_params:
            raise ChError(516, "AUTHENTICATION_FAILED", "Invalid authentication: it is not allowed to use "
                          "Authorization HTTP header and authentication via parameters simultaneously")
        scheme, _, value = auth.partition(" ")
        if scheme.lower() != "basic":
            raise ChError(516, "AUTHENTICATION_FAILED", f"Invalid authentication: '{scheme}' HTTP Authorization scheme is not supported")
        user, _, password = base64.b64decode(value).decode("utf-8", "replace").partition(":")
        how = "basic"
    else:
        user, password = params.get("user", "default"), params.get("password", "")
        how = "parameters" if in_params else "none"
    if USERS.get(user) != password:
        raise ChError(516, "AUTHENTICATION_FAILED",
                      f"{user}: Authentication failed: password is incorrect, or there is no user with such name.")
    return user, how


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY on every connection, as ClickHouse's server sets it (its Poco TCPServer does,
    # on each accepted socket). Without it, an answer's body (written after its head) waits
    # for the head's ACK, which a kept-alive client delays by 40 ms: every SELECT took 40 ms more.
    disable_nagle_algorithm = True
    timeout = KEEP_ALIVE
    numbers = itertools.count(1)  # of requests, for the debug log

    def log_message(self, *args):
        pass  # CHDB_SERVER_DEBUG logs requests instead

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path in ("/ping", "/replicas_status") or (url.path == "/" and "query" not in dict(parse_qsl(url.query))):
            return self.reply(200, b"Ok.\n", {})
        self.do_POST()

    def do_POST(self):
        started = time.monotonic()
        url = urlsplit(self.path)
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        body, sql, auth = b"", None, None
        try:
            body = self.read_body()
            if url.path != "/":
                return self.reply(404, f"There is no handle {url.path}\n\nUse / or /ping for health checks.\n".encode(), {})
            user, how = authenticate(params, self.headers)
            auth = f"{user} by {how}"
            if self.headers.get("Content-Type", "").startswith("multipart/form-data"):
                raise not_implemented("External data (multipart/form-data)")
            sql = (params.get("query", "") + "\n" if params.get("query") else "") + body[:100000].decode("utf-8", "replace")
            out, reply = run(self.command, user, params, self.headers, body)
            status = 200
        except ChError as e:
            status, out, reply = e.status(), e.body(), {"X-ClickHouse-Exception-Code": str(e.code)}
        except Exception as e:  # a bug here, not an engine error: say so as the server would
            err = ChError(1001, "STD_EXCEPTION", f"{type(e).__name__}: {e}")
            status, out, reply = 500, err.body(), {"X-ClickHouse-Exception-Code": "1001"}
        if DEBUG:
            shown = {k: ("***" if k == "password" else v) for k, v in params.items() if k != "query"}
            log = {"n": next(Handler.numbers), "method": self.command, "auth": auth, "params": shown, "sql": sql,
                   "body_bytes": len(body), "status": status, "ms": round((time.monotonic() - started) * 1000, 1)}
            if status != 200:
                log["error"] = out.decode("utf-8", "replace").strip()
            sys.stderr.write(json.dumps(log) + "\n")
            sys.stderr.flush()
        self.reply(status, out, reply)

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline().strip():  # trailers
                pass
            body = b"".join(chunks)
        elif "Content-Length" in self.headers:
            body = self.rfile.read(int(self.headers["Content-Length"]))
        elif self.command == "POST":
            raise ChError(381, "HTTP_LENGTH_REQUIRED", "The Transfer-Encoding is not chunked and there is no Content-Length header for POST request")
        else:
            body = b""
        encoding = self.headers.get("Content-Encoding", "").lower()
        if encoding in ("gzip", "x-gzip"):
            return gzip.decompress(body)
        if encoding == "deflate":
            return zlib.decompress(body)
        if encoding not in ("", "identity"):
            raise not_implemented(f"Content-Encoding {encoding}")
        return body

    def reply(self, status, body, headers):
        self.send_response(status)
        self.send_header("Content-Type", headers.pop("Content-Type", "text/plain; charset=UTF-8"))
        self.send_header("X-ClickHouse-Server-Display-Name", DISPLAY_NAME)
        self.send_header("X-ClickHouse-Timezone", TIMEZONE)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Keep-Alive", f"timeout={KEEP_ALIVE}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def stop(*_):
    """SIGTERM (stop_pid): ends serve_forever, so the engine is closed before the process ends."""
    raise KeyboardInterrupt


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)  # a client that hung up is no news


def main():
    global ENGINE_PATH, TIMEZONE, DISPLAY_NAME
    data_dir, port = sys.argv[1], int(sys.argv[2])
    os.makedirs(data_dir, exist_ok=True)
    ENGINE_PATH = data_dir
    # This connection keeps the engine up (it shuts down when its last connection closes).
    engine = _chdb.connect(ENGINE_PATH)
    TIMEZONE = engine.query("SELECT timezone()", "TSV").bytes().decode().strip()
    DISPLAY_NAME = socket.gethostname()
    server = Server(("127.0.0.1", port), Handler)
    signal.signal(signal.SIGTERM, stop)
    print(f"chdb {chdb.__version__} (ClickHouse {VERSION}) on 127.0.0.1:{port}, data in {data_dir}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        engine.close()


if __name__ == "__main__":
    main()
