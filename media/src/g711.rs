//! G.711 µ-law and A-law (ITU-T G.711, RFC 3551 §4.5.14), table-driven.
//!
//! Linear samples are on the 16-bit scale. Decoding is one lookup in a 256-entry table.
//! Encoding is one lookup in a table indexed by the top 14 (µ-law) or 13 (A-law) bits
//! of the sample: G.711 never looks at the bits below those, so the table is exact. The
//! tables are built at compile time from the segment-search encoders, which stay public
//! as the reference and so a benchmark can compare the two.
//!
//! Negative samples are quantised on their ones' complement (`!x`, i.e. `-x - 1`), as
//! G.711's reference code does: the law is then symmetric, `-1` encodes to the µ-law
//! "negative zero" 0x7F, and a sample's code depends only on its top bits.

/// µ-law bias added before the segment search (G.711 §3.2, 33 on the 14-bit scale).
const ULAW_BIAS: i32 = 0x84;

/// µ-law byte for digital silence (positive zero).
pub const ULAW_SILENCE: u8 = 0xFF;
/// A-law byte for digital silence (the smallest positive step, decoding to +8).
pub const ALAW_SILENCE: u8 = 0xD5;

/// Position of the highest set bit of a positive value.
const fn top_bit(x: i32) -> i32 {
    31 - x.leading_zeros() as i32
}

/// µ-law encoding by segment search; the reference for [`ULAW_ENCODE`].
pub const fn linear_to_ulaw_by_segment(pcm: i16) -> u8 {
    let (magnitude, mask) = if pcm < 0 {
        (!pcm as i32, 0x7F)
    } else {
        (pcm as i32, 0xFF)
    };
    let biased = magnitude + ULAW_BIAS;
    let segment = top_bit(biased | 0xFF) - 7;
    let code = if segment >= 8 {
        // Beyond the last segment: clip to the largest magnitude.
        0x7F
    } else {
        ((segment << 4) | ((biased >> (segment + 3)) & 0x0F)) as u8
    };
    code ^ mask
}

/// A-law encoding by segment search; the reference for [`ALAW_ENCODE`].
pub const fn linear_to_alaw_by_segment(pcm: i16) -> u8 {
    let (magnitude, mask) = if pcm < 0 {
        (!pcm as i32, 0x55)
    } else {
        (pcm as i32, 0xD5)
    };
    // i16 magnitudes reach segment 7 at most, so A-law needs no clipping.
    let segment = top_bit(magnitude | 0xFF) - 7;
    let shift = if segment == 0 { 4 } else { segment + 3 };
    let code = ((segment << 4) | ((magnitude >> shift) & 0x0F)) as u8;
    code ^ mask
}

const fn ulaw_to_linear_calc(code: u8) -> i16 {
    let c = !code;
    let t = ((((c & 0x0F) as i32) << 3) + ULAW_BIAS) << ((c & 0x70) >> 4);
    (if c & 0x80 != 0 {
        ULAW_BIAS - t
    } else {
        t - ULAW_BIAS
    }) as i16
}

const fn alaw_to_linear_calc(code: u8) -> i16 {
    let c = code ^ 0x55;
    let mut t = ((c & 0x0F) as i32) << 4;
    let segment = ((c & 0x70) >> 4) as i32;
    if segment == 0 {
        t += 8;
    } else {
        t = (t + 0x108) << (segment - 1);
    }
    (if c & 0x80 != 0 { t } else { -t }) as i16
}

/// µ-law byte → linear sample.
pub static ULAW_DECODE: [i16; 256] = {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = ulaw_to_linear_calc(i as u8);
        i += 1;
    }
    t
};

/// A-law byte → linear sample.
pub static ALAW_DECODE: [i16; 256] = {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = alaw_to_linear_calc(i as u8);
        i += 1;
    }
    t
};

/// Top 14 bits of a sample (as `u16 >> 2`) → µ-law byte. 16 KiB.
pub static ULAW_ENCODE: [u8; 1 << 14] = {
    let mut t = [0u8; 1 << 14];
    let mut i = 0;
    while i < t.len() {
        t[i] = linear_to_ulaw_by_segment((i << 2) as u16 as i16);
        i += 1;
    }
    t
};

/// Top 13 bits of a sample (as `u16 >> 3`) → A-law byte. 8 KiB.
pub static ALAW_ENCODE: [u8; 1 << 13] = {
    let mut t = [0u8; 1 << 13];
    let mut i = 0;
    while i < t.len() {
        t[i] = linear_to_alaw_by_segment((i << 3) as u16 as i16);
        i += 1;
    }
    t
};

/// µ-law byte → linear sample.
#[inline]
pub fn ulaw_to_linear(code: u8) -> i16 {
    ULAW_DECODE[code as usize]
}

/// A-law byte → linear sample.
#[inline]
pub fn alaw_to_linear(code: u8) -> i16 {
    ALAW_DECODE[code as usize]
}

/// Linear sample → µ-law byte (table lookup).
#[inline]
pub fn linear_to_ulaw(pcm: i16) -> u8 {
    ULAW_ENCODE[(pcm as u16 >> 2) as usize]
}

/// Linear sample → A-law byte (table lookup).
#[inline]
pub fn linear_to_alaw(pcm: i16) -> u8 {
    ALAW_ENCODE[(pcm as u16 >> 3) as usize]
}

/// Decodes µ-law bytes into samples; converts `min(input.len(), output.len())` and
/// returns that count.
pub fn decode_ulaw(input: &[u8], output: &mut [i16]) -> usize {
    let n = input.len().min(output.len());
    for (o, &i) in output[..n].iter_mut().zip(&input[..n]) {
        *o = ulaw_to_linear(i);
    }
    n
}

/// Decodes A-law bytes into samples; converts `min(input.len(), output.len())`.
pub fn decode_alaw(input: &[u8], output: &mut [i16]) -> usize {
    let n = input.len().min(output.len());
    for (o, &i) in output[..n].iter_mut().zip(&input[..n]) {
        *o = alaw_to_linear(i);
    }
    n
}

/// Encodes samples as µ-law bytes; converts `min(input.len(), output.len())`.
pub fn encode_ulaw(input: &[i16], output: &mut [u8]) -> usize {
    let n = input.len().min(output.len());
    for (o, &i) in output[..n].iter_mut().zip(&input[..n]) {
        *o = linear_to_ulaw(i);
    }
    n
}

/// Encodes samples as A-law bytes; converts `min(input.len(), output.len())`.
pub fn encode_alaw(input: &[i16], output: &mut [u8]) -> usize {
    let n = input.len().min(output.len());
    for (o, &i) in output[..n].iter_mut().zip(&input[..n]) {
        *o = linear_to_alaw(i);
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_samples() -> impl Iterator<Item = i16> {
        i16::MIN..=i16::MAX
    }

    #[test]
    fn ulaw_known_values() {
        // G.711 table 2a: code words and their decision/reconstruction values,
        // here on the 16-bit scale (the 14-bit values times four).
        assert_eq!(ulaw_to_linear(0xFF), 0);
        assert_eq!(ulaw_to_linear(0x7F), 0);
        assert_eq!(ulaw_to_linear(0x00), -32124);
        assert_eq!(ulaw_to_linear(0x80), 32124);
        assert_eq!(ulaw_to_linear(0xFE), 8);
        assert_eq!(ulaw_to_linear(0x7E), -8);
        assert_eq!(ulaw_to_linear(0xEF), 132);
        assert_eq!(linear_to_ulaw(0), 0xFF);
        assert_eq!(linear_to_ulaw(-1), 0x7F);
        assert_eq!(linear_to_ulaw(i16::MAX), 0x80);
        assert_eq!(linear_to_ulaw(i16::MIN), 0x00);
    }

    #[test]
    fn alaw_known_values() {
        // G.711 table 1a on the 16-bit scale (13-bit values times eight).
        assert_eq!(alaw_to_linear(0xD5), 8);
        assert_eq!(alaw_to_linear(0x55), -8);
        assert_eq!(alaw_to_linear(0xAA), 32256);
        assert_eq!(alaw_to_linear(0x2A), -32256);
        assert_eq!(linear_to_alaw(0), 0xD5);
        assert_eq!(linear_to_alaw(-1), 0x55);
        assert_eq!(linear_to_alaw(i16::MAX), 0xAA);
        assert_eq!(linear_to_alaw(i16::MIN), 0x2A);
    }

    #[test]
    fn silence_bytes_decode_to_near_zero() {
        assert_eq!(ulaw_to_linear(ULAW_SILENCE), 0);
        assert_eq!(alaw_to_linear(ALAW_SILENCE), 8);
        assert_eq!(linear_to_ulaw(0), ULAW_SILENCE);
        assert_eq!(linear_to_alaw(0), ALAW_SILENCE);
    }

    #[test]
    fn tables_match_segment_search_for_every_sample() {
        for x in all_samples() {
            assert_eq!(linear_to_ulaw(x), linear_to_ulaw_by_segment(x), "µ-law {x}");
            assert_eq!(linear_to_alaw(x), linear_to_alaw_by_segment(x), "A-law {x}");
        }
    }

    #[test]
    fn every_code_survives_decode_then_encode() {
        for code in 0..=255u8 {
            let back = linear_to_ulaw(ulaw_to_linear(code));
            // Negative zero comes back as positive zero; the sound is the same.
            let expected = if code == 0x7F { 0xFF } else { code };
            assert_eq!(back, expected, "µ-law {code:#04x}");
            assert_eq!(
                linear_to_alaw(alaw_to_linear(code)),
                code,
                "A-law {code:#04x}"
            );
        }
    }

    #[test]
    fn ulaw_round_trip_error_is_half_a_step() {
        for x in all_samples() {
            let y = ulaw_to_linear(linear_to_ulaw(x));
            let err = (i32::from(x) - i32::from(y)).abs();
            let magnitude = i32::from(x).abs();
            if magnitude <= 32124 {
                // A step is 1/16 of its segment's base, so half a step ≤ (|x|+bias)/32.
                assert!(err <= (magnitude + ULAW_BIAS) / 32 + 1, "{x} → {y}");
            } else {
                assert_eq!(y.unsigned_abs(), 32124, "{x} clips");
            }
        }
    }

    #[test]
    fn alaw_round_trip_error_is_half_a_step() {
        for x in all_samples() {
            let y = alaw_to_linear(linear_to_alaw(x));
            let err = (i32::from(x) - i32::from(y)).abs();
            let magnitude = i32::from(x).abs();
            if magnitude <= 32256 {
                assert!(err <= (magnitude / 32).max(8) + 1, "{x} → {y}");
            } else {
                assert_eq!(y.unsigned_abs(), 32256, "{x} clips");
            }
        }
    }

    #[test]
    fn laws_are_symmetric() {
        for x in 0..=i16::MAX {
            let neg = !x; // -x - 1, the mirror image under ones' complement
            assert_eq!(
                ulaw_to_linear(linear_to_ulaw(neg)),
                -ulaw_to_linear(linear_to_ulaw(x))
            );
            assert_eq!(
                alaw_to_linear(linear_to_alaw(neg)),
                -alaw_to_linear(linear_to_alaw(x))
            );
        }
    }

    #[test]
    fn slice_functions_convert_the_shorter_length() {
        let pcm = [0i16, 1000, -1000, 30000];
        let mut bytes = [0u8; 3];
        assert_eq!(encode_ulaw(&pcm, &mut bytes), 3);
        let mut back = [0i16; 8];
        assert_eq!(decode_ulaw(&bytes, &mut back), 3);
        assert_eq!(&back[..3], &[0, 988, -988]);
        assert_eq!(back[3], 0);
        assert_eq!(encode_alaw(&pcm, &mut bytes), 3);
        assert_eq!(decode_alaw(&bytes, &mut back), 3);
        assert_eq!(&back[..3], &[8, 1008, -1008]);
    }
}
