#!/usr/bin/env bash
# A throwaway PostgreSQL server on 127.0.0.1 for tests (Debian's postgresql-15), on a free port.
#   scripts/servers/postgres.sh start   -> prints the server's folder (contract in lib.sh):
#                                          url, env, pid, port, ports; its Unix socket in that
#                                          folder; the CA of its TLS certificate in ca.crt
#   scripts/servers/postgres.sh stop DIR
#   scripts/servers/postgres.sh crash DIR / resume DIR   (tests: lose the server as a lost
#                                          connection would look, data kept; then get it back
#                                          on the same port)
#   scripts/servers/postgres.sh var     -> JETBASE_TEST_POSTGRES_URL
# PG_DURABLE=1 keeps fsync on (tests that crash the server on purpose).
# Runs as root: initdb and postgres refuse root, so they run as the `postgres` user.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
VAR=JETBASE_TEST_POSTGRES_URL
PG_USER=${PG_USER:-migrator}
PG_PASS=${PG_PASS:-secret}
pgbin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true; }
case "${1:-}" in
var) echo "$VAR" ;;
start)
  PGBIN=$(pgbin)
  if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
    [ -n "${APT_UPDATED:-}" ] || apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null
  fi
  with_retries pg "$0"
  ;;
attempt)
  # One try of `start` in the fresh folder $2 (see with_retries in lib.sh).
  D=$2
  PGBIN=$(pgbin)
  chown postgres: "$D"
  printf '%s' "$PG_PASS" > "$D/pw"; chown postgres "$D/pw"
  runuser -u postgres -- "$PGBIN/initdb" -D "$D/data" -U "$PG_USER" --pwfile="$D/pw" \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 --no-sync >"$D/initdb.log"
  # TLS: a throwaway CA ($D/ca.crt) signs a certificate for 127.0.0.1, so sslmode=require
  # and verify-full can be tested; plain connections still work.
  TLS=""
  if command -v openssl >/dev/null; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=jetbase test CA" \
      -keyout "$D/ca.key" -out "$D/ca.crt" >/dev/null 2>&1
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
      -keyout "$D/server.key" -out "$D/server.csr" >/dev/null 2>&1
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > "$D/ext.cnf"
    openssl x509 -req -in "$D/server.csr" -CA "$D/ca.crt" -CAkey "$D/ca.key" -CAcreateserial \
      -days 2 -extfile "$D/ext.cnf" -out "$D/server.crt" >/dev/null 2>&1
    chown postgres: "$D/server.key" "$D/server.crt"; chmod 600 "$D/server.key"
    TLS="-c ssl=on -c ssl_cert_file=$D/server.crt -c ssl_key_file=$D/server.key"
  fi
  # Fast and not crash-safe, unless PG_DURABLE=1 (tests that crash the server on purpose).
  FAST="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  [ "${PG_DURABLE:-0}" = 1 ] && FAST=""
  PORT=$(free_port "$D")
  OPTS="-c listen_addresses=127.0.0.1 -p $PORT -k $D $FAST -c max_connections=200 $TLS"
  if ! runuser -u postgres -- "$PGBIN/pg_ctl" -D "$D/data" -l "$D/server.log" -w -s -o "$OPTS" start; then
    tail -n 20 "$D/server.log" >&2 2>/dev/null || true
    exit 1
  fi
  head -1 "$D/data/postmaster.pid" > "$D/pid"
  echo "$PGBIN" > "$D/bin"
  echo "$OPTS" > "$D/opts"
  echo "$PORT" > "$D/port"
  URL="postgresql://$PG_USER:$PG_PASS@127.0.0.1:$PORT/postgres"
  echo "$URL" > "$D/url"
  ENV=("$VAR=$URL" "JETBASE_TEST_POSTGRES_SOCKET_DIR=$D")
  [ -f "$D/ca.crt" ] && ENV+=("JETBASE_TEST_POSTGRES_CA=$D/ca.crt")
  write_env "$D" "${ENV[@]}"
  echo "PostgreSQL on 127.0.0.1:$PORT, URL in $D/url (user $PG_USER)" >&2
  ;;
crash)
  # SIGQUIT is PostgreSQL's immediate shutdown (pg_ctl -m immediate): no checkpoint.
  D=${2:?usage: postgres.sh crash DIR}
  stop_pid "$D/pid" "$D" QUIT
  ;;
resume)
  D=${2:?usage: postgres.sh resume DIR}
  runuser -u postgres -- "$(cat "$D/bin")/pg_ctl" -D "$D/data" -l "$D/server.log" -w -s -o "$(cat "$D/opts")" start
  head -1 "$D/data/postmaster.pid" > "$D/pid"
  ;;
stop)
  # SIGINT is PostgreSQL's fast shutdown (pg_ctl -m fast).
  D=${2:?usage: postgres.sh stop DIR}
  if [ ! -f "$D/pid" ] && [ -f "$D/data/postmaster.pid" ]; then head -1 "$D/data/postmaster.pid" > "$D/pid"; fi
  stop_pid "$D/pid" "$D" INT
  release_ports "$D"
  rm -rf "$D"
  ;;
*) echo "usage: $0 start | stop DIR | crash DIR | resume DIR | var" >&2; exit 2 ;;
esac
