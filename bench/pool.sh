#!/usr/bin/env bash
# Benchmark: the jetbase::db pool against a plain sqlx pool on PostgreSQL (examples/pool_bench.rs).
#   bench/pool.sh      (server from JETBASE_TEST_POSTGRES_URL, else started by scripts/servers/postgres.sh)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PG_DIR=""
trap '[ -n "$PG_DIR" ] && scripts/servers/postgres.sh stop "$PG_DIR"' EXIT
if [ -z "${JETBASE_TEST_POSTGRES_URL:-}" ]; then PG_DIR=$(scripts/servers/postgres.sh start); JETBASE_TEST_POSTGRES_URL=$(cat "$PG_DIR/url"); fi
DATABASE_URL=$JETBASE_TEST_POSTGRES_URL cargo run --release --quiet --example pool_bench
