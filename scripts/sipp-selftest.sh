#!/usr/bin/env bash
# Checks the SIPp scenarios in fixtures/sipp against SIPp stand-ins, without sotto:
# each client scenario must pass against a peer that behaves as sotto should, and must
# fail against one that does not (so a pass means something).
#
#   bash scripts/sipp-selftest.sh            # prints one line per case, exits 1 on a mismatch
#
# Ports: 127.0.0.1; three SIP ports and a media block found free at start (the machine
# may be shared), or SIP from $SELFTEST_PORT if set.
set -euo pipefail

command -v sipp >/dev/null || { echo "sipp not installed (Debian: sip-tester)" >&2; exit 2; }

cd "$(dirname "$0")/../fixtures/sipp"

# Ports bound on this machine (UDP or TCP, v4 or v6), from /proc: no ss/netstat needed.
ports_in_use() {
    cat /proc/net/udp /proc/net/tcp /proc/net/udp6 /proc/net/tcp6 2>/dev/null | awk '
        function hex(h,   i, n) {
            n = 0
            for (i = 1; i <= length(h); i++) n = n * 16 + index("0123456789ABCDEF", substr(h, i, 1)) - 1
            return n
        }
        $2 ~ /:/ { n = split($2, a, ":"); print hex(toupper(a[n])) }' | sort -un
}
# free_block LO HI N: the first port P of N consecutive free ports, P in [LO, HI), P even.
free_block() {
    local lo=$1 hi=$2 n=$3 used p i ok
    used=" $(ports_in_use | tr '\n' ' ') "
    for _ in $(seq 200); do
        p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo - n)))
        p=$((p - p % 2))
        ok=1
        for i in $(seq 0 $((n - 1))); do
            case "$used" in *" $((p + i)) "*) ok=0 && break ;; esac
        done
        if [ "$ok" = 1 ]; then
            echo "$p"
            return
        fi
    done
    echo "no $n free ports in $lo..$hi" >&2
    exit 2
}
base=${SELFTEST_PORT:-$(free_block 40000 60000 4)}
peer_port=$base          # the stand-in "sotto"
agent_port=$((base + 1)) # an agent's phone
client_port=$((base + 2))
media=$(free_block 20000 32000 48)
echo_media=$media                # the echo stand-in's -rtp_echo port
agent_media=$((media + 16))      # the agent's -rtp_echo port
client_media=$((media + 32))     # rtp_stream ports of the callers
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

# client WANT NAME ARGS...: run a client scenario. WANT is "pass" (exit 0: all calls
# succeeded), "fail" (exit 1: a call failed) or "timeout" (exit 255 after -timeout).
# Any other exit (254: could not bind, a scenario error...) is never what we want.
client() {
    local want=$1 name=$2 rc=0 got
    shift 2
    sleep 0.3 # let the stand-ins bind
    timeout 60 sipp -i 127.0.0.1 -nostdin -timeout 20 -timeout_error \
        -error_file "$logs/$name.errors" -trace_err \
        -screen_file "$logs/$name.screen" -trace_screen "$@" >"$logs/$name.out" 2>&1 || rc=$?
    case "$rc" in
    0) got=pass ;;
    1) got=fail ;;
    255) if grep -q "timed out" "$logs/$name.errors" 2>/dev/null; then got=timeout; else got="exit $rc"; fi ;;
    *) got="exit $rc" ;;
    esac
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
peer echo_uas -sn uas -p "$peer_port" -mi 127.0.0.1 -mp "$echo_media" -rtp_echo -m 3
client pass uac_echo -sf uac_echo.xml -s echo -p "$client_port" -mi 127.0.0.1 -mp "$client_media" -m 3 -l 3 "$sotto"

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

# A customer held and resumed: hold offered sendonly (or inactive), resume sendrecv;
# an unhold offered recvonly (FreeSWITCH #1144) or a hold that is not one must fail.
for dirs in "pass sendonly sendrecv" "pass inactive sendrecv" "fail sendonly recvonly" "fail sendrecv sendrecv"; do
    set -- $dirs
    peer "hold_$2_$3" -sf selftest/uas_hold_resume.xml -p "$peer_port" -set hold_dir "$2" -set resume_dir "$3" -m 1
    client "$1" "uac_customer_hold_$2_$3" -sf uac_customer_hold.xml -s agent1 -p "$client_port" -m 1 "$sotto"
done

# OPTIONS.
peer options_uas -sf selftest/uas_options.xml -p "$peer_port" -m 1
client pass options -sf options.xml -p "$client_port" -m 1 "$sotto"

# A customer who waits through hold and resume for the BYE (transfers); against a
# phone that never hangs up it must time out.
peer hold_bye -sf selftest/uas_hold_bye.xml -p "$peer_port" -m 1
client pass uac_wait_bye -sf uac_wait_bye.xml -s agent1 -p "$client_port" -m 1 "$sotto"
peer answer_uas -sn uas -p "$peer_port" -m 1
client timeout uac_wait_bye_vs_no_bye -sf uac_wait_bye.xml -s agent1 -p "$client_port" -m 1 -timeout 3 "$sotto"

# The trunk referred by sotto (blind transfer by REFER): it must check the Refer-To.
peer referrer -sf selftest/trunk_referrer.xml -key refer_number +12015550100 -p "$peer_port" -m 1
client pass uac_trunk_referred -sf uac_trunk_referred.xml -s agent1 -p "$client_port" -m 1 "$sotto"
peer referrer_wrong -sf selftest/trunk_referrer.xml -key refer_number +19995550100 -p "$peer_port" -m 1
client fail uac_trunk_referred_wrong_target -sf uac_trunk_referred.xml -s agent1 -p "$client_port" -m 1 "$sotto"

# The agent's phone: registers to the stand-in registrar, takes one call (from a second
# SIPp playing sotto's B2BUA leg, sent straight to the agent's port), unregisters. The
# caller starts once the agent has written its ready file.
for ooc in uas_answer uas_ring_noanswer; do
    if [ "$ooc" = uas_answer ]; then caller=uac_echo.xml; else caller=uac_cancel.xml; fi
    ready="$logs/agent_ready_$ooc"
    peer registrar_for_$ooc -sf selftest/registrar.xml -p "$peer_port" -m 1
    (
        for _ in $(seq 100); do [ -s "$ready" ] && break; sleep 0.1; done
        sipp -sf "$caller" -s agent1 -i 127.0.0.1 -p "$client_port" -mi 127.0.0.1 -mp "$client_media" -m 1 \
            -nostdin -timeout 20 127.0.0.1:"$agent_port" >"$logs/caller_$ooc.out" 2>&1
    ) &
    pids+=($!)
    client pass "uas_agent_with_$ooc" -sf uas_agent.xml -oocsf "$ooc.xml" -s agent1 -ap agent1 \
        -set ready_file "$ready" -p "$agent_port" -mi 127.0.0.1 -mp "$agent_media" -rtp_echo -m 1 "$sotto"
done
# With no call at all the agent must not report success.
peer agent_registrar -sf selftest/registrar.xml -p "$peer_port" -m 1
client timeout uas_agent_without_call -sf uas_agent.xml -oocsf uas_answer.xml -s agent1 -ap agent1 \
    -p "$agent_port" -m 1 -timeout 5 "$sotto"

if [ "$failures" -ne 0 ]; then
    echo "$failures case(s) wrong; logs in $logs"
    exit 1
fi
echo "all SIPp scenario self-tests behaved as expected"
rm -rf "$logs"
