#!/usr/bin/env bash
# A throwaway 3-node MariaDB Galera cluster on 127.0.0.1 (Debian's mariadb-server + galera-4).
#   scripts/galera.sh start   -> prints the cluster's folder; node URLs in <folder>/url1..3
#   scripts/galera.sh stop DIR
# Node 1 is bootstrapped once, its data folder cloned to nodes 2 and 3, so the joiners need
# only an incremental state transfer (about 11 s in all instead of 30).
set -euo pipefail
G_USER=${G_USER:-migrator}; G_PASS=${G_PASS:-secret}
SQL0=${SQL0:-23310}; GC0=${GC0:-24567}; SST0=${SST0:-24444}
case "${1:-}" in
start)
  if ! { command -v mariadbd >/dev/null && [ -e /usr/lib/galera/libgalera_smm.so ] && command -v mariabackup >/dev/null && command -v socat >/dev/null; }; then
    [ -n "${APT_UPDATED:-}" ] || apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q mariadb-server galera-4 mariadb-backup socat >/dev/null
  fi
  B=$(mktemp -d -t jetbase-galera.XXXXXX)
  PEERS="127.0.0.1:$GC0,127.0.0.1:$((GC0+10)),127.0.0.1:$((GC0+20))"
  for n in 1 2 3; do o=$(( (n-1)*10 )); cat > "$B/n$n.cnf" <<CNF
[mysqld]
user=root
datadir=$B/d$n
socket=$B/n$n.sock
pid-file=$B/n$n.pidfile
log-error=$B/n$n.err
bind-address=127.0.0.1
port=$((SQL0+n))
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
wsrep_node_address=127.0.0.1:$((GC0+o))
wsrep_provider_options="gmcast.listen_addr=tcp://127.0.0.1:$((GC0+o));ist.recv_addr=127.0.0.1:$((GC0+o+1));gcache.size=32M"
wsrep_sst_receive_address=127.0.0.1:$((SST0+o))
wsrep_sst_method=mariabackup
wsrep_sst_auth=root:
[sst]
sst-log-archive-dir=$B/sst_log_archive
CNF
  done
  synced() { for _ in $(seq 1 600); do
    [ "$(mariadb --no-defaults -uroot --socket="$B/n$1.sock" -Nse "SHOW STATUS LIKE 'wsrep_local_state_comment'" 2>/dev/null | cut -f2)" = Synced ] && return 0
    sleep 0.1; done; echo "node$1 did not sync" >&2; return 1; }
  mariadb-install-db --no-defaults --user=root --datadir="$B/d1" --auth-root-authentication-method=normal \
    --skip-test-db --skip-name-resolve >"$B/install.log" 2>&1
  mariadbd --defaults-file="$B/n1.cnf" --wsrep-new-cluster 2>/dev/null & P=$!
  synced 1
  mariadb --no-defaults -uroot --socket="$B/n1.sock" -e \
    "CREATE USER '$G_USER'@'%' IDENTIFIED BY '$G_PASS'; GRANT ALL ON *.* TO '$G_USER'@'%' WITH GRANT OPTION;"
  kill $P; while kill -0 $P 2>/dev/null; do sleep 0.1; done
  cp -a "$B/d1" "$B/d2"; cp -a "$B/d1" "$B/d3"
  mariadbd --defaults-file="$B/n1.cnf" --wsrep-new-cluster 2>/dev/null & echo $! > "$B/n1.pid"; synced 1
  for n in 2 3; do mariadbd --defaults-file="$B/n$n.cnf" 2>/dev/null & echo $! > "$B/n$n.pid"; done
  synced 2; synced 3
  for n in 1 2 3; do echo "mysql://$G_USER:$G_PASS@127.0.0.1:$((SQL0+n))/mysql" > "$B/url$n"; done
  echo "Galera cluster of 3 nodes on 127.0.0.1:$((SQL0+1))-$((SQL0+3)), URLs in $B/url1..3" >&2
  echo "$B"
  ;;
stop)
  B=${2:?usage: galera.sh stop DIR}
  for n in 3 2 1; do
    if [ -f "$B/n$n.pid" ]; then
      pid=$(cat "$B/n$n.pid"); kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
  done
  rm -rf "$B"
  ;;
*) echo "usage: $0 start | stop DIR" >&2; exit 2 ;;
esac
