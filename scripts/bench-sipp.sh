#!/usr/bin/env bash
# Answered calls per second against `sotto serve` (route echo, SDP offered,
# 0-ms calls), side by side with SIPp's own built-in UAS in the same run, and
# optionally 10,000 concurrent calls held 30 s with sotto's RSS.
#
#   scripts/bench-sipp.sh [RATE] [SECONDS]          # default 5000 calls/s for 8 s
#   HOLD=1 scripts/bench-sipp.sh                    # also the held-calls figure
#
# Bounded: every SIPp run has -m (call count) and a timeout; only processes this
# script started are stopped, by PID. Ports: SIP 5280 (sotto), 5299 (SIPp UAS),
# 5291/5292 (SIPp UAC), HTTP 8288, RTP 20000-60000.
set -euo pipefail
RATE=${1:-5000}
SECS=${2:-8}
CALLS=$((RATE * SECS))
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${SOTTO_BIN:-$ROOT/target/release/sotto}
SCEN="$ROOT/fixtures/sipp"
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  # Wait (bounded) until they are gone, so the next run can bind the same ports.
  for _ in $(seq 100); do
    alive=0
    for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

[ -x "$BIN" ] || (cd "$ROOT" && cargo build --release)
command -v sipp >/dev/null || { echo "sipp not found (apt-get install sip-tester)"; exit 1; }

stats() { # file -> "rate successful failed retransmissions"
  python3 - "$1" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1]), delimiter=';'))
h, last = rows[0], rows[-1]
get = lambda k: last[h.index(k)]
print(get('CallRate(C)'), get('SuccessfulCall(C)'), get('FailedCall(C)'), get('Retransmissions(C)'))
PY
}

run_uac() { # target port scenario calls rate -> stats
  local out="$WORK/stat-$1-$$.csv"
  rm -f "$out"
  (cd "$WORK" && timeout $((SECS * 4 + 30)) sipp -sf "$SCEN/$3" -s echo "127.0.0.1:$1" -i 127.0.0.1 -p "$2" \
    -m "$4" -r "$5" -l 20000 -buff_size 4194304 -nostdin -trace_stat -stf "$out" >"$WORK/sipp-$1.out" 2>&1) || true
  stats "$out"
}

"$BIN" serve --sip-listen 127.0.0.1:5280 --http-listen 127.0.0.1:8288 \
  --rtp-ports 20000-60000 --data-dir "$WORK/data" 2>"$WORK/sotto.log" &
SOTTO=$!; PIDS+=("$SOTTO")
sipp -sn uas -i 127.0.0.1 -p 5299 -buff_size 4194304 -nostdin >/dev/null 2>&1 &
PIDS+=("$!")
for _ in $(seq 50); do curl -sf http://127.0.0.1:8288/healthz >/dev/null 2>&1 && break; sleep 0.1; done

read -r s_rate s_ok s_fail s_retr < <(run_uac 5280 5291 uac_load.xml "$CALLS" "$RATE")
UAS_RATE=${UAS_RATE:-13000}
read -r u_rate u_ok u_fail u_retr < <(run_uac 5299 5292 uac_load.xml "$((UAS_RATE * SECS))" "$UAS_RATE")
echo "sotto serve (echo):  offered ${RATE}/s  achieved ${s_rate}/s  successful ${s_ok}  failed ${s_fail}  retransmissions ${s_retr}"
echo "SIPp built-in UAS:   offered ${UAS_RATE}/s achieved ${u_rate}/s  successful ${u_ok}  failed ${u_fail}  retransmissions ${u_retr}"
python3 -c "print('ratio sotto/SIPp-UAS: %.2f' % (float('$s_rate') / float('$u_rate')))"

if [ "${HOLD:-0}" = 1 ]; then
  sleep 35 # let the load test's transactions end
  echo "RSS before held calls: $(ps -o rss= -p "$SOTTO") KiB"
  out="$WORK/hold.csv"
  timeout 90 sipp -sf "$SCEN/uac_hold30.xml" -s echo 127.0.0.1:5280 -i 127.0.0.1 -p 5291 \
    -m 10000 -r 1000 -l 10000 -buff_size 4194304 -nostdin -trace_stat -stf "$out" >/dev/null 2>&1 &
  HOLDPID=$!; PIDS+=("$HOLDPID")
  sleep 25
  live=$(curl -s http://127.0.0.1:8288/v1/calls | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
  echo "held: ${live} live calls, RSS $(ps -o rss= -p "$SOTTO") KiB"
  wait "$HOLDPID" || true
  read -r h_rate h_ok h_fail h_retr < <(stats "$out")
  echo "held calls: successful ${h_ok} failed ${h_fail} retransmissions ${h_retr}"
fi
