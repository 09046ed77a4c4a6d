#!/usr/bin/env bash
# A throwaway ClickHouse cluster on 127.0.0.1: one ZooKeeper 3.8 (Debian's libzookeeper-java on
# the headless OpenJDK 17) and two Debian clickhouse-server 18.16 nodes, configured as the
# cluster `jetbase_cluster` (1 shard, 2 replicas: macros {shard}=01, {replica}=r1 / r2) with
# distributed DDL (ON CLUSTER) in /clickhouse/task_queue/ddl. Every port is a free one
# (ZooKeeper client port; per node HTTP, native TCP, interserver HTTP: 7 in all).
#   scripts/servers/clickhouse-cluster.sh start -> prints the cluster's folder (contract in lib.sh):
#                                                  url1, url2 (one per node), env, zk.pid,
#                                                  n1.pid, n2.pid, ports
#   scripts/servers/clickhouse-cluster.sh stop DIR
#   scripts/servers/clickhouse-cluster.sh down DIR N / up DIR N   (tests: stop node N = 1, 2 or
#                                                  zk, data kept; then start it again on its ports)
#   scripts/servers/clickhouse-cluster.sh var   -> JETBASE_TEST_CLICKHOUSE_CLUSTER_URLS
#                                                  (the two URLs, comma-separated)
# ZooKeeper runs straight from the jar (ZooKeeperServerMain, standalone): Debian's `zookeeper`
# package only adds scripts and a service, and depends on the full (GUI) default-jre.
# CH_LOG_LEVEL (default warning) sets the ClickHouse log level of nodes' server.log.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
VAR=JETBASE_TEST_CLICKHOUSE_CLUSTER_URLS
CH_USER=${CH_USER:-migrator}; CH_PASS=${CH_PASS:-secret}
CH_LOG_LEVEL=${CH_LOG_LEVEL:-warning}
CLUSTER=jetbase_cluster
ZK_CP=/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar
# zk_launch B: starts B's ZooKeeper in the background, its PID in B/zk.pid.
zk_launch() {
  java -Xms16m -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Dzookeeper.jmx.log4j.disable=true \
    -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$ZK_CP" \
    org.apache.zookeeper.server.ZooKeeperServerMain "$1/zk/zoo.cfg" </dev/null >>"$1/zk/zk.log" 2>&1 &
  echo $! > "$1/zk.pid"
}
# zk_wait B: waits until B's ZooKeeper serves: `srvr` reports its mode (`ruok` says imok
# already before that, and a ClickHouse that connects then is dropped: "ZooKeeperServer not
# running").
zk_wait() {
  local port; port=$(sed -n 's/^clientPort=//p' "$1/zk/zoo.cfg")
  for _ in $(seq 1 300); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port" && printf srvr >&3 && timeout 0.5 cat <&3) 2>/dev/null \
       | grep -q '^Mode: standalone'; then return 0; fi
    alive "$(cat "$1/zk.pid")" || break
    sleep 0.05
  done
  echo "ZooKeeper did not start" >&2; tail -n 20 "$1/zk/zk.log" >&2; return 1
}
# node_launch B N: starts node N in the background, its PID in B/nN.pid.
node_launch() {
  clickhouse-server --config-file="$1/n$2/config.xml" </dev/null >>"$1/n$2/stdout.log" 2>&1 &
  echo $! > "$1/n$2.pid"
}
# node_wait B N: waits until node N answers, knows the cluster and sees ZooKeeper. (18.16 marks
# both replicas is_local = 1 in system.clusters when they share a host, whatever their ports.)
node_wait() {
  local port; port=$(sed -n 's|.*<http_port>\([0-9]*\)</http_port>.*|\1|p' "$1/n$2/config.xml")
  q() { curl -sS --fail-with-body -u "$CH_USER:$CH_PASS" "http://127.0.0.1:$port/" --data-binary "$1"; }
  for _ in $(seq 1 300); do
    if [ "$(q "SELECT count() FROM system.clusters WHERE cluster = '$CLUSTER'" 2>/dev/null)" = 2 ] \
       && q "SELECT count() FROM system.zookeeper WHERE path = '/'" >/dev/null 2>&1; then return 0; fi
    alive "$(cat "$1/n$2.pid")" || break
    sleep 0.05
  done
  echo "ClickHouse node $2 did not start" >&2
  tail -n 20 "$1/n$2/server.err.log" "$1/n$2/stdout.log" >&2 2>/dev/null || true
  return 1
}
case "${1:-}" in
var) echo "$VAR" ;;
start)
  # Only what is missing, and never again what is installed: naming an installed JDK would
  # upgrade it under a running JVM (Spark's, when the Databricks stand-in runs beside us).
  missing=()
  command -v clickhouse-server >/dev/null || missing+=(clickhouse-server)
  command -v clickhouse-client >/dev/null || missing+=(clickhouse-client)
  [ -e /usr/share/java/zookeeper.jar ] || missing+=(libzookeeper-java)
  [ -e /usr/share/java/slf4j-simple.jar ] || missing+=(libslf4j-java)
  command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
  command -v curl >/dev/null || missing+=(curl)
  if [ ${#missing[@]} -gt 0 ]; then
    [ -n "${APT_UPDATED:-}" ] || apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends --no-upgrade \
      "${missing[@]}" >/dev/null
  fi
  with_retries clickhouse-cluster "$0"
  ;;
attempt)
  # One try of `start` in the fresh folder $2 (see with_retries in lib.sh).
  B=$2
  ZK=$(free_port "$B")

  # ZooKeeper, standalone; no AdminServer (it would take port 8080), only ruok/srvr/mntr.
  mkdir -p "$B/zk"
  cat > "$B/zk/zoo.cfg" <<CFG
tickTime=500
initLimit=10
syncLimit=5
dataDir=$B/zk/data
clientPort=$ZK
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr,mntr
CFG
  zk_launch "$B"
  # The nodes' ports and configuration are made while ZooKeeper boots (about 0.5 s; each port
  # check takes a Python start).
  declare -a HTTP TCP IS
  for n in 1 2; do HTTP[n]=$(free_port "$B"); TCP[n]=$(free_port "$B"); IS[n]=$(free_port "$B"); done
  REPLICAS=""
  for n in 1 2; do
    REPLICAS="$REPLICAS<replica><host>127.0.0.1</host><port>${TCP[n]}</port><user>$CH_USER</user><password>$CH_PASS</password></replica>"
  done
  for n in 1 2; do
    D=$B/n$n
    mkdir -p "$D"/{data,tmp,user_files,format_schemas}
    cat > "$D/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger><level>$CH_LOG_LEVEL</level><log>$D/server.log</log><errorlog>$D/server.err.log</errorlog><console>0</console></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>${HTTP[n]}</http_port>
  <tcp_port>${TCP[n]}</tcp_port>
  <interserver_http_port>${IS[n]}</interserver_http_port>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <path>$D/data/</path>
  <tmp_path>$D/tmp/</tmp_path>
  <user_files_path>$D/user_files/</user_files_path>
  <format_schema_path>$D/format_schemas/</format_schema_path>
  <users_config>$D/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <timezone>UTC</timezone>
  <remote_servers>
    <$CLUSTER><shard><internal_replication>true</internal_replication>$REPLICAS</shard></$CLUSTER>
  </remote_servers>
  <zookeeper>
    <node><host>127.0.0.1</host><port>$ZK</port></node>
    <session_timeout_ms>30000</session_timeout_ms>
  </zookeeper>
  <macros><cluster>$CLUSTER</cluster><shard>01</shard><replica>r$n</replica></macros>
  <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
</yandex>
XML
    cat > "$D/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
  <users>
    <default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default>
    <$CH_USER><password>$CH_PASS</password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></$CH_USER>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
XML
  done
  zk_wait "$B"
  node_launch "$B" 1; node_launch "$B" 2
  node_wait "$B" 1; node_wait "$B" 2
  URLS=""
  for n in 1 2; do
    echo "clickhouse://$CH_USER:$CH_PASS@127.0.0.1:${HTTP[n]}/default" > "$B/url$n"
    URLS="$URLS${URLS:+,}$(cat "$B/url$n")"
  done
  write_env "$B" "$VAR=$URLS"
  echo "ClickHouse cluster $CLUSTER of 2 nodes on 127.0.0.1:${HTTP[1]},${HTTP[2]} (HTTP), ZooKeeper on 127.0.0.1:$ZK, URLs in $B/url1..2" >&2
  ;;
down)
  # down DIR N: stops node N (1, 2, or zk for ZooKeeper), its data kept.
  B=${2:?usage: clickhouse-cluster.sh down DIR 1|2|zk}; N=${3:?usage: clickhouse-cluster.sh down DIR 1|2|zk}
  case "$N" in 1|2) stop_pid "$B/n$N.pid" "$B" ;; zk) stop_pid "$B/zk.pid" "$B" ;; *) exit 2 ;; esac
  ;;
up)
  # up DIR N: starts node N (1, 2, or zk) again on its ports and waits for it. A replicated
  # table stays read-only for up to ~10 s after ZooKeeper comes back (code 242).
  B=${2:?usage: clickhouse-cluster.sh up DIR 1|2|zk}; N=${3:?usage: clickhouse-cluster.sh up DIR 1|2|zk}
  case "$N" in
  1|2) alive "$(cat "$B/n$N.pid")" || { node_launch "$B" "$N"; node_wait "$B" "$N"; } ;;
  zk) alive "$(cat "$B/zk.pid")" || { zk_launch "$B"; zk_wait "$B"; } ;;
  *) exit 2 ;;
  esac
  ;;
stop)
  B=${2:?usage: clickhouse-cluster.sh stop DIR}
  for n in 2 1; do stop_pid "$B/n$n.pid" "$B"; done
  stop_pid "$B/zk.pid" "$B"
  release_ports "$B"
  rm -rf "$B"
  ;;
*) echo "usage: $0 start | stop DIR | down DIR 1|2|zk | up DIR 1|2|zk | var" >&2; exit 2 ;;
esac
