//! Which panel the window shows.

use serde::{Deserialize, Serialize};

use crate::i18n::Msg;

/// The window's panels (the command line names them for `--tab`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Tab {
    #[default]
    TcpClient,
    TcpServer,
    Udp,
    FileServer,
    Download,
    Lesson,
    Lab,
    Check,
}

impl Tab {
    pub const ALL: [Tab; 8] = [
        Tab::TcpClient,
        Tab::TcpServer,
        Tab::Udp,
        Tab::FileServer,
        Tab::Download,
        Tab::Lesson,
        Tab::Lab,
        Tab::Check,
    ];

    /// The panel's name on its tab.
    pub fn title(self) -> Msg {
        match self {
            Tab::TcpClient => Msg::TabTcpClient,
            Tab::TcpServer => Msg::TabTcpServer,
            Tab::Udp => Msg::TabUdp,
            Tab::FileServer => Msg::TabFileServer,
            Tab::Download => Msg::TabDownload,
            Tab::Lesson => Msg::TabLesson,
            Tab::Lab => Msg::TabLab,
            Tab::Check => Msg::TabCheck,
        }
    }
}
