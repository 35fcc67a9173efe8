//! Who hears session transitions: one channel per [`SessionEvents`] handle, kept in a list the
//! transitions send to, and taken off that list when the handle is dropped. So a session that
//! stays in one state for months keeps exactly the handles that are alive, however many were
//! made and dropped meanwhile.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use crossbeam_channel::{Receiver, Sender};

use super::SessionEvent;

/// The senders of every live [`SessionEvents`] handle, by handle id.
#[derive(Default)]
pub(crate) struct SubscriberList {
    next_id: u64,
    senders: BTreeMap<u64, Sender<SessionEvent>>,
}

impl SubscriberList {
    /// Sends `event` to every subscriber (one whose receiver is gone is dropped on the way).
    pub fn publish(&mut self, event: &SessionEvent) {
        self.senders.retain(|_, tx| tx.send(event.clone()).is_ok());
    }

    /// Forgets every subscriber: their receivers see the channel end.
    pub fn clear(&mut self) {
        self.senders.clear();
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.senders.len()
    }
}

pub(crate) type Subscribers = Arc<Mutex<SubscriberList>>;

fn lock(list: &Mutex<SubscriberList>) -> MutexGuard<'_, SubscriberList> {
    list.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Registers a new subscriber on a list the caller has locked (transitions lock it too, so the
/// handle sees exactly the transitions after the state the caller observed), or, with
/// `closed`, makes a handle that holds only [`SessionEvent::Closed`].
pub(crate) fn subscribe(
    list: &Subscribers,
    locked: &mut SubscriberList,
    closed: bool,
) -> SessionEvents {
    let (tx, rx) = crossbeam_channel::unbounded();
    let id = locked.next_id;
    locked.next_id += 1;
    if closed {
        let _ = tx.send(SessionEvent::Closed);
    } else {
        locked.senders.insert(id, tx);
    }
    SessionEvents { rx, list: Arc::downgrade(list), id }
}

/// The session transitions from the moment it was made, as returned by
/// [`Client::session_events`](crate::Client::session_events): a [`Receiver`] (it dereferences
/// to one, so `recv`, `recv_timeout`, `try_recv` and `select!` work as on any channel) that
/// stops the client sending to it when dropped.
///
/// The channel ends (`recv` fails, a `for` loop stops) after [`SessionEvent::Closed`], when the
/// client is closed. A receiver cloned from it (`(*events).clone()`) shares its queue and stops
/// getting events once this handle is dropped.
///
/// ```no_run
/// use zkcluster::SessionEvent;
/// # fn main() -> zkcluster::Result<()> {
/// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
/// let events = client.session_events();
/// std::thread::spawn(move || {
///     for event in events {
///         if let SessionEvent::Suspended { .. } = event {
///             eprintln!("connection lost; the session may still resume");
///         }
///     }
/// });
/// # Ok(())
/// # }
/// ```
pub struct SessionEvents {
    rx: Receiver<SessionEvent>,
    list: Weak<Mutex<SubscriberList>>,
    id: u64,
}

impl std::ops::Deref for SessionEvents {
    type Target = Receiver<SessionEvent>;

    fn deref(&self) -> &Receiver<SessionEvent> {
        &self.rx
    }
}

impl std::fmt::Debug for SessionEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionEvents").field("queued", &self.rx.len()).finish()
    }
}

impl Drop for SessionEvents {
    fn drop(&mut self) {
        if let Some(list) = self.list.upgrade() {
            lock(&list).senders.remove(&self.id);
        }
    }
}

impl IntoIterator for SessionEvents {
    type Item = SessionEvent;
    type IntoIter = SessionEventsIter;

    /// Blocks for each event until the client is closed.
    fn into_iter(self) -> SessionEventsIter {
        SessionEventsIter { events: self }
    }
}

impl<'a> IntoIterator for &'a SessionEvents {
    type Item = SessionEvent;
    type IntoIter = crossbeam_channel::Iter<'a, SessionEvent>;

    fn into_iter(self) -> Self::IntoIter {
        self.rx.iter()
    }
}

/// The blocking iterator of an owned [`SessionEvents`] (ends when the client is closed).
///
/// ```no_run
/// # fn main() -> zkcluster::Result<()> {
/// let client = zkcluster::Client::connect("127.0.0.1:2181")?;
/// let mut events = client.session_events().into_iter();
/// client.close()?;
/// assert_eq!(events.next(), Some(zkcluster::SessionEvent::Closed));
/// assert_eq!(events.next(), None);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct SessionEventsIter {
    events: SessionEvents,
}

impl Iterator for SessionEventsIter {
    type Item = SessionEvent;

    fn next(&mut self) -> Option<SessionEvent> {
        self.events.rx.recv().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_handle_leaves_the_list_and_a_live_one_hears_events() {
        let list: Subscribers = Arc::default();
        let new = |closed| subscribe(&list, &mut lock(&list), closed);
        let live = new(false);
        for _ in 0..1000 {
            let dropped = new(false);
            drop(dropped);
        }
        assert_eq!(lock(&list).len(), 1, "dropped handles are still registered");
        lock(&list).publish(&SessionEvent::Suspended { session_id: 1 });
        assert_eq!(live.try_recv(), Ok(SessionEvent::Suspended { session_id: 1 }));
        lock(&list).clear();
        assert!(live.recv().is_err(), "the channel did not end");
        let closed = new(true);
        assert_eq!(closed.into_iter().collect::<Vec<_>>(), [SessionEvent::Closed]);
        assert_eq!(lock(&list).len(), 0);
    }
}
