//! Minimal RIFF/WAVE for `sotto call --play/--record`: reads 16-bit PCM at 8 kHz, mono or
//! stereo (downmixed to mono), and writes 16-bit PCM, mono or stereo, at any rate.
//!
//! Reading works over any `Read` with a fixed stack buffer, so playing a file costs no
//! allocation per frame. Writing needs `Seek` to fill in the RIFF and data sizes at the
//! end (the canonical 44-byte header: `RIFF`, `WAVE`, `fmt `, `data`).

use std::io::{self, Read, Seek, SeekFrom, Write};

use crate::codec::{Frame, FRAME_SAMPLES};

const FORMAT_PCM: u16 = 1;
const FORMAT_EXTENSIBLE: u16 = 0xFFFE;
/// A data size some streaming writers use for "until the end of the file".
const SIZE_UNKNOWN: u32 = u32::MAX;
/// Offset of the RIFF size and of the data size in the header we write.
const RIFF_SIZE_AT: u64 = 4;
const DATA_SIZE_AT: u64 = 40;

/// What a WAV file holds; samples are always 16-bit signed PCM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WavSpec {
    /// 1 (mono) or 2 (stereo, interleaved left/right).
    pub channels: u16,
    /// Samples a second per channel.
    pub sample_rate: u32,
}

impl WavSpec {
    /// 8 kHz mono, the telephone's own format.
    pub const TELEPHONE_MONO: WavSpec = WavSpec {
        channels: 1,
        sample_rate: 8000,
    };
}

/// Why a WAV file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WavError {
    /// The underlying reader or writer failed.
    #[error("WAV I/O: {0}")]
    Io(#[from] io::Error),
    /// Not a RIFF/WAVE file, or its header is cut short or inconsistent.
    #[error("not a WAV file: {0}")]
    Malformed(&'static str),
    /// A WAV file in a format we do not handle.
    #[error(
        "unsupported WAV: format {format:#06x}, {channels} channel(s), {sample_rate} Hz, \
         {bits} bits (need 16-bit PCM, 8000 Hz, mono or stereo)"
    )]
    Unsupported {
        /// Format tag (1 is PCM).
        format: u16,
        /// Channels.
        channels: u16,
        /// Sample rate.
        sample_rate: u32,
        /// Bits a sample.
        bits: u16,
    },
    /// The writer was given channels other than 1 or 2, or an odd sample count.
    #[error("cannot write: {0}")]
    InvalidInput(&'static str),
    /// The data would outgrow the 32-bit RIFF sizes.
    #[error("WAV data beyond 4 GiB")]
    TooLong,
}

/// Reads 8 kHz 16-bit PCM, mono or stereo, as mono samples.
#[derive(Debug)]
pub struct WavReader<R> {
    inner: R,
    spec: WavSpec,
    /// Data bytes not yet read; `None` when the file said "until the end".
    remaining: Option<u64>,
}

fn read_u16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn read_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Fills `buf` as far as the reader goes; returns the bytes read (short only at the end).
fn fill(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn read_exact_or(r: &mut impl Read, buf: &mut [u8], what: &'static str) -> Result<(), WavError> {
    if fill(r, buf)? < buf.len() {
        return Err(WavError::Malformed(what));
    }
    Ok(())
}

fn skip(r: &mut impl Read, n: u64) -> Result<(), WavError> {
    if io::copy(&mut r.take(n), &mut io::sink())? < n {
        return Err(WavError::Malformed("chunk cut short"));
    }
    Ok(())
}

impl<R: Read> WavReader<R> {
    /// Reads the header up to the start of the samples.
    pub fn new(mut inner: R) -> Result<WavReader<R>, WavError> {
        let mut riff = [0u8; 12];
        read_exact_or(&mut inner, &mut riff, "shorter than a RIFF header")?;
        if &riff[0..4] != b"RIFF" || &riff[8..12] != b"WAVE" {
            return Err(WavError::Malformed("no RIFF/WAVE signature"));
        }
        let mut spec = None;
        loop {
            let mut chunk = [0u8; 8];
            read_exact_or(&mut inner, &mut chunk, "no data chunk")?;
            let size = read_u32(&chunk, 4);
            match &chunk[0..4] {
                b"fmt " => {
                    if size < 16 {
                        return Err(WavError::Malformed("fmt chunk too short"));
                    }
                    // 16 bytes for PCM, 40 for WAVE_FORMAT_EXTENSIBLE; ignore any more.
                    let mut fmt = [0u8; 40];
                    let take = (size as usize).min(fmt.len());
                    read_exact_or(&mut inner, &mut fmt[..take], "fmt chunk cut short")?;
                    skip(
                        &mut inner,
                        u64::from(size) - take as u64 + u64::from(size & 1),
                    )?;
                    spec = Some(parse_fmt(&fmt[..take])?);
                }
                b"data" => {
                    let spec = spec.ok_or(WavError::Malformed("data before fmt"))?;
                    let remaining = (size != SIZE_UNKNOWN).then_some(u64::from(size));
                    return Ok(WavReader {
                        inner,
                        spec,
                        remaining,
                    });
                }
                // LIST, fact, cue...: skip, with the pad byte of an odd size.
                _ => skip(&mut inner, u64::from(size) + u64::from(size & 1))?,
            }
        }
    }

    /// What the file holds.
    pub fn spec(&self) -> WavSpec {
        self.spec
    }

    /// Reads up to `out.len()` mono samples (a stereo file's channels averaged);
    /// returns how many, 0 at the end of the data.
    pub fn read_mono(&mut self, out: &mut [i16]) -> Result<usize, WavError> {
        let channels = usize::from(self.spec.channels);
        let bytes_per_frame = 2 * channels;
        let mut buf = [0u8; 4 * FRAME_SAMPLES];
        let mut written = 0;
        while written < out.len() {
            let want_frames = (out.len() - written).min(buf.len() / bytes_per_frame);
            let mut want = want_frames * bytes_per_frame;
            if let Some(left) = self.remaining {
                want = want.min((left - left % bytes_per_frame as u64) as usize);
            }
            if want == 0 {
                break;
            }
            let got = fill(&mut self.inner, &mut buf[..want])?;
            if let Some(left) = self.remaining.as_mut() {
                *left -= got as u64;
            }
            let frames = got / bytes_per_frame;
            for (i, o) in out[written..written + frames].iter_mut().enumerate() {
                let at = i * bytes_per_frame;
                let left = i16::from_le_bytes([buf[at], buf[at + 1]]);
                *o = if channels == 2 {
                    let right = i16::from_le_bytes([buf[at + 2], buf[at + 3]]);
                    ((i32::from(left) + i32::from(right)) / 2) as i16
                } else {
                    left
                };
            }
            written += frames;
            if got < want {
                // End of file before the declared end of data: stop here.
                self.remaining = Some(0);
                break;
            }
        }
        Ok(written)
    }

    /// Fills `frame` with the next 20 ms, padding the last with silence; `false` once
    /// there is nothing left.
    pub fn read_frame(&mut self, frame: &mut Frame) -> Result<bool, WavError> {
        let n = self.read_mono(frame)?;
        frame[n..].fill(0);
        Ok(n > 0)
    }
}

fn parse_fmt(fmt: &[u8]) -> Result<WavSpec, WavError> {
    let mut format = read_u16(fmt, 0);
    let channels = read_u16(fmt, 2);
    let sample_rate = read_u32(fmt, 4);
    let block_align = read_u16(fmt, 12);
    let bits = read_u16(fmt, 14);
    if format == FORMAT_EXTENSIBLE && fmt.len() >= 26 {
        // WAVE_FORMAT_EXTENSIBLE: the real format is the sub-format GUID's first word.
        format = read_u16(fmt, 24);
    }
    if format != FORMAT_PCM || bits != 16 || sample_rate != 8000 || !(1..=2).contains(&channels) {
        return Err(WavError::Unsupported {
            format,
            channels,
            sample_rate,
            bits,
        });
    }
    if block_align != 2 * channels {
        return Err(WavError::Malformed(
            "block align does not match 16-bit samples",
        ));
    }
    Ok(WavSpec {
        channels,
        sample_rate,
    })
}

/// Writes 16-bit PCM, mono or stereo.
#[derive(Debug)]
pub struct WavWriter<W: Write + Seek> {
    inner: W,
    spec: WavSpec,
    data_bytes: u64,
}

impl<W: Write + Seek> WavWriter<W> {
    /// Writes the header; the sizes in it are filled in by [`WavWriter::finish`].
    pub fn new(mut inner: W, spec: WavSpec) -> Result<WavWriter<W>, WavError> {
        if !(1..=2).contains(&spec.channels) {
            return Err(WavError::InvalidInput("only mono or stereo"));
        }
        let block_align = 2 * spec.channels;
        let mut h = [0u8; 44];
        h[0..4].copy_from_slice(b"RIFF");
        h[4..8].copy_from_slice(&36u32.to_le_bytes());
        h[8..12].copy_from_slice(b"WAVE");
        h[12..16].copy_from_slice(b"fmt ");
        h[16..20].copy_from_slice(&16u32.to_le_bytes());
        h[20..22].copy_from_slice(&FORMAT_PCM.to_le_bytes());
        h[22..24].copy_from_slice(&spec.channels.to_le_bytes());
        h[24..28].copy_from_slice(&spec.sample_rate.to_le_bytes());
        let byte_rate = spec.sample_rate * u32::from(block_align);
        h[28..32].copy_from_slice(&byte_rate.to_le_bytes());
        h[32..34].copy_from_slice(&block_align.to_le_bytes());
        h[34..36].copy_from_slice(&16u16.to_le_bytes());
        h[36..40].copy_from_slice(b"data");
        h[40..44].copy_from_slice(&0u32.to_le_bytes());
        inner.write_all(&h)?;
        Ok(WavWriter {
            inner,
            spec,
            data_bytes: 0,
        })
    }

    /// The format being written.
    pub fn spec(&self) -> WavSpec {
        self.spec
    }

    /// Appends interleaved samples (for stereo, left then right; a whole number of
    /// sample frames).
    pub fn write_samples(&mut self, interleaved: &[i16]) -> Result<(), WavError> {
        if interleaved.len() % usize::from(self.spec.channels) != 0 {
            return Err(WavError::InvalidInput("a partial stereo sample frame"));
        }
        let mut buf = [0u8; 2 * FRAME_SAMPLES];
        for chunk in interleaved.chunks(FRAME_SAMPLES) {
            for (b, s) in buf.chunks_exact_mut(2).zip(chunk) {
                b.copy_from_slice(&s.to_le_bytes());
            }
            self.append(&buf[..2 * chunk.len()])?;
        }
        Ok(())
    }

    /// Appends a stereo stretch from two mono channels of equal length (e.g. the caller
    /// left, the agent right).
    pub fn write_stereo(&mut self, left: &[i16], right: &[i16]) -> Result<(), WavError> {
        if self.spec.channels != 2 || left.len() != right.len() {
            return Err(WavError::InvalidInput("stereo needs two equal channels"));
        }
        let mut buf = [0u8; 4 * FRAME_SAMPLES];
        for (l, r) in left.chunks(FRAME_SAMPLES).zip(right.chunks(FRAME_SAMPLES)) {
            for (b, (a, c)) in buf.chunks_exact_mut(4).zip(l.iter().zip(r)) {
                b[..2].copy_from_slice(&a.to_le_bytes());
                b[2..].copy_from_slice(&c.to_le_bytes());
            }
            self.append(&buf[..4 * l.len()])?;
        }
        Ok(())
    }

    fn append(&mut self, bytes: &[u8]) -> Result<(), WavError> {
        let total = self.data_bytes + bytes.len() as u64;
        if total + 36 > u64::from(u32::MAX) {
            return Err(WavError::TooLong);
        }
        self.inner.write_all(bytes)?;
        self.data_bytes = total;
        Ok(())
    }

    /// Fills in the sizes and gives the writer back.
    pub fn finish(mut self) -> Result<W, WavError> {
        let data = self.data_bytes as u32;
        self.inner.seek(SeekFrom::Start(RIFF_SIZE_AT))?;
        self.inner.write_all(&(36 + data).to_le_bytes())?;
        self.inner.seek(SeekFrom::Start(DATA_SIZE_AT))?;
        self.inner.write_all(&data.to_le_bytes())?;
        self.inner.seek(SeekFrom::End(0))?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    fn written(spec: WavSpec, samples: &[i16]) -> Vec<u8> {
        let mut w = WavWriter::new(Cursor::new(Vec::new()), spec).unwrap();
        w.write_samples(samples).unwrap();
        w.finish().unwrap().into_inner()
    }

    fn header(format: u16, channels: u16, rate: u32, bits: u16) -> Vec<u8> {
        let align = channels * bits / 8;
        let mut v = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
        v.extend_from_slice(&16u32.to_le_bytes());
        v.extend_from_slice(&format.to_le_bytes());
        v.extend_from_slice(&channels.to_le_bytes());
        v.extend_from_slice(&rate.to_le_bytes());
        v.extend_from_slice(&(rate * u32::from(align)).to_le_bytes());
        v.extend_from_slice(&align.to_le_bytes());
        v.extend_from_slice(&bits.to_le_bytes());
        v
    }

    #[test]
    fn mono_round_trip_with_canonical_header() {
        let samples: Vec<i16> = (0..400).map(|i| (i * 83 % 65536 - 32768) as i16).collect();
        let bytes = written(WavSpec::TELEPHONE_MONO, &samples);
        assert_eq!(bytes.len(), 44 + 800);
        assert_eq!(&bytes[0..4], b"RIFF");
        assert_eq!(read_u32(&bytes, 4), 36 + 800);
        assert_eq!(&bytes[36..40], b"data");
        assert_eq!(read_u32(&bytes, 40), 800);
        assert_eq!(read_u32(&bytes, 28), 16000, "byte rate");

        let mut r = WavReader::new(Cursor::new(bytes)).unwrap();
        assert_eq!(r.spec(), WavSpec::TELEPHONE_MONO);
        let mut back = vec![0i16; 500];
        assert_eq!(r.read_mono(&mut back).unwrap(), 400);
        assert_eq!(&back[..400], &samples[..]);
        assert_eq!(r.read_mono(&mut back).unwrap(), 0);
    }

    #[test]
    fn stereo_is_written_interleaved_and_read_downmixed() {
        let spec = WavSpec {
            channels: 2,
            sample_rate: 8000,
        };
        let mut w = WavWriter::new(Cursor::new(Vec::new()), spec).unwrap();
        let left = [1000i16; 200];
        let right = [-3000i16; 200];
        w.write_stereo(&left, &right).unwrap();
        let bytes = w.finish().unwrap().into_inner();
        assert_eq!(read_u32(&bytes, 40), 800);
        assert_eq!(i16::from_le_bytes([bytes[44], bytes[45]]), 1000);
        assert_eq!(i16::from_le_bytes([bytes[46], bytes[47]]), -3000);

        let mut r = WavReader::new(Cursor::new(bytes)).unwrap();
        assert_eq!(r.spec().channels, 2);
        let mut frame = [0i16; FRAME_SAMPLES];
        assert!(r.read_frame(&mut frame).unwrap());
        assert!(frame.iter().all(|&s| s == -1000));
        assert!(r.read_frame(&mut frame).unwrap());
        assert!(frame[..40].iter().all(|&s| s == -1000));
        assert!(
            frame[40..].iter().all(|&s| s == 0),
            "the last frame is padded with silence"
        );
        assert!(!r.read_frame(&mut frame).unwrap());
    }

    #[test]
    fn other_rates_and_depths_are_refused() {
        for (format, channels, rate, bits) in [
            (1, 1, 16000, 16),
            (1, 1, 8000, 8),
            (3, 1, 8000, 32),
            (1, 3, 8000, 16),
        ] {
            let mut v = header(format, channels, rate, bits);
            v.extend_from_slice(b"data\0\0\0\0");
            let err = WavReader::new(Cursor::new(v)).unwrap_err();
            assert!(matches!(err, WavError::Unsupported { .. }), "{err}");
        }
    }

    #[test]
    fn unknown_chunks_are_skipped_and_odd_sizes_padded() {
        let mut v = header(1, 1, 8000, 16);
        v.extend_from_slice(b"LIST");
        v.extend_from_slice(&3u32.to_le_bytes());
        v.extend_from_slice(b"abc\0"); // three bytes and the pad
        v.extend_from_slice(b"data");
        v.extend_from_slice(&4u32.to_le_bytes());
        v.extend_from_slice(&[0x34, 0x12, 0xFF, 0xFF]);
        let mut r = WavReader::new(Cursor::new(v)).unwrap();
        let mut out = [0i16; 4];
        assert_eq!(r.read_mono(&mut out).unwrap(), 2);
        assert_eq!(&out[..2], &[0x1234, -1]);
    }

    #[test]
    fn extensible_pcm_is_accepted() {
        let mut v = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
        v.extend_from_slice(&40u32.to_le_bytes());
        let mut fmt = [0u8; 40];
        fmt[0..2].copy_from_slice(&FORMAT_EXTENSIBLE.to_le_bytes());
        fmt[2..4].copy_from_slice(&1u16.to_le_bytes());
        fmt[4..8].copy_from_slice(&8000u32.to_le_bytes());
        fmt[12..14].copy_from_slice(&2u16.to_le_bytes());
        fmt[14..16].copy_from_slice(&16u16.to_le_bytes());
        fmt[24..26].copy_from_slice(&FORMAT_PCM.to_le_bytes());
        v.extend_from_slice(&fmt);
        v.extend_from_slice(b"data");
        v.extend_from_slice(&u32::MAX.to_le_bytes()); // streaming: until the end
        v.extend_from_slice(&[1, 0, 2, 0, 3, 0]);
        let mut r = WavReader::new(Cursor::new(v)).unwrap();
        let mut out = [0i16; 8];
        assert_eq!(r.read_mono(&mut out).unwrap(), 3);
        assert_eq!(&out[..3], &[1, 2, 3]);
    }

    #[test]
    fn truncated_files_yield_what_is_there_or_a_clear_error() {
        let mut bytes = written(WavSpec::TELEPHONE_MONO, &[7; 100]);
        bytes.truncate(44 + 51); // 25 samples and half of one
        let mut r = WavReader::new(Cursor::new(bytes)).unwrap();
        let mut out = [0i16; 100];
        assert_eq!(r.read_mono(&mut out).unwrap(), 25);
        assert_eq!(r.read_mono(&mut out).unwrap(), 0);

        let err = WavReader::new(Cursor::new(b"RIFF\0\0\0\0WAVE".to_vec())).unwrap_err();
        assert!(matches!(err, WavError::Malformed("no data chunk")));
        let err = WavReader::new(Cursor::new(b"OggS and more bytes".to_vec())).unwrap_err();
        assert!(matches!(err, WavError::Malformed(_)));
        let mut no_fmt = b"RIFF\0\0\0\0WAVEdata".to_vec();
        no_fmt.extend_from_slice(&[0; 4]);
        assert!(matches!(
            WavReader::new(Cursor::new(no_fmt)).unwrap_err(),
            WavError::Malformed("data before fmt")
        ));
    }

    #[test]
    fn writer_rejects_what_it_cannot_write() {
        let bad = WavSpec {
            channels: 6,
            sample_rate: 8000,
        };
        assert!(matches!(
            WavWriter::new(Cursor::new(Vec::new()), bad),
            Err(WavError::InvalidInput(_))
        ));
        let stereo = WavSpec {
            channels: 2,
            sample_rate: 48000,
        };
        let mut w = WavWriter::new(Cursor::new(Vec::new()), stereo).unwrap();
        assert!(matches!(
            w.write_samples(&[1, 2, 3]),
            Err(WavError::InvalidInput(_))
        ));
        assert!(matches!(
            w.write_stereo(&[1], &[1, 2]),
            Err(WavError::InvalidInput(_))
        ));
        let mut mono = WavWriter::new(Cursor::new(Vec::new()), WavSpec::TELEPHONE_MONO).unwrap();
        assert!(matches!(
            mono.write_stereo(&[1], &[1]),
            Err(WavError::InvalidInput(_))
        ));
    }
}
