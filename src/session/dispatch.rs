//! Dispatching one frame from the server: replies to their callers (registering their
//! watches first), watch events to watchers, ping and auth replies. Runs on whichever thread
//! holds the reader token (see `reader.rs`), one frame at a time in stream order.

use std::sync::atomic::Ordering;

use super::request::{Failure, RawReply};
use super::watches::WatchKind;
use super::{lock, SessionEvent, SessionState, Shared};
use crate::proto::{xid, Decode, ErrorCode, EventType, Reader, ReplyHeader, WatcherEvent};

/// Decoding failed in the middle of the stream: the request at the front of the queue is the
/// one whose reply was garbled, so it gets the protocol error; the rest get connection loss.
pub(crate) fn fail_front(shared: &Shared, reason: String) -> String {
    if let Some(front) = lock(&shared.wire).in_flight.pop_front() {
        let _ = front.reply.send(Err(Failure::Protocol(reason.clone())));
    }
    reason
}

/// Dispatches one frame (on whichever thread holds the reader token); `Err` when the connection
/// can no longer be trusted.
pub(crate) fn handle_frame(shared: &Shared, frame: Vec<u8>, conn: u64) -> Result<(), String> {
    let mut r = Reader::new(&frame);
    let header = ReplyHeader::decode(&mut r)
        .map_err(|e| fail_front(shared, format!("bad reply header: {e}")))?;
    if header.zxid > 0 {
        shared.last_zxid.fetch_max(header.zxid, Ordering::SeqCst);
    }
    match header.xid {
        xid::WATCH_EVENT => {
            let event =
                WatcherEvent::decode(&mut r).map_err(|e| format!("bad watch event: {e}"))?;
            let user_path = shared.user_path(&event.path);
            let readd = lock(&shared.watches).dispatch(
                EventType::from_i32(event.event_type),
                &event.path,
                &user_path,
            );
            for kind in readd {
                shared.readd_persistent(&event.path, kind);
            }
            Ok(())
        }
        xid::PING => {
            if let Some(written) = lock(&shared.wire).take_ping() {
                shared.liveness.answered(written);
            }
            Ok(())
        }
        xid::SET_WATCHES => {
            if header.err != 0 {
                log::warn!("re-registering watches failed: {}", ErrorCode::from_i32(header.err));
            }
            Ok(())
        }
        xid::AUTH => {
            if let Some(tx) = lock(&shared.wire).take_auth() {
                let _ = tx.send(header.err);
            }
            if header.err != 0 {
                // The server closes the session after a failed auth; nothing can be resumed.
                shared.transition(|status| {
                    status.state = SessionState::AuthFailed;
                    ((), Some(SessionEvent::AuthFailed))
                });
                return Err("authentication failed".to_string());
            }
            Ok(())
        }
        reply_xid => {
            let body_at = r.position();
            let request = lock(&shared.wire).take_reply(reply_xid)?;
            shared.liveness.answered(request.written_at);
            // A caller that stopped waiting dropped the watch's receiver with its call: its
            // watch is not registered (it would only pile up, and be re-set after every
            // reconnect).
            // (Unless a persistent watch is on the same path: the server turned it into a
            // one-shot with this one, and its firing must be seen to set it again.)
            let watch = request.watch.filter(|(_, path, _)| {
                !request.reply.is_abandoned() || lock(&shared.watches).has_persistent(path)
            });
            if let Some((kind, path, tx)) = watch {
                // Registered here, before the next frame is read, so a notification that follows
                // the reply always finds its watch.
                let table = match (kind, ErrorCode::from_i32(header.err)) {
                    (WatchKind::Exist, ErrorCode::Ok) => Some(WatchKind::Data),
                    (WatchKind::Exist, ErrorCode::NoNode) => Some(WatchKind::Exist),
                    (kind, ErrorCode::Ok) => Some(kind),
                    _ => None,
                };
                if let Some(table) = table {
                    lock(&shared.watches).add(table, path, tx);
                }
            }
            let _ = request.reply.send(Ok(RawReply { err: header.err, frame, body_at, conn }));
            Ok(())
        }
    }
}
