#!/usr/bin/env bash
# Starts the test OpenID provider in the background and prints its issuer URL on stdout.
#   OIDC_PORT           port on 127.0.0.1 (default 4011); the issuer is http://127.0.0.1:$OIDC_PORT
#   PEERS_DIR           where oidc.pid, oidc.log and diagnostic reports go (default /tmp/userprofile-peers)
#   OIDC_START_STALL    seconds a starting provider may sit idle before it counts as hung (default 5)
#   OIDC_START_TIMEOUT  seconds to wait for discovery to answer at most (default 60; a start takes
#                       about 1 s on an idle machine, much longer while everything compiles)
# If the provider recorded in $PEERS_DIR/oidc.pid already answers, it is reused. A start that hangs
# (no CPU time used, no child process, for OIDC_START_STALL seconds) or misses the deadline is not
# waited for: the process's state is printed to stderr and it is killed.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PEERS_DIR="${PEERS_DIR:-/tmp/userprofile-peers}"
OIDC_PORT="${OIDC_PORT:-4011}"
ISSUER="http://127.0.0.1:${OIDC_PORT}"
PIDFILE="$PEERS_DIR/oidc.pid"
LOG="$PEERS_DIR/oidc.log"
STALL="${OIDC_START_STALL:-5}"
TIMEOUT="${OIDC_START_TIMEOUT:-60}"

mkdir -p "$PEERS_DIR"

probe() {
  curl -fsS --max-time 5 "$ISSUER/.well-known/openid-configuration" 2>/dev/null \
    | grep -qF "\"issuer\":\"$ISSUER\""
}

# CPU time used so far, plus the pid of any child (openssl making keys): changes while it works.
activity() {
  echo "$(awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null) $(pgrep -P "$1" | tr '\n' ' ')"
}

is_ours() { # pid -> running oidc-provider.mjs?
  [[ -n ${1:-} ]] && ps -p "$1" -o args= 2>/dev/null | grep -q 'oidc-provider\.mjs'
}

# What a stuck process is doing: its threads' states and kernel wait channels, a native
# backtrace when gdb is installed, and Node's diagnostic report when its event loop still runs.
dump_state() {
  local pid=$1 task report
  echo "--- state of pid $pid:" >&2
  grep -E '^(State|Threads|VmRSS|voluntary_ctxt_switches|nonvoluntary_ctxt_switches):' "/proc/$pid/status" >&2 || true
  for task in /proc/"$pid"/task/*; do
    printf '  thread %s %-16s state %s wchan %s\n' "${task##*/}" "$(cat "$task/comm" 2>/dev/null)" \
      "$(awk '{print $3}' "$task/stat" 2>/dev/null)" "$(cat "$task/wchan" 2>/dev/null)" >&2
  done
  if command -v gdb >/dev/null; then
    echo "--- main thread's native stack (gdb):" >&2
    timeout 30 gdb -p "$pid" -batch -nx -ex 'thread apply 1 bt 16' 2>/dev/null \
      | grep -E '^#' | sed -E 's/ \(.*\) (at|from) / \1 /' | cut -c1-160 >&2 || true
  fi
  kill -USR2 "$pid" 2>/dev/null || true # --report-on-signal
  sleep 2
  report="$(ls -t "$PEERS_DIR"/report.*.json 2>/dev/null | head -n 1 || true)"
  if [[ -n $report ]]; then
    echo "--- node report $report: JavaScript stack and libuv handles:" >&2
    node -e '
      const r = require(process.argv[1]);
      console.error([r.javascriptStack.message, ...(r.javascriptStack.stack || [])].join("\n"));
      console.error(r.libuv.map((h) => `${h.type}${h.is_active ? " (active)" : ""}`).join(", "));' "$report" >&2 || true
  else
    echo "--- no node report: the main thread does not run JavaScript" >&2
  fi
}

if [[ -f $PIDFILE ]]; then
  old_pid="$(cat "$PIDFILE")"
  if is_ours "$old_pid" && probe; then
    echo "$ISSUER"
    exit 0
  fi
  echo "start-oidc.sh: stale $PIDFILE (pid $old_pid), stopping it" >&2
  PEERS_DIR="$PEERS_DIR" "$HERE/stop-oidc.sh" >&2 || true
fi

"$HERE/install.sh"

OIDC_PORT="$OIDC_PORT" nohup node --report-on-signal --report-signal=SIGUSR2 \
  --report-directory="$PEERS_DIR" "$HERE/oidc-provider.mjs" >"$LOG" 2>&1 </dev/null &
pid=$!
disown "$pid" # no "Killed" line from bash when a hung start is killed
echo "$pid" >"$PIDFILE"

deadline=$((SECONDS + TIMEOUT))
last_activity=""
last_change=$SECONDS
until grep -qx 'ready' "$LOG" 2>/dev/null && probe; do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "start-oidc.sh: the OpenID provider (pid $pid) exited during start-up; $LOG says:" >&2
    tail -n 30 "$LOG" >&2 || true
    rm -f "$PIDFILE"
    exit 1
  fi
  now_activity="$(activity "$pid")"
  if [[ $now_activity != "$last_activity" || $now_activity == *" "[0-9]* ]]; then
    last_activity=$now_activity
    last_change=$SECONDS
  fi
  stalled=$((SECONDS - last_change >= STALL))
  if ((stalled || SECONDS >= deadline)); then
    if ((stalled)); then
      why="hangs: it has used no CPU time for ${STALL}s"
    else
      why="did not answer within ${TIMEOUT}s"
    fi
    echo "start-oidc.sh: the OpenID provider at $ISSUER (pid $pid) $why; $LOG says:" >&2
    tail -n 30 "$LOG" >&2 || true
    dump_state "$pid"
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$PIDFILE"
    exit 1
  fi
  sleep 0.2
done

echo "$ISSUER"
