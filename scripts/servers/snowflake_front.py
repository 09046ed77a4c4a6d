#!/usr/bin/env python3
"""The authenticating front of the Snowflake test server (scripts/servers/snowflake.sh).

fakesnow (a Snowflake emulator on DuckDB) speaks the connector protocol but takes any user and
password. This front listens on the port the test URL names, checks each login as Snowflake
would, and passes every request on to fakesnow on its private port. Loopback only.

usage: snowflake_front.py PORT FAKESNOW_PORT [DIR]   (DIR: the server folder, for stop_pid only)
  SF_ACCOUNT      the account (FAKEACCT): the one a key-pair JWT must name
  SF_USER         the one user (MIGRATOR; user names are case-insensitive)
  SF_PASSWORD     its password (secret)
  SF_PUBLIC_KEYS  the user's registered public keys: PEM files, separated by ':' (Snowflake
                  registers up to two per user, RSA_PUBLIC_KEY and RSA_PUBLIC_KEY_2)
  SF_ROLE         the role sessions report (PUBLIC)
  SNOWFLAKE_SERVER_DEBUG=1  one JSON line per request on stderr (method, path, login name and
                  authenticator, SQL text and bindings, status, Snowflake code, result format, ms)

Logins (POST /session/v1/login-request):
  - password (AUTHENTICATOR absent, SNOWFLAKE or USERNAME_PASSWORD_MFA): LOGIN_NAME and PASSWORD
    must match; otherwise HTTP 200, success false, code 390100 "Incorrect username or password
    was specified.", as Snowflake answers.
  - key pair (AUTHENTICATOR SNOWFLAKE_JWT, TOKEN a JWT): Snowflake's documented rules: RS256,
    signed by a registered key; iss = ACCOUNT.USER.SHA256:<base64 SHA-256 of the key's SPKI DER>,
    sub = ACCOUNT.USER (upper case); iat and exp present, exp in the future and at most an hour
    after iat, iat not in the future (60 s of clock skew allowed). Otherwise code 390144 "JWT token
    is invalid. [<request id>]"; the reason goes to stderr only, as Snowflake tells it no client.
  - any other authenticator (OAUTH, EXTERNALBROWSER, PAT, ...) is refused with 390100.
  A login that passes goes to fakesnow unchanged; its answer gets the fields fakesnow leaves out
  and a client reads (masterToken, sessionId, validityInSeconds, masterValidityInSeconds,
  sessionInfo.warehouseName/roleName, ...).
Everything else (query-request, abort-request, heartbeat, session delete, monitoring, stage PUTs)
is passed through as it is; query answers get the fields fakesnow leaves out (returned,
finalRoleName, finalWarehouseName, version, code/message null; on errors queryId, age,
internalError). POST /telemetry/send, which fakesnow lacks (404), is answered {"success": true}.
Not emulated: token renewal (/session/token-request; tokens do not expire here), SQL API v2.
"""
import base64
import gzip
import hashlib
import http.client
import http.server
import itertools
import json
import os
import secrets
import signal
import sys
import threading
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import jwt  # PyJWT, a dependency of snowflake-connector-python
from cryptography.hazmat.primitives import serialization

ACCOUNT = os.environ.get("SF_ACCOUNT", "FAKEACCT").upper()
USER = os.environ.get("SF_USER", "MIGRATOR").upper()
PASSWORD = os.environ.get("SF_PASSWORD", "secret")
ROLE = os.environ.get("SF_ROLE", "PUBLIC")
DEBUG = os.environ.get("SNOWFLAKE_SERVER_DEBUG", "") not in ("", "0")
KEEP_ALIVE = 30  # seconds an idle client connection stays open
UPSTREAM_IDLE = 1.0  # an upstream connection idle this long is opened anew (uvicorn closes at 5 s)
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
              "proxy-connection", "content-length"}

BAD_PASSWORD = ("390100", "Incorrect username or password was specified.")
BAD_JWT = ("390144", "JWT token is invalid.")


def fingerprint(public_key):
    """SHA256:<base64 of the SHA-256 of the key's SubjectPublicKeyInfo DER>, as in iss."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode()


def load_keys():
    keys = {}
    for path in filter(None, os.environ.get("SF_PUBLIC_KEYS", "").split(":")):
        with open(path, "rb") as f:
            key = serialization.load_pem_public_key(f.read())
        keys[fingerprint(key)] = key
    return keys


KEYS = {}  # fingerprint -> registered public key, filled in main()
SESSIONS = {}  # session token -> {"role", "warehouse"}: what query answers report
SESSIONS_LOCK = threading.Lock()


def check_jwt(token, login_name):
    """None when the JWT passes Snowflake's rules for this user, else why not (for the log)."""
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as e:
        return f"not a JWT: {e}"
    if header.get("alg") != "RS256":
        return f"alg {header.get('alg')!r}, not RS256"
    user = login_name.upper()
    if user != USER:
        return f"no user {user}"
    iss, sub = claims.get("iss"), claims.get("sub")
    if sub != f"{ACCOUNT}.{user}":
        return f"sub {sub!r} is not {ACCOUNT}.{user}"
    prefix = f"{ACCOUNT}.{user}."
    if not isinstance(iss, str) or not iss.startswith(prefix):
        return f"iss {iss!r} does not start with {prefix}"
    key = KEYS.get(iss[len(prefix):])
    if key is None:
        return f"the key {iss[len(prefix):]} is not registered for {user}"
    try:
        # Signature, and iat/exp present and numeric; their bounds are checked below.
        claims = jwt.decode(token, key, algorithms=["RS256"],
                            options={"require": ["iss", "sub", "iat", "exp"], "verify_exp": False,
                                     "verify_iat": False, "verify_aud": False})
    except jwt.PyJWTError as e:
        return f"{type(e).__name__}: {e}"
    now, iat, exp = time.time(), claims["iat"], claims["exp"]
    if not all(isinstance(v, (int, float)) for v in (iat, exp)):
        return "iat/exp are not numbers"
    if exp <= now:
        return f"expired {now - exp:.0f} s ago"
    if iat > now + 60:
        return f"iat {iat - now:.0f} s in the future"
    if exp - iat > 3600:
        return f"exp is {exp - iat:.0f} s after iat (at most 3600)"
    return None


def login_error(code_message, authn, request_id):
    code, message = code_message
    if code == BAD_JWT[0]:
        message = f"{message} [{request_id}]"  # Snowflake names the request it refused
    return {"data": {"nextAction": "RETRY_LOGIN", "authnMethod": authn, "requestId": request_id,
                     "signInOptions": {}},
            "code": code, "message": message, "success": False, "headers": None}


def check_login(body, query):
    """None when the login may pass, else (error answer, reason)."""
    data = body.get("data") or {}
    request_id = query.get("request_id", [str(uuid.uuid4())])[0]
    login_name = str(data.get("LOGIN_NAME") or "")
    authenticator = str(data.get("AUTHENTICATOR") or "SNOWFLAKE").upper()
    if authenticator == "SNOWFLAKE_JWT":
        why = check_jwt(str(data.get("TOKEN") or ""), login_name)
        return why and (login_error(BAD_JWT, "KEY_PAIR", request_id), why)
    if authenticator in ("SNOWFLAKE", "USERNAME_PASSWORD_MFA"):
        if login_name.upper() == USER and data.get("PASSWORD") == PASSWORD:
            return None
        return login_error(BAD_PASSWORD, "PASSWORD", request_id), f"wrong user or password for {login_name!r}"
    return login_error(BAD_PASSWORD, authenticator, request_id), f"authenticator {authenticator} not supported"


def ident(name):
    """A name from the URL as Snowflake resolves it: upper case unless double-quoted."""
    if not name:
        return None
    return name[1:-1] if len(name) > 1 and name[0] == name[-1] == '"' else name.upper()


def complete_login(answer, body, query):
    """Adds what a Snowflake login answer has and fakesnow's lacks."""
    data = answer.get("data")
    if not answer.get("success") or not isinstance(data, dict) or "token" not in data:
        return
    info = data.setdefault("sessionInfo", {})
    info.setdefault("warehouseName", ident(query.get("warehouse", [None])[0]))
    info.setdefault("roleName", ident(query.get("roleName", [None])[0]) or ROLE)
    for k, v in {"masterToken": secrets.token_urlsafe(32), "sessionId": secrets.randbelow(10**13) + 10**12,
                 "validityInSeconds": 3600, "masterValidityInSeconds": 14400,
                 "displayUserName": USER, "firstLogin": False, "healthCheckInterval": 45,
                 "remMeToken": None, "remMeValidityInSeconds": 0, "idToken": None,
                 "idTokenValidityInSeconds": 0, "mfaToken": None, "mfaTokenValidityInSeconds": 0,
                 "responseData": None, "newClientForUpgrade": None}.items():
        data.setdefault(k, v)
    answer.setdefault("code", None)
    answer.setdefault("message", None)
    with SESSIONS_LOCK:
        SESSIONS[data["token"]] = {"role": info["roleName"], "warehouse": info["warehouseName"]}


def complete_query(answer, token):
    """Adds what a Snowflake query answer has and fakesnow's lacks."""
    data = answer.get("data")
    if not isinstance(data, dict):
        return
    answer.setdefault("code", None)
    answer.setdefault("message", None)
    answer.setdefault("headers", None)
    if answer.get("success"):
        if "rowtype" in data:
            with SESSIONS_LOCK:
                s = SESSIONS.get(token, {})
            data.setdefault("returned", data.get("total", 0))  # fakesnow sends no result chunks
            data.setdefault("finalRoleName", s.get("role", ROLE))
            data.setdefault("finalWarehouseName", s.get("warehouse"))
            data.setdefault("version", 1)
    else:
        data.setdefault("queryId", str(uuid.uuid4()))
        data.setdefault("internalError", False)
        data.setdefault("age", 0)


def token_of(headers):
    auth = headers.get("Authorization", "")
    prefix = 'Snowflake Token="'
    return auth[len(prefix):-1] if auth.startswith(prefix) and auth.endswith('"') else None


def upstream_request(handler, body):
    """Sends the request on to fakesnow over this client connection's own upstream connection
    (opened anew when idle, so it never races uvicorn closing it); returns (status, headers, body)."""
    conn = handler.upstream
    if conn is None or time.monotonic() - handler.upstream_used > UPSTREAM_IDLE:
        if conn is not None:
            conn.close()
        conn = handler.upstream = http.client.HTTPConnection("127.0.0.1", UPSTREAM_PORT, timeout=600)
    headers = {k: v for k, v in handler.headers.items() if k.lower() not in HOP_BY_HOP}
    try:
        conn.request(handler.command, handler.path, body=body, headers=headers)
        resp = conn.getresponse()
        out = resp.read()
    except Exception:
        conn.close()
        handler.upstream = None
        raise
    handler.upstream_used = time.monotonic()
    if resp.will_close:
        conn.close()
        handler.upstream = None
    return resp.status, [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP], out


def decode_json(raw, headers_get):
    if headers_get("Content-Encoding", "").lower() == "gzip":
        raw = gzip.decompress(raw)
    return json.loads(raw)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = KEEP_ALIVE
    numbers = itertools.count(1)

    def setup(self):
        super().setup()
        self.upstream, self.upstream_used = None, 0.0

    def finish(self):
        if self.upstream is not None:
            self.upstream.close()
        super().finish()

    def log_message(self, *args):
        pass  # SNOWFLAKE_SERVER_DEBUG logs requests instead

    def do_GET(self):
        self.handle_any()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_GET

    def handle_any(self):
        started = time.monotonic()
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        body = self.read_body()
        log = {"n": next(Handler.numbers), "method": self.command, "path": self.path}
        answer = None  # the JSON answer, when we look into it
        try:
            if url.path == "/telemetry/send":
                status, headers, answer = 200, [], {"success": True}
            elif url.path == "/session/v1/login-request":
                req = decode_json(body, self.headers.get)
                data = req.get("data") or {}
                log.update(login=data.get("LOGIN_NAME"), authenticator=data.get("AUTHENTICATOR", "SNOWFLAKE"),
                           session_parameters=data.get("SESSION_PARAMETERS"), keys=sorted(data))
                refused = check_login(req, query)
                if refused:
                    answer, why = refused
                    status, headers = 200, []
                    log["refused"] = why
                    print(f"login refused: {why}", file=sys.stderr, flush=True)
                else:
                    status, headers, out = upstream_request(self, body)
                    answer = self.json_or_none(out, headers)
                    if answer is not None:
                        complete_login(answer, req, query)
            else:
                if DEBUG and url.path == "/queries/v1/query-request" and body:
                    req = decode_json(body, self.headers.get)
                    log.update({k: req[k] for k in ("sqlText", "bindings", "asyncExec", "describeOnly",
                                                    "parameters") if req.get(k) is not None}, keys=sorted(req))
                status, headers, out = upstream_request(self, body)
                if url.path == "/queries/v1/query-request":
                    answer = self.json_or_none(out, headers)
                    if answer is not None:
                        complete_query(answer, token_of(self.headers))
                elif url.path == "/session" and "delete" in query and status == 200:
                    with SESSIONS_LOCK:
                        SESSIONS.pop(token_of(self.headers), None)
        except Exception as e:  # fakesnow down, or a bug here: a 502 the client can retry
            status, headers, answer = 502, [], {"data": None, "code": None, "success": False,
                                                "message": f"snowflake_front: {type(e).__name__}: {e}"}
            print(f"front error on {self.command} {self.path}: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        if answer is not None:
            out = json.dumps(answer).encode()
            headers = [(k, v) for k, v in headers if k.lower() not in ("content-type", "content-encoding")]
            headers.append(("Content-Type", "application/json"))
        if DEBUG:
            log.update(status=status, ms=round((time.monotonic() - started) * 1000, 1))
            if isinstance(answer, dict):
                d = answer.get("data") if isinstance(answer.get("data"), dict) else {}
                log.update(success=answer.get("success"), code=answer.get("code"), message=answer.get("message"),
                           format=d.get("queryResultFormat"), total=d.get("total"),
                           statementTypeId=d.get("statementTypeId"), queryId=d.get("queryId"))
                if "rowset" in d:
                    log["rowset"] = d["rowset"][:20]
            sys.stderr.write(json.dumps({k: v for k, v in log.items() if v is not None}, default=str) + "\n")
            sys.stderr.flush()
        self.reply(status, headers, out)

    @staticmethod
    def json_or_none(out, headers):
        get = dict((k.lower(), v) for k, v in headers).get
        if "json" not in get("content-type", ""):
            return None
        try:
            return decode_json(out, lambda k, d="": get(k.lower(), d))
        except ValueError:
            return None

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
    request_queue_size = 128

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def stop(*_):
    raise KeyboardInterrupt


def main():
    global UPSTREAM_PORT, KEYS
    port, UPSTREAM_PORT = int(sys.argv[1]), int(sys.argv[2])
    KEYS = load_keys()
    server = Server(("127.0.0.1", port), Handler)
    signal.signal(signal.SIGTERM, stop)
    print(f"snowflake front on 127.0.0.1:{port} -> fakesnow on 127.0.0.1:{UPSTREAM_PORT}; account {ACCOUNT}, "
          f"user {USER}, {len(KEYS)} registered key(s)", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
