//! Which panel the window shows.

use serde::{Deserialize, Serialize};

use crate::i18n::Msg;

/// The window's panels, one line each: the variant, its command-line name (`--tab NAME`)
/// and its title. The tab bar, `--tab` and the settings' saved tab all come from this list.
macro_rules! tabs {
    ($first:ident => $first_name:literal, $first_title:ident;
     $($tab:ident => $name:literal, $title:ident;)*) => {
        /// The window's panels (the command line names them for `--tab`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
        pub enum Tab {
            #[default]
            $first,
            $($tab,)*
        }

        impl Tab {
            pub const ALL: &'static [Tab] = &[Tab::$first, $(Tab::$tab,)*];

            /// The panel's name on the command line (`--tab NAME`).
            pub fn name(self) -> &'static str {
                match self {
                    Tab::$first => $first_name,
                    $(Tab::$tab => $name,)*
                }
            }

            /// The panel's name on its tab.
            pub fn title(self) -> Msg {
                match self {
                    Tab::$first => Msg::$first_title,
                    $(Tab::$tab => Msg::$title,)*
                }
            }
        }
    };
}

tabs! {
    TcpClient => "client", TabTcpClient;
    TcpServer => "server", TabTcpServer;
    Udp => "udp", TabUdp;
    FileServer => "files", TabFileServer;
    Download => "download", TabDownload;
    Lesson => "lesson", TabLesson;
    Lab => "lab", TabLab;
    Check => "check", TabCheck;
}

impl Tab {
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
        Tab::ALL.iter().copied().find(|t| t.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tab_has_a_command_line_name() {
        for &tab in Tab::ALL {
            assert_eq!(Tab::from_name(tab.name()), Some(tab));
            assert_eq!(Tab::from_name(&tab.name().to_uppercase()), Some(tab));
        }
        assert_eq!(Tab::from_name("tcp-client"), Some(Tab::TcpClient));
        assert_eq!(Tab::from_name("file-server"), Some(Tab::FileServer));
        assert_eq!(Tab::from_name("nope"), None);
    }
}
