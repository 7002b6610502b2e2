#!/usr/bin/env bash
# Capacity, end to end: CALLS concurrent echo calls carrying speech in noise, and what
# sotto sends back measured on the wire.
#
#   scripts/capacity.sh [CALLS] [SECONDS]     # default 100 calls held 20 s
#   scripts/capacity.sh --search LO HI [SECONDS]
#                                             # largest CALLS in [LO, HI] that passes,
#                                             # binary search, at most 6 runs, table
#
# One run: start `sotto serve` (release build) on its own ports with a data dir in a
# temp dir; capture on lo with tcpdump only the UDP that sotto's RTP ports send to
# SIPp's media ports; SIPp (fixtures/sipp/uac_noisy_echo.xml) places CALLS calls to
# `echo`, all started within about a second (-r CALLS, -l CALLS, -m CALLS), each
# streaming fixtures/audio/noisy_speech_8k.ulaw (looped) for SECONDS, then BYE; stop the
# capture and run scripts/rtp_probe.py over it: per RTP stream sotto sent, loss, dups,
# RFC 3550 A.8 jitter, the longest gap and the deviation of packet spacing from 20 ms,
# each stream's first 1 s and last 0.5 s skipped. Also: sotto's CPU over the held
# period (utime+stime from /proc/PID/stat, % of one core), the media workers' tick
# overruns (`sotto_media_worker_tick_overruns_total` at /metrics, summed over workers)
# and the live calls at /v1/calls mid-run.
#
# A run passes when SIPp completed every call, the capture dropped nothing, every call
# has a stream back of about the held length, loss is 0, no more than 0.5 % of the
# packets the streams' durations call for are missing (media skipped without a sequence
# gap, e.g. ticks a worker dropped) and the p99 across streams of the per-stream jitter
# is below 10 ms (MAX_JITTER_MS). Exit status 0 on pass, else 1
# (with --search: 0 when some CALLS passed).
#
# Environment: SOTTO_BIN (default $CARGO_TARGET_DIR or ./target, release/sotto; built
# when missing), SIP_PORT 5380, HTTP_PORT 8388, SIPP_PORT 5381, RTP_LO 46000 (sotto's
# RTP range starts there, 2 ports per call plus slack), SIPP_MP 36000 (SIPp media
# ports), MAX_JITTER_MS 10, KEEP=1 keeps the work dir (pcap, logs, per-stream JSON).
# Everything binds 127.0.0.1; every wait is bounded; only processes this script
# started are stopped, by PID. tcpdump needs root (or CAP_NET_RAW).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${SOTTO_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/sotto}
SCEN="$ROOT/fixtures/sipp"
PROBE="$ROOT/scripts/rtp_probe.py"
SIP_PORT=${SIP_PORT:-5380}
HTTP_PORT=${HTTP_PORT:-8388}
SIPP_PORT=${SIPP_PORT:-5381}
RTP_LO=${RTP_LO:-46000}
SIPP_MP=${SIPP_MP:-36000}
MAX_JITTER_MS=${MAX_JITTER_MS:-10}
MAX_SEARCH_RUNS=6

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
SEARCH=0
if [ "${1:-}" = "--search" ]; then
  [ $# -ge 3 ] || usage
  SEARCH=1; S_LO=$2; S_HI=$3; SECS=${4:-20}
else
  case "${1:-}" in -h|--help) usage ;; esac
  CALLS=${1:-100}; SECS=${2:-20}
fi
for v in ${CALLS:-} ${S_LO:-} ${S_HI:-} "$SECS"; do
  [[ "$v" =~ ^[0-9]+$ ]] || { echo "not a number: $v" >&2; usage; }
done
[ "$SECS" -ge 6 ] || { echo "SECONDS must be at least 6" >&2; exit 2; }
for t in sipp tcpdump curl python3; do
  command -v "$t" >/dev/null || { echo "$t not found (apt-get install sip-tester tcpdump curl python3)" >&2; exit 2; }
done
[ -x "$BIN" ] || (cd "$ROOT" && cargo build --release)

WORK=$(mktemp -d /tmp/sotto-capacity.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ "${KEEP:-0}" = 1 ]; then echo "work dir kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
CLK_TCK=$(getconf CLK_TCK)

cpu_ticks() { # pid -> utime+stime in clock ticks (fields 14, 15 of /proc/PID/stat)
  local s; s=$(cat "/proc/$1/stat"); s=${s##*) }
  read -r -a f <<<"$s"
  echo $((f[11] + f[12]))
}
metric_sum() { # metric name -> sum over its series at /metrics
  curl -s --max-time 5 "http://127.0.0.1:$HTTP_PORT/metrics" |
    awk -v m="$1" '$1 == m || index($1, m "{") == 1 { s += $2 } END { printf "%d\n", s }'
}
live_calls() {
  curl -s --max-time 10 "http://127.0.0.1:$HTTP_PORT/v1/calls" |
    python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null || echo "?"
}
wait_pid() { # pid seconds -> waits at most that long, then kills it
  local i
  for ((i = 0; i < $2 * 10; i++)); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# run_once CALLS -> prints the run's line; sets R_PASS (0/1) and R_ROW (table row)
run_once() {
  local calls=$1 dir="$WORK/run-$1" rtp_hi sotto tcpd sipp rate ramp
  mkdir -p "$dir"
  rtp_hi=$((RTP_LO + 2 * calls + 999))
  "$BIN" serve --sip-listen "127.0.0.1:$SIP_PORT" --http-listen "127.0.0.1:$HTTP_PORT" \
    --rtp-ports "$RTP_LO-$rtp_hi" --data-dir "$dir/data" 2>"$dir/sotto.log" &
  sotto=$!; PIDS+=("$sotto")
  local i up=0
  for ((i = 0; i < 100; i++)); do
    curl -sf --max-time 1 "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null 2>&1 && { up=1; break; }
    sleep 0.1
  done
  [ "$up" = 1 ] || { echo "sotto did not come up (log: $dir/sotto.log)" >&2; tail -5 "$dir/sotto.log" >&2; exit 1; }

  # Only what sotto sends back: from its RTP ports to SIPp's media ports (SIPp 3.6.1
  # streams every call from -mp itself; later versions take a port per call above it).
  local mp_hi=$((SIPP_MP + 4 * calls + 100))
  [ "$mp_hi" -lt "$RTP_LO" ] || mp_hi=$((RTP_LO - 1))
  tcpdump -i lo -n -U -s 64 -B 65536 --time-stamp-precision=nano -w "$dir/rtp.pcap" \
    "udp and src host 127.0.0.1 and src portrange $RTP_LO-$rtp_hi and dst portrange $SIPP_MP-$mp_hi" \
    2>"$dir/tcpdump.err" &
  tcpd=$!; PIDS+=("$tcpd")
  for ((i = 0; i < 50; i++)); do grep -q "listening on" "$dir/tcpdump.err" 2>/dev/null && break; sleep 0.1; done
  grep -q "listening on" "$dir/tcpdump.err" || { echo "tcpdump did not start:" >&2; cat "$dir/tcpdump.err" >&2; exit 1; }

  local ov0 tk0
  ov0=$(metric_sum sotto_media_worker_tick_overruns_total)
  tk0=$(metric_sum sotto_media_worker_ticks_total)
  rate=$((calls > 10 ? calls : 10))
  ramp=$(((calls + rate - 1) / rate))
  (cd "$SCEN" && exec timeout $((SECS + ramp + 60)) sipp -sf uac_noisy_echo.xml -s echo \
    "127.0.0.1:$SIP_PORT" -i 127.0.0.1 -p "$SIPP_PORT" -mp "$SIPP_MP" -d $((SECS * 1000)) \
    -m "$calls" -l "$calls" -r "$rate" -rp 1000 -buff_size 4194304 -nostdin \
    -trace_stat -stf "$dir/sipp.csv" -fd 1 >"$dir/sipp.out" 2>&1) &
  sipp=$!; PIDS+=("$sipp")

  # The held period: every call up (ramp + 1 s) until 1 s before the first BYE.
  sleep $((ramp + 1))
  local live c0 c1 w0 w1
  w0=$(date +%s.%N); c0=$(cpu_ticks "$sotto")
  live=$(live_calls)
  sleep $((SECS - ramp - 2))
  w1=$(date +%s.%N); c1=$(cpu_ticks "$sotto")

  wait_pid "$sipp" $((SECS + ramp + 70))
  sleep 0.5
  local ov1 tk1
  ov1=$(metric_sum sotto_media_worker_tick_overruns_total)
  tk1=$(metric_sum sotto_media_worker_ticks_total)
  kill -INT "$tcpd" 2>/dev/null || true
  wait_pid "$tcpd" 10
  kill "$sotto" 2>/dev/null || true
  wait_pid "$sotto" 10

  local ok failed drops cpu probe_out probe_rc=0
  read -r ok failed < <(python3 - "$dir/sipp.csv" <<'PY' || echo "0 ?"
import csv, sys
rows = list(csv.reader(open(sys.argv[1]), delimiter=';'))
h, last = rows[0], rows[-1]
print(last[h.index('SuccessfulCall(C)')], last[h.index('FailedCall(C)')])
PY
)
  drops=$(awk '/dropped by kernel/ { s += $1 } END { printf "%d\n", s }' "$dir/tcpdump.err")
  cpu=$(python3 -c "print('%.1f' % (100.0 * ($c1 - $c0) / $CLK_TCK / ($w1 - $w0)))")
  probe_out=$(python3 "$PROBE" "$dir/rtp.pcap" --skip-head 1.0 --skip-tail 0.5 \
    --expect-streams "$calls" --min-span $((SECS - 2)) --max-jitter-ms "$MAX_JITTER_MS" \
    --json "$dir/streams.json") || probe_rc=$?

  R_PASS=1
  local why=()
  [ "$probe_rc" = 0 ] || why+=("rtp")
  [ "$ok" = "$calls" ] || why+=("sipp")
  [ "$drops" = 0 ] || why+=("capture-drops")
  [ ${#why[@]} = 0 ] || R_PASS=0
  local verdict=PASS
  [ "$R_PASS" = 1 ] || verdict="FAIL(${why[*]})"
  echo "calls=$calls held=${SECS}s sipp_ok=$ok sipp_failed=$failed live=$live | $probe_out |" \
    "sotto_cpu=${cpu}% overruns=$((ov1 - ov0)) ticks=$((tk1 - tk0)) capture_drops=$drops => $verdict"
  R_ROW=$(python3 - "$dir/streams.json" "$calls" "$ok" "$failed" "$cpu" $((ov1 - ov0)) "$drops" "$verdict" <<'PY'
import json, sys
f, calls, ok, failed, cpu, ov, drops, verdict = sys.argv[1:]
try:
    a = json.load(open(f))["aggregate"]
except Exception:
    a = {"streams": 0, "loss_pct": float("nan"), "missing_pct": float("nan"), "jitter_p99_ms": float("nan"), "gap_max_ms": float("nan"), "dev_p99_ms": float("nan")}
print("%6s %7s %6s %7s %7.3f %8.2f %9.2f %8.1f %8.2f %6s %9s %5s  %s" % (calls, ok, failed, a["streams"], a["loss_pct"], a["missing_pct"],
      a["jitter_p99_ms"], a["gap_max_ms"], a["dev_p99_ms"], cpu, ov, drops, verdict))
PY
)
  PIDS=()
}

HEADER=" calls sipp_ok failed streams   loss% missing%  jit_p99ms  gap_max  dev_p99   cpu%  overruns drops  verdict"
if [ "$SEARCH" = 0 ]; then
  run_once "$CALLS"
  [ "$R_PASS" = 1 ]
  exit $?
fi

# --search: keep the bracket [lo, hi]; lo's pass/fail is known only once it has run.
lo=$S_LO; hi=$S_HI; best=""; worst_fail=""; rows=()
for ((run = 1; run <= MAX_SEARCH_RUNS && lo <= hi; run++)); do
  if [ -z "$best" ] && [ "$run" = 1 ]; then mid=$lo; else mid=$(((lo + hi + 1) / 2)); fi
  echo "run $run: $mid calls" >&2
  run_once "$mid"
  rows+=("$R_ROW")
  if [ "$R_PASS" = 1 ]; then best=$mid; lo=$((mid + 1)); else worst_fail=$mid; hi=$((mid - 1)); fi
  # The low end failing ends the search: nothing in range passes.
  [ "$run" = 1 ] && [ "$R_PASS" = 0 ] && break
done
echo
echo "$HEADER"
printf '%s\n' "${rows[@]}"
if [ -n "$best" ]; then
  echo "largest passing: $best calls (held ${SECS}s)${worst_fail:+; smallest failing tried: $worst_fail}; bracket left [$lo, $hi]"
  exit 0
fi
echo "no run passed (lowest tried: $S_LO)"
exit 1
