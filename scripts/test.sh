#!/usr/bin/env bash
# The test command (see README): installs the SIP peers the integration tests drive when
# they are missing, builds the release binary, checks the SIPp scenarios against SIPp
# stand-ins, then runs every test of the workspace in release mode.
#
#   bash scripts/test.sh            # as root on Debian/Ubuntu CI; as a user it installs nothing
#
# SOTTO_REQUIRE_PEERS=1 is set, so a test whose peer (sipp, baresip) is missing fails
# instead of skipping: CI never passes by not testing.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/cpu-baseline.sh

step() { printf '\n==> %s\n' "$*"; }

# --- peers -----------------------------------------------------------------------------
missing=()
command -v sipp >/dev/null || missing+=(sipp)
command -v baresip >/dev/null || missing+=(baresip)
if [ "${#missing[@]}" -gt 0 ]; then
    step "installing ${missing[*]} (Debian sip-tester, baresip-core) and sox"
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        export DEBIAN_FRONTEND=noninteractive
        # A stale mirror must not stop us: the packages may be installable from the cache.
        timeout 300 apt-get update || echo "apt-get update failed; trying to install anyway"
        # baresip-core holds every module the tests load (aufile, aubridge, sndfile, g711,
        # menu, account) without the GTK/X11/GStreamer front-ends of the `baresip` metapackage.
        timeout 600 apt-get install -y --no-install-recommends sip-tester baresip-core sox ||
            timeout 600 apt-get install -y sip-tester baresip sox ||
            echo "apt-get install failed; the tests that need ${missing[*]} will fail"
    else
        echo "not root or no apt-get: cannot install ${missing[*]}; the tests that need them will fail"
    fi
fi
for tool in sipp baresip; do
    if command -v "$tool" >/dev/null; then
        echo "$tool: $(command -v "$tool")"
    fi
done

# --- build -----------------------------------------------------------------------------
step "cargo build --release"
timeout 1200 cargo build --release

# --- the SIPp scenarios themselves -----------------------------------------------------
if command -v sipp >/dev/null; then
    step "SIPp scenario self-test (scenarios against SIPp stand-ins, no sotto)"
    timeout 300 bash scripts/sipp-selftest.sh
fi

# --- tests -----------------------------------------------------------------------------
step "cargo test --workspace --release"
export SOTTO_REQUIRE_PEERS=1
timeout 900 cargo test --workspace --release
step "all tests passed"
