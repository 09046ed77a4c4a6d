#!/usr/bin/env bash
# Benchmark: the 1,000-migration SQLite workload of issue 3. Prints figures; asserts nothing.
#   bench/run.sh [N]        (N migrations, default 1000)
# Compares jetbase against the floor (the sqlite3 CLI running the same SQL, one transaction
# per file, in one process) and, when .venv-py/bin/jetbase exists, Python Jetbase 0.18.1.
set -euo pipefail
N=${1:-1000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
command -v sqlite3 >/dev/null && command -v hyperfine >/dev/null && command -v bc >/dev/null && [ -x /usr/bin/time ] || {
  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q sqlite3 hyperfine time bc >/dev/null; }
cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml"
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/jetbase
W=$(mktemp -d -t jetbase-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/jetbase/migrations"
printf 'sqlalchemy_url = "sqlite:///bench.db"\n' > "$W/jetbase/env.py"
for i in $(seq 1 "$N"); do
  printf -- '-- upgrade\nCREATE TABLE t%d (id INTEGER PRIMARY KEY, name TEXT NOT NULL, created_at TEXT);\nINSERT INTO t%d (name, created_at) VALUES ('"'"'row %d'"'"', '"'"'2026-01-01'"'"');\n\n-- rollback\nDROP TABLE t%d;\n' \
    "$i" "$i" "$i" "$i" > "$W/jetbase/migrations/V${i}__create_t${i}.sql"
done
# The floor: the same SQL, one transaction per file, one sqlite3 process.
for i in $(seq 1 "$N"); do
  printf 'BEGIN;\n'; sed -n '/^-- rollback/q;p' "$W/jetbase/migrations/V${i}__create_t${i}.sql"; printf 'COMMIT;\n'
done > "$W/floor.sql"
cd "$W/jetbase"
echo "== $N migrations, $(nproc) cores, $(sqlite3 --version | cut -d' ' -f1) CLI; jetbase $("$BIN" --version)"
# Upgrade from empty, interleaved with the floor run by run so that disk and machine noise
# hit both alike; medians and their ratio are printed.
python3 - "$BIN" "$W" "${ROUNDS:-15}" <<'PY'
import os, statistics, subprocess, sys, time
bin_, w, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
def timed(cmd, cwd, stdin=None):
    t = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t
floor, ours = [], []
for r in range(rounds + 1):
    for f in (f"{w}/floor.db", f"{w}/jetbase/bench.db"):
        if os.path.exists(f): os.remove(f)
    with open(f"{w}/floor.sql") as sql:
        a = timed(["sqlite3", f"{w}/floor.db"], w, stdin=sql)
    b = timed([bin_, "upgrade"], f"{w}/jetbase")
    if r:  # the first round warms the caches
        floor.append(a); ours.append(b)
mf, mo = statistics.median(floor), statistics.median(ours)
print(f"floor (sqlite3 CLI, one transaction per file): median {mf:.3f} s  (min {min(floor):.3f}, max {max(floor):.3f})")
print(f"jetbase upgrade (empty -> N):                 median {mo:.3f} s  (min {min(ours):.3f}, max {max(ours):.3f})")
print(f"ratio upgrade/floor: {mo / mf:.3f}x (median of {rounds} interleaved rounds; per round: {statistics.median(b / a for a, b in zip(floor, ours)):.3f}x)")
PY
rm -f bench.db; "$BIN" upgrade >/dev/null 2>&1
hyperfine -N --warmup 3 --runs 30 -n "status ($N applied)" "$BIN status" \
  -n "no-op upgrade ($N applied)" "$BIN upgrade" -n "jetbase --help" "$BIN --help" 2>&1 | grep -v '^\s*$'
rss() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1; }
rm -f bench.db
echo "peak RSS upgrade (empty -> $N): $(rss "$BIN" upgrade) KiB"
echo "peak RSS status ($N applied):    $(rss "$BIN" status) KiB"
echo "peak RSS no-op upgrade:          $(rss "$BIN" upgrade) KiB"
if [ -x "$ROOT/.venv-py/bin/jetbase" ]; then
  rm -f bench.db
  s=$(date +%s.%N); "$ROOT/.venv-py/bin/jetbase" upgrade >/dev/null 2>&1 || echo "python jetbase failed"; e=$(date +%s.%N)
  py=$(echo "$e - $s" | bc -l)
  s=$(date +%s.%N); "$ROOT/.venv-py/bin/jetbase" status >/dev/null 2>&1; e=$(date +%s.%N)
  pys=$(echo "$e - $s" | bc -l)
  rm -f bench.db; s=$(date +%s.%N); "$BIN" upgrade >/dev/null 2>&1; e=$(date +%s.%N)
  rs=$(echo "$e - $s" | bc -l)
  printf 'Python Jetbase 0.18.1 upgrade (empty -> %d): %.2f s; jetbase: %.3f s; speed-up %.0fx\n' "$N" "$py" "$rs" "$(echo "$py / $rs" | bc -l)"
  printf 'Python Jetbase status (%d applied): %.2f s\n' "$N" "$pys"
fi
