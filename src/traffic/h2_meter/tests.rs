//! The meter on hand-made frames, split at awkward places.

use super::*;

fn frame(kind: u8, flags: u8, stream: u32, payload: usize) -> Vec<u8> {
    let len = (payload as u32).to_be_bytes();
    let mut f = vec![len[1], len[2], len[3], kind, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend(std::iter::repeat_n(0u8, payload));
    f
}

fn meter() -> FrameMeter<()> {
    FrameMeter::new(())
}

#[test]
fn streams_are_claimed_in_the_order_their_headers_came() {
    let m = meter();
    let mut up = vec![0u8; PREFACE_LEN as usize];
    up.extend(frame(4, 0, 0, 18)); // SETTINGS: the connection's
    up.extend(frame(kind::HEADERS, 0x5, 1, 30));
    up.extend(frame(kind::HEADERS, 0x5, 3, 12));
    // Split anywhere: the cursor carries over.
    for piece in up.chunks(7) {
        m.meter.pass(Side::Read, piece);
    }
    let first = m.meter.claim().expect("stream 1");
    let second = m.meter.claim().expect("stream 3");
    assert_eq!((first.id(), second.id()), (1, 3));
    assert_eq!(first.totals().bytes_up, 39);
    assert_eq!(second.totals().header_bytes_up, 21);
    assert!(m.meter.claim().is_none());
}

#[test]
fn the_end_is_told_once_the_last_frame_is_written() {
    let m = meter();
    let mut up = vec![0u8; PREFACE_LEN as usize];
    up.extend(frame(kind::HEADERS, 0x5, 1, 20));
    m.meter.pass(Side::Read, &up);
    let stream = m.meter.claim().expect("claimed");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (head, end) = (seen.clone(), seen.clone());
    stream.on_head_written(move |t| head.lock().unwrap().push(("head", t)));
    stream.on_end(move |t| end.lock().unwrap().push(("end", t)));
    let mut down = frame(kind::HEADERS, 0x4, 1, 40);
    down.extend(frame(kind::DATA, 0, 1, 100));
    down.extend(frame(kind::DATA, END_STREAM, 1, 0));
    let (a, b) = down.split_at(60);
    m.meter.pass(Side::Write, a);
    assert_eq!(seen.lock().unwrap().len(), 1, "head written, data not yet");
    m.meter.pass(Side::Write, b);
    let seen = seen.lock().unwrap();
    assert_eq!(seen[1].0, "end");
    let t = seen[1].1;
    assert_eq!(t.bytes_down, 49 + 109 + 9);
    assert_eq!(t.header_bytes_down, 49);
    assert_eq!((t.frames_down, t.data_frames_down), (3, 2));
    assert!(t.ended);
}

#[test]
fn a_closed_connection_ends_its_open_streams() {
    let m = meter();
    let mut up = vec![0u8; PREFACE_LEN as usize];
    up.extend(frame(kind::HEADERS, 0x4, 1, 20));
    m.meter.pass(Side::Read, &up);
    let stream = m.meter.claim().expect("claimed");
    let ended = Arc::new(Mutex::new(None));
    let e = ended.clone();
    stream.on_end(move |t| *e.lock().unwrap() = Some(t));
    drop(m);
    let t = ended.lock().unwrap().expect("told");
    assert!(!t.ended, "cut with the connection, not ended by HTTP/2");
    assert_eq!(t.bytes_up, 29);
}
