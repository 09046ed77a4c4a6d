#!/usr/bin/env bash
# The server benchmark (bench/servers.sh) behind a network latency: a network namespace of
# the benchmark's own whose loopback delays every packet by half the round trip (tc netem),
# with the servers and every client inside it. On a database a few milliseconds away, round
# trips per file are most of an upgrade; this shows how many jetbase spends against
# `psql -f` / `psql -1 -f` and the mariadb client. Prints figures; asserts nothing. Root.
#   bench/latency.sh [RTT_MS] [N]      (default 2 ms, 200 files)
set -euo pipefail
RTT=${1:-2}
N=${2:-200}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
cargo build --release --quiet
NS=jetbase-bench-$$
cleanup() { ip netns delete "$NS" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$NS"
ip netns exec "$NS" ip link set lo up
# Each direction waits half the round trip.
ip netns exec "$NS" tc qdisc add dev lo root netem delay "$(awk "BEGIN {print $RTT / 2}")ms"
echo "== round trip on loopback inside $NS: $(ip netns exec "$NS" ping -c 3 -q 127.0.0.1 | tail -1)"
# The servers start inside the namespace (on its loopback), so every query pays the delay.
env -u JETBASE_TEST_POSTGRES_URL -u JETBASE_TEST_MYSQL_URL ROUNDS="${ROUNDS:-3}" \
  ip netns exec "$NS" bench/servers.sh "$N"
