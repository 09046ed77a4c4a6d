#!/usr/bin/env bash
# A throwaway Snowflake for tests on 127.0.0.1: fakesnow 0.12.1 (Snowflake's connector protocol
# on DuckDB; `fakesnow -s`) on a private port, behind snowflake_front.py, our front that checks
# logins as Snowflake does (a password, or a key-pair JWT against the registered public key) and
# passes everything else through (what it does: its header; what fakesnow does and refuses:
# SNOWFLAKE_NOTES.md). No SQL API v2 (/api/v2/statements).
#   scripts/servers/snowflake.sh start  -> prints the server's folder (contract in lib.sh): url,
#                                          env, pid (the front), fakesnow.pid, port (the
#                                          front's), fakesnow_port, ports; keys/, logs, tmp/
#   scripts/servers/snowflake.sh stop DIR
#   scripts/servers/snowflake.sh var    -> JETBASE_TEST_SNOWFLAKE_URL
# The URL: snowflake://migrator:secret@fakeacct/DB1/PUBLIC?warehouse=WH&host=127.0.0.1&port=P
# &protocol=http (fakesnow creates a database and schema named at login; every session shares
# one in-memory DuckDB until the server stops).
# JETBASE_TEST_SNOWFLAKE_KEYS names DIR/keys, made at start with openssl: rsa_key.p8 (PKCS#8,
# unencrypted), rsa_key_enc.p8 (the same key, PKCS#8 encrypted with aes-256-cbc; its password in
# rsa_key_password), rsa_key.pub (its public key, registered for MIGRATOR), other_key.p8 and
# other_key.pub (a second pair, not registered).
# `start` installs scripts/servers/snowflake-requirements.txt (fakesnow and its dependencies,
# pinned) into <repo>/.venv-fakesnow when missing or when the pins changed.
# SNOWFLAKE_SERVER_DEBUG=1 at start logs every request, as a JSON line, to DIR/server.log.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
VAR=JETBASE_TEST_SNOWFLAKE_URL
VENV=$(cd "$HERE/../.." && pwd)/.venv-fakesnow
REQ=$HERE/snowflake-requirements.txt
SF_ACCOUNT=${SF_ACCOUNT:-fakeacct}
SF_USER=${SF_USER:-migrator}
SF_PASSWORD=${SF_PASSWORD:-secret}

# status_of PORT: the HTTP status of an unauthenticated heartbeat (401 once the server is up).
status_of() {
  "$VENV/bin/python" - "$1" <<'PY' 2>/dev/null || echo 0
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=1)
c.request("POST", "/session/heartbeat", body=b"{}", headers={"Content-Type": "application/json"})
print(c.getresponse().status)
PY
}

# wait_up PORT PID LOG: waits (60 s at most) until PORT answers the heartbeat with 401.
wait_up() {
  for _ in $(seq 1 600); do
    [ "$(status_of "$1")" = 401 ] && return 0
    alive "$2" || break
    sleep 0.1
  done
  tail -n 20 "$3" >&2 2>/dev/null || true
  return 1
}

case "${1:-}" in
var) echo "$VAR" ;;
start)
  # One install at a time (the lock file is ignored by git, as the venv is).
  (
    flock 9
    if ! cmp -s "$REQ" "$VENV/jetbase-requirements.txt" || [ ! -x "$VENV/bin/fakesnow" ]; then
      echo "== installing fakesnow 0.12.1 (scripts/servers/snowflake-requirements.txt) into $VENV" >&2
      python3 -m venv "$VENV"
      "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQ" >&2
      cp "$REQ" "$VENV/jetbase-requirements.txt"
    fi
  ) 9>"$VENV.lock"
  with_retries snowflake "$0"
  ;;
attempt)
  # One try of `start` in the fresh folder $2 (see with_retries in lib.sh).
  D=$2
  mkdir -p "$D/keys" "$D/tmp"
  K=$D/keys
  FS_PORT=$(free_port "$D")
  PORT=$(free_port "$D")
  # fakesnow's own CLI (`fakesnow -s --host 127.0.0.1 -p PORT`), run so that its command line
  # names $D (stop_pid checks that); TMPDIR keeps its stage folders in $D.
  TMPDIR=$D/tmp "$VENV/bin/python" -c 'import sys; from fakesnow.cli import main; sys.exit(main(sys.argv[2:]))' \
    "$D" -s --host 127.0.0.1 -p "$FS_PORT" </dev/null >"$D/fakesnow.log" 2>&1 &
  echo $! > "$D/fakesnow.pid"
  # While it starts: key pairs as Snowflake's key-pair guide makes them.
  openssl genrsa 2048 2>/dev/null | openssl pkcs8 -topk8 -inform PEM -nocrypt -out "$K/rsa_key.p8"
  openssl rand -hex 12 > "$K/rsa_key_password"
  openssl pkcs8 -topk8 -v2 aes-256-cbc -in "$K/rsa_key.p8" -out "$K/rsa_key_enc.p8" \
    -passout "file:$K/rsa_key_password"
  openssl pkey -in "$K/rsa_key.p8" -pubout -out "$K/rsa_key.pub"
  openssl genrsa 2048 2>/dev/null | openssl pkcs8 -topk8 -inform PEM -nocrypt -out "$K/other_key.p8"
  openssl pkey -in "$K/other_key.p8" -pubout -out "$K/other_key.pub"
  chmod 644 "$K"/*
  SF_ACCOUNT=$SF_ACCOUNT SF_USER=$SF_USER SF_PASSWORD=$SF_PASSWORD SF_PUBLIC_KEYS=$K/rsa_key.pub \
    "$VENV/bin/python" "$HERE/snowflake_front.py" "$PORT" "$FS_PORT" "$D" </dev/null >"$D/server.log" 2>&1 &
  echo $! > "$D/pid"
  wait_up "$FS_PORT" "$(cat "$D/fakesnow.pid")" "$D/fakesnow.log" || exit 1
  wait_up "$PORT" "$(cat "$D/pid")" "$D/server.log" || exit 1
  echo "$PORT" > "$D/port"
  echo "$FS_PORT" > "$D/fakesnow_port"
  URL="snowflake://$SF_USER:$SF_PASSWORD@$SF_ACCOUNT/DB1/PUBLIC?warehouse=WH&host=127.0.0.1&port=$PORT&protocol=http"
  echo "$URL" > "$D/url"
  # With the URL and keys, what Python's Snowflake clients need here: snowflake-sqlalchemy 1.11
  # takes host/port/protocol from the URL only with LEGACY_URL_PARAMS, and the connector would
  # otherwise probe cloud metadata addresses (169.254.169.254, ...) at each login.
  write_env "$D" "$VAR=$URL" "JETBASE_TEST_SNOWFLAKE_KEYS=$K" SNOWFLAKE_SQLALCHEMY_LEGACY_URL_PARAMS=true \
    SNOWFLAKE_DISABLE_PLATFORM_DETECTION=true
  echo "fakesnow 0.12.1 on 127.0.0.1:$PORT (front; fakesnow itself on $FS_PORT), URL in $D/url, keys in $K" >&2
  ;;
stop)
  D=${2:?usage: snowflake.sh stop DIR}
  stop_pid "$D/pid" "$D"
  stop_pid "$D/fakesnow.pid" "$D"
  release_ports "$D"
  rm -rf "$D"
  ;;
*) echo "usage: $0 start | stop DIR | var" >&2; exit 2 ;;
esac
