//! Small worked examples of the codec (they were rustdoc examples while `proto` was public).

#[test]
fn stat_round_trips() {
    use crate::proto::jute::{Decode, Encode, Reader, Writer};
    use crate::proto::Stat;

    let stat = Stat { version: 3, num_children: 2, ..Stat::default() };
    let mut w = Writer::new();
    stat.encode(&mut w);
    let bytes = w.into_bytes();
    assert_eq!(bytes.len(), 68); // 6 longs + 5 ints
    assert_eq!(Stat::decode(&mut Reader::new(&bytes)), Ok(stat));
}

#[test]
fn event_type_keeps_unknown_codes() {
    use crate::proto::EventType;
    assert_eq!(EventType::from_i32(2), EventType::NodeDeleted);
    assert_eq!(EventType::from_i32(42), EventType::Unknown(42));
}

#[test]
fn encode_multi_writes_headers_and_end() {
    use crate::proto::{encode_multi, CheckVersionRequest, MultiOp, Writer};

    let mut w = Writer::new();
    encode_multi(&[MultiOp::Check(CheckVersionRequest { path: "/a".into(), version: 1 })], &mut w);
    assert_eq!(w.len(), 9 + 10 + 9); // header, check record, end marker
}

#[test]
fn writer_frames_fields() {
    use crate::proto::jute::Writer;

    let mut w = Writer::framed();
    w.i32(7);
    w.string("/a");
    assert_eq!(w.into_frame(), [0, 0, 0, 10, 0, 0, 0, 7, 0, 0, 0, 2, b'/', b'a']);
}

#[test]
fn encode_request_writes_header_and_body() {
    use crate::proto::{encode_request, op, PathWatchRequest};

    let exists = PathWatchRequest { path: "/a".into(), watch: true };
    let frame = encode_request(5, op::EXISTS, &exists);
    assert_eq!(frame, [0, 0, 0, 15, 0, 0, 0, 5, 0, 0, 0, 3, 0, 0, 0, 2, b'/', b'a', 1]);
}

#[test]
fn reader_reads_fields() {
    use crate::proto::jute::Reader;

    let bytes = [0, 0, 0, 7, 0, 0, 0, 2, b'/', b'a'];
    let mut r = Reader::new(&bytes);
    assert_eq!(r.i32(), Ok(7));
    assert_eq!(r.string().as_deref(), Ok("/a"));
    assert!(r.i32().is_err()); // nothing left
}

#[test]
fn frame_buffer_splits_frames() {
    use crate::proto::jute::{FrameBuffer, MAX_FRAME};

    let mut frames = FrameBuffer::new(MAX_FRAME);
    let stream = [0, 0, 0, 2, b'h', b'i', 0, 0, 0, 1];
    frames.spare()[..stream.len()].copy_from_slice(&stream);
    frames.filled(stream.len());
    assert_eq!(frames.next_frame(), Ok(Some(b"hi".to_vec())));
    assert_eq!(frames.next_frame(), Ok(None)); // second frame still lacks its body
    assert_eq!(frames.buffered(), 4);
}
