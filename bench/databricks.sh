#!/usr/bin/env bash
# Benchmark on the Databricks stand-in (the Spark 3.5 Thrift server with Iceberg tables behind
# scripts/servers/databricks_front.py, started here and stopped at the end): upgrade of N files
# (each a CREATE TABLE and an INSERT), `status` and a no-op upgrade on that history, and the
# TCLIService calls each makes (the front's call log: one line per Thrift call, by method),
# with the calls per applied file. Prints figures; asserts nothing. Spark runs each statement
# as a job on two local cores: the times measure Spark as much as jetbase and say nothing of a
# real warehouse's latency. Python Jetbase cannot talk to Spark (no Databricks client library
# can): there is no comparison run.
#   bench/databricks.sh [N]     (N files, default 100; ROUNDS=1 runs, medians)
#   JETBASE_BIN=/path/to/jetbase compares another build.
set -euo pipefail
N=${1:-100}
ROUNDS=${ROUNDS:-1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
if [ -z "${JETBASE_BIN:-}" ]; then cargo build --release --quiet; fi
BIN=${JETBASE_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/jetbase}
DBX=""; W=""
cleanup() {
  if [ -n "$DBX" ]; then scripts/servers/databricks.sh stop "$DBX" || true; fi
  if [ -n "$W" ]; then rm -rf "$W"; fi
}
trap cleanup EXIT
DBX=$(scripts/servers/databricks.sh start)
# shellcheck disable=SC1091
. "$DBX/env"
W=$(mktemp -d -t jetbase-dbxbench.XXXXXX)
CALLS=$JETBASE_TEST_DATABRICKS_CALLS

# url SCHEMA: the server's URL on that schema.
url() { echo "$JETBASE_TEST_DATABRICKS_URL" | sed "s/schema=[^&]*/schema=$1/"; }

# project NAME SCHEMA: a project of N files on a new schema (made by a one-file project on
# the server's default schema).
project() {
  local d=$W/$1 mk=$W/$1-mk
  mkdir -p "$mk/jetbase/migrations" "$d/jetbase/migrations"
  echo "sqlalchemy_url = \"$(url default)\"" > "$mk/jetbase/env.py"
  echo "CREATE SCHEMA IF NOT EXISTS $2;" > "$mk/jetbase/migrations/V1__schema_$2.sql"
  (cd "$mk/jetbase" && "$BIN" upgrade >/dev/null 2>&1)
  echo "sqlalchemy_url = \"$(url "$2")\"" > "$d/jetbase/env.py"
  for i in $(seq 1 "$N"); do
    printf 'CREATE TABLE t%d (id INT);\nINSERT INTO t%d (id) VALUES (%d);\n-- rollback\nDROP TABLE t%d;\n' \
      "$i" "$i" "$i" "$i" > "$d/jetbase/migrations/V${i}__t$i.sql"
  done
  echo "$d/jetbase"
}

# run DIR CMD...: prints "<seconds> <calls> <by method>" for one run of CMD in DIR.
run() {
  local dir=$1; shift
  local before t0 t1
  before=$(wc -l < "$CALLS")
  t0=$(date +%s.%N)
  (cd "$dir" && "$@" >/dev/null 2>&1)
  t1=$(date +%s.%N)
  local by
  by=$(tail -n +"$((before + 1))" "$CALLS" | awk '{print $5}' | sort | uniq -c | awk '{printf "%s=%s ", $2, $1}')
  echo "$(echo "$t1 - $t0" | bc) $(( $(wc -l < "$CALLS") - before )) $by"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A T R B
for what in upgrade status noop; do T[$what]=""; done
for r in $(seq 1 "$ROUNDS"); do
  dir=$(project "p$r" "bench_${r}_$$")
  read -r s n by < <(run "$dir" "$BIN" upgrade); T[upgrade]+="$s "; R[upgrade]=$n; B[upgrade]=$by
  read -r s n by < <(run "$dir" "$BIN" status); T[status]+="$s "; R[status]=$n; B[status]=$by
  read -r s n by < <(run "$dir" "$BIN" upgrade); T[noop]+="$s "; R[noop]=$n; B[noop]=$by
done

echo "== Databricks stand-in (Spark 3.5.9 Thrift server, Iceberg), $N files of 2 statements, medians of $ROUNDS run(s)"
printf '%-8s %10s %8s %14s  %s\n' command seconds calls "calls/file" "by method"
for what in upgrade status noop; do
  s=$(echo "${T[$what]}" | tr ' ' '\n' | grep . | median)
  per=""; [ "$what" = upgrade ] && per=$(echo "scale=2; (${R[upgrade]} - ${R[noop]}) / $N" | bc)
  printf '%-8s %10.2f %8s %14s  %s\n' "$what" "$s" "${R[$what]}" "$per" "${B[$what]}"
done
