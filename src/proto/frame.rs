//! Splitting a TCP byte stream into ZooKeeper frames (4-byte big-endian length, then body).

use crate::proto::jute::DecodeError;

/// Default limit for frame bodies we accept. ZooKeeper's own default `jute.maxbuffer` is
/// just under 1 MiB of node data; the extra room covers large child lists and multi replies.
pub const MAX_FRAME: usize = 16 * 1024 * 1024;

/// How much writable space [`FrameBuffer::spare`] offers at least, so one socket read can
/// take a good chunk of the stream.
const MIN_SPARE: usize = 64 * 1024;

/// Incremental frame splitter for a byte stream (4-byte big-endian length prefix per frame).
///
/// Read socket bytes into [`spare`](FrameBuffer::spare), report them with
/// [`filled`](FrameBuffer::filled), then take frames with
/// [`next_frame`](FrameBuffer::next_frame) until it returns `None`.
#[derive(Debug, Clone)]
pub struct FrameBuffer {
    buf: Vec<u8>,
    /// Start of the bytes not yet returned as frames.
    start: usize,
    /// End of the bytes received so far.
    end: usize,
    /// Stream offset of `buf[start]`, for error reports.
    stream_offset: usize,
    max_frame: usize,
}

impl FrameBuffer {
    /// An empty splitter that rejects frame bodies longer than `max_frame` bytes.
    pub fn new(max_frame: usize) -> FrameBuffer {
        FrameBuffer { buf: Vec::new(), start: 0, end: 0, stream_offset: 0, max_frame }
    }

    /// Writable space for the next socket read: at least 64 KiB. Moves buffered bytes to the
    /// front or grows the buffer as needed.
    pub fn spare(&mut self) -> &mut [u8] {
        if self.buf.len() - self.end < MIN_SPARE && self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() - self.end < MIN_SPARE {
            self.buf.resize(self.end + MIN_SPARE, 0);
        }
        &mut self.buf[self.end..]
    }

    /// Records that `n` bytes were written into [`spare`](FrameBuffer::spare). Counts beyond
    /// the spare space are clamped to it.
    pub fn filled(&mut self, n: usize) {
        self.end = self.end.saturating_add(n).min(self.buf.len());
    }

    /// The next complete frame body (without its prefix), or `None` until more bytes arrive.
    ///
    /// A negative length or one over the limit is an error; the stream cannot be resynced
    /// after that, and the same error is returned again on every later call.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, DecodeError> {
        let pending = &self.buf[self.start..self.end];
        let Some(&[b0, b1, b2, b3]) = pending.get(..4) else {
            return Ok(None);
        };
        let announced = i32::from_be_bytes([b0, b1, b2, b3]);
        let len = usize::try_from(announced).map_err(|_| DecodeError::InvalidLength {
            len: i64::from(announced),
            at: self.stream_offset,
        })?;
        if len > self.max_frame {
            return Err(DecodeError::FrameTooLarge { len, max: self.max_frame });
        }
        // `len` is at most i32::MAX, so this cannot overflow.
        let frame_len = 4 + len;
        let Some(body) = pending.get(4..frame_len) else {
            return Ok(None);
        };
        let frame = body.to_vec();
        self.start += frame_len;
        self.stream_offset = self.stream_offset.wrapping_add(frame_len);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        Ok(Some(frame))
    }

    /// Bytes received but not yet returned as frames.
    pub fn buffered(&self) -> usize {
        self.end - self.start
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(frames: &mut FrameBuffer, bytes: &[u8]) {
        for chunk in bytes.chunks(3) {
            frames.spare()[..chunk.len()].copy_from_slice(chunk);
            frames.filled(chunk.len());
        }
    }

    #[test]
    fn splits_frames_fed_in_small_pieces() {
        let mut frames = FrameBuffer::new(MAX_FRAME);
        feed(&mut frames, &[0, 0, 0, 1, 9, 0, 0, 0, 0, 0, 0, 0, 3, 1, 2]);
        assert_eq!(frames.next_frame(), Ok(Some(vec![9])));
        assert_eq!(frames.next_frame(), Ok(Some(vec![])));
        assert_eq!(frames.next_frame(), Ok(None));
        assert_eq!(frames.buffered(), 6);
        feed(&mut frames, &[3]);
        assert_eq!(frames.next_frame(), Ok(Some(vec![1, 2, 3])));
        assert_eq!(frames.buffered(), 0);
    }

    #[test]
    fn rejects_negative_and_oversized_lengths() {
        let mut frames = FrameBuffer::new(10);
        feed(&mut frames, &[0, 0, 0, 1, 7, 0xff, 0xff, 0xff, 0xfe]);
        assert_eq!(frames.next_frame(), Ok(Some(vec![7])));
        assert_eq!(frames.next_frame(), Err(DecodeError::InvalidLength { len: -2, at: 5 }));
        let mut frames = FrameBuffer::new(10);
        feed(&mut frames, &[0, 0, 0, 11]);
        assert_eq!(frames.next_frame(), Err(DecodeError::FrameTooLarge { len: 11, max: 10 }));
    }

    #[test]
    fn grows_for_frames_larger_than_one_read() {
        let body: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        let mut stream = (body.len() as i32).to_be_bytes().to_vec();
        stream.extend_from_slice(&body);
        let mut frames = FrameBuffer::new(MAX_FRAME);
        let mut rest = &stream[..];
        while !rest.is_empty() {
            let spare = frames.spare();
            assert!(spare.len() >= MIN_SPARE);
            let n = spare.len().min(rest.len());
            spare[..n].copy_from_slice(&rest[..n]);
            frames.filled(n);
            rest = &rest[n..];
        }
        assert_eq!(frames.next_frame(), Ok(Some(body)));
    }

    #[test]
    fn overfilling_is_clamped() {
        let mut frames = FrameBuffer::new(MAX_FRAME);
        let spare = frames.spare().len();
        frames.filled(usize::MAX);
        assert_eq!(frames.buffered(), spare);
    }
}
