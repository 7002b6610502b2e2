//! The RTCP transmission interval (RFC 3550 §6.2, §6.3.1, A.7).

use std::time::Duration;

/// The recommended minimum between reports (§6.2); half of it before the first (§6.3.1
/// "initial"), so a new participant is heard from quickly.
pub(crate) const MIN_INTERVAL: Duration = Duration::from_secs(5);

/// `e − 3/2`: dividing the randomised interval by it compensates for timer
/// reconsideration converging below the intended bandwidth (§6.3.1, A.7).
const COMPENSATION: f64 = std::f64::consts::E - 1.5;

/// Lower-layer overhead counted in the average RTCP packet size (§6.3.3): IPv4 + UDP.
pub(crate) const UDP_IP_OVERHEAD: usize = 28;

/// What the interval depends on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IntervalInputs {
    /// Participants, ourselves included.
    pub members: u32,
    /// Participants that sent RTP recently.
    pub senders: u32,
    /// RTCP bandwidth share in octets per second (5% of the session bandwidth, §6.2).
    pub rtcp_bandwidth: f64,
    /// Whether we sent RTP recently.
    pub we_sent: bool,
    /// Average compound packet size, octets, lower layers included.
    pub avg_rtcp_size: f64,
    /// No report sent yet.
    pub initial: bool,
}

/// A.7 `rtcp_interval`: the deterministic interval from the bandwidth share, at least
/// the minimum, times a uniform draw in [0.5, 1.5), divided by `e − 3/2`. `draw` is a
/// uniform value in [0, 1).
pub(crate) fn rtcp_interval(p: &IntervalInputs, draw: f64) -> Duration {
    let mut min = MIN_INTERVAL.as_secs_f64();
    if p.initial {
        min /= 2.0;
    }
    let mut bandwidth = p.rtcp_bandwidth;
    let mut n = f64::from(p.members.max(1));
    // When senders are few, they share a quarter of the RTCP bandwidth and receivers
    // the rest, so senders' reports (which carry lip-sync) stay frequent (§6.3.1).
    let senders = f64::from(p.senders);
    if senders <= n * 0.25 {
        if p.we_sent {
            bandwidth *= 0.25;
            n = senders;
        } else {
            bandwidth *= 0.75;
            n -= senders;
        }
    }
    let deterministic = if bandwidth > 0.0 {
        (p.avg_rtcp_size * n / bandwidth).max(min)
    } else {
        min
    };
    Duration::from_secs_f64(deterministic * (draw + 0.5) / COMPENSATION)
}

/// SplitMix64: a small seeded generator for the interval draws, so the session holds no
/// global RNG and a test can replay it.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(initial: bool) -> IntervalInputs {
        IntervalInputs {
            members: 2,
            senders: 2,
            rtcp_bandwidth: 500.0,
            we_sent: true,
            avg_rtcp_size: 120.0,
            initial,
        }
    }

    #[test]
    fn minimum_dominates_a_two_party_voice_call() {
        let at = |draw, initial| rtcp_interval(&inputs(initial), draw).as_secs_f64();
        assert!((at(0.5, false) - 5.0 / COMPENSATION).abs() < 1e-9);
        assert!((at(0.0, false) - 2.5 / COMPENSATION).abs() < 1e-9);
        assert!((at(0.5, true) - 2.5 / COMPENSATION).abs() < 1e-9);
    }

    #[test]
    fn a_narrow_link_stretches_the_interval() {
        // 10 octets/s of RTCP bandwidth: 2 × 120 / 10 = 24 s.
        let p = IntervalInputs {
            rtcp_bandwidth: 10.0,
            ..inputs(false)
        };
        let t = rtcp_interval(&p, 0.5).as_secs_f64();
        assert!((t - 24.0 / COMPENSATION).abs() < 1e-9);
        // One sender of four members, and it is us: a quarter of the bandwidth, n = 1.
        let p = IntervalInputs {
            members: 4,
            senders: 1,
            ..p
        };
        let t = rtcp_interval(&p, 0.5).as_secs_f64();
        assert!((t - 120.0 / 2.5 / COMPENSATION).abs() < 1e-9);
    }

    #[test]
    fn draws_are_uniform_in_the_unit_interval() {
        let mut rng = SplitMix64::new(0);
        let draws: Vec<f64> = (0..10_000).map(|_| rng.next_unit()).collect();
        assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!((mean - 0.5).abs() < 0.01, "mean {mean}");
    }
}
