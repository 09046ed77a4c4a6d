#!/usr/bin/env bash
# A throwaway 3-node MariaDB Galera cluster on 127.0.0.1 (Debian's mariadb-server + galera-4),
# every port (SQL, group communication, IST, SST; 12 in all) a free one.
#   scripts/servers/galera.sh start   -> prints the cluster's folder (contract in lib.sh):
#                                        url1..url3 (one per node), env, n1.pid..n3.pid, ports
#   scripts/servers/galera.sh stop DIR
#   scripts/servers/galera.sh var     -> JETBASE_TEST_GALERA_URLS (the three URLs, comma-separated)
# Node 1 is bootstrapped once, its data folder cloned to nodes 2 and 3, so the joiners need
# only an incremental state transfer (about 11 s in all instead of 30).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
VAR=JETBASE_TEST_GALERA_URLS
G_USER=${G_USER:-migrator}; G_PASS=${G_PASS:-secret}
case "${1:-}" in
var) echo "$VAR" ;;
start)
  if ! { command -v mariadbd >/dev/null && [ -e /usr/lib/galera/libgalera_smm.so ] && command -v mariabackup >/dev/null && command -v socat >/dev/null; }; then
    [ -n "${APT_UPDATED:-}" ] || apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q mariadb-server galera-4 mariadb-backup socat >/dev/null
  fi
  with_retries galera "$0"
  ;;
attempt)
  # One try of `start` in the fresh folder $2 (see with_retries in lib.sh).
  B=$2
  declare -a SQL GC IST SST
  for n in 1 2 3; do
    SQL[n]=$(free_port "$B"); GC[n]=$(free_port "$B"); IST[n]=$(free_port "$B"); SST[n]=$(free_port "$B")
  done
  PEERS="127.0.0.1:${GC[1]},127.0.0.1:${GC[2]},127.0.0.1:${GC[3]}"
  for n in 1 2 3; do cat > "$B/n$n.cnf" <<CNF
[mysqld]
user=root
datadir=$B/d$n
socket=$B/n$n.sock
pid-file=$B/n$n.pidfile
log-error=$B/n$n.err
bind-address=127.0.0.1
port=${SQL[n]}
skip-name-resolve
character-set-server=utf8mb4
collation-server=utf8mb4_unicode_ci
max-connections=300
innodb-buffer-pool-size=64M
innodb-flush-log-at-trx-commit=0
binlog_format=ROW
default_storage_engine=InnoDB
innodb_autoinc_lock_mode=2
wsrep_on=ON
wsrep_provider=/usr/lib/galera/libgalera_smm.so
wsrep_cluster_name=jetbase_ci
wsrep_cluster_address=gcomm://$PEERS
wsrep_node_name=node$n
wsrep_node_address=127.0.0.1:${GC[n]}
wsrep_provider_options="gmcast.listen_addr=tcp://127.0.0.1:${GC[n]};ist.recv_addr=127.0.0.1:${IST[n]};gcache.size=32M"
wsrep_sst_receive_address=127.0.0.1:${SST[n]}
wsrep_sst_method=mariabackup
wsrep_sst_auth=root:
[sst]
sst-log-archive-dir=$B/sst_log_archive
CNF
  done
  # synced N: waits until node N reports Synced; fails at once if it exited.
  synced() { for _ in $(seq 1 600); do
    [ "$(mariadb --no-defaults -uroot --socket="$B/n$1.sock" -Nse "SHOW STATUS LIKE 'wsrep_local_state_comment'" 2>/dev/null | cut -f2)" = Synced ] && return 0
    alive "$(cat "$B/n$1.pid")" || break
    sleep 0.1; done; echo "node$1 did not sync" >&2; tail -n 20 "$B/n$1.err" "$B/n$1.stdout.log" >&2 2>/dev/null || true; return 1; }
  node() { # node N [ARGS...]: starts node N in the background, its PID in nN.pid
    local n=$1; shift
    mariadbd --defaults-file="$B/n$n.cnf" "$@" </dev/null >>"$B/n$n.stdout.log" 2>&1 &
    echo $! > "$B/n$n.pid"
  }
  mariadb-install-db --no-defaults --user=root --datadir="$B/d1" --auth-root-authentication-method=normal \
    --skip-test-db --skip-name-resolve >"$B/install.log" 2>&1
  node 1 --wsrep-new-cluster
  synced 1
  mariadb --no-defaults -uroot --socket="$B/n1.sock" -e \
    "CREATE USER '$G_USER'@'%' IDENTIFIED BY '$G_PASS'; GRANT ALL ON *.* TO '$G_USER'@'%' WITH GRANT OPTION;"
  stop_pid "$B/n1.pid" "$B"
  cp -a "$B/d1" "$B/d2"; cp -a "$B/d1" "$B/d3"
  node 1 --wsrep-new-cluster
  synced 1
  node 2; node 3
  synced 2; synced 3
  URLS=""
  for n in 1 2 3; do
    echo "mysql://$G_USER:$G_PASS@127.0.0.1:${SQL[n]}/mysql" > "$B/url$n"
    URLS="$URLS${URLS:+,}$(cat "$B/url$n")"
  done
  write_env "$B" "$VAR=$URLS"
  echo "Galera cluster of 3 nodes on 127.0.0.1:${SQL[1]},${SQL[2]},${SQL[3]}, URLs in $B/url1..3" >&2
  ;;
stop)
  B=${2:?usage: galera.sh stop DIR}
  for n in 3 2 1; do stop_pid "$B/n$n.pid" "$B"; done
  release_ports "$B"
  rm -rf "$B"
  ;;
*) echo "usage: $0 start | stop DIR | var" >&2; exit 2 ;;
esac
