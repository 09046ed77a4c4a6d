#!/usr/bin/env bash
# Benchmark on the Snowflake emulator (fakesnow behind scripts/servers/snowflake_front.py,
# started here with its request log on, stopped at the end): upgrade of N files (each a
# CREATE TABLE and an INSERT), `status` and a no-op upgrade on that history, for jetbase and
# Python Jetbase 0.18.1, and the HTTP requests each makes (one front log line per request:
# login, query requests, heartbeat, session delete, telemetry). Prints figures; asserts
# nothing. fakesnow runs every statement on DuckDB in Python: the times measure the
# emulator as much as the tools, and say nothing of a real account's latency.
#   bench/snowflake.sh [N]      (N files, default 100; ROUNDS=3 runs of each, medians)
#   JETBASE_BIN=/path/to/jetbase compares another build.
set -euo pipefail
N=${1:-100}
ROUNDS=${ROUNDS:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
if [ -z "${JETBASE_BIN:-}" ]; then cargo build --release --quiet; fi
BIN=${JETBASE_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/jetbase}
PY=${JETBASE_PY_BIN:-$ROOT/.venv-py/bin/jetbase}
SF=""; W=""
cleanup() {
  if [ -n "$SF" ]; then scripts/servers/snowflake.sh stop "$SF" || true; fi
  if [ -n "$W" ]; then rm -rf "$W"; fi
}
trap cleanup EXIT
SF=$(SNOWFLAKE_SERVER_DEBUG=1 scripts/servers/snowflake.sh start)
# shellcheck disable=SC1091
. "$SF/env"
W=$(mktemp -d -t jetbase-sfbench.XXXXXX)
LOG=$SF/server.log
PORT=$(cat "$SF/port")

# project NAME DB: a project of N files on database DB.
project() {
  local d=$W/$1
  mkdir -p "$d/jetbase/migrations"
  echo "sqlalchemy_url = \"snowflake://migrator:secret@fakeacct/$2/PUBLIC?warehouse=WH&host=127.0.0.1&port=$PORT&protocol=http\"" > "$d/jetbase/env.py"
  for i in $(seq 1 "$N"); do
    printf 'CREATE TABLE t%d (id INTEGER);\nINSERT INTO t%d (id) VALUES (%d);\n-- rollback\nDROP TABLE t%d;\n' \
      "$i" "$i" "$i" "$i" > "$d/jetbase/migrations/V${i}__t$i.sql"
  done
  echo "$d/jetbase"
}

# run DIR CMD...: prints "<seconds> <requests>" for one run of CMD in DIR.
run() {
  local dir=$1; shift
  local before after t0 t1
  before=$(wc -l < "$LOG")
  t0=$(date +%s.%N)
  (cd "$dir" && env SNOWFLAKE_SQLALCHEMY_LEGACY_URL_PARAMS=true SNOWFLAKE_DISABLE_PLATFORM_DETECTION=true "$@" >/dev/null 2>&1)
  t1=$(date +%s.%N)
  after=$(wc -l < "$LOG")
  echo "$(echo "$t1 - $t0" | bc) $((after - before))"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A T R
for tool in jetbase python; do
  for what in upgrade status noop; do T[$tool.$what]=""; done
done
for r in $(seq 1 "$ROUNDS"); do
  for tool in jetbase python; do
    [ "$tool" = python ] && [ ! -x "$PY" ] && continue
    cmd=("$BIN"); [ "$tool" = python ] && cmd=("$PY")
    dir=$(project "$tool$r" "B_${tool}_${r}_$$")
    read -r s n < <(run "$dir" "${cmd[@]}" upgrade); T[$tool.upgrade]+="$s "; R[$tool.upgrade]=$n
    read -r s n < <(run "$dir" "${cmd[@]}" status); T[$tool.status]+="$s "; R[$tool.status]=$n
    read -r s n < <(run "$dir" "${cmd[@]}" upgrade); T[$tool.noop]+="$s "; R[$tool.noop]=$n
  done
done

echo "== Snowflake emulator (fakesnow 0.12.1), $N files of 2 statements, medians of $ROUNDS runs"
printf '%-10s %-10s %10s %10s %14s\n' tool command seconds requests "requests/file"
for tool in jetbase python; do
  [ -z "${T[$tool.upgrade]}" ] && continue
  for what in upgrade status noop; do
    s=$(echo "${T[$tool.$what]}" | tr ' ' '\n' | grep . | median)
    n=${R[$tool.$what]}
    # Per file: the upgrade's requests beyond a no-op upgrade's (login, checks, history).
    per=""; [ "$what" = upgrade ] && per=$(echo "scale=2; ($n - ${R[$tool.noop]}) / $N" | bc)
    printf '%-10s %-10s %10.2f %10s %14s\n' "$tool" "$what" "$s" "$n" "$per"
  done
done
