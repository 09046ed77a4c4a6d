#!/usr/bin/env bash
# A throwaway MariaDB server on 127.0.0.1 for tests (Debian's mariadb-server).
#   scripts/mariadb.sh start   -> prints the server's folder; its URL is in <folder>/url
#   scripts/mariadb.sh stop DIR
set -euo pipefail
MY_PORT=${MY_PORT:-23306}
MY_USER=${MY_USER:-migrator}
MY_PASS=${MY_PASS:-secret}
case "${1:-}" in
start)
  if ! command -v mariadbd >/dev/null; then
    [ -n "${APT_UPDATED:-}" ] || apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q mariadb-server >/dev/null
  fi
  D=$(mktemp -d -t jetbase-mariadb.XXXXXX)
  mariadb-install-db --no-defaults --user=root --datadir="$D/data" --auth-root-authentication-method=normal \
    --skip-test-db --skip-name-resolve >"$D/install.log" 2>&1
  mariadbd --no-defaults --user=root --datadir="$D/data" --socket="$D/sock" --pid-file="$D/pidfile" \
    --bind-address=127.0.0.1 --port="$MY_PORT" --skip-name-resolve --log-error="$D/err.log" \
    --innodb-buffer-pool-size=64M --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci --max-connections=300 2>/dev/null &
  echo $! > "$D/mariadbd.pid"
  for _ in $(seq 1 300); do
    mariadb-admin --no-defaults -uroot --socket="$D/sock" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  mariadb --no-defaults -uroot --socket="$D/sock" -e \
    "CREATE USER '$MY_USER'@'%' IDENTIFIED BY '$MY_PASS'; GRANT ALL ON *.* TO '$MY_USER'@'%' WITH GRANT OPTION;"
  echo "mysql://$MY_USER:$MY_PASS@127.0.0.1:$MY_PORT/mysql" > "$D/url"
  echo "MariaDB on 127.0.0.1:$MY_PORT, URL in $D/url (user $MY_USER)" >&2
  echo "$D"
  ;;
stop)
  D=${2:?usage: mariadb.sh stop DIR}
  if [ -f "$D/mariadbd.pid" ]; then
    pid=$(cat "$D/mariadbd.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$D"
  ;;
*) echo "usage: $0 start | stop DIR" >&2; exit 2 ;;
esac
