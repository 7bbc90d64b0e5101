//! Plain state that panels draw: the log, the socket-call trace, and each panel's model,
//! reduced from engine events by pure functions. Nothing here draws or touches a socket, so
//! tests drive it without a window or a network.

pub mod check;
pub mod client;
pub mod conversation;
pub mod describe;
pub mod diagram;
pub mod files;
pub mod lab;
pub mod lab_diagram;
pub mod log;
pub mod rx;
pub mod send;
pub mod server;
pub mod throughput;
pub mod trace_book;
pub mod udp;

pub use client::{ClientModel, ClientStatus};
pub use log::{Direction, LogBook, LogEntry, LogNote, PeerTag};
pub use server::{ClientRow, ClientState, ServerModel, ServerStatus};
pub use trace_book::TraceBook;
pub use udp::{PeerRow, UdpModel, UdpStatus};
