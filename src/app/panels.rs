//! The window's panels, in one list: the tab bar, the central view, the status bar, the event
//! drain, the saved settings and the `--tab` names all come from it.
//!
//! Adding a panel is a new file under `src/ui/` — a type that implements [`Panel`] (what it
//! draws and reports) and [`Persist`] (what it remembers) — and one line below, plus its `mod`
//! line in `src/ui/mod.rs` and its tab title in the string table, as every string.

use serde::{Deserialize, Serialize};

use super::ThemeChoice;
use crate::i18n::{Lang, Msg};
use crate::ui::{Panel, Persist};

/// From one line a panel — `Tab variant => app field: type, --tab name, title;` — the
/// [`Tab`] enum, the [`Panels`] the app holds and the [`Settings`] it saves.
macro_rules! panels {
    ($($tab:ident => $field:ident: $ty:ty, $name:literal, $title:ident;)*) => {
        /// Which panel the window shows (the command line names them for `--tab`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        pub enum Tab {
            $($tab,)*
        }

        impl Tab {
            /// In the order of the tab bar.
            pub const ALL: &'static [Tab] = &[$(Tab::$tab,)*];

            /// The panel's name on the command line (`--tab NAME`).
            pub fn name(self) -> &'static str {
                match self {
                    $(Tab::$tab => $name,)*
                }
            }

            /// The panel's name on its tab.
            pub fn title(self) -> Msg {
                match self {
                    $(Tab::$tab => Msg::$title,)*
                }
            }
        }

        /// Every panel, live (engines, models, what is typed).
        pub struct Panels {
            $(pub $field: $ty,)*
        }

        impl Panels {
            pub fn new(settings: &Settings) -> Self {
                Self {
                    $($field: <$ty as Persist>::from_settings(settings.$field.clone()),)*
                }
            }

            /// The panel on a tab.
            pub fn get(&self, tab: Tab) -> &dyn Panel {
                match tab {
                    $(Tab::$tab => &self.$field,)*
                }
            }

            /// The panel on a tab, to draw or drain it.
            pub fn get_mut(&mut self, tab: Tab) -> &mut dyn Panel {
                match tab {
                    $(Tab::$tab => &mut self.$field,)*
                }
            }
        }

        /// Everything remembered between runs (window size is eframe's own): the window's
        /// look and each panel's settings, under the panel's field name.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(default)]
        pub struct Settings {
            pub lang: Lang,
            pub theme: ThemeChoice,
            pub zoom: f32,
            /// Classroom mode: large text, high contrast, full screen.
            pub classroom: bool,
            pub tab: Tab,
            /// The payload library every sending panel shares, and the group shown.
            pub library: crate::proto::library::Library,
            pub library_group: usize,
            $(pub $field: <$ty as Persist>::Settings,)*
        }

        impl Default for Settings {
            fn default() -> Self {
                Self {
                    lang: Lang::En,
                    theme: ThemeChoice::Light,
                    zoom: 1.0,
                    classroom: false,
                    tab: Tab::default(),
                    library: crate::proto::library::Library::starter(),
                    library_group: 0,
                    $($field: Default::default(),)*
                }
            }
        }

        impl Settings {
            /// Each panel's settings as it holds them now.
            pub fn take_from(&mut self, panels: &Panels) {
                $(self.$field = panels.$field.settings();)*
            }
        }
    };
}

panels! {
    TcpClient => client: crate::ui::ClientPanel, "client", TabTcpClient;
    TcpServer => server: crate::ui::ServerPanel, "server", TabTcpServer;
    Udp => udp: crate::ui::UdpPanel, "udp", TabUdp;
    FileServer => files: crate::ui::FileServerPanel, "files", TabFileServer;
    Download => download: crate::ui::DownloadPanel, "download", TabDownload;
    Lesson => lesson: crate::ui::lesson_panel::LessonPanel, "lesson", TabLesson;
    Lab => lab: crate::ui::lab_panel::LabPanel, "lab", TabLab;
    Check => check: crate::ui::check_panel::CheckPanel, "check", TabCheck;
}

impl Default for Tab {
    /// The first in the list.
    fn default() -> Self {
        Tab::ALL[0]
    }
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

    /// The command-line names, for a message that lists them.
    pub fn names() -> Vec<&'static str> {
        Tab::ALL.iter().map(|t| t.name()).collect()
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

    #[test]
    fn saved_settings_keep_their_shape() {
        // Settings saved by earlier versions name each panel's settings at the top level.
        let text = ron::to_string(&Settings::default()).unwrap();
        for field in [
            "client:",
            "server:",
            "udp:",
            "files:",
            "download:",
            "check:",
            "tab:",
        ] {
            assert!(text.contains(field), "{field} in {text}");
        }
        let back: Settings = ron::from_str(&text).unwrap();
        assert_eq!(back, Settings::default());
        let old: Settings = ron::from_str("(tab: Udp, zoom: 1.5)").unwrap();
        assert_eq!((old.tab, old.zoom), (Tab::Udp, 1.5));
    }
}
