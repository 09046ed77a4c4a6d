#!/usr/bin/env bash
# Benchmark on ClickHouse: the 1,000-migration workload (each file: a MergeTree CREATE TABLE
# and an INSERT of one row, two statements) on ClickHouse 18.16 (scripts/servers/clickhouse.sh)
# and on the modern engine (chdb 26.9, scripts/servers/chdb.sh), each started here and stopped
# at the end. Prints figures; asserts nothing.
#   bench/clickhouse.sh [N]     (N files, default 1000; ROUNDS=5 timed rounds after a warm-up;
#                                COUNTS="1 10 100" sizes for the request counts;
#                                PY_TIMEOUT=1800 s for Python Jetbase's N-file upgrade)
#   JETBASE_BIN=/path/to/jetbase compares another build.
# Per server:
#  1. upgrade from empty (a fresh database each run), medians of ROUNDS interleaved runs, of
#     jetbase against the raw clients running the same statements:
#       curl, one process, one keep-alive connection, one POST per statement (a config file of
#       url/data entries joined by --next): the same protocol and round trips as jetbase's
#       statements, so the fair floor;
#       curl as above plus, after each file's statements, the history row as jetbase writes it
#       (INSERT ... SELECT with the next order_executed from a subquery, as Python Jetbase too):
#       the same requests as jetbase's, so the rest is jetbase's own cost;
#       clickhouse-client --multiquery on the native port (18.16 only; chdb has no native port):
#       another protocol, shown for reference.
#     Then `status` and a no-op `upgrade` on the N-file history (hyperfine), against one curl
#     reading the history table.
#  2. HTTP requests per run: counted by bench/count_proxy.py in front of each server (one log
#     line per request); on chdb also by the server's own request log (CHDB_SERVER_DEBUG=1).
#     Upgrades of each size in COUNTS give the fixed requests per run and the requests per
#     file; the largest one is broken down by statement. Python Jetbase 0.18.1
#     (.venv-py/bin/jetbase, or JETBASE_PY_BIN) on chdb only: its history table needs
#     DateTime64, which 18.16 lacks. Python's N-file upgrade is timed once.
#  3. A table of the figures.
set -euo pipefail
N=${1:-1000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
cargo build --release --quiet
BIN=${JETBASE_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/jetbase}
PY=${JETBASE_PY_BIN:-$ROOT/.venv-py/bin/jetbase}
[ -x "$PY" ] || PY=""
command -v hyperfine >/dev/null && command -v curl >/dev/null || {
  apt-get update -q >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -q hyperfine curl >/dev/null; }
# shellcheck source=scripts/servers/lib.sh
. scripts/servers/lib.sh
CH_DIR=""; CD_DIR=""; W=""
cleanup() {
  # The proxies' PIDs are in the server folders (proxy.pid), stopped before the servers.
  for d in "$CH_DIR" "$CD_DIR"; do
    if [ -n "$d" ] && [ -f "$d/proxy.pid" ]; then kill "$(cat "$d/proxy.pid")" 2>/dev/null || true; fi
  done
  if [ -n "$CH_DIR" ]; then scripts/servers/clickhouse.sh stop "$CH_DIR" || true; fi
  if [ -n "$CD_DIR" ]; then scripts/servers/chdb.sh stop "$CD_DIR" || true; fi
  if [ -n "$W" ]; then rm -rf "$W"; fi
}
trap cleanup EXIT
CH_DIR=$(scripts/servers/clickhouse.sh start)
CD_DIR=$(CHDB_SERVER_DEBUG=1 scripts/servers/chdb.sh start)
# proxy DIR: a counting proxy in front of DIR's server, on a port reserved for DIR (freed when
# the server stops); writes DIR/proxy.port, DIR/proxy.pid, and logs to DIR/proxy.log.
proxy() {
  local free
  free=$(free_port "$1")
  python3 bench/count_proxy.py "$free" 127.0.0.1 "$(cat "$1/port")" "$1/proxy.log" > "$1/proxy.out" 2>&1 &
  echo $! > "$1/proxy.pid"
  for _ in $(seq 50); do grep -q ready "$1/proxy.out" 2>/dev/null && break; sleep 0.1; done
  echo "$free" > "$1/proxy.port"
}
proxy "$CH_DIR"
proxy "$CD_DIR"
W=$(mktemp -d -t jetbase-chbench.XXXXXX)
echo "== $N files; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start; jetbase $("$BIN" --version)"
python3 - "$BIN" "$PY" "$W" "$N" "${ROUNDS:-5}" "${COUNTS:-1 10 100}" "${PY_TIMEOUT:-1800}" "$CH_DIR" "$CD_DIR" <<'PY'
import json, os, re, shutil, statistics, subprocess, sys, time, urllib.request
bin_, py, w, n, rounds, counts, py_timeout, ch_dir, cd_dir = sys.argv[1:]
n, rounds, py_timeout = int(n), int(rounds), float(py_timeout)
counts = sorted({int(c) for c in counts.split()})
USER, KEY = "migrator", "secret"

def body(i):
    return [f"CREATE TABLE t{i} (id UInt64) ENGINE = MergeTree() ORDER BY id", f"INSERT INTO t{i} VALUES ({i})"]

def project(name, files, port, db):
    """W/name/jetbase with `files` migrations and an env.py naming db on port."""
    d = f"{w}/{name}/jetbase"
    if not os.path.isdir(d):
        os.makedirs(f"{d}/migrations")
        for i in range(1, files + 1):
            with open(f"{d}/migrations/V{i}__create_t{i}.sql", "w") as f:
                f.write("-- upgrade\n" + "".join(s + ";\n" for s in body(i)) + f"\n-- rollback\nDROP TABLE t{i};\n")
    with open(f"{d}/env.py", "w") as f:
        f.write(f'sqlalchemy_url = "clickhouse://{USER}:{KEY}@127.0.0.1:{port}/{db}"\n')
    return d

def lines(path):
    try:
        with open(path, "rb") as f:
            return sum(1 for l in f if l.startswith(b"{"))
    except FileNotFoundError:
        return 0

def new_lines(path, start):
    with open(path) as f:
        return [json.loads(l) for l in f if l.startswith("{")][start:]

def run(cmd, cwd=None, stdin=None, timeout=None):
    t = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, timeout=timeout)
    return time.perf_counter() - t

def hyperfine(cmds, cwd, runs, warmup):
    """Median seconds of each (name, command) by hyperfine; prints hyperfine's summary."""
    out = f"{w}/hf.json"
    args = ["hyperfine", "-N", "--style", "basic", "--warmup", str(warmup), "--runs", str(runs), "--export-json", out]
    for name, cmd in cmds:
        args += ["-n", name, cmd]
    subprocess.run(args, cwd=cwd, check=True)
    with open(out) as f:
        return {r["command"]: r["median"] for r in json.load(f)["results"]}

class Server:
    def __init__(self, name, d):
        self.name, self.dir = name, d
        self.port = int(open(f"{d}/port").read())
        self.proxy_port = int(open(f"{d}/proxy.port").read())
        self.proxy_log = f"{d}/proxy.log"
        self.server_log = f"{d}/server.log" if name == "chdb" else None
        self.tcp_port = int(open(f"{d}/tcp_port").read()) if os.path.exists(f"{d}/tcp_port") else None
        self.version = self.admin("SELECT version()").strip()
        self.modern = int(self.version.split(".")[0]) >= 20

    def admin(self, sql, db="default"):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/?database={db}", data=sql.encode(),
                                     headers={"X-ClickHouse-User": USER, "X-ClickHouse-Key": KEY})
        with urllib.request.urlopen(req, timeout=600) as r:
            return r.read().decode()

    def drop(self, db):
        self.admin(f"DROP DATABASE IF EXISTS {db}" + (" SYNC" if self.modern else ""))

    def fresh(self, db):
        self.drop(db)
        self.admin(f"CREATE DATABASE {db}")

    def history_table(self, db):
        """jetbase's history table (its DDL for this server), for the curl run that writes it."""
        at = "DateTime64(6) DEFAULT now64(6)" if self.modern else "DateTime DEFAULT now()"
        self.admin(f"CREATE TABLE {db}.jetbase_migrations (order_executed UInt64, version Nullable(String), "
                   f"description String, filename String, migration_type String, applied_at {at}, checksum String) "
                   "ENGINE = MergeTree() ORDER BY order_executed")

    def history_insert(self, i):
        """The history row of file i as jetbase writes it (one line: it goes in a curl config)."""
        now = "now64(6)" if self.modern else "now()"
        return ("INSERT INTO jetbase_migrations (order_executed, version, description, filename, migration_type, "
                "checksum, applied_at) SELECT (SELECT COALESCE(MAX(order_executed), 0) + 1 FROM jetbase_migrations), "
                f"'{i}', 'create t{i}', 'V{i}__create_t{i}.sql', 'VERSIONED', '{i:064x}', {now}")

    def curl_config(self, db, path, history=False):
        """One POST per statement on one connection: url/header/data blocks joined by `next`;
        with `history`, each file's history row after its statements."""
        blocks = []
        for i in range(1, n + 1):
            for s in body(i) + ([self.history_insert(i)] if history else []):
                blocks.append(f'url = "http://127.0.0.1:{self.port}/?database={db}"\n'
                              f'header = "X-ClickHouse-User: {USER}"\nheader = "X-ClickHouse-Key: {KEY}"\n'
                              f'fail\ndata-binary = "{s}"\n')
        with open(path, "w") as f:
            f.write("next\n".join(blocks))

results = {}  # (server, figure) -> value
def note(server, key, value):
    results[(server, key)] = value

def timings(s):
    print(f"\n== {s.name} ({s.version}): upgrade of {n} files from empty, {rounds} interleaved rounds after a warm-up")
    jb = project(f"{s.name}-time", n, s.port, "bench_jb")
    with open(f"{w}/multi.sql", "w") as f:
        f.write("".join(st + ";\n" for i in range(1, n + 1) for st in body(i)))
    s.curl_config("bench_curl", f"{w}/curl-{s.name}.cfg")
    s.curl_config("bench_curl3", f"{w}/curl3-{s.name}.cfg", history=True)
    tools = ["curl", "curl3"] + (["client"] if s.tcp_port else []) + ["jetbase"]
    times = {t: [] for t in tools}
    requests = []
    for r in range(rounds + 1):
        for t in tools[r % len(tools):] + tools[:r % len(tools)]:  # rotate who goes first
            db = f"bench_{'jb' if t == 'jetbase' else t}"
            s.fresh(db)
            if t in ("curl", "curl3"):
                if t == "curl3":
                    s.history_table(db)
                took = run(["curl", "-sS", "--fail-early", "-K", f"{w}/{t}-{s.name}.cfg"])
            elif t == "client":
                with open(f"{w}/multi.sql") as sql:
                    took = run(["clickhouse-client", "--host", "127.0.0.1", "--port", str(s.tcp_port), "--user", USER,
                                "--password", KEY, "--database", db, "--multiquery"], stdin=sql)
            else:
                before = lines(s.server_log) if s.server_log else 0
                took = run([bin_, "upgrade"], cwd=jb)
                if s.server_log:
                    requests.append(lines(s.server_log) - before)
            got = s.admin(f"SELECT count() FROM system.tables WHERE database = '{db}' AND name LIKE 't%'").strip()
            assert int(got) >= n, f"{t} on {s.name}: {got} tables of {n}"
            if r:
                times[t].append(took)
            if not (t == "jetbase" and r == rounds):
                s.drop(db)  # the last jetbase database stays, for status and the no-op upgrade
    med = {t: statistics.median(v) for t, v in times.items()}
    for t, label in (("curl", "curl, 1 connection, 1 POST per statement (the floor)"),
                     ("curl3", "curl, the same + jetbase's history INSERT per file"),
                     ("client", "clickhouse-client --multiquery (native protocol)"), ("jetbase", "jetbase upgrade")):
        if t in med:
            v = times[t]
            print(f"  {label:<52} median {med[t]:7.3f} s  (min {min(v):.3f}, max {max(v):.3f})")
            note(s.name, f"upgrade {t}", med[t])
    for t in ("curl", "curl3"):
        ratio = statistics.median(b / a for a, b in zip(times[t], times["jetbase"]))
        print(f"  ratio jetbase/{t}: {med['jetbase'] / med[t]:.2f}x (medians; per round {ratio:.2f}x)")
    if requests:
        print(f"  requests per jetbase upgrade of {n} files (server log): {sorted(requests)}")
    # status and the no-op upgrade on the N-file history; the floor reads the history once.
    floor = (f"curl -sS --fail http://127.0.0.1:{s.port}/?database=bench_jb -H 'X-ClickHouse-User: {USER}' "
             f"-H 'X-ClickHouse-Key: {KEY}' --data-binary 'SELECT * FROM jetbase_migrations ORDER BY order_executed'")
    m = hyperfine([(f"{s.name} jetbase status ({n} applied)", f"{bin_} status"),
                   (f"{s.name} jetbase no-op upgrade ({n} applied)", f"{bin_} upgrade"),
                   (f"{s.name} curl: SELECT the history ({n} rows)", floor)], jb, 20, 2)
    note(s.name, "status jetbase", m[f"{s.name} jetbase status ({n} applied)"])
    note(s.name, "no-op jetbase", m[f"{s.name} jetbase no-op upgrade ({n} applied)"])
    note(s.name, "history curl", m[f"{s.name} curl: SELECT the history ({n} rows)"])
    s.drop("bench_jb")

def python_timings(s):
    if not py:
        print("\n(no .venv-py/bin/jetbase: Python Jetbase skipped)")
        return
    print(f"\n== {s.name}: Python Jetbase 0.18.1, upgrade of {n} files from empty (one run), status, no-op upgrade")
    files = n
    while True:
        d = project(f"{s.name}-py-{files}", files, s.port, "bench_py")
        s.fresh("bench_py")
        before = lines(s.server_log)
        try:
            took = run([py, "upgrade"], cwd=d, timeout=py_timeout)
            break
        except subprocess.TimeoutExpired:
            print(f"  {files} files: not done in {py_timeout:.0f} s (PY_TIMEOUT); timing 100 files instead")
            if files == 100:
                return
            files = 100
    reqs = lines(s.server_log) - before
    print(f"  Python upgrade ({files} files): {took:.2f} s, {reqs} requests (server log)")
    note(s.name, "upgrade python", took)
    note(s.name, "python files", files)
    if files == n:
        note(s.name, "requests python N", reqs)
    m = hyperfine([(f"{s.name} Python status ({files} applied)", f"{py} status"),
                   (f"{s.name} Python no-op upgrade ({files} applied)", f"{py} upgrade")], d, 3, 1)
    note(s.name, "status python", m[f"{s.name} Python status ({files} applied)"])
    note(s.name, "no-op python", m[f"{s.name} Python no-op upgrade ({files} applied)"])
    s.drop("bench_py")

def kind(sql):
    """A statement with its numbers and strings blanked, on one line: what it is, not which."""
    sql = re.sub(r"'(?:[^'\\]|\\.)*'", "'…'", sql)
    sql = re.sub(r"\b\d+\b", "N", sql)
    sql = re.sub(r"\s+", " ", sql).strip()
    return sql[:110]

def settled(path):
    """The log's line count once it stops growing: the proxy writes a request's line just
    after forwarding its answer, so the client may be gone before the last line is written."""
    last, since = lines(path), time.monotonic()
    while time.monotonic() - since < 0.3:
        time.sleep(0.05)
        now = lines(path)
        if now != last:
            last, since = now, time.monotonic()
    return last

def counting(s, tool, exe, sizes):
    """Requests per run through the proxy (and the server log on chdb): upgrades of each size,
    then status and a no-op upgrade on the largest."""
    print(f"\n== {s.name}: HTTP requests per run, {tool}")
    ups = {}
    for k in sizes:
        db = f"bench_count_{tool}_{k}".lower()
        s.fresh(db)
        d = project(f"{s.name}-count-{tool}-{k}", k, s.proxy_port, db)
        runs = [("upgrade", [exe, "upgrade"])]
        if k == sizes[-1]:
            runs += [("status", [exe, "status"]), ("no-op upgrade", [exe, "upgrade"])]
        for what, cmd in runs:
            p0 = settled(s.proxy_log)
            l0 = lines(s.server_log) if s.server_log else 0
            took = run(cmd, cwd=d)
            got = settled(s.proxy_log) - p0
            own = f", server log {lines(s.server_log) - l0}" if s.server_log else ""
            print(f"  {what} ({k} files): {got} requests (proxy{own}), {took:.2f} s through the proxy")
            if what == "upgrade":
                ups[k] = got
                log = new_lines(s.proxy_log, p0)
            else:
                note(s.name, f"req {what} {tool}", got)
        s.drop(db)
    if n in ups:
        note(s.name, f"requests {tool} N", ups[n])
    xs = list(ups)
    if len(xs) >= 2:
        mx, my = statistics.mean(xs), statistics.mean(ups.values())
        slope = sum((x - mx) * (ups[x] - my) for x in xs) / sum((x - mx) ** 2 for x in xs)
        fixed = my - slope * mx
        print(f"  upgrade: {fixed:.1f} fixed requests per run + {slope:.3f} per file (least squares over {xs} files)")
        note(s.name, f"req fixed {tool}", fixed)
        note(s.name, f"req per file {tool}", slope)
    # The largest upgrade's requests by statement: count, per file, time (through the proxy).
    k = sizes[-1]
    by = {}
    for r in log:
        c = by.setdefault(kind(r["sql"]), [0, 0.0])
        c[0] += 1
        c[1] += r["ms"]
    print(f"  the {k}-file upgrade's requests by statement (count, per file, mean ms, total ms):")
    shown = sorted(by.items(), key=lambda kv: -kv[1][0])
    for sql, (c, ms) in shown[:12]:
        print(f"    {c:5d} {c / k:6.3f} {ms / c:7.2f} {ms:9.0f}  {sql}")
    if len(shown) > 12:
        rest = shown[12:]
        c, ms = sum(v[0] for _, v in rest), sum(v[1] for _, v in rest)
        print(f"    {c:5d} {c / k:6.3f} {ms / c:7.2f} {ms:9.0f}  ({len(rest)} other statements, each once: the files' own)")
    # The history write as the history grows.
    hist = [r["ms"] for r in log if r["sql"].lstrip().startswith("INSERT INTO jetbase_migrations")]
    if len(hist) >= 20:
        tenth = len(hist) // 10
        print(f"  history INSERT: mean {statistics.mean(hist[:tenth]):.2f} ms over the first {tenth} files, "
              f"{statistics.mean(hist[-tenth:]):.2f} ms over the last {tenth}")

servers = [Server("clickhouse-18.16", ch_dir), Server("chdb", cd_dir)]
for s in servers:
    timings(s)
    if s.modern:
        python_timings(s)
    counting(s, "jetbase", bin_, sorted(set(counts) | {n}))
    if s.modern and py:
        counting(s, "python", py, counts)

print(f"\n== summary ({n} files; medians; {os.cpu_count()} cores, load average {open('/proc/loadavg').read().split()[0]} now)")
g = lambda s, k: results.get((s.name, k))
def secs(v, files=None):
    return "-" if v is None else f"{v:.3f} s" + ("" if files in (None, n) else f" ({files} files)")
def table(rows):
    width = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  " + "  ".join(c.ljust(width[i]) for i, c in enumerate(r)).rstrip())
rows = [("server", "run", "jetbase", "curl floor", "curl + history", "clickhouse-client", "Python Jetbase")]
for s in servers:
    pf = g(s, "python files")
    rows.append((s.name, f"upgrade, {n} files", secs(g(s, "upgrade jetbase")), secs(g(s, "upgrade curl")),
                 secs(g(s, "upgrade curl3")), secs(g(s, "upgrade client")), secs(g(s, "upgrade python"), pf)))
    rows.append((s.name, f"status, {n} applied", secs(g(s, "status jetbase")),
                 secs(g(s, "history curl")) + " (1 SELECT)", "-", "-", secs(g(s, "status python"), pf)))
    rows.append((s.name, f"no-op upgrade", secs(g(s, "no-op jetbase")), "-", "-", "-", secs(g(s, "no-op python"), pf)))
table(rows)
print()
rows = [("server", "tool", "upgrade: fixed", "per file", "status", "no-op upgrade", f"upgrade of {n} files")]
for s in servers:
    for tool in ("jetbase", "python"):
        if g(s, f"req per file {tool}") is None:
            continue
        whole = g(s, f"requests {tool} N")
        rows.append((s.name, tool, f"{g(s, f'req fixed {tool}'):.1f}", f"{g(s, f'req per file {tool}'):.2f}",
                     str(g(s, f"req status {tool}")), str(g(s, f"req no-op upgrade {tool}")),
                     "-" if whole is None else f"{whole:.0f}"))
    rows.append((s.name, "curl floor", "0", "2.00", "1", "-", str(2 * n)))
    rows.append((s.name, "curl + history", "0", "3.00", "1", "-", str(3 * n)))
table(rows)
print("  (HTTP requests counted by the proxy; fixed and per file: least squares over the upgrades of"
      f" {sorted(set(counts) | {n})} files (Python: {counts});\n   Python's {n}-file upgrade: its timed run, from the server's log)")
PY
