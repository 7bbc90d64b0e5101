//! Panels and the widgets they share. Panels hold plain models (`crate::model`) and talk to
//! engines (`crate::net`) through handles; drawing functions take `&mut Ui` and are named `ui`
//! or `*_ui`.

pub mod check_panel;
pub mod client_panel;
pub mod composer;
pub mod diagram_view;
pub mod files_panel;
pub mod frame;
pub mod jobs;
pub mod lab_panel;
pub mod lesson_panel;
pub mod live_diagram;
pub mod log_view;
pub mod plot;
pub mod plumbing;
pub mod server_panel;
pub mod trace_view;
pub mod udp_panel;
pub mod widgets;

pub use client_panel::{ClientPanel, ClientSettings};
pub use files_panel::{DownloadPanel, DownloadSettings, FileServerPanel, FileServerSettings};
pub use server_panel::{ServerPanel, ServerSettings};
pub use udp_panel::{UdpPanel, UdpSettings};
