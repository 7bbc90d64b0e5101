//! What the panels show of sending, the same for the TCP client, the TCP server and UDP: a
//! repeat run's count, a file send's progress, and the log's note for why bytes went out.

use crate::net::send::{FileProgress, SendOrigin, SendProgress};

use super::log::LogNote;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Sending {
    /// Sends done by the running repeat, or None when no repeat runs.
    pub repeating: Option<u64>,
    /// The file send in progress, or the last one.
    pub file: Option<FileProgress>,
}

impl Sending {
    pub fn apply(&mut self, progress: SendProgress) {
        match progress {
            SendProgress::Repeating { running, sent } => self.repeating = running.then_some(sent),
            SendProgress::File(file) => self.file = Some(file),
        }
    }

    /// The log's note for bytes sent for `origin`; a repeat's send moves its count on.
    pub fn note(&mut self, origin: SendOrigin) -> Option<LogNote> {
        match origin {
            SendOrigin::Typed => None,
            SendOrigin::AutoReply => Some(LogNote::AutoReply),
            SendOrigin::Echo => Some(LogNote::Echo),
            SendOrigin::Repeat { n, of } => {
                self.repeating = self.repeating.map(|_| n);
                Some(LogNote::Repeat { n, of })
            }
            SendOrigin::File { path, complete } => Some(LogNote::File { path, complete }),
        }
    }

    /// The session ended: no repeat runs any more.
    pub fn ended(&mut self) {
        self.repeating = None;
    }

    /// A file send under way: bytes sent and the file's size.
    pub fn file_in_progress(&self) -> Option<(u64, Option<u64>)> {
        self.file
            .as_ref()
            .filter(|f| !f.done)
            .map(|f| (f.sent, f.total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeat_is_counted_by_its_sends_until_it_stops() {
        let mut s = Sending::default();
        s.apply(SendProgress::repeat_started());
        assert_eq!(s.repeating, Some(0));
        let note = s.note(SendOrigin::Repeat { n: 3, of: Some(5) });
        assert_eq!(note, Some(LogNote::Repeat { n: 3, of: Some(5) }));
        assert_eq!(s.repeating, Some(3));
        s.apply(SendProgress::Repeating {
            running: false,
            sent: 3,
        });
        assert_eq!(s.repeating, None);
        // A late repeat send after the stop does not bring the count back.
        s.note(SendOrigin::Repeat { n: 4, of: Some(5) });
        assert_eq!(s.repeating, None);
    }

    #[test]
    fn a_file_shows_while_it_goes_and_not_once_done() {
        let mut s = Sending::default();
        let mut f = FileProgress {
            path: "a.bin".into(),
            sent: 10,
            total: Some(100),
            done: false,
        };
        s.apply(SendProgress::File(f.clone()));
        assert_eq!(s.file_in_progress(), Some((10, Some(100))));
        f.done = true;
        s.apply(SendProgress::File(f));
        assert_eq!(s.file_in_progress(), None);
        assert_eq!(s.note(SendOrigin::Typed), None);
        assert_eq!(s.note(SendOrigin::Echo), Some(LogNote::Echo));
    }
}
