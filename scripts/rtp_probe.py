#!/usr/bin/env python3
"""Per-stream RTP quality from a packet capture: what a far end would hear.

    scripts/rtp_probe.py CAPTURE.pcap [--skip-head 1.0] [--skip-tail 0.5]
        [--expect-streams N] [--min-span S] [--max-jitter-ms 10] [--json OUT.json]

Reads a classic pcap file (tcpdump -w; microsecond or nanosecond timestamps, either
byte order; link types Ethernet, BSD loopback, raw IP, Linux cooked v1/v2), keeps the
UDP datagrams that look like RTP (version 2, at least the 12-byte fixed header in the
snapshot, RFC 3550 5.1) and groups them into streams by (source, destination, SSRC).

Per stream, over its packets between first + skip-head and last - skip-tail seconds
(call setup and teardown are not what is measured):
  packets      RTP packets captured in the window
  lost         sequence numbers missing between the window's lowest and highest
               (extended, RFC 3550 A.1) sequence number
  dup          packets whose sequence number was already seen
  missing      packets the window's duration calls for at one per 20 ms that did not
               come (distinct sequence numbers short of span / 20 ms + 1; lost packets
               count here too): also media a sender skipped without numbering it,
               which `lost` cannot see
  jitter       RFC 3550 A.8 interarrival jitter, J += (|D| - J) / 16, from capture times
               and RTP timestamps (clock 8000 Hz, the G.711 and telephone-event clock);
               the stream's figure is the largest value the estimate reached in the
               window, reported in ms
  gap_max      longest time between consecutive packets (ms)
  dev p50/p99  of |inter-packet interval - 20 ms| (ms)
  span         first to last packet of the whole stream (s)

Aggregate: loss % = lost / (packets + lost - dup) over all streams; missing % likewise of
the time-expected count; p99 across streams of
the per-stream jitter; the worst gap; p50/p99 of the pooled interval deviations.

Exit status 0 when loss is 0, missing is at most --max-missing-pct (0.5 %: a packet of
rounding per stream edge), the p99 jitter is below --max-jitter-ms, at least
--expect-streams streams were seen and none spans less than --min-span seconds;
else 1 (2 on a capture it cannot read). One summary line on stdout.
"""
import argparse
import json
import math
import mmap
import struct
import sys
from array import array

CLOCK_HZ = 8000
PTIME_MS = 20.0

# pcap link types (https://www.tcpdump.org/linktypes.html) -> (header length, ethertype
# offset or None when the header is fixed to IPv4/IPv6 another way).
LINK_ETHERNET, LINK_NULL, LINK_RAW, LINK_RAW_OLD, LINK_LOOP, LINK_SLL, LINK_SLL2 = (
    1, 0, 101, 12, 108, 113, 276)


def percentile(values, q):
    """Nearest-rank percentile of a non-empty sorted sequence."""
    if not values:
        return float("nan")
    k = max(0, min(len(values) - 1, math.ceil(q / 100.0 * len(values)) - 1))
    return values[k]


class Stream:
    __slots__ = ("key", "t", "seq", "ts")

    def __init__(self, key):
        self.key = key
        self.t = array("d")
        self.seq = array("l")
        self.ts = array("q")


def read_pcap(path):
    """Yields (time_s, ip_payload_bytes_view, offset, end, src, dst) for UDP in IPv4/IPv6."""
    with open(path, "rb") as f:
        try:
            buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # empty file
            return
    if len(buf) < 24:
        return
    magic = buf[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        raise ValueError("not a classic pcap file (pcapng? use tcpdump -w, not -w with --pcapng)")
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    scale = 1e-9 if nano else 1e-6
    linktype = struct.unpack_from(end + "I", buf, 20)[0] & 0x0FFFFFFF
    rec = struct.Struct(end + "IIII")
    off = 24
    n = len(buf)
    # Times relative to the first record's second: a double then keeps sub-µs precision.
    base = rec.unpack_from(buf, off)[0] if n >= off + 16 else 0
    while off + 16 <= n:
        sec, frac, incl, _orig = rec.unpack_from(buf, off)
        p = off + 16
        off = p + incl
        if off > n:
            break  # truncated last record (capture killed mid-write)
        t = (sec - base) + frac * scale
        if linktype == LINK_ETHERNET:
            if incl < 14:
                continue
            etype = (buf[p + 12] << 8) | buf[p + 13]
            ip = p + 14
            if etype == 0x8100 and incl >= 18:  # one VLAN tag
                etype = (buf[p + 16] << 8) | buf[p + 17]
                ip = p + 18
            if etype not in (0x0800, 0x86DD):
                continue
        elif linktype in (LINK_NULL, LINK_LOOP):
            ip = p + 4
        elif linktype in (LINK_RAW, LINK_RAW_OLD):
            ip = p
        elif linktype == LINK_SLL:
            ip = p + 16
        elif linktype == LINK_SLL2:
            ip = p + 20
        else:
            raise ValueError(f"unsupported pcap link type {linktype}")
        if ip >= off:
            continue
        ver = buf[ip] >> 4
        if ver == 4:
            ihl = (buf[ip] & 0x0F) * 4
            if buf[ip + 9] != 17:
                continue
            frag = ((buf[ip + 6] << 8) | buf[ip + 7]) & 0x1FFF
            if frag:
                continue  # a later fragment carries no UDP header
            src_ip, dst_ip = bytes(buf[ip + 12:ip + 16]), bytes(buf[ip + 16:ip + 20])
            udp = ip + ihl
        elif ver == 6:
            if buf[ip + 6] != 17:
                continue  # extension headers are not followed
            src_ip, dst_ip = bytes(buf[ip + 8:ip + 24]), bytes(buf[ip + 24:ip + 40])
            udp = ip + 40
        else:
            continue
        yield t, buf, udp, off, src_ip, dst_ip


def fmt_addr(ip, port):
    if len(ip) == 4:
        return "%d.%d.%d.%d:%d" % (ip[0], ip[1], ip[2], ip[3], port)
    return "[%s]:%d" % (":".join("%02x%02x" % (ip[i], ip[i + 1]) for i in range(0, 16, 2)), port)


def collect(path):
    streams = {}
    for t, buf, udp, end, src_ip, dst_ip in read_pcap(path):
        rtp = udp + 8
        if rtp + 12 > end:
            continue
        if buf[rtp] >> 6 != 2:
            continue  # not RTP version 2
        pt = buf[rtp + 1] & 0x7F
        if 72 <= pt <= 76:
            continue  # RTCP multiplexed on the port (RFC 5761 4)
        sport = (buf[udp] << 8) | buf[udp + 1]
        dport = (buf[udp + 2] << 8) | buf[udp + 3]
        seq, ts, ssrc = struct.unpack_from(">HII", buf, rtp + 2)
        key = (src_ip, sport, dst_ip, dport, ssrc)
        s = streams.get(key)
        if s is None:
            s = streams[key] = Stream(key)
        s.t.append(t)
        s.seq.append(seq)
        s.ts.append(ts)
    return streams


def unwrap(values, modulus):
    """Extends wrapping counters (RFC 3550 A.1): each value is placed in the cycle that
    brings it nearest the previous one."""
    out = array("q")
    half = modulus // 2
    prev = None
    for v in values:
        if prev is None:
            x = v
        else:
            d = (v - prev % modulus) % modulus
            x = prev + d if d < half else prev + d - modulus
        out.append(x)
        prev = x
    return out


def analyse(s, skip_head, skip_tail):
    t0, t1 = s.t[0], s.t[-1]
    lo, hi = t0 + skip_head, t1 - skip_tail
    idx = [i for i in range(len(s.t)) if lo <= s.t[i] <= hi]
    r = {
        "src": fmt_addr(s.key[0], s.key[1]),
        "dst": fmt_addr(s.key[2], s.key[3]),
        "ssrc": "%08x" % s.key[4],
        "span_s": t1 - t0,
        "packets_all": len(s.t),
        "packets": len(idx),
        "lost": 0, "dup": 0, "missing": 0, "expected_by_time": 0, "jitter_ms": 0.0, "jitter_end_ms": 0.0,
        "gap_max_ms": 0.0, "dev_p50_ms": 0.0, "dev_p99_ms": 0.0,
    }
    if len(idx) < 2:
        return r, []
    seq = unwrap([s.seq[i] for i in idx], 1 << 16)
    ts = unwrap([s.ts[i] for i in idx], 1 << 32)
    t = [s.t[i] for i in idx]
    uniq = len(set(seq))
    r["dup"] = len(seq) - uniq
    r["lost"] = (max(seq) - min(seq) + 1) - uniq
    r["expected_by_time"] = round((t[-1] - t[0]) * 1000.0 / PTIME_MS) + 1
    r["missing"] = max(0, r["expected_by_time"] - uniq)
    # RFC 3550 A.8, in timestamp units; arrival times converted to the RTP clock.
    j = jmax = 0.0
    devs = []
    gap_max = 0.0
    for k in range(1, len(t)):
        d = (t[k] - t[k - 1]) * CLOCK_HZ - (ts[k] - ts[k - 1])
        j += (abs(d) - j) / 16.0
        jmax = max(jmax, j)
        gap = (t[k] - t[k - 1]) * 1000.0
        gap_max = max(gap_max, gap)
        devs.append(abs(gap - PTIME_MS))
    devs.sort()
    r["jitter_ms"] = jmax * 1000.0 / CLOCK_HZ
    r["jitter_end_ms"] = j * 1000.0 / CLOCK_HZ
    r["gap_max_ms"] = gap_max
    r["dev_p50_ms"] = percentile(devs, 50)
    r["dev_p99_ms"] = percentile(devs, 99)
    return r, devs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("pcap")
    ap.add_argument("--skip-head", type=float, default=1.0, help="seconds skipped at each stream's start")
    ap.add_argument("--skip-tail", type=float, default=0.5, help="seconds skipped at each stream's end")
    ap.add_argument("--expect-streams", type=int, default=0, help="fail with fewer streams")
    ap.add_argument("--min-span", type=float, default=0.0, help="fail when a stream spans less (s)")
    ap.add_argument("--max-jitter-ms", type=float, default=10.0, help="pass below this p99 jitter")
    ap.add_argument("--max-missing-pct", type=float, default=0.5, help="fail above this missing %%")
    ap.add_argument("--json", help="write the per-stream figures and the aggregate here")
    a = ap.parse_args()

    try:
        streams = collect(a.pcap)
    except (OSError, ValueError) as e:
        print(f"rtp_probe: {a.pcap}: {e}", file=sys.stderr)
        return 2

    rows, pooled = [], []
    for s in streams.values():
        r, devs = analyse(s, a.skip_head, a.skip_tail)
        rows.append(r)
        pooled.extend(devs)
    pooled.sort()
    packets = sum(r["packets"] for r in rows)
    lost = sum(r["lost"] for r in rows)
    dup = sum(r["dup"] for r in rows)
    missing = sum(r["missing"] for r in rows)
    by_time = sum(r["expected_by_time"] for r in rows)
    expected = packets - dup + lost
    jit = sorted(r["jitter_ms"] for r in rows)
    short = [r for r in rows if r["span_s"] < a.min_span]
    agg = {
        "streams": len(rows),
        "packets": packets,
        "lost": lost,
        "dup": dup,
        "loss_pct": 100.0 * lost / expected if expected else 0.0,
        "missing": missing,
        "missing_pct": 100.0 * missing / by_time if by_time else 0.0,
        "jitter_p50_ms": percentile(jit, 50) if jit else 0.0,
        "jitter_p99_ms": percentile(jit, 99) if jit else 0.0,
        "jitter_max_ms": jit[-1] if jit else 0.0,
        "gap_max_ms": max((r["gap_max_ms"] for r in rows), default=0.0),
        "dev_p50_ms": percentile(pooled, 50) if pooled else 0.0,
        "dev_p99_ms": percentile(pooled, 99) if pooled else 0.0,
        "short_streams": len(short),
    }
    reasons = []
    if lost:
        reasons.append("loss")
    if agg["missing_pct"] > a.max_missing_pct:
        reasons.append("missing")
    if not agg["jitter_p99_ms"] < a.max_jitter_ms:
        reasons.append("jitter")
    if len(rows) < a.expect_streams or not rows:
        reasons.append(f"streams {len(rows)}<{a.expect_streams}")
    if short:
        reasons.append(f"{len(short)} short streams")
    agg["pass"] = not reasons
    agg["reasons"] = reasons
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"aggregate": agg, "streams": rows}, f, indent=1)
    print(
        "streams=%d packets=%d lost=%d dup=%d loss=%.3f%% missing=%.2f%% jitter_p50=%.2fms jitter_p99=%.2fms "
        "jitter_max=%.2fms gap_max=%.1fms dev_p50=%.2fms dev_p99=%.2fms short=%d %s"
        % (agg["streams"], packets, lost, dup, agg["loss_pct"], agg["missing_pct"], agg["jitter_p50_ms"],
           agg["jitter_p99_ms"], agg["jitter_max_ms"], agg["gap_max_ms"], agg["dev_p50_ms"],
           agg["dev_p99_ms"], agg["short_streams"],
           "PASS" if agg["pass"] else "FAIL(" + ",".join(reasons) + ")"))
    return 0 if agg["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
