#!/usr/bin/env bash
# Regenerates the 8 kHz audio fixtures of the media pipeline (denoiser tests and
# scripts/capacity.sh):
#
#   fixtures/audio/speech_clean_8k.wav   10.00 s, 16-bit mono: four espeak-ng sentences
#                                        (statement, question, digits, closing) with
#                                        digital-silence pauses between them
#   fixtures/audio/pink_noise_8k.wav     5.00 s, 16-bit mono: sox pink noise, already at
#                                        the level it has in the mix below
#   fixtures/audio/noisy_speech_8k.wav   10.00 s: clean + pink noise (the 5 s noise
#                                        clip twice), SNR 5 dB (see below)
#   fixtures/audio/noisy_speech_8k.ulaw  the same as raw G.711 µ-law (SIPp rtp_stream, PT 0)
#   fixtures/audio/speech_segments.txt   speech and pause intervals of the clean file
#
# SNR = 10·log10(P_speech / P_noise), P_speech the mean power of the clean signal over
# the labelled speech intervals (an active-speech level), P_noise the mean power of the
# noise clip. The clean speech is scaled to an active level of -22 dBFS (RMS re a
# full-scale square wave, 32768), so the noise sits at -27 dBFS.
#
# Speech intervals come from the clean signal's energy, not from how it was built:
# 20 ms frames (160 samples), a frame is speech when its RMS is above -45 dBFS;
# speech runs separated by less than 300 ms are merged (gaps between words), runs
# shorter than 60 ms are dropped. Everything between speech intervals is a pause.
# Intervals are on the 20 ms frame grid.
#
# Deterministic: espeak-ng has no randomness, sox runs with -R (fixed seeds) and -D
# (no dither), the mixing is integer-exact Python. Two runs here give identical
# bytes; another espeak-ng or sox version may not (espeak-ng 1.51 and SoX 14.4.2 made
# the committed files). The committed files are the reference.
#
#   scripts/make-audio-fixtures.sh [OUT_DIR]     # default fixtures/audio
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-"$ROOT/fixtures/audio"}
for t in espeak-ng sox python3; do
  command -v "$t" >/dev/null || { echo "$t not found (apt-get install espeak-ng sox python3)" >&2; exit 1; }
done
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$OUT"

SENTENCES=(
  "Hello, thanks for calling."
  "What is your account number?"
  "Seven four two, nine one eight."
  "Great, one moment please."
)
i=0
for s in "${SENTENCES[@]}"; do
  i=$((i + 1))
  espeak-ng -v en-us -s 175 -w "$TMP/raw$i.wav" "$s"
  # 22.05 kHz -> 8 kHz, 16-bit; trim espeak's leading and trailing silence.
  sox -R -D "$TMP/raw$i.wav" -r 8000 -b 16 -c 1 "$TMP/s$i.wav" \
    silence 1 0.01 0.1% reverse silence 1 0.01 0.1% reverse
done
sox -R -D -n -r 8000 -b 16 -c 1 "$TMP/pink.wav" synth 5 pinknoise

python3 - "$TMP" "$OUT" <<'PY'
import array, math, sys, wave

tmp, out = sys.argv[1], sys.argv[2]
RATE, FRAME = 8000, 160
TOTAL = 10 * RATE                     # 10.00 s
LEAD, PAUSES = 0.5, [0.9, 0.8, 0.8]   # seconds of silence before / between sentences
SPEECH_DBFS, SNR_DB = -22.0, 5.0
THRESH_DBFS, MIN_GAP, MIN_RUN = -45.0, 0.300, 0.060

def read(path):
    with wave.open(path, "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, RATE), path
        a = array.array("h"); a.frombytes(w.readframes(w.getnframes()))
        if sys.byteorder == "big": a.byteswap()
        return list(a)

def write(path, samples):
    a = array.array("h", samples)
    if sys.byteorder == "big": a.byteswap()
    with wave.open(path, "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(RATE); w.writeframes(a.tobytes())

def dbfs(power):
    return 10 * math.log10(power / 32768.0 ** 2) if power > 0 else -200.0

# Assemble: lead silence, sentence, pause, sentence, ..., silence up to 10 s.
sig = [0] * int(LEAD * RATE)
for k in range(4):
    sig += read(f"{tmp}/s{k + 1}.wav")
    if k < 3:
        sig += [0] * int(PAUSES[k] * RATE)
assert len(sig) <= TOTAL - RATE // 4, f"speech too long: {len(sig) / RATE:.2f} s"
sig += [0] * (TOTAL - len(sig))

# Label from frame energy.
def frame_power(s, i):
    f = s[i * FRAME:(i + 1) * FRAME]
    return sum(x * x for x in f) / FRAME

def segments(s):
    n = len(s) // FRAME
    on = [dbfs(frame_power(s, i)) > THRESH_DBFS for i in range(n)]
    runs, i = [], 0
    while i < n:
        if on[i]:
            j = i
            while j < n and on[j]: j += 1
            runs.append([i, j]); i = j
        else:
            i += 1
    merged = []
    for r in runs:
        if merged and (r[0] - merged[-1][1]) * FRAME < MIN_GAP * RATE:
            merged[-1][1] = r[1]
        else:
            merged.append(r)
    return [r for r in merged if (r[1] - r[0]) * FRAME >= MIN_RUN * RATE], n

# Scale to the active speech level (labels are level-independent up to the threshold,
# so label, scale, and label again on the scaled signal).
runs, _ = segments(sig)
p = sum(frame_power(sig, i) for a, b in runs for i in range(a, b)) / sum(b - a for a, b in runs)
g = 10 ** ((SPEECH_DBFS - dbfs(p)) / 20)
clean = [max(-32768, min(32767, round(x * g))) for x in sig]
runs, nframes = segments(clean)
p_speech = sum(frame_power(clean, i) for a, b in runs for i in range(a, b)) / sum(b - a for a, b in runs)

noise = read(f"{tmp}/pink.wav")
p_noise = sum(x * x for x in noise) / len(noise)
gn = math.sqrt(p_speech / p_noise / 10 ** (SNR_DB / 10))
noise = [max(-32768, min(32767, round(x * gn))) for x in noise]
p_noise = sum(x * x for x in noise) / len(noise)
noisy = [clean[i] + noise[i % len(noise)] for i in range(TOTAL)]
peak = max(abs(x) for x in noisy)
assert peak < 32767, f"mix clips (peak {peak})"

write(f"{out}/speech_clean_8k.wav", clean)
write(f"{out}/pink_noise_8k.wav", noise)
write(f"{out}/noisy_speech_8k.wav", noisy)

t = lambda f: f * FRAME / RATE
lines = [
    "# Speech and pause intervals of speech_clean_8k.wav (10.00 s, 8 kHz), in seconds.",
    "# Made by scripts/make-audio-fixtures.sh from the clean signal's energy: 20 ms frames,",
    f"# speech when frame RMS > {THRESH_DBFS:.0f} dBFS, runs closer than {MIN_GAP * 1000:.0f} ms merged,"
    f" runs under {MIN_RUN * 1000:.0f} ms dropped.",
    f"# Active speech level {dbfs(p_speech):.1f} dBFS; noise (pink_noise_8k.wav, looped in"
    f" noisy_speech_8k.wav) {dbfs(p_noise):.1f} dBFS; SNR {dbfs(p_speech) - dbfs(p_noise):.1f} dB.",
    "# kind   start_s  end_s",
]
edges, prev = [], 0
for a, b in runs:
    if a > prev: edges.append(("pause", prev, a))
    edges.append(("speech", a, b)); prev = b
if prev < nframes: edges.append(("pause", prev, nframes))
lines += [f"{k:<7}{t(a):>7.2f}{t(b):>7.2f}" for k, a, b in edges]
open(f"{out}/speech_segments.txt", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
print(f"peak of the mix: {20 * math.log10(peak / 32768):.1f} dBFS")
PY

sox -R -D "$OUT/noisy_speech_8k.wav" -t raw -e mu-law -b 8 -r 8000 -c 1 "$OUT/noisy_speech_8k.ulaw"
ls -l "$OUT"/speech_clean_8k.wav "$OUT"/pink_noise_8k.wav "$OUT"/noisy_speech_8k.wav \
  "$OUT"/noisy_speech_8k.ulaw "$OUT"/speech_segments.txt
