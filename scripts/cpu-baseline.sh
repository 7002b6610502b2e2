# Sourced by .ci/run and scripts/test.sh: .cargo/config.toml builds for x86-64-v3
# (AVX2/FMA); on an x86-64 machine without them, build for the x86-64 baseline
# instead, so the tests run on the CPU at hand.
if [ "$(uname -m)" = x86_64 ] && [ -z "${RUSTFLAGS:-}" ] &&
    ! { grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo; }; then
    echo "this CPU lacks AVX2/FMA: building for the x86-64 baseline (RUSTFLAGS)"
    export RUSTFLAGS="-C target-cpu=x86-64"
fi
