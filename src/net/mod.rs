//! Socket engines. Each engine runs its sockets on named background threads and talks to the
//! rest of the program only through flume channels: `XxxCommand`s in, [`Event`]s out. Nothing
//! under `net/` knows about egui; the UI hands an engine a [`Waker`] so it can be woken after
//! events are sent.
//!
//! Every event carries the id of the session it belongs to, so a panel that starts a new
//! connection while the old one is still winding down can tell the two apart.

pub mod check;
pub mod check_files;
pub mod download;
pub mod engine;
pub mod error;
pub mod file_server;
pub mod flow;
pub mod ifaces;
pub mod kernel;
pub mod load;
pub mod resolve;
pub mod scenario;
pub mod send;
pub mod step;
pub mod sys;
pub mod tcp_client;
pub mod tcp_server;
pub mod trace;
pub mod udp;
pub mod waker;

pub use error::{NetError, NetErrorKind};
pub use trace::{CallKind, CallOutcome, ShutdownHow, SocketCall};
pub use waker::Waker;

/// A read or write that only gave up waiting (its slice of `SO_RCVTIMEO`/`SO_SNDTIMEO`, a
/// non-blocking socket with nothing to do, a signal): try again.
pub fn is_wait(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock
            | std::io::ErrorKind::TimedOut
            | std::io::ErrorKind::Interrupted
    )
}

/// `HOST:PORT` or `[V6]:PORT` (see [`crate::proto::addr`]), with its error in plain words.
pub fn split_host_port(target: &str) -> Result<(String, u16), NetError> {
    crate::proto::addr::split_host_port(target).map_err(Into::into)
}

/// A listen address or a bare port (see [`crate::proto::addr`]).
pub fn parse_listen_addr(text: &str) -> Result<std::net::SocketAddr, NetError> {
    crate::proto::addr::parse_listen_addr(text).map_err(Into::into)
}

use std::sync::atomic::{AtomicU64, Ordering};

/// Identifies one run of an engine (one connection attempt, one listener, ...).
pub type SessionId = u64;

static NEXT_SESSION: AtomicU64 = AtomicU64::new(1);

/// A process-wide unique session id.
pub fn next_session_id() -> SessionId {
    NEXT_SESSION.fetch_add(1, Ordering::Relaxed)
}

/// An engine's event, tagged with the session it belongs to.
#[derive(Debug, Clone)]
pub struct Tagged<E> {
    pub session: SessionId,
    /// When the worker sent it: the log shows this time, not when the UI got round to it.
    pub at: std::time::SystemTime,
    pub event: E,
}

impl<E> Tagged<E> {
    pub fn now(session: SessionId, event: E) -> Self {
        Self {
            session,
            at: std::time::SystemTime::now(),
            event,
        }
    }
}

/// Size of the buffer handed to each `recv()` call.
///
/// The lesson uses `recv(1024)`; 64 KiB lets a flood be read in few calls while a small
/// message is still returned as soon as it arrives.
pub const RECV_BUFFER: usize = 64 * 1024;
