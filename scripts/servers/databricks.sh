#!/usr/bin/env bash
# A throwaway Databricks stand-in for tests on 127.0.0.1: the Spark Thrift Server (HiveServer2's
# TCLIService over HTTP, the protocol Databricks SQL warehouses and clusters serve) from PyPI
# pyspark 3.5.9, with Apache Iceberg 1.10.2 as the default table format (so UPDATE, DELETE and
# MERGE INTO work), behind databricks_front.py, our front that checks the Bearer token as
# Databricks does. What works and what is refused: DATABRICKS_NOTES.md.
#   scripts/servers/databricks.sh start  -> prints the server's folder (contract in lib.sh): url,
#                                           env, pid (the front), jvm.pid, bridge.pid, port (the
#                                           front's), ports; sts.sock, warehouse/, metastore_db/,
#                                           calls.log, sts.log, front.log, bridge.log, tmp/
#   scripts/servers/databricks.sh stop DIR
#   scripts/servers/databricks.sh var    -> JETBASE_TEST_DATABRICKS_URL
# The URL (databricks-sqlalchemy's form, plus protocol=http):
#   databricks://token:<TOKEN>@127.0.0.1:<port>?http_path=/sql/1.0/warehouses/<id>
#   &catalog=spark_catalog&schema=default&protocol=http
# DIR/env also exports JETBASE_TEST_DATABRICKS_TOKEN (the token), ..._FORBIDDEN_TOKEN (a token the
# front answers with 403), ..._HTTP_PATH (the warehouse path of the URL) and ..._CLUSTER_HTTP_PATH
# (/sql/protocolv1/o/<org>/<cluster>, the other path it serves) and ..._CALLS (DIR/calls.log, where
# the front logs each request: its Thrift call, e.g. CancelOperation, and HTTP status).
# Loopback only: in HTTP mode Spark's Jetty binds every interface whatever
# hive.server2.thrift.bind.host says, so the JVM runs in a network namespace of its own
# (`unshare -n`, as root), on port 10001 there; a socat started in that namespace bridges
# DIR/sts.sock (a unix socket, reachable from outside) to it, and the front listens on
# 127.0.0.1:<port> and talks to DIR/sts.sock.
# Defects of pyspark 3.5.9 + iceberg-spark-runtime 1.10.2, worked around at start (built once,
# cached in <venv>/jetbase-build/<checksum>/): databricks/shade_jackson.py builds the relocated
# Jackson the runtime jar lacks; databricks/*.java (a session catalog whose DROP TABLE deletes
# the table's data, and a Hive catalog whose commits are atomic in this JVM) is compiled with
# javac against the jars.
# `start` installs scripts/servers/databricks-requirements.txt into <repo>/.venv-databricks when
# missing or when the pins changed, openjdk-17-jdk-headless when there is no javac, and socat
# when missing (apt).
# Settings at start: DATABRICKS_SERVER_HEAP (the JVM's heap, default 1g), DATABRICKS_SERVER_TOKEN
# (default: a random dapi... token), DATABRICKS_SERVER_DEBUG=1 (the front logs each request),
# DATABRICKS_SERVER_SPARK_ARGS (more spark-submit options, split on blanks: --conf k=v, --hiveconf
# k=v; a later --conf of the same key wins).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck disable=SC1091
. "$HERE/lib.sh"
VAR=JETBASE_TEST_DATABRICKS_URL
VENV=$(cd "$HERE/../.." && pwd)/.venv-databricks
REQ=$HERE/databricks-requirements.txt
SRC=$HERE/databricks
INNER_PORT=10001 # inside the JVM's own network namespace: never clashes
WAREHOUSE_ID=${DATABRICKS_SERVER_WAREHOUSE_ID:-a1b2c3d4e5f60718}
ORG_ID=${DATABRICKS_SERVER_ORG_ID:-1234567890123456}
CLUSTER_ID=${DATABRICKS_SERVER_CLUSTER_ID:-0102-030405-jetbase1}
HTTP_PATH=/sql/1.0/warehouses/$WAREHOUSE_ID
CLUSTER_HTTP_PATH=/sql/protocolv1/o/$ORG_ID/$CLUSTER_ID
DBX_USER=${DATABRICKS_SERVER_USER:-token}
SITE() { "$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'; }

# build_key: the checksum of what the cached build is made from.
build_key() {
  cat "$REQ" "$SRC/shade_jackson.py" "$SRC"/*.java | sha256sum | cut -c1-16
}

# build: the Jackson side jar and the compiled catalog, into $VENV/jetbase-build/<key> (once).
build() {
  local out site ice tmp
  out=$VENV/jetbase-build/$(build_key)
  [ -f "$out/done" ] && return 0
  site=$(SITE)
  ice=$site/snowpark_connect_deps_iceberg/jars/iceberg-spark-runtime-3.5_2.12-1.10.2.jar
  echo "== building the Iceberg workarounds into $out" >&2
  # Older builds stay (about 2.4 MB each): a server started from one may still be running.
  tmp=$out/classes
  mkdir -p "$tmp"
  "$VENV/bin/python" "$SRC/shade_jackson.py" "$ice" "$out/iceberg-jackson.jar" >&2
  javac -nowarn --release 11 -d "$tmp" -cp "$site/pyspark/jars/*:$ice" "$SRC"/*.java >&2
  (cd "$tmp" && jar cf "$out/jetbase-catalog.jar" .)
  rm -rf "$tmp"
  touch "$out/done"
}

# probe PORT: an OpenSession + SELECT 1 through the front, with the Bearer token.
probe() {
  "$VENV/bin/python" "$SRC/tcli.py" probe "$1" "$HTTP_PATH" "$TOKEN" 2>>"$D/probe.log"
}

case "${1:-}" in
var) echo "$VAR" ;;
start)
  for tool in unshare ip; do
    command -v "$tool" >/dev/null || { echo "databricks.sh needs $tool (util-linux, iproute2)" >&2; exit 1; }
  done
  unshare -n true 2>/dev/null || {
    echo "databricks.sh: cannot make a network namespace (unshare -n): run as root" >&2; exit 1; }
  # One install and build at a time (the lock file is ignored by git, as the venv is).
  (
    flock 9
    missing=()
    command -v javac >/dev/null || missing+=(openjdk-17-jdk-headless)
    command -v socat >/dev/null || missing+=(socat)
    if [ ${#missing[@]} -gt 0 ]; then
      echo "== installing ${missing[*]} (apt)" >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 || {
        apt-get update -q >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
      }
    fi
    if ! cmp -s "$REQ" "$VENV/jetbase-requirements.txt" || [ ! -x "$VENV/bin/python" ]; then
      echo "== installing pyspark 3.5.9 + Iceberg 1.10.2 (scripts/servers/databricks-requirements.txt) into $VENV" >&2
      python3 -m venv "$VENV"
      "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQ" >&2
      cp "$REQ" "$VENV/jetbase-requirements.txt"
    fi
    build
  ) 9>"$VENV.lock"
  with_retries databricks "$0"
  ;;
attempt)
  # One try of `start` in the fresh folder $2 (see with_retries in lib.sh).
  D=$2
  PORT=$(free_port "$D")
  TOKEN=${DATABRICKS_SERVER_TOKEN:-dapi$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')}
  FORBIDDEN_TOKEN=dapi$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
  SITE_DIR=$(SITE)
  SPARK_HOME=$SITE_DIR/pyspark
  B=$VENV/jetbase-build/$(build_key)
  [ -f "$B/done" ] || { echo "databricks.sh: no build in $B (run start)" >&2; exit 1; }
  CP=$SITE_DIR/snowpark_connect_deps_iceberg/jars/iceberg-spark-runtime-3.5_2.12-1.10.2.jar
  CP=$CP:$B/iceberg-jackson.jar:$B/jetbase-catalog.jar
  mkdir -p "$D/tmp" "$D/conf"
  read -r -a EXTRA <<< "${DATABRICKS_SERVER_SPARK_ARGS:-}"
  DERBY="jdbc:derby:;databaseName=$D/metastore_db;create=true"
  # Inside a new network namespace: loopback up, the bridge (unix socket -> the JVM's port;
  # socat forks a child per connection, so keep-alive and concurrent clients work), then the JVM
  # in place of this shell (unshare, bash, spark-submit and spark-class exec each other), so the
  # PID started here ends as the JVM's.
  (
    cd "$D"
    export SPARK_HOME SPARK_LOCAL_IP=127.0.0.1 SPARK_LOCAL_HOSTNAME=localhost SPARK_CONF_DIR=$D/conf
    export PYSPARK_PYTHON=$VENV/bin/python
    # shellcheck disable=SC2016 # expanded by the inner bash
    exec unshare -n bash -c '
      set -e
      D=$1 INNER_PORT=$2; shift 2
      ip link set lo up
      socat -lh UNIX-LISTEN:"$D/sts.sock",fork,unlink-early,mode=600,backlog=128 \
        TCP:127.0.0.1:"$INNER_PORT",nodelay </dev/null >>"$D/bridge.log" 2>&1 &
      echo $! > "$D/bridge.pid"
      exec "$@"' databricks-sts "$D" "$INNER_PORT" \
      "$SPARK_HOME/bin/spark-submit" --master 'local[2]' --name jetbase-databricks \
      --class org.apache.spark.sql.hive.thriftserver.HiveThriftServer2 \
      --driver-memory "${DATABRICKS_SERVER_HEAP:-1g}" \
      --driver-class-path "$CP" \
      --conf spark.ui.enabled=false \
      --conf spark.driver.host=127.0.0.1 --conf spark.driver.bindAddress=127.0.0.1 \
      --conf spark.sql.warehouse.dir="$D/warehouse" \
      --conf spark.local.dir="$D/tmp" \
      --conf "spark.driver.extraJavaOptions=-Dderby.system.home=$D -Dderby.stream.error.file=$D/derby.log -Djava.io.tmpdir=$D/tmp" \
      --conf spark.sql.extensions=org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions \
      --conf spark.sql.catalog.spark_catalog=jetbase.PurgingSessionCatalog \
      --conf spark.sql.catalog.spark_catalog.catalog-impl=jetbase.LockingHiveCatalog \
      --conf spark.sql.catalog.spark_catalog.cache-enabled=false \
      --conf spark.sql.catalog.spark_catalog.table-default.commit.retry.num-retries=50 \
      --conf spark.sql.catalog.spark_catalog.table-default.commit.retry.min-wait-ms=20 \
      --conf spark.sql.catalog.spark_catalog.table-default.commit.retry.max-wait-ms=2000 \
      --conf spark.sql.sources.default=iceberg \
      --conf spark.sql.legacy.createHiveTableByDefault=false \
      --conf spark.hadoop.iceberg.engine.hive.lock-enabled=false \
      --conf "spark.hadoop.javax.jdo.option.ConnectionURL=$DERBY" \
      --conf spark.hadoop.hive.metastore.warehouse.dir="$D/warehouse" \
      --hiveconf "javax.jdo.option.ConnectionURL=$DERBY" \
      --hiveconf hive.metastore.warehouse.dir="$D/warehouse" \
      --hiveconf hive.exec.local.scratchdir="$D/scratch" \
      --hiveconf hive.exec.scratchdir="$D/scratch-hdfs" \
      --hiveconf hive.downloaded.resources.dir="$D/resources" \
      --hiveconf hive.querylog.location="$D/querylog" \
      --hiveconf hive.server2.logging.operation.log.location="$D/operation_logs" \
      --hiveconf hive.server2.transport.mode=http \
      --hiveconf hive.server2.thrift.http.port="$INNER_PORT" \
      --hiveconf hive.server2.thrift.http.path=cliservice \
      --hiveconf hive.server2.thrift.bind.host=127.0.0.1 \
      --hiveconf hive.server2.thrift.http.cookie.auth.enabled=false \
      --hiveconf hive.server2.authentication=NONE \
      "${EXTRA[@]}" spark-internal
  ) </dev/null >"$D/sts.log" 2>&1 &
  echo $! > "$D/jvm.pid"
  DBX_TOKEN=$TOKEN DBX_FORBIDDEN_TOKEN=$FORBIDDEN_TOKEN DBX_USER=$DBX_USER DBX_WAREHOUSE_ID=$WAREHOUSE_ID \
    DBX_ORG_ID=$ORG_ID DBX_CLUSTER_ID=$CLUSTER_ID DBX_CALLS_LOG=$D/calls.log \
    "$VENV/bin/python" "$HERE/databricks_front.py" "$PORT" "$D/sts.sock" "$D" </dev/null >"$D/front.log" 2>&1 &
  echo $! > "$D/pid"
  # Up when the server says so and an OpenSession + SELECT 1 through the front succeeds (240 s
  # at most; the JVM exits when it cannot start).
  up=0
  for _ in $(seq 1 960); do
    if ! alive "$(cat "$D/jvm.pid")" || ! alive "$(cat "$D/pid")"; then break; fi
    if grep -q "HiveThriftServer2 started" "$D/sts.log" 2>/dev/null; then
      if probe "$PORT"; then up=1; break; fi
      if [ ! -f "$D/bridge.pid" ] || ! alive "$(cat "$D/bridge.pid")"; then break; fi
    fi
    sleep 0.25
  done
  if [ "$up" != 1 ]; then tail -n 30 "$D/sts.log" "$D/front.log" "$D/bridge.log" "$D/probe.log" >&2 2>/dev/null || true; exit 1; fi
  echo "$PORT" > "$D/port"
  URL="databricks://token:$TOKEN@127.0.0.1:$PORT?http_path=$HTTP_PATH&catalog=spark_catalog&schema=default&protocol=http"
  echo "$URL" > "$D/url"
  write_env "$D" "$VAR=$URL" "JETBASE_TEST_DATABRICKS_TOKEN=$TOKEN" \
    "JETBASE_TEST_DATABRICKS_FORBIDDEN_TOKEN=$FORBIDDEN_TOKEN" "JETBASE_TEST_DATABRICKS_HTTP_PATH=$HTTP_PATH" \
    "JETBASE_TEST_DATABRICKS_CLUSTER_HTTP_PATH=$CLUSTER_HTTP_PATH" "JETBASE_TEST_DATABRICKS_CALLS=$D/calls.log"
  echo "Spark 3.5.9 Thrift Server + Iceberg 1.10.2 behind a token front on 127.0.0.1:$PORT$HTTP_PATH, URL in $D/url" >&2
  ;;
stop)
  D=${2:?usage: databricks.sh stop DIR}
  stop_pid "$D/pid" "$D"
  stop_pid "$D/jvm.pid" "$D"
  stop_pid "$D/bridge.pid" "$D"
  release_ports "$D"
  rm -rf "$D"
  ;;
*) echo "usage: $0 start | stop DIR | var" >&2; exit 2 ;;
esac
