#!/usr/bin/env bash
# Benchmark on the servers: the 1,000-migration workload on PostgreSQL against `psql -f`
# and on MariaDB against the `mariadb` client, both running the same SQL with one
# transaction per file; then status and a no-op upgrade. Prints figures; asserts nothing.
#   bench/servers.sh [N]      (servers from JETBASE_TEST_*_URL, else started by scripts/servers/)
#   JETBASE_BIN=/path/to/jetbase compares another build.
set -euo pipefail
N=${1:-1000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
cargo build --release --quiet
BIN=${JETBASE_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/jetbase}
PG_DIR=""; MY_DIR=""
cleanup() {
  if [ -n "$PG_DIR" ]; then scripts/servers/postgres.sh stop "$PG_DIR"; fi
  if [ -n "$MY_DIR" ]; then scripts/servers/mariadb.sh stop "$MY_DIR"; fi
}
trap cleanup EXIT
if [ -z "${JETBASE_TEST_POSTGRES_URL:-}" ]; then PG_DIR=$(scripts/servers/postgres.sh start); JETBASE_TEST_POSTGRES_URL=$(cat "$PG_DIR/url"); fi
if [ -z "${JETBASE_TEST_MYSQL_URL:-}" ]; then MY_DIR=$(scripts/servers/mariadb.sh start); JETBASE_TEST_MYSQL_URL=$(cat "$MY_DIR/url"); fi
command -v hyperfine >/dev/null || { apt-get update -q >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -q hyperfine >/dev/null; }
W=$(mktemp -d -t jetbase-bench.XXXXXX)
trap 'rm -rf "$W"; cleanup' EXIT
mkdir -p "$W/jetbase/migrations"
for i in $(seq 1 "$N"); do
  printf -- '-- upgrade\nCREATE TABLE t%d (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL, created_at VARCHAR(20));\nINSERT INTO t%d (id, name, created_at) VALUES (1, '"'"'row %d'"'"', '"'"'2026-01-01'"'"');\n\n-- rollback\nDROP TABLE t%d;\n' \
    "$i" "$i" "$i" "$i" > "$W/jetbase/migrations/V${i}__create_t${i}.sql"
done
python3 - "$BIN" "$W" "$N" "$JETBASE_TEST_POSTGRES_URL" "$JETBASE_TEST_MYSQL_URL" "${ROUNDS:-5}" <<'PY'
import os, statistics, subprocess, sys, time, urllib.parse as up
bin_, w, n, pg, my, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], int(sys.argv[6])
files = [open(f"{w}/jetbase/migrations/V{i}__create_t{i}.sql").read().split("-- rollback")[0] for i in range(1, n + 1)]
def run(cmd, **kw):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
    return time.perf_counter() - t
def bench(name, url, begin, client, admin):
    u = up.urlparse(url)
    floor_sql = f"{w}/floor-{name}.sql"
    with open(floor_sql, "w") as f:
        for body in files:
            f.write(f"{begin};\n{body}COMMIT;\n")
    env = dict(os.environ, PGPASSWORD=u.password or "", MYSQL_PWD=u.password or "")
    def fresh(db):
        admin(env, f"DROP DATABASE IF EXISTS {db}")
        admin(env, f"CREATE DATABASE {db}")
    one_sql = f"{w}/one-{name}.sql"
    with open(one_sql, "w") as f:
        f.write(f"{begin};\n" + "".join(files) + "COMMIT;\n")
    floor, ours, one = [], [], []
    for r in range(rounds + 1):
        fresh("bench_one")
        c = run(client("bench_one", one_sql), env=env)
        fresh("bench_floor")
        a = run(client("bench_floor", floor_sql), env=env)
        fresh("bench_jb")
        with open(f"{w}/jetbase/env.py", "w") as f:
            f.write(f'sqlalchemy_url = "{u.scheme}://{u.username}:{u.password}@{u.hostname}:{u.port}/bench_jb"\n')
        b = run([bin_, "upgrade"], cwd=f"{w}/jetbase")
        if r:
            floor.append(a); ours.append(b); one.append(c)
    mf, mo, m1 = statistics.median(floor), statistics.median(ours), statistics.median(one)
    print(f"{name}: floor (client, one transaction per file) median {mf:.3f} s, jetbase upgrade median {mo:.3f} s, ratio {mo / mf:.3f}x; "
          f"client with one transaction for all files {m1:.3f} s ({rounds} interleaved rounds)")
    subprocess.run(["hyperfine", "-N", "--warmup", "2", "--runs", "20", "--style", "basic",
                    "-n", f"{name} status ({n} applied)", f"{bin_} status",
                    "-n", f"{name} no-op upgrade ({n} applied)", f"{bin_} upgrade"], cwd=f"{w}/jetbase", check=True)
pu = up.urlparse(pg)
def pg_admin(env, sql):
    subprocess.run(["psql", "-q", "-h", pu.hostname, "-p", str(pu.port), "-U", pu.username, "-d", "postgres", "-c", sql], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
bench("postgresql", pg, "BEGIN", lambda db, f: ["psql", "-q", "-v", "ON_ERROR_STOP=1", "-h", pu.hostname, "-p", str(pu.port), "-U", pu.username, "-d", db, "-f", f], pg_admin)
mu = up.urlparse(my)
def my_client(db, f):
    return ["sh", "-c", f"mariadb --no-defaults -h {mu.hostname} -P {mu.port} -u {mu.username} {db} < {f}"]
def my_admin(env, sql):
    subprocess.run(["mariadb", "--no-defaults", "-h", mu.hostname, "-P", str(mu.port), "-u", mu.username, "-e", sql], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
bench("mariadb", my, "START TRANSACTION", my_client, my_admin)
PY
