#!/usr/bin/env bash
# A throwaway modern ClickHouse (engine 26.9) on 127.0.0.1 for tests: chdb, ClickHouse's engine
# as a Python library, behind chdb_server.py, our ClickHouse HTTP interface for it (what it
# does and does not do: its header). No native TCP port.
#   scripts/servers/chdb.sh start   -> prints the server's folder (contract in lib.sh):
#                                      url, env, pid, port, ports; data and log in that folder
#   scripts/servers/chdb.sh stop DIR
#   scripts/servers/chdb.sh var     -> JETBASE_TEST_CHDB_URL
# `start` installs chdb-core $CHDB_VERSION into <repo>/.venv-chdb when missing (a 181 MB wheel;
# its pandas/pyarrow dependencies are left out, the server needs neither).
# CHDB_SERVER_DEBUG=1 at start logs every request, as a JSON line, to DIR/server.log.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
VAR=JETBASE_TEST_CHDB_URL
CHDB_VERSION=26.9.0
VENV=$(cd "$HERE/../.." && pwd)/.venv-chdb
CH_USER=${CH_USER:-migrator}
CH_PASS=${CH_PASS:-secret}

case "${1:-}" in
var) echo "$VAR" ;;
start)
  # One install at a time (the lock file is ignored by git, as the venv is).
  (
    flock 9
    if ! "$VENV/bin/python" -c "import chdb, sys; sys.exit(chdb.__version__ != '$CHDB_VERSION')" 2>/dev/null; then
      echo "== installing chdb-core $CHDB_VERSION into $VENV" >&2
      python3 -m venv "$VENV"
      "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps "chdb-core==$CHDB_VERSION" >&2
    fi
  ) 9>"$VENV.lock"
  with_retries chdb "$0"
  ;;
attempt)
  # One try of `start` in the fresh folder $2 (see with_retries in lib.sh).
  D=$2
  PORT=$(free_port "$D")
  TZ=UTC CH_USER=$CH_USER CH_PASSWORD=$CH_PASS \
    "$VENV/bin/python" "$HERE/chdb_server.py" "$D/data" "$PORT" </dev/null >"$D/server.log" 2>&1 &
  PID=$!
  echo "$PID" > "$D/pid"
  # Up when /ping answers (a server that could not bind its port exits).
  up=0
  for _ in $(seq 1 600); do
    if http_ok "http://127.0.0.1:$PORT/ping"; then up=1; break; fi
    alive "$PID" || break
    sleep 0.1
  done
  if [ "$up" != 1 ]; then tail -n 20 "$D/server.log" >&2 2>/dev/null || true; exit 1; fi
  echo "$PORT" > "$D/port"
  URL="clickhouse://$CH_USER:$CH_PASS@127.0.0.1:$PORT/default"
  echo "$URL" > "$D/url"
  write_env "$D" "$VAR=$URL"
  echo "chdb (ClickHouse 26.9) on 127.0.0.1:$PORT, URL in $D/url (user $CH_USER)" >&2
  ;;
stop)
  D=${2:?usage: chdb.sh stop DIR}
  stop_pid "$D/pid" "$D"
  release_ports "$D"
  rm -rf "$D"
  ;;
*) echo "usage: $0 start | stop DIR | var" >&2; exit 2 ;;
esac
