#!/usr/bin/env bash
# A throwaway PostgreSQL server on 127.0.0.1 for tests (Debian's postgresql-15).
#   scripts/postgres.sh start   -> prints the server's folder; its URL is in <folder>/url,
#                                  its Unix socket in that folder, the CA of its TLS certificate
#                                  in <folder>/ca.crt
#   scripts/postgres.sh stop DIR
#   scripts/postgres.sh crash DIR / resume DIR   (tests: lose the server, then get it back)
# Runs as root: initdb and postgres refuse root, so they run as the `postgres` user.
set -euo pipefail
PGPORT=${PGPORT:-25432}
PG_USER=${PG_USER:-migrator}
PG_PASS=${PG_PASS:-secret}
case "${1:-}" in
start)
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
    [ -n "${APT_UPDATED:-}" ] || apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null
    PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  fi
  D=$(mktemp -d -t jetbase-pg.XXXXXX)
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
  OPTS="-c listen_addresses=127.0.0.1 -p $PGPORT -k $D $FAST -c max_connections=200 $TLS"
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$D/data" -l "$D/server.log" -w -s -o "$OPTS" start
  echo "$PGBIN" > "$D/bin"
  echo "$OPTS" > "$D/opts"
  echo "postgresql://$PG_USER:$PG_PASS@127.0.0.1:$PGPORT/postgres" > "$D/url"
  echo "PostgreSQL on 127.0.0.1:$PGPORT, URL in $D/url (user $PG_USER)" >&2
  echo "$D"
  ;;
crash)
  # Kill the server as a lost connection would look (tests): data kept for `resume`.
  D=${2:?usage: postgres.sh crash DIR}
  runuser -u postgres -- "$(cat "$D/bin")/pg_ctl" -D "$D/data" -m immediate -w -s stop
  ;;
resume)
  D=${2:?usage: postgres.sh resume DIR}
  runuser -u postgres -- "$(cat "$D/bin")/pg_ctl" -D "$D/data" -l "$D/server.log" -w -s -o "$(cat "$D/opts")" start
  ;;
stop)
  D=${2:?usage: postgres.sh stop DIR}
  [ -f "$D/bin" ] && runuser -u postgres -- "$(cat "$D/bin")/pg_ctl" -D "$D/data" -m fast -w -s stop || true
  rm -rf "$D"
  ;;
*) echo "usage: $0 start | stop DIR | crash DIR | resume DIR" >&2; exit 2 ;;
esac
