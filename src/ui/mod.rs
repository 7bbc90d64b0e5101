//! Panels and the widgets they share. Panels hold plain models (`crate::model`) and talk to
//! engines (`crate::net`) through handles; drawing functions take `&mut Ui` and are named `ui`
//! or `*_ui`.

pub mod check_panel;
pub mod client_panel;
pub mod composer;
pub mod conversation;
pub mod diagram_view;
pub mod files_panel;
pub mod frame;
pub mod jobs;
pub mod lab_panel;
pub mod lesson_panel;
pub mod library;
pub mod live_diagram;
pub mod log_view;
pub mod plot;
pub mod plumbing;
pub mod server_panel;
pub mod trace_view;
pub mod udp_panel;
pub mod widgets;

/// What the app asks of every panel: the tab bar, the status bar, the central view and the
/// event drain all come from the app's one list of panels (`WorkbenchApp::panel_mut`).
pub trait Panel {
    /// Draws the panel; `classroom` picks the projector's layout.
    fn ui(&mut self, ui: &mut egui::Ui, lang: crate::i18n::Lang, classroom: bool);
    /// One line for the status bar.
    fn status_line(&self, lang: crate::i18n::Lang) -> String;
    /// Takes in what the panel's engines reported; runs every frame, also while hidden.
    fn drain_events(&mut self) {}
    /// The panel shows its status itself, so classroom mode can do without the status bar.
    fn shows_status(&self) -> bool {
        true
    }
    /// The payload library every sending panel shares (panels that do not send ignore it).
    fn attach_library(&mut self, _shelf: library::Shelf) {}
}

/// What a panel remembers between runs: its settings, saved with the app's under the panel's
/// name in the app's list (`app::panels`).
pub trait Persist {
    type Settings: Clone
        + std::fmt::Debug
        + PartialEq
        + Default
        + serde::Serialize
        + serde::de::DeserializeOwned;
    /// The panel as a run begins, with what was saved.
    fn from_settings(settings: Self::Settings) -> Self;
    /// What to save now.
    fn settings(&self) -> Self::Settings;
}

/// Panels that remember what they hold in a public `settings` field, built by `new(settings)`.
macro_rules! persist_settings {
    ($($panel:ty => $settings:ty,)*) => {
        $(impl Persist for $panel {
            type Settings = $settings;
            fn from_settings(settings: $settings) -> Self {
                <$panel>::new(settings)
            }
            fn settings(&self) -> $settings {
                self.settings.clone()
            }
        })*
    };
}

persist_settings! {
    ClientPanel => ClientSettings,
    ServerPanel => ServerSettings,
    UdpPanel => UdpSettings,
    FileServerPanel => FileServerSettings,
    DownloadPanel => DownloadSettings,
    check_panel::CheckPanel => check_panel::CheckSettings,
}

pub use client_panel::{ClientPanel, ClientSettings};
pub use files_panel::{DownloadPanel, DownloadSettings, FileServerPanel, FileServerSettings};
pub use server_panel::{ServerPanel, ServerSettings};
pub use udp_panel::{UdpPanel, UdpSettings};
