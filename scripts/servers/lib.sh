# Shared by scripts/servers/<name>.sh (sourced, not run). The contract every server script keeps:
#
#   <name>.sh start      prints one line: a fresh folder holding
#                          url (Galera: url1..url3, one per node), the server's URL;
#                          env, `export VAR=value` lines for scripts/test.sh (the URL variable
#                          the tests read, and any extra ones such as PostgreSQL's CA);
#                          pid (Galera: n1.pid..n3.pid), the PID of each process it started;
#                          ports, every port it took, one a line.
#   <name>.sh stop DIR   stops by PID what DIR's start started (only if that process still is
#                        the one started there), frees its ports, removes DIR.
#   <name>.sh var        prints the variable the tests read the URL from (test.sh skips the
#                        start when it is already set).
#
# Ports: every port is chosen at start, never fixed: a random one in 20000-32767 (below the
# kernel's ephemeral range, so no outgoing connection takes it meanwhile) that nothing listens
# on and that binds on 0.0.0.0, reserved by a link in $JETBASE_PORTS_DIR (default
# /tmp/jetbase-ports) naming the folder, so two starts at once never pick the same. A server
# that still fails to start (a port taken between the check and its bind) is retried on new
# ports. Servers listen on 127.0.0.1 only.

PORTS_DIR=${JETBASE_PORTS_DIR:-${TMPDIR:-/tmp}/jetbase-ports}

# True when nothing listens on 127.0.0.1:$1 and the port binds on every IPv4 address.
port_is_free() {
  if command -v python3 >/dev/null; then
    python3 - "$1" <<'PY'
import socket, sys
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
try:
    s.bind(("0.0.0.0", port))
except OSError:
    sys.exit(1)
finally:
    s.close()
c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
c.settimeout(0.5)
try:
    c.connect(("127.0.0.1", port))
    sys.exit(1)
except OSError:
    pass
finally:
    c.close()
PY
  else
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}

# free_port DIR: prints a free port, reserved for DIR and listed in DIR/ports.
free_port() {
  local dir=$1 p target
  mkdir -p "$PORTS_DIR"
  for _ in $(seq 1 500); do
    p=$(( 20000 + (RANDOM * 32768 + RANDOM) % 12768 ))
    if target=$(readlink "$PORTS_DIR/$p" 2>/dev/null); then
      [ -d "$target" ] && continue
      rm -f "$PORTS_DIR/$p" # its folder is gone: a reservation nobody released
    fi
    ln -s "$dir" "$PORTS_DIR/$p" 2>/dev/null || continue
    if port_is_free "$p"; then
      echo "$p" >> "$dir/ports"
      echo "$p"
      return 0
    fi
    rm -f "$PORTS_DIR/$p"
  done
  echo "no free port found in 20000-32767" >&2
  return 1
}

# release_ports DIR: drops DIR's reservations.
release_ports() {
  local dir=$1 p
  [ -f "$dir/ports" ] || return 0
  while read -r p; do
    if [ "$(readlink "$PORTS_DIR/$p" 2>/dev/null)" = "$dir" ]; then rm -f "$PORTS_DIR/$p"; fi
  done < "$dir/ports"
}

# http_ok URL: true when URL answers 200 within a second (health checks such as /ping).
http_ok() {
  if command -v curl >/dev/null; then
    curl -sf --max-time 1 -o /dev/null "$1"
  else
    python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "$1" 2>/dev/null
  fi
}

# https_ok CA URL: http_ok over HTTPS, trusting only the certificates in the file CA.
https_ok() {
  if command -v curl >/dev/null; then
    curl -sf --max-time 1 --cacert "$1" -o /dev/null "$2"
  else
    python3 -c 'import ssl, sys, urllib.request
urllib.request.urlopen(sys.argv[2], timeout=1, context=ssl.create_default_context(cafile=sys.argv[1]))' "$1" "$2" 2>/dev/null
  fi
}

# alive PID: running and not a zombie.
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local state
  state=$(sed -n 's/^[0-9]* (.*) \([A-Z]\).*/\1/p' "/proc/$1/stat" 2>/dev/null || true)
  [ "$state" != Z ]
}

# stop_pid FILE DIR [SIGNAL]: sends SIGNAL (TERM) to the PID in FILE, if that process was
# started from DIR (its command line names DIR), and waits up to 30 s for it to end, then
# sends KILL. A PID reused by another process is left alone.
stop_pid() {
  local file=$1 dir=$2 sig=${3:-TERM} pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file")
  alive "$pid" || return 0
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF "$dir" || return 0
  kill -"$sig" "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 300); do alive "$pid" || return 0; sleep 0.1; done
  echo "PID $pid did not stop on SIG$sig in 30 s: killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do alive "$pid" || return 0; sleep 0.1; done
}

# with_retries NAME SCRIPT: runs `SCRIPT attempt DIR` in a fresh folder DIR until it succeeds
# (3 tries; each try's failure is cleaned up by `SCRIPT stop DIR`), then prints DIR.
with_retries() {
  local name=$1 script=$2 dir
  for try in 1 2 3; do
    dir=$(mktemp -d -t "jetbase-$name.XXXXXX")
    chmod 755 "$dir"
    if bash "$script" attempt "$dir" >&2; then
      echo "$dir"
      return 0
    fi
    echo "$name: start failed (try $try of 3)" >&2
    bash "$script" stop "$dir" || true
  done
  echo "$name: could not start in 3 tries" >&2
  return 1
}

# write_env DIR VAR=VALUE...: DIR/env, sourced by scripts/test.sh.
write_env() {
  local dir=$1; shift
  local kv
  : > "$dir/env"
  for kv in "$@"; do printf 'export %s=%q\n' "${kv%%=*}" "${kv#*=}" >> "$dir/env"; done
}
