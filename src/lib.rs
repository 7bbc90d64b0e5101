//! Socket Workbench: TCP and UDP sockets made point-and-click, for teaching, testing and
//! debugging, with every socket call shown as it happens.
//!
//! # Layout
//!
//! - [`net`]: the engines. Each runs its sockets on named background threads and talks to the
//!   rest only through flume channels (commands in, session-tagged events out). No egui here.
//! - [`lab`]: the glass-box lab: two smoltcp hosts on a simulated wire in virtual time, its
//!   scenarios, record and pcapng export. No sockets of the system, no egui.
//! - [`proto`]: pure code with no I/O: text encodings (UTF-8, GBK, ...), hex parsing and
//!   dumps, building payloads.
//! - [`model`]: plain state reduced from engine events (log, socket-call trace, panel status);
//!   pure functions, tested without a window.
//! - [`ui`]: the panels and the widgets they share (log view, send composer, trace view), and
//!   the frame most panels are drawn on (`ui::frame`: settings that fold, table and log,
//!   socket calls, composer; the sizing rules of normal and classroom mode).
//! - [`app`]: the eframe application: top bar, status bar, persisted settings.
//! - [`cli`]: headless commands that drive the same engines from a terminal.
//! - [`i18n`]: every user-visible string in English and Simplified Chinese.
//! - [`fonts`]: the bundled CJK font.

pub mod app;
pub mod cli;
pub mod fonts;
pub mod i18n;
pub mod lab;
pub mod model;
pub mod net;
pub mod proto;
pub mod ui;
