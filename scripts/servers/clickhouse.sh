#!/usr/bin/env bash
# A throwaway ClickHouse server on 127.0.0.1 for tests (Debian's clickhouse-server 18.16, an old
# server: no DateTime64, no mutations_sync, config root <yandex>), on free ports.
#   scripts/servers/clickhouse.sh start   -> prints the server's folder (contract in lib.sh):
#                                            url, env, pid, port (HTTP), https_port,
#                                            tcp_port (native), ports; ca.pem, the CA of its
#                                            HTTPS certificate; its data and logs in that folder
#   scripts/servers/clickhouse.sh stop DIR
#   scripts/servers/clickhouse.sh var     -> JETBASE_TEST_CLICKHOUSE_URL
# Users: $CH_USER/$CH_PASS (migrator/secret), and `default` without a password, from
# 127.0.0.1 only. The URL names the HTTP port, as Python Jetbase's clickhouse:// URLs do.
# HTTPS: a throwaway CA (ca.pem) signs a certificate for 127.0.0.1 and localhost, and env
# exports JETBASE_TEST_CLICKHOUSE_TLS_URL, the same user on the HTTPS port with ?ca_cert=.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
VAR=JETBASE_TEST_CLICKHOUSE_URL
CH_USER=${CH_USER:-migrator}
CH_PASS=${CH_PASS:-secret}
SERVER=/usr/sbin/clickhouse-server

case "${1:-}" in
var) echo "$VAR" ;;
start)
  if [ ! -x "$SERVER" ]; then
    [ -n "${APT_UPDATED:-}" ] || apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q clickhouse-server clickhouse-client >/dev/null
  fi
  with_retries clickhouse "$0"
  ;;
attempt)
  # One try of `start` in the fresh folder $2 (see with_retries in lib.sh).
  D=$2
  mkdir -p "$D"/{data,tmp,user_files,format_schemas}
  HTTP=$(free_port "$D")
  TCP=$(free_port "$D")
  # HTTPS: a throwaway CA ($D/ca.pem) signs a certificate for 127.0.0.1 and localhost, made
  # fresh each start (P-256 keys take milliseconds; RSA ones would add half a second).
  # <openSSL><server> is Poco's server context (18.16 syntax); no dhParamsFile is needed:
  # Poco then uses its built-in DH parameters, and rustls negotiates ECDHE (TLS 1.3) anyway.
  # Without openssl there is no HTTPS port (and no JETBASE_TEST_CLICKHOUSE_TLS_URL: the TLS
  # tests skip, or fail under CI).
  HTTPS=""
  TLS_XML=""
  if command -v openssl >/dev/null; then
    HTTPS=$(free_port "$D")
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=jetbase test CA" \
      -keyout "$D/ca.key" -out "$D/ca.pem" >/dev/null 2>&1
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=localhost" \
      -keyout "$D/server.key" -out "$D/server.csr" >/dev/null 2>&1
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > "$D/ext.cnf"
    openssl x509 -req -in "$D/server.csr" -CA "$D/ca.pem" -CAkey "$D/ca.key" -CAcreateserial \
      -days 2 -extfile "$D/ext.cnf" -out "$D/server.crt" >/dev/null 2>&1
    chmod 600 "$D/server.key" "$D/ca.key"
    TLS_XML="
  <https_port>$HTTPS</https_port>
  <openSSL>
    <server>
      <certificateFile>$D/server.crt</certificateFile>
      <privateKeyFile>$D/server.key</privateKeyFile>
      <verificationMode>none</verificationMode>
      <loadDefaultCAFile>false</loadDefaultCAFile>
      <cacheSessions>true</cacheSessions>
      <disableProtocols>sslv2,sslv3</disableProtocols>
      <preferServerCiphers>true</preferServerCiphers>
    </server>
  </openSSL>"
  fi
  # No interserver_http_port (nor any other listener) is configured: 18.16 opens only the
  # ports named here.
  cat > "$D/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger>
    <level>warning</level>
    <log>$D/server.log</log>
    <errorlog>$D/server.err.log</errorlog>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>$HTTP</http_port>
  <tcp_port>$TCP</tcp_port>$TLS_XML
  <path>$D/data/</path>
  <tmp_path>$D/tmp/</tmp_path>
  <user_files_path>$D/user_files/</user_files_path>
  <format_schema_path>$D/format_schemas/</format_schema_path>
  <users_config>$D/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <max_concurrent_queries>200</max_concurrent_queries>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
</yandex>
XML
  cat > "$D/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <profiles>
    <default><max_memory_usage>2000000000</max_memory_usage></default>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
    <$CH_USER>
      <password>$CH_PASS</password>
      <networks><ip>::/0</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </$CH_USER>
  </users>
  <quotas>
    <default>
      <interval>
        <duration>3600</duration>
        <queries>0</queries><errors>0</errors><result_rows>0</result_rows>
        <read_rows>0</read_rows><execution_time>0</execution_time>
      </interval>
    </default>
  </quotas>
</yandex>
XML
  # The folder is in the command line, so stop_pid can tell this process from a reused PID.
  "$SERVER" --config-file="$D/config.xml" </dev/null >"$D/stdout.log" 2>&1 &
  PID=$!
  echo "$PID" > "$D/pid"
  # Up when /ping answers on both ports (a server that could not bind its ports exits).
  up=0
  for _ in $(seq 1 300); do
    if http_ok "http://127.0.0.1:$HTTP/ping" \
      && { [ -z "$HTTPS" ] || https_ok "$D/ca.pem" "https://localhost:$HTTPS/ping"; }; then
      up=1
      break
    fi
    alive "$PID" || break
    sleep 0.1
  done
  if [ "$up" != 1 ]; then
    tail -n 20 "$D/server.err.log" "$D/stdout.log" >&2 2>/dev/null || true
    exit 1
  fi
  echo "$HTTP" > "$D/port"
  echo "$TCP" > "$D/tcp_port"
  URL="clickhouse://$CH_USER:$CH_PASS@127.0.0.1:$HTTP/default"
  echo "$URL" > "$D/url"
  ENV=("$VAR=$URL")
  if [ -n "$HTTPS" ]; then
    echo "$HTTPS" > "$D/https_port"
    ENV+=("JETBASE_TEST_CLICKHOUSE_TLS_URL=clickhouse+https://$CH_USER:$CH_PASS@localhost:$HTTPS/default?ca_cert=$D/ca.pem")
  fi
  write_env "$D" "${ENV[@]}"
  echo "ClickHouse 18.16 on 127.0.0.1:$HTTP (HTTP)${HTTPS:+, :$HTTPS (HTTPS, CA $D/ca.pem)} and :$TCP (native), URL in $D/url (user $CH_USER)" >&2
  ;;
stop)
  D=${2:?usage: clickhouse.sh stop DIR}
  stop_pid "$D/pid" "$D"
  release_ports "$D"
  rm -rf "$D"
  ;;
*) echo "usage: $0 start | stop DIR | var" >&2; exit 2 ;;
esac
