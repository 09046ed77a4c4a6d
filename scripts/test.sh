#!/usr/bin/env bash
# The test command (README). Installs Python Jetbase 0.18.1 into .venv-py when missing (the
# cross-tool tests and golden checksums need it; with clickhouse-sqlalchemy 0.3.2 for its
# ClickHouse URLs, and snowflake-sqlalchemy 1.11.1 + snowflake-connector-python 4.8.1 for
# Snowflake: see scripts/servers/SNOWFLAKE_NOTES.md), starts the throwaway test servers named in
# SERVERS below (scripts/servers/<name>.sh, each on free ports of 127.0.0.1: PostgreSQL, MariaDB,
# a Galera cluster, ClickHouse 18.16, chdb behind our ClickHouse HTTP server for a modern engine,
# a two-node ClickHouse 18.16 cluster with ZooKeeper, and fakesnow behind our Snowflake login
# front, and the Spark 3.5 Thrift server with Iceberg in a network namespace behind our
# Databricks token front) unless the variable its tests read (`<name>.sh var`: JETBASE_TEST_POSTGRES_URL,
# JETBASE_TEST_MYSQL_URL, JETBASE_TEST_GALERA_URLS, JETBASE_TEST_CLICKHOUSE_URL,
# JETBASE_TEST_CHDB_URL, JETBASE_TEST_CLICKHOUSE_CLUSTER_URLS, JETBASE_TEST_SNOWFLAKE_URL,
# JETBASE_TEST_DATABRICKS_URL)
# already names one, or JETBASE_TEST_SERVERS=0; exports what each start
# wrote to <folder>/env, runs every test, and stops what it started by PID.
# Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
SERVERS="postgres mariadb galera clickhouse chdb clickhouse-cluster snowflake databricks"
# Snowflake: snowflake-sqlalchemy 2.x refuses host/port/protocol in the URL, so 1.11.1 (which
# takes them with SNOWFLAKE_SQLALCHEMY_LEGACY_URL_PARAMS=true) on SQLAlchemy 2.0, and the
# connector fakesnow runs on (below 5).
PY_CLICKHOUSE=(clickhouse-sqlalchemy==0.3.2)
PY_SNOWFLAKE=(snowflake-sqlalchemy==1.11.1 snowflake-connector-python==4.8.1)
if [ ! -x .venv-py/bin/jetbase ]; then
  echo "== installing Python Jetbase 0.18.1 into .venv-py"
  python3 -m venv .venv-py
  .venv-py/bin/pip install --quiet --disable-pip-version-check 'jetbase[snowflake]==0.18.1' psycopg2-binary \
    pymysql 'SQLAlchemy<2.1' "${PY_CLICKHOUSE[@]}" "${PY_SNOWFLAKE[@]}"
else
  missing=()
  .venv-py/bin/python -c "import clickhouse_sqlalchemy" 2>/dev/null || missing+=("${PY_CLICKHOUSE[@]}")
  .venv-py/bin/python -c "import snowflake.sqlalchemy" 2>/dev/null || missing+=("${PY_SNOWFLAKE[@]}")
  if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing ${missing[*]} into .venv-py"
    .venv-py/bin/pip install --quiet --disable-pip-version-check 'SQLAlchemy<2.1' "${missing[@]}"
  fi
fi
# SQLAlchemy 1.4 for the model loader's tests (make-migrations reads 1.4 and 2.x models).
[ -x .venv-sa14/bin/python ] || scripts/venv-sa14.sh
export JETBASE_TEST_PYTHON_SA14=${JETBASE_TEST_PYTHON_SA14:-$PWD/.venv-sa14/bin/python}

STARTED=() # name=folder, for each server this run started
cleanup() {
  local s
  for s in "${STARTED[@]}"; do scripts/servers/"${s%%=*}".sh stop "${s#*=}" || true; done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
summary=""
for name in $SERVERS; do
  var=$(scripts/servers/"$name".sh var)
  if [ -z "${!var:-}" ] && [ "${JETBASE_TEST_SERVERS:-1}" != 0 ] && [ "$(id -u)" = 0 ]; then
    dir=$(scripts/servers/"$name".sh start)
    STARTED+=("$name=$dir")
    # shellcheck disable=SC1091
    . "$dir/env"
  fi
  summary="$summary${summary:+, }$name: ${!var:-none (its tests skip)}"
done
echo "== test servers: $summary"
cargo test --locked "$@"
