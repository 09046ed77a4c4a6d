#!/usr/bin/env bash
# A throwaway MariaDB server on 127.0.0.1 for tests (Debian's mariadb-server), on a free port.
#   scripts/servers/mariadb.sh start   -> prints the server's folder (contract in lib.sh):
#                                         url, env, pid, port, ports
#   scripts/servers/mariadb.sh stop DIR
#   scripts/servers/mariadb.sh var     -> JETBASE_TEST_MYSQL_URL
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
VAR=JETBASE_TEST_MYSQL_URL
MY_USER=${MY_USER:-migrator}
MY_PASS=${MY_PASS:-secret}
case "${1:-}" in
var) echo "$VAR" ;;
start)
  if ! command -v mariadbd >/dev/null; then
    [ -n "${APT_UPDATED:-}" ] || apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q mariadb-server >/dev/null
  fi
  with_retries mariadb "$0"
  ;;
attempt)
  # One try of `start` in the fresh folder $2 (see with_retries in lib.sh).
  D=$2
  mariadb-install-db --no-defaults --user=root --datadir="$D/data" --auth-root-authentication-method=normal \
    --skip-test-db --skip-name-resolve >"$D/install.log" 2>&1
  PORT=$(free_port "$D")
  mariadbd --no-defaults --user=root --datadir="$D/data" --socket="$D/sock" --pid-file="$D/pidfile" \
    --bind-address=127.0.0.1 --port="$PORT" --skip-name-resolve --log-error="$D/err.log" \
    --innodb-buffer-pool-size=64M --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci --max-connections=300 \
    </dev/null >"$D/stdout.log" 2>&1 &
  PID=$!
  echo "$PID" > "$D/pid"
  # Up when it answers on its own socket (a server that could not bind its port exits).
  up=0
  for _ in $(seq 1 300); do
    if mariadb-admin --no-defaults -uroot --socket="$D/sock" ping >/dev/null 2>&1; then up=1; break; fi
    alive "$PID" || break
    sleep 0.1
  done
  if [ "$up" != 1 ]; then tail -n 20 "$D/err.log" "$D/stdout.log" >&2 2>/dev/null || true; exit 1; fi
  mariadb --no-defaults -uroot --socket="$D/sock" -e \
    "CREATE USER '$MY_USER'@'%' IDENTIFIED BY '$MY_PASS'; GRANT ALL ON *.* TO '$MY_USER'@'%' WITH GRANT OPTION;"
  echo "$PORT" > "$D/port"
  URL="mysql://$MY_USER:$MY_PASS@127.0.0.1:$PORT/mysql"
  echo "$URL" > "$D/url"
  write_env "$D" "$VAR=$URL"
  echo "MariaDB on 127.0.0.1:$PORT, URL in $D/url (user $MY_USER)" >&2
  ;;
stop)
  D=${2:?usage: mariadb.sh stop DIR}
  stop_pid "$D/pid" "$D"
  release_ports "$D"
  rm -rf "$D"
  ;;
*) echo "usage: $0 start | stop DIR | var" >&2; exit 2 ;;
esac
