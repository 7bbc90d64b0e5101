//! The eframe application: the top bar (panels, language, theme, zoom), the status bar, and
//! the wiring of panels to engines. Persisted settings live in [`Settings`]; live handles live
//! in the panels and are never serialized.

use egui::{RichText, Ui};
use serde::{Deserialize, Serialize};

use crate::i18n::{Lang, Msg};

mod panels;
pub use panels::{Panels, Settings, Tab};

/// Key under which settings are stored by eframe.
pub const STORAGE_KEY: &str = "socket-workbench-settings";

pub const MIN_ZOOM: f32 = 0.5;
pub const MAX_ZOOM: f32 = 3.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ThemeChoice {
    #[default]
    Light,
    Dark,
}

impl Settings {
    /// The settings of a first run (nothing saved yet), in `lang` (the system's, see
    /// [`Lang::from_locale`], unless `--lang` says otherwise): in Chinese the text encoding
    /// is GBK, the lesson's. Saved settings win on every later run.
    pub fn first_run(lang: Lang) -> Self {
        let mut settings = Self {
            lang,
            ..Self::default()
        };
        if lang == Lang::Zh {
            settings.set_encoding(crate::proto::TextEncoding::Gbk);
        }
        settings
    }

    /// One text encoding for sending and showing, in every panel that has one.
    pub fn set_encoding(&mut self, enc: crate::proto::TextEncoding) {
        self.client.composer.encoding = enc;
        self.client.log.encoding = enc;
        self.server.composer.encoding = enc;
        self.server.log.encoding = enc;
        self.udp.composer.encoding = enc;
        self.udp.log.encoding = enc;
        self.check.encoding = enc;
    }
}

/// What the command line asks of the window at start-up.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// `--lang`: wins over the remembered language.
    pub lang: Option<Lang>,
    /// `--connect HOST:PORT`: open on the client panel and connect.
    pub connect: Option<(String, u16)>,
    /// `--encoding`: text encoding for sending and display.
    pub encoding: Option<crate::proto::TextEncoding>,
    /// `--listen ADDR:PORT`: open on the server panel, already listening.
    pub listen: Option<std::net::SocketAddr>,
    /// `--udp ADDR:PORT`: open on the UDP panel, bound there.
    pub udp: Option<std::net::SocketAddr>,
    /// `--to HOST:PORT`: the UDP panel's target.
    pub udp_to: Option<String>,
    /// `--serve DIR`: open on the file server panel, sharing DIR (on `--listen`'s address).
    pub serve: Option<std::path::PathBuf>,
    /// `--tab`: the panel to show first (wins over the panel the other flags open).
    pub tab: Option<Tab>,
    /// `--lesson SCENARIO`: open on the Lesson panel, running it.
    pub lesson: Option<crate::net::scenario::LessonScenario>,
    /// `--lab SCENARIO`: open on the Lab panel, running it.
    pub lab: Option<crate::lab::scenario::Scenario>,
    /// `--check` / `--load HOST:PORT`: open on the Check panel, running that.
    pub check: Option<(crate::model::check::Mode, String)>,
    /// `--clients`: the Check panel's client count for that run.
    pub clients: Option<u32>,
    /// `--frame RULE`: the client, server and UDP panels' framing.
    pub frame: Option<crate::proto::frame::Framing>,
    /// `--payloads FILE`: groups to put in the library.
    pub payloads: Option<crate::proto::library::Library>,
    /// `--script FILE`: the conversation script of the client and UDP panels, shown.
    pub script: Option<String>,
    /// `--classroom`: open in classroom mode (full screen, large text).
    pub classroom: bool,
    /// `--download HOST:PORT [--file NAME]...`: open on the Download panel with that
    /// server, downloading those files.
    pub download: Option<(String, Vec<String>)>,
}

pub struct WorkbenchApp {
    pub lang: Lang,
    pub theme: ThemeChoice,
    pub zoom: f32,
    pub tab: Tab,
    /// Every panel (see `panels.rs`, the one list of them).
    pub panels: Panels,
    /// The payload library the sending panels share.
    pub shelf: crate::ui::library::Shelf,
    pub classroom: bool,
    /// What was last applied to the context: theme, effective zoom, language, classroom.
    applied: Option<(ThemeChoice, f32, Lang, bool)>,
    /// Frames left in which to check that the window fits its screen (the monitor's size
    /// arrives with the first frames).
    fit_window: u8,
}

/// Zoom in classroom mode (at least): readable from the back of a room.
pub const CLASSROOM_ZOOM: f32 = 1.75;

impl WorkbenchApp {
    /// Restores settings, installs the bundled font and carries out the start-up flags.
    pub fn new(cc: &eframe::CreationContext<'_>, start: StartOptions) -> Self {
        crate::fonts::install(&cc.egui_ctx);
        let settings: Settings = cc
            .storage
            .and_then(|s| eframe::get_value(s, STORAGE_KEY))
            .unwrap_or_else(|| {
                // First run: `--lang` if given, else the system's language.
                let system = || Lang::from_locale(sys_locale::get_locale().as_deref());
                Settings::first_run(start.lang.unwrap_or_else(system))
            });
        Self::start(&cc.egui_ctx, settings, start)
    }

    /// Applies start-up flags on top of remembered settings.
    pub fn start(ctx: &egui::Context, mut settings: Settings, start: StartOptions) -> Self {
        if let Some(lang) = start.lang {
            settings.lang = lang;
        }
        if start.classroom {
            settings.classroom = true;
        }
        if let Some(enc) = start.encoding {
            settings.set_encoding(enc);
        }
        if let Some(framing) = &start.frame {
            settings.client.framing = framing.clone();
            settings.server.framing = framing.clone();
            settings.udp.framing = framing.clone();
        }
        if let Some(script) = &start.script {
            settings.client.script = script.clone();
            settings.udp.script = script.clone();
        }
        let serve = start.serve.is_some();
        if let Some(dir) = &start.serve {
            settings.files.folder = dir.display().to_string();
            if let Some(addr) = start.listen {
                settings.files.bind_ip = addr.ip().to_string();
                settings.files.port = addr.port().to_string();
            }
        }
        let listen = start.listen.is_some() && !serve;
        if let Some(addr) = start.listen.filter(|_| !serve) {
            settings.tab = Tab::TcpServer;
            settings.server.bind_ip = addr.ip().to_string();
            settings.server.port = addr.port().to_string();
        }
        let connect = start.connect.is_some();
        if let Some((host, port)) = start.connect {
            settings.tab = Tab::TcpClient;
            settings.client.host = host;
            settings.client.port = port.to_string();
        }
        let udp = start.udp.is_some();
        if let Some(addr) = start.udp {
            settings.tab = Tab::Udp;
            settings.udp.bind_ip = addr.ip().to_string();
            settings.udp.port = addr.port().to_string();
        }
        if let Some(to) = start.udp_to {
            settings.udp.target = to;
        }
        let check = start.check.is_some();
        if let Some((mode, target)) = start.check {
            let c = &mut settings.check;
            c.mode = mode;
            c.target = target;
            if let Some(n) = start.clients {
                match mode {
                    crate::model::check::Mode::Load => c.load_clients = n,
                    _ => c.clients = n.min(1000),
                }
            }
        }
        let mut app = Self::with_settings(settings);
        if let Some(lib) = start.payloads {
            app.shelf.borrow_mut().merge(lib);
        }
        if start.script.is_some() {
            app.panels.client.conversation.open = true;
            app.panels.udp.conversation.open = true;
        }
        if udp {
            app.panels.udp.bind(ctx);
        }
        if serve {
            app.panels.files.start(ctx);
            app.tab = Tab::FileServer;
        }
        if connect {
            app.panels.client.connect(ctx);
            app.tab = Tab::TcpClient;
        }
        if listen {
            app.panels.server.start(ctx);
            if !connect {
                app.tab = Tab::TcpServer;
            }
        }
        if let Some((server, files)) = start.download {
            app.panels.download.settings.server = server;
            for name in files {
                app.panels.download.settings.name = name;
                app.panels.download.start(ctx, None);
            }
            app.tab = Tab::Download;
        }
        if let Some(scenario) = start.lesson {
            app.panels.lesson.run(ctx, scenario);
            app.tab = Tab::Lesson;
        }
        if let Some(scenario) = start.lab {
            app.panels.lab.run(scenario);
            app.tab = Tab::Lab;
        }
        if check {
            app.panels.check.start(ctx, app.lang);
            app.tab = Tab::Check;
        }
        // Last, so it wins over the panel the other flags open, as `--help` says.
        if let Some(tab) = start.tab {
            app.tab = tab;
        }
        app
    }

    pub fn with_settings(settings: Settings) -> Self {
        let shelf =
            crate::ui::library::Book::shared(settings.library.clone(), settings.library_group);
        let mut panels = Panels::new(&settings);
        for &tab in Tab::ALL {
            panels.get_mut(tab).attach_library(shelf.clone());
        }
        Self {
            lang: settings.lang,
            theme: settings.theme,
            zoom: settings.zoom.clamp(MIN_ZOOM, MAX_ZOOM),
            tab: settings.tab,
            panels,
            shelf,
            classroom: settings.classroom,
            applied: None,
            fit_window: 10,
        }
    }

    pub fn settings(&self) -> Settings {
        let mut settings = Settings {
            lang: self.lang,
            theme: self.theme,
            classroom: self.classroom,
            zoom: self.zoom,
            tab: self.tab,
            library: self.shelf.borrow().lib.clone(),
            library_group: self.shelf.borrow().group,
            ..Settings::default()
        };
        settings.take_from(&self.panels);
        settings
    }

    /// Work that must happen even while the window is hidden: applying engine events.
    pub fn drain_events(&mut self) {
        for &tab in Tab::ALL {
            self.panels.get_mut(tab).drain_events();
        }
    }

    fn effective_zoom(&self) -> f32 {
        if self.classroom {
            self.zoom.max(CLASSROOM_ZOOM)
        } else {
            self.zoom
        }
    }

    /// Applies theme, zoom, language and classroom mode when they change; true when the
    /// zoom changed (it takes effect at the next frame).
    fn apply_look(&mut self, ctx: &egui::Context) -> bool {
        // Ctrl+plus/minus change egui's zoom directly; keep our copy in step with it.
        let now = ctx.zoom_factor();
        if self
            .applied
            .is_some_and(|(_, z, _, _)| (z - now).abs() > f32::EPSILON)
        {
            self.zoom = now.clamp(MIN_ZOOM, MAX_ZOOM);
        }
        let wanted = (self.theme, self.effective_zoom(), self.lang, self.classroom);
        if self.applied == Some(wanted) {
            return false;
        }
        let zoom_changes = (ctx.zoom_factor() - self.effective_zoom()).abs() > f32::EPSILON;
        let theme = match self.theme {
            ThemeChoice::Light => egui::Theme::Light,
            ThemeChoice::Dark => egui::Theme::Dark,
        };
        ctx.set_theme(theme);
        // Classroom mode: pure black or white text, for a washed-out projector.
        let classroom = self.classroom;
        ctx.style_mut_of(theme, |style| {
            style.visuals.override_text_color = classroom.then_some(match theme {
                egui::Theme::Light => egui::Color32::BLACK,
                egui::Theme::Dark => egui::Color32::WHITE,
            });
        });
        if self.applied.is_some_and(|(_, _, _, c)| c != classroom)
            || (classroom && self.applied.is_none())
        {
            ctx.send_viewport_cmd(egui::ViewportCommand::Fullscreen(classroom));
        }
        ctx.set_zoom_factor(self.effective_zoom());
        let title = match self.lang {
            Lang::En => "Socket Workbench".to_owned(),
            Lang::Zh => format!("Socket Workbench — {}", self.lang.t(Msg::AppTitle)),
        };
        ctx.send_viewport_cmd(egui::ViewportCommand::Title(title));
        self.applied = Some(wanted);
        zoom_changes
    }

    /// A window larger than its screen (the default size on a 1024×768 projector, or a size
    /// remembered from a larger screen) is shrunk to fit and centred, once, at start-up.
    fn fit_to_screen(&mut self, ctx: &egui::Context) {
        if self.fit_window == 0 {
            return;
        }
        self.fit_window -= 1;
        let (monitor, inner) = ctx.input(|i| {
            let v = i.viewport();
            (v.monitor_size, v.inner_rect)
        });
        let (Some(monitor), Some(inner)) = (monitor, inner) else {
            return;
        };
        self.fit_window = 0;
        if self.classroom {
            // Full screen was asked for; where the window manager does not do it (or there
            // is none), the window still covers the screen.
            ctx.send_viewport_cmd(egui::ViewportCommand::OuterPosition(egui::Pos2::ZERO));
            ctx.send_viewport_cmd(egui::ViewportCommand::InnerSize(monitor));
        } else if let Some(size) = fitted_size(inner.size(), monitor) {
            ctx.send_viewport_cmd(egui::ViewportCommand::InnerSize(size));
            let at = ((monitor - size) * 0.5).max(egui::Vec2::ZERO);
            ctx.send_viewport_cmd(egui::ViewportCommand::OuterPosition(at.to_pos2()));
        }
    }

    /// The whole window's contents.
    pub fn ui(&mut self, ui: &mut Ui) {
        // Escape leaves classroom mode (its toggle sits behind the View menu there), unless
        // a menu or popup is open for Escape to close.
        if self.classroom
            && !egui::Popup::is_any_open(ui.ctx())
            && ui.input(|i| i.key_pressed(egui::Key::Escape))
        {
            self.classroom = false;
        }
        self.fit_to_screen(ui.ctx());
        if self.apply_look(ui.ctx()) {
            // The zoom changes at the next frame: panels laid out now would remember sizes
            // made for the old one. One empty frame instead.
            ui.ctx().request_repaint();
            return;
        }
        self.drain_events();
        let lang = self.lang;
        egui::Panel::top("top_bar").show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                // One line at 1024 in either language: no title (the window has it); theme
                // and zoom behind View, and in classroom mode everything but the tabs.
                if self.classroom {
                    // Tighter, so the tabs and the View menu stay one line on a 1024-wide
                    // projector in either language.
                    ui.spacing_mut().button_padding.x = 3.0;
                    ui.spacing_mut().item_spacing.x = 3.0;
                }
                for &tab in Tab::ALL {
                    ui.selectable_value(
                        &mut self.tab,
                        tab,
                        RichText::new(lang.t(tab.title())).strong(),
                    );
                }
                ui.separator();
                if self.classroom {
                    ui.menu_button(RichText::new(lang.t(Msg::ViewMenu)).strong(), |ui| {
                        ui.horizontal_wrapped(|ui| {
                            self.language_ui(ui);
                            self.classroom_ui(ui);
                            self.look_ui(ui);
                        });
                    });
                } else {
                    self.language_ui(ui);
                    self.classroom_ui(ui);
                    ui.menu_button(lang.t(Msg::ViewMenu), |ui| {
                        ui.horizontal_wrapped(|ui| self.look_ui(ui));
                    });
                }
            });
        });
        // Every panel shows its status itself on its frame; in classroom mode the status
        // bar's line is room the class's content needs.
        let status_bar = !self.classroom || !self.panels.get(self.tab).shows_status();
        if status_bar {
            let status = self.panels.get(self.tab).status_line(lang);
            egui::Panel::bottom("status_bar").show(ui, |ui| {
                ui.horizontal(|ui| {
                    ui.add(egui::Label::new(status).truncate());
                    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                        ui.weak(format!("v{}", env!("CARGO_PKG_VERSION")));
                    });
                });
            });
        }
        self.link_diagrams();
        let (tab, classroom) = (self.tab, self.classroom);
        egui::CentralPanel::default().show(ui, |ui| {
            self.panels.get_mut(tab).ui(ui, lang, classroom);
        });
    }

    /// When the client panel is connected to this program's own server panel, each panel's
    /// diagram gets the other's calls for that connection: both lanes fully known. Cheap when
    /// nothing changed: the diagrams are rebuilt only when a trace grows.
    fn link_diagrams(&mut self) {
        if self.tab == Tab::TcpClient
            && self.panels.client.settings.show_trace
            && self.panels.client.settings.trace_diagram
        {
            self.panels.client.diagram.refresh_client(
                &self.panels.client.model.trace,
                Some(&self.panels.server.model),
            );
        }
        if self.tab == Tab::TcpServer
            && self.panels.server.settings.show_trace
            && self.panels.server.settings.trace_diagram
            && let Some(id) = self.panels.server.diagram_client()
        {
            self.panels.server.diagram.refresh_server(
                &self.panels.server.model,
                id,
                Some(&self.panels.client.model.trace),
            );
        }
    }

    fn language_ui(&mut self, ui: &mut Ui) {
        let lang = self.lang;
        let lang_label = ui.label(lang.t(Msg::Language)).id;
        egui::ComboBox::from_id_salt("language")
            .selected_text(self.lang.native_name())
            .show_ui(ui, |ui| {
                for l in Lang::ALL {
                    ui.selectable_value(&mut self.lang, l, l.native_name());
                }
            })
            .response
            .labelled_by(lang_label);
    }

    fn classroom_ui(&mut self, ui: &mut Ui) {
        let lang = self.lang;
        ui.toggle_value(&mut self.classroom, lang.t(Msg::ClassroomMode))
            .on_hover_text(lang.t(Msg::ClassroomModeHint));
    }

    /// Theme and zoom: behind the View menu in either mode.
    fn look_ui(&mut self, ui: &mut Ui) {
        let lang = self.lang;
        let theme_label = ui.label(lang.t(Msg::Theme)).id;
        egui::ComboBox::from_id_salt("theme")
            .selected_text(match self.theme {
                ThemeChoice::Light => lang.t(Msg::ThemeLight),
                ThemeChoice::Dark => lang.t(Msg::ThemeDark),
            })
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut self.theme, ThemeChoice::Light, lang.t(Msg::ThemeLight));
                ui.selectable_value(&mut self.theme, ThemeChoice::Dark, lang.t(Msg::ThemeDark));
            })
            .response
            .labelled_by(theme_label);
        ui.label(lang.t(Msg::Zoom));
        if ui.button("−").on_hover_text(lang.t(Msg::ZoomOut)).clicked() {
            self.zoom = (self.zoom - 0.1).max(MIN_ZOOM);
        }
        if ui
            .button(format!("{:.0}%", self.zoom * 100.0))
            .on_hover_text(lang.t(Msg::ZoomReset))
            .clicked()
        {
            self.zoom = 1.0;
        }
        if ui.button("+").on_hover_text(lang.t(Msg::ZoomIn)).clicked() {
            self.zoom = (self.zoom + 0.1).min(MAX_ZOOM);
        }
    }
}

/// The size a window of `inner` should take on a screen of `monitor` (both in points), or
/// None when it fits already: room is left for a taskbar and the title bar.
pub fn fitted_size(inner: egui::Vec2, monitor: egui::Vec2) -> Option<egui::Vec2> {
    let room = egui::vec2(monitor.x * 0.96, (monitor.y - 72.0).max(monitor.y * 0.85));
    if inner.x <= room.x + 0.5 && inner.y <= room.y + 0.5 {
        return None;
    }
    Some(inner.min(room))
}

impl eframe::App for WorkbenchApp {
    fn logic(&mut self, _ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.drain_events();
    }

    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        WorkbenchApp::ui(self, ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, STORAGE_KEY, &self.settings());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::ClientSettings;
    use eframe::Storage;
    use std::collections::HashMap;

    #[derive(Default)]
    struct MemoryStorage(HashMap<String, String>);

    impl eframe::Storage for MemoryStorage {
        fn get_string(&self, key: &str) -> Option<String> {
            self.0.get(key).cloned()
        }
        fn set_string(&mut self, key: &str, value: String) {
            self.0.insert(key.to_owned(), value);
        }
        fn remove_string(&mut self, key: &str) {
            self.0.remove(key);
        }
        fn flush(&mut self) {}
    }

    #[test]
    fn settings_survive_a_restart() {
        let mut settings = Settings {
            lang: Lang::Zh,
            theme: ThemeChoice::Dark,
            zoom: 1.5,
            ..Settings::default()
        };
        settings.client.host = "::1".into();
        settings.client.port = "7890".into();
        settings.client.host_history = vec!["::1".into(), "localhost".into()];
        settings.client.composer.encoding = crate::proto::TextEncoding::Gbk;
        settings.client.composer.text = "你好".into();
        settings.client.log.mode = crate::ui::log_view::ViewMode::Hex;
        let mut storage = MemoryStorage::default();
        eframe::set_value(&mut storage, STORAGE_KEY, &settings);
        let restored: Settings = eframe::get_value(&storage, STORAGE_KEY).unwrap();
        assert_eq!(restored, settings);
    }

    #[test]
    fn settings_from_an_older_version_fill_in_defaults() {
        let mut storage = MemoryStorage::default();
        storage.set_string(STORAGE_KEY, "(lang: Zh)".into());
        let restored: Settings = eframe::get_value(&storage, STORAGE_KEY).unwrap();
        assert_eq!(restored.lang, Lang::Zh);
    }

    #[test]
    fn first_run_follows_the_locale() {
        use crate::proto::TextEncoding;
        for locale in ["zh-CN", "zh_CN.UTF-8", "zh-Hans-CN", "zh-TW", "ZH"] {
            assert_eq!(Lang::from_locale(Some(locale)), Lang::Zh, "{locale}");
        }
        for locale in [
            Some("en-US"),
            Some("de_DE.UTF-8"),
            Some("C"),
            Some(""),
            None,
        ] {
            assert_eq!(Lang::from_locale(locale), Lang::En, "{locale:?}");
        }
        let s = Settings::first_run(Lang::Zh);
        assert_eq!(s.lang, Lang::Zh);
        assert_eq!(s.client.composer.encoding, TextEncoding::Gbk);
        assert_eq!(s.client.log.encoding, TextEncoding::Gbk);
        assert_eq!(s.server.composer.encoding, TextEncoding::Gbk);
        assert_eq!(s.server.log.encoding, TextEncoding::Gbk);
        assert_eq!(s.udp.composer.encoding, TextEncoding::Gbk);
        assert_eq!(s.udp.log.encoding, TextEncoding::Gbk);
        assert_eq!(Settings::first_run(Lang::En), Settings::default());
    }

    /// `--tab` wins over the panel `--connect`, `--listen`, `--udp` and `--serve` open (it
    /// lost to `--connect` and `--listen`, which were applied after it).
    #[test]
    fn the_tab_flag_wins() {
        let ctx = egui::Context::default();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        for tab in [Tab::Lesson, Tab::Udp, Tab::Download] {
            let start = StartOptions {
                connect: Some(("127.0.0.1".into(), port)),
                listen: Some("127.0.0.1:0".parse().unwrap()),
                tab: Some(tab),
                ..StartOptions::default()
            };
            let mut app = WorkbenchApp::start(&ctx, Settings::default(), start);
            assert_eq!(app.tab, tab);
            app.panels.client.disconnect();
            app.panels.server.stop();
        }
    }

    #[test]
    fn a_window_larger_than_its_screen_is_fitted() {
        let monitor = egui::vec2(1024.0, 768.0);
        // The default window on a 1024×768 projector: narrowed and shortened, with room for
        // a taskbar and a title bar.
        let fitted = fitted_size(egui::vec2(1240.0, 800.0), monitor).unwrap();
        assert!(fitted.x <= 1024.0 && fitted.y <= 768.0 - 72.0, "{fitted:?}");
        assert!(fitted.x >= 960.0 && fitted.y >= 650.0, "{fitted:?}");
        // One that fits is left as it is.
        assert_eq!(fitted_size(egui::vec2(900.0, 600.0), monitor), None);
        // Too wide only: only the width changes.
        let wide = fitted_size(egui::vec2(1400.0, 500.0), monitor).unwrap();
        assert_eq!(wide.y, 500.0);
    }

    /// `--classroom`, `--lesson` and `--download` open what they say.
    #[test]
    fn start_flags_open_classroom_the_lesson_and_downloads() {
        let ctx = egui::Context::default();
        let start = StartOptions {
            classroom: true,
            lesson: Some(crate::net::scenario::LessonScenario::Handshake),
            ..StartOptions::default()
        };
        let app = WorkbenchApp::start(&ctx, Settings::default(), start);
        assert!(app.classroom);
        assert_eq!(app.tab, Tab::Lesson);
        assert!(app.panels.lesson.running());

        // A download from a server that is not there: the row is made, and fails in words.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = closed.local_addr().unwrap();
        drop(closed);
        let start = StartOptions {
            download: Some((addr.to_string(), vec!["a.txt".into(), "b.txt".into()])),
            ..StartOptions::default()
        };
        let app = WorkbenchApp::start(&ctx, Settings::default(), start);
        assert_eq!(app.tab, Tab::Download);
        assert_eq!(app.panels.download.settings.server, addr.to_string());
        assert_eq!(app.panels.download.model.rows.len(), 2);
        assert!(!app.classroom, "classroom mode is not forced on");
    }

    #[test]
    fn partial_settings_still_restore() {
        let mut storage = MemoryStorage::default();
        storage.set_string(STORAGE_KEY, "(lang: Zh)".into());
        let restored: Settings = eframe::get_value(&storage, STORAGE_KEY).unwrap();
        assert_eq!(restored.lang, Lang::Zh);
        assert_eq!(restored.client, ClientSettings::default());
    }
}
