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

    /// The panel's name on the command line (`--tab NAME`).
    pub fn name(self) -> &'static str {
        match self {
            Tab::TcpClient => "client",
            Tab::TcpServer => "server",
            Tab::Udp => "udp",
            Tab::FileServer => "files",
            Tab::Download => "download",
            Tab::Lesson => "lesson",
            Tab::Lab => "lab",
            Tab::Check => "check",
        }
    }

    /// The panel a command-line name stands for (the names above, or the long forms
    /// `tcp-client`, `tcp-server`, `file-server`), in any case.
    pub fn from_name(name: &str) -> Option<Tab> {
        let name = name.trim().to_ascii_lowercase();
        let name = match name.as_str() {
            "tcp-client" => "client",
            "tcp-server" => "server",
            "file-server" => "files",
            other => other,
        };
        Tab::ALL.into_iter().find(|t| t.name() == name)
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tab_has_a_command_line_name() {
        for tab in Tab::ALL {
            assert_eq!(Tab::from_name(tab.name()), Some(tab));
            assert_eq!(Tab::from_name(&tab.name().to_uppercase()), Some(tab));
        }
        assert_eq!(Tab::from_name("tcp-client"), Some(Tab::TcpClient));
        assert_eq!(Tab::from_name("file-server"), Some(Tab::FileServer));
        assert_eq!(Tab::from_name("nope"), None);
    }
}
