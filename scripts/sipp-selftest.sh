#!/usr/bin/env bash
# Checks the SIPp scenarios in fixtures/sipp against SIPp stand-ins, without sotto:
# each client scenario must pass against a peer that behaves as sotto should, and must
# fail against one that does not (so a pass means something).
#
#   bash scripts/sipp-selftest.sh            # prints one line per case, exits 1 on a mismatch
#
# Ports: 127.0.0.1, SIP from $SELFTEST_PORT (default 25060) up, media from 31000 up.
set -euo pipefail

command -v sipp >/dev/null || { echo "sipp not installed (Debian: sip-tester)" >&2; exit 2; }

cd "$(dirname "$0")/../fixtures/sipp"
base=${SELFTEST_PORT:-25060}
peer_port=$base          # the stand-in "sotto"
agent_port=$((base + 1)) # an agent's phone
client_port=$((base + 2))
logs=$(mktemp -d "${TMPDIR:-/tmp}/sipp-selftest.XXXXXX")
pids=()
failures=0

stop_peers() {
    local p
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    pids=()
}
trap stop_peers EXIT

# peer NAME ARGS...: start a SIPp stand-in in the background.
peer() {
    local name=$1
    shift
    timeout 60 sipp -i 127.0.0.1 -nostdin -timeout 30 \
        -error_file "$logs/$name.errors" -trace_err "$@" >"$logs/$name.out" 2>&1 &
    pids+=($!)
}

# client WANT NAME ARGS...: run a client scenario; WANT is "pass" or "fail".
client() {
    local want=$1 name=$2 rc=0 got
    shift 2
    sleep 0.3 # let the stand-ins bind
    timeout 60 sipp -i 127.0.0.1 -nostdin -timeout 20 -timeout_error \
        -error_file "$logs/$name.errors" -trace_err \
        -screen_file "$logs/$name.screen" -trace_screen "$@" >"$logs/$name.out" 2>&1 || rc=$?
    if [ "$rc" -eq 0 ]; then got=pass; else got=fail; fi
    if [ "$got" = "$want" ]; then
        printf 'ok    %-34s (%s as expected, exit %d)\n' "$name" "$got" "$rc"
    else
        printf 'WRONG %-34s (wanted %s, got exit %d; logs in %s)\n' "$name" "$want" "$rc" "$logs"
        failures=$((failures + 1))
    fi
    stop_peers
}

sotto=127.0.0.1:$peer_port

# A call to the echo service with RTP: SIPp's UAS echoes the RTP sent by rtp_stream.
peer echo_uas -sn uas -p "$peer_port" -mi 127.0.0.1 -mp 31000 -rtp_echo -m 3
client pass uac_echo -sf uac_echo.xml -s echo -p "$client_port" -mi 127.0.0.1 -m 3 -l 3 "$sotto"

# The load variant: 50 zero-length calls.
peer load_uas -sn uas -p "$peer_port" -m 50
client pass uac_load -sf uac_load.xml -s echo -p "$client_port" -m 50 -r 25 "$sotto"

# ... and over TCP (sotto listens on both).
peer load_uas_tcp -sn uas -t t1 -p "$peer_port" -m 10
client pass uac_load_tcp -sf uac_load.xml -s echo -t t1 -p "$client_port" -m 10 "$sotto"

# CANCEL: against a phone that rings; and it must fail against one that answers at once.
peer ring_uas -sf uas_ring_noanswer.xml -p "$peer_port" -m 1
client pass uac_cancel -sf uac_cancel.xml -s agent1 -p "$client_port" -m 1 "$sotto"
peer answer_uas -sn uas -p "$peer_port" -m 1
client fail uac_cancel_vs_answering -sf uac_cancel.xml -s agent1 -p "$client_port" -m 1 "$sotto"

# REGISTER with digest auth and un-REGISTER; wrong password never accepted.
peer registrar -sf selftest/registrar.xml -p "$peer_port" -m 1
client pass register_auth -sf register_auth.xml -s agent1 -ap agent1 -p "$client_port" -m 1 "$sotto"
peer registrar -sf selftest/registrar.xml -p "$peer_port" -m 1
client fail register_auth_wrong_password -sf register_auth.xml -s agent1 -ap nope -p "$client_port" -m 1 "$sotto"
peer registrar -sf selftest/registrar.xml -p "$peer_port" -m 1
client pass register_badpass -sf register_badpass.xml -s agent1 -p "$client_port" -m 1 "$sotto"
peer registrar_open -sf selftest/registrar_open.xml -p "$peer_port" -m 1
client fail register_badpass_vs_open -sf register_badpass.xml -s agent1 -p "$client_port" -m 1 "$sotto"

# Refusals.
for code in 404 480; do
    sed "s/@CODE@/$code/g" selftest/uas_reject.xml.in >"$logs/uas_reject_$code.xml"
done
peer reject404 -sf "$logs/uas_reject_404.xml" -p "$peer_port" -m 1
client pass uac_404 -sf uac_404.xml -s nobody -p "$client_port" -m 1 "$sotto"
peer reject480 -sf "$logs/uas_reject_480.xml" -p "$peer_port" -m 1
client pass uac_480 -sf uac_480.xml -s agent2 -p "$client_port" -m 1 "$sotto"
peer reject480 -sf "$logs/uas_reject_480.xml" -p "$peer_port" -m 1
client fail uac_404_vs_480 -sf uac_404.xml -s nobody -p "$client_port" -m 1 "$sotto"
peer answer_uas -sn uas -p "$peer_port" -m 1
client fail uac_480_vs_answering -sf uac_480.xml -s agent2 -p "$client_port" -m 1 "$sotto"

# OPTIONS.
peer options_uas -sf selftest/uas_options.xml -p "$peer_port" -m 1
client pass options -sf options.xml -p "$client_port" -m 1 "$sotto"

# The agent's phone: registers to the stand-in registrar, takes one call (from a second
# SIPp playing sotto's B2BUA leg, sent straight to the agent's port), unregisters. The
# caller starts once the agent has written its ready file.
for ooc in uas_answer uas_ring_noanswer; do
    if [ "$ooc" = uas_answer ]; then caller=uac_echo.xml; else caller=uac_cancel.xml; fi
    ready="$logs/agent_ready_$ooc"
    peer registrar_for_$ooc -sf selftest/registrar.xml -p "$peer_port" -m 1
    (
        for _ in $(seq 100); do [ -s "$ready" ] && break; sleep 0.1; done
        sipp -sf "$caller" -s agent1 -i 127.0.0.1 -p "$client_port" -mi 127.0.0.1 -m 1 \
            -nostdin -timeout 20 127.0.0.1:"$agent_port" >"$logs/caller_$ooc.out" 2>&1
    ) &
    pids+=($!)
    client pass "uas_agent_with_$ooc" -sf uas_agent.xml -oocsf "$ooc.xml" -s agent1 -ap agent1 \
        -set ready_file "$ready" -p "$agent_port" -mi 127.0.0.1 -mp 31100 -rtp_echo -m 1 "$sotto"
done
# With no call at all the agent must not report success.
peer agent_registrar -sf selftest/registrar.xml -p "$peer_port" -m 1
client fail uas_agent_without_call -sf uas_agent.xml -oocsf uas_answer.xml -s agent1 -ap agent1 \
    -p "$agent_port" -m 1 -timeout 5 "$sotto"

if [ "$failures" -ne 0 ]; then
    echo "$failures case(s) wrong; logs in $logs"
    exit 1
fi
echo "all SIPp scenario self-tests behaved as expected"
rm -rf "$logs"
