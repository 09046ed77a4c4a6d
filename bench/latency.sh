#!/usr/bin/env bash
# The server benchmark (bench/servers.sh) behind a network latency. On a database a few
# milliseconds away, round trips per file are most of an upgrade; this shows how many jetbase
# spends against `psql -f` / one-transaction `psql` and the mariadb client. The latency is a
# tc netem delay on the loopback of a network namespace of the benchmark's own where the
# kernel has netem; otherwise (as on the CI machines, whose kernel has no sch_netem) a small
# TCP proxy (bench/delay_proxy.py) delays every chunk by half the round trip each way.
# Prints figures; asserts nothing. Root (for the namespace).
#   bench/latency.sh [RTT_MS] [N]      (default 2 ms, 200 files; ROUNDS=3)
set -euo pipefail
RTT=${1:-2}
N=${2:-200}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
cargo build --release --quiet
NS=jetbase-bench-$$
DIRS=()
# shellcheck source=scripts/servers/lib.sh
. scripts/servers/lib.sh
cleanup() {
  # The proxies' PIDs are in the server folders (proxy.pid), stopped before the servers.
  for d in "${DIRS[@]}"; do
    [ -f "$d/proxy.pid" ] && kill "$(cat "$d/proxy.pid")" 2>/dev/null || true
  done
  [ -n "${DIRS[0]:-}" ] && scripts/servers/postgres.sh stop "${DIRS[0]}" || true
  [ -n "${DIRS[1]:-}" ] && scripts/servers/mariadb.sh stop "${DIRS[1]}" || true
  ip netns delete "$NS" 2>/dev/null || true
}
trap cleanup EXIT
if ip netns add "$NS" 2>/dev/null && ip netns exec "$NS" ip link set lo up &&
   ip netns exec "$NS" tc qdisc add dev lo root netem delay "$(awk "BEGIN {print $RTT / 2}")ms" 2>/dev/null; then
  echo "== netem: $RTT ms round trip on the loopback of namespace $NS"
  env -u JETBASE_TEST_POSTGRES_URL -u JETBASE_TEST_MYSQL_URL ROUNDS="${ROUNDS:-3}" \
    ip netns exec "$NS" bench/servers.sh "$N"
  exit 0
fi
ip netns delete "$NS" 2>/dev/null || true
echo "== no netem in this kernel: a delaying TCP proxy adds $RTT ms per round trip"
DIRS[0]=$(scripts/servers/postgres.sh start)
DIRS[1]=$(scripts/servers/mariadb.sh start)
# proxy DIR: a delaying proxy in front of DIR's server, on a free port (reserved for DIR, so
# it is freed when the server stops); writes DIR/proxy.url and DIR/proxy.pid.
proxy() {
  local url port free
  url=$(cat "$1/url")
  port=$(python3 -c "import urllib.parse,sys; print(urllib.parse.urlparse(sys.argv[1]).port)" "$url")
  free=$(free_port "$1")
  python3 bench/delay_proxy.py "$free" 127.0.0.1 "$port" "$RTT" > "$1/proxy.out" 2>&1 &
  echo $! > "$1/proxy.pid"
  for _ in $(seq 50); do grep -q ready "$1/proxy.out" 2>/dev/null && break; sleep 0.1; done
  echo "${url/:$port\//:$free/}" > "$1/proxy.url"
}
proxy "${DIRS[0]}"
proxy "${DIRS[1]}"
PG_URL=$(cat "${DIRS[0]}/proxy.url")
MY_URL=$(cat "${DIRS[1]}/proxy.url")
JETBASE_TEST_POSTGRES_URL=$PG_URL JETBASE_TEST_MYSQL_URL=$MY_URL ROUNDS="${ROUNDS:-3}" bench/servers.sh "$N"
