//! The N−1 mixer as conference participants hear it: everyone but themselves, exactly
//! while nothing clips, and clipped where the sum leaves the 16-bit scale.

use sotto_media::mixer::{Mixer, MixerError, Slot, MAX_PARTICIPANTS};
use sotto_media::{Frame, FRAME_SAMPLES, SILENT_FRAME};

/// A frame that tells speakers apart: speaker `k` says `k * 10 + (i % 7)` at sample `i`
/// (with a sign that flips along the frame, so sums are not trivially monotone).
fn voice(k: i16) -> Frame {
    let mut f = [0i16; FRAME_SAMPLES];
    for (i, s) in f.iter_mut().enumerate() {
        let v = k * 10 + (i % 7) as i16;
        *s = if i % 2 == 0 { v } else { -v };
    }
    f
}

fn sum_of(frames: &[Frame]) -> Frame {
    let mut out = [0i16; FRAME_SAMPLES];
    for f in frames {
        for (o, s) in out.iter_mut().zip(f) {
            *o += s;
        }
    }
    out
}

fn full_mixer() -> (Mixer, Vec<Slot>) {
    let mut m = Mixer::new();
    let slots = (0..MAX_PARTICIPANTS).map(|_| m.add().unwrap()).collect();
    (m, slots)
}

#[test]
fn each_participant_hears_everyone_but_themselves() {
    let (mut m, slots) = full_mixer();
    let voices: Vec<Frame> = (1..=8).map(voice).collect();
    for (slot, v) in slots.iter().zip(&voices) {
        m.set_input(*slot, v).unwrap();
    }
    let out = *m.mix();
    for (i, slot) in slots.iter().enumerate() {
        let others: Vec<Frame> = (0..8).filter(|&j| j != i).map(|j| voices[j]).collect();
        assert_eq!(out[slot.index()], sum_of(&others), "participant {i}");
        assert_eq!(m.output(*slot), &out[slot.index()]);
    }
}

#[test]
fn two_participants_hear_each_other_unchanged() {
    let mut m = Mixer::new();
    let a = m.add().unwrap();
    let b = m.add().unwrap();
    m.set_input(a, &voice(3)).unwrap();
    m.set_input(b, &voice(-5)).unwrap();
    m.mix();
    assert_eq!(m.output(a), &voice(-5));
    assert_eq!(m.output(b), &voice(3));
}

#[test]
fn sums_clamp_at_the_ends_of_the_scale() {
    let (mut m, slots) = full_mixer();
    let loud = [20_000i16; FRAME_SAMPLES];
    let quiet_neg = [-20_000i16; FRAME_SAMPLES];
    // Slots 0..3 shout positive, 4..7 shout negative.
    for (i, slot) in slots.iter().enumerate() {
        m.set_input(*slot, if i < 4 { &loud } else { &quiet_neg })
            .unwrap();
    }
    m.mix();
    // Everyone hears 3 of their own sign and 4 of the other: ±20,000 net, unclipped,
    // even though the partial sums pass ±32767 on the way: the i32 total is exact.
    assert!(m.output(slots[0]).iter().all(|&s| s == -20_000));
    assert!(m.output(slots[7]).iter().all(|&s| s == 20_000));

    let mut m = Mixer::new();
    let s: Vec<Slot> = (0..3).map(|_| m.add().unwrap()).collect();
    m.set_input(s[0], &[i16::MAX; FRAME_SAMPLES]).unwrap();
    m.set_input(s[1], &[i16::MAX; FRAME_SAMPLES]).unwrap();
    m.set_input(s[2], &[i16::MIN; FRAME_SAMPLES]).unwrap();
    m.mix();
    // 0 hears MAX + MIN = -1; 2 hears 2 × MAX, clamped; 1 hears MAX + MIN.
    assert!(m.output(s[0]).iter().all(|&x| x == -1));
    assert!(m.output(s[2]).iter().all(|&x| x == i16::MAX));

    let mut m = Mixer::new();
    let s: Vec<Slot> = (0..3).map(|_| m.add().unwrap()).collect();
    for slot in &s {
        m.set_input(*slot, &[i16::MIN; FRAME_SAMPLES]).unwrap();
    }
    m.mix();
    assert!(s
        .iter()
        .all(|slot| m.output(*slot).iter().all(|&x| x == i16::MIN)));
}

#[test]
fn participants_without_a_frame_this_tick_are_silence() {
    let mut m = Mixer::new();
    let a = m.add().unwrap();
    let b = m.add().unwrap();
    let c = m.add().unwrap();
    m.set_input(a, &voice(1)).unwrap();
    m.set_input(b, &voice(2)).unwrap();
    m.mix();
    // c said nothing: a hears b, b hears a, c hears both.
    assert_eq!(m.output(a), &voice(2));
    assert_eq!(m.output(b), &voice(1));
    assert_eq!(m.output(c), &sum_of(&[voice(1), voice(2)]));

    // Next tick only c speaks: last tick's frames are not replayed.
    m.set_input(c, &voice(4)).unwrap();
    m.mix();
    assert_eq!(m.output(a), &voice(4));
    assert_eq!(m.output(b), &voice(4));
    assert_eq!(m.output(c), &SILENT_FRAME);

    // Nobody speaks: everyone hears silence.
    let out = m.mix();
    assert!(out.iter().all(|f| f == &SILENT_FRAME));
}

#[test]
fn ninth_participant_is_refused() {
    let (mut m, slots) = full_mixer();
    assert_eq!(m.len(), 8);
    assert_eq!(m.add(), Err(MixerError::Full));
    assert_eq!(m.add_at(slots[3]), Err(MixerError::SlotTaken(3)));
    // After one leaves, the next one gets its slot.
    m.remove(slots[5]).unwrap();
    assert_eq!(m.add(), Ok(slots[5]));
}

#[test]
fn joining_and_leaving_change_who_is_heard() {
    let mut m = Mixer::new();
    let a = m.add().unwrap();
    let b = m.add().unwrap();
    m.set_input(a, &voice(1)).unwrap();
    m.set_input(b, &voice(2)).unwrap();
    m.mix();
    assert_eq!(m.output(a), &voice(2));

    // c joins in a slot of its choosing and is heard from the next tick.
    let c = Slot::new(6).unwrap();
    m.add_at(c).unwrap();
    m.set_input(a, &voice(1)).unwrap();
    m.set_input(b, &voice(2)).unwrap();
    m.set_input(c, &voice(3)).unwrap();
    m.mix();
    assert_eq!(m.output(a), &sum_of(&[voice(2), voice(3)]));
    assert_eq!(m.output(c), &sum_of(&[voice(1), voice(2)]));

    // b leaves: nobody hears b, b's slot outputs silence, b cannot speak any more.
    m.remove(b).unwrap();
    assert_eq!(
        m.set_input(b, &voice(2)),
        Err(MixerError::NotAParticipant(1))
    );
    assert_eq!(m.remove(b), Err(MixerError::NotAParticipant(1)));
    m.set_input(a, &voice(1)).unwrap();
    m.set_input(c, &voice(3)).unwrap();
    let out = m.mix();
    assert_eq!(out[a.index()], voice(3));
    assert_eq!(out[c.index()], voice(1));
    assert_eq!(out[b.index()], SILENT_FRAME);
    assert_eq!(m.len(), 2);
    assert!(!m.contains(b));
}

#[test]
fn an_input_set_before_leaving_is_not_heard_after_rejoining() {
    let mut m = Mixer::new();
    let a = m.add().unwrap();
    let b = m.add().unwrap();
    m.set_input(b, &voice(9)).unwrap();
    m.remove(b).unwrap();
    m.add_at(b).unwrap();
    m.mix();
    assert_eq!(m.output(a), &SILENT_FRAME);
    assert!(Slot::new(MAX_PARTICIPANTS).is_none());
}
