#!/usr/bin/env bash
# The test command (README). Installs Python Jetbase 0.18.1 into .venv-py when missing (the
# cross-tool tests and golden checksums need it), starts throwaway PostgreSQL and MariaDB
# servers and a 3-node Galera cluster on 127.0.0.1 unless JETBASE_TEST_POSTGRES_URL /
# JETBASE_TEST_MYSQL_URL / JETBASE_TEST_GALERA_URLS already name them (or JETBASE_TEST_SERVERS=0), runs every test, and stops what it started.
# Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv-py/bin/jetbase ]; then
  echo "== installing Python Jetbase 0.18.1 into .venv-py"
  python3 -m venv .venv-py
  .venv-py/bin/pip install --quiet --disable-pip-version-check jetbase==0.18.1 psycopg2-binary pymysql
fi

PG_DIR=""; MY_DIR=""; GA_DIR=""
cleanup() {
  if [ -n "$PG_DIR" ]; then scripts/postgres.sh stop "$PG_DIR" || true; fi
  if [ -n "$MY_DIR" ]; then scripts/mariadb.sh stop "$MY_DIR" || true; fi
  if [ -n "$GA_DIR" ]; then scripts/galera.sh stop "$GA_DIR" || true; fi
}
trap cleanup EXIT
if [ "${JETBASE_TEST_SERVERS:-1}" != 0 ] && [ "$(id -u)" = 0 ]; then
  if [ -z "${JETBASE_TEST_POSTGRES_URL:-}" ]; then
    PG_DIR=$(scripts/postgres.sh start)
    export JETBASE_TEST_POSTGRES_URL=$(cat "$PG_DIR/url")
    export JETBASE_TEST_POSTGRES_SOCKET_DIR=$PG_DIR
    if [ -f "$PG_DIR/ca.crt" ]; then export JETBASE_TEST_POSTGRES_CA=$PG_DIR/ca.crt; fi
  fi
  if [ -z "${JETBASE_TEST_MYSQL_URL:-}" ]; then
    MY_DIR=$(scripts/mariadb.sh start)
    export JETBASE_TEST_MYSQL_URL=$(cat "$MY_DIR/url")
  fi
  if [ -z "${JETBASE_TEST_GALERA_URLS:-}" ]; then
    GA_DIR=$(scripts/galera.sh start)
    export JETBASE_TEST_GALERA_URLS="$(cat "$GA_DIR/url1"),$(cat "$GA_DIR/url2"),$(cat "$GA_DIR/url3")"
  fi
fi
echo "== test servers: ${JETBASE_TEST_POSTGRES_URL:-none (PostgreSQL tests skip)}, ${JETBASE_TEST_MYSQL_URL:-none (MariaDB tests skip)}, Galera: ${JETBASE_TEST_GALERA_URLS:-none (Galera test skips)}"
cargo test --locked "$@"
