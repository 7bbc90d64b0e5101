//! The TCP client panel: the lesson's client, step by step — type a server's address,
//! connect, send and receive, half-close, close — with every socket call on show.

use std::time::Duration;

use egui::{RichText, Ui};
use serde::{Deserialize, Serialize};

use super::composer::{Composer, ComposerAction, ComposerSettings, SendState};
use super::frame::{StartStop, start_stop_ui};
use super::log_view::{LogAction, LogView, LogViewSettings};
use super::plumbing::Link;
use super::trace_view::trace_ui;
use super::widgets::{history_button, labelled_text, remember};
use crate::i18n::{Lang, Msg};
use crate::model::describe::{describe_status, kernel_line};
use crate::model::{ClientModel, ClientStatus};
use crate::net::tcp_client::{
    ClientCommand, ClientConfig, ClientEvent, ClientHandle, spawn_client,
};
use crate::proto::addr::parse_port;

/// Recent hosts kept for the host field.
pub const HOST_HISTORY_MAX: usize = 10;

/// What the client panel remembers between runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClientSettings {
    pub host: String,
    pub port: String,
    pub host_history: Vec<String>,
    pub timeout_secs: f32,
    pub close_when_peer_closes: bool,
    pub show_trace: bool,
    /// The side panel shows the sequence diagram instead of the list of calls.
    pub trace_diagram: bool,
    pub composer: ComposerSettings,
    pub log: LogViewSettings,
    /// How received bytes are cut into messages in the log.
    pub framing: crate::proto::frame::Framing,
    /// The checksum each received message is checked for.
    pub rx_check: Option<crate::proto::checksum::ChecksumSpec>,
    /// Each received message is marked with the recv() calls that carried it.
    pub show_recvs: bool,
    /// The conversation script being edited (TOML, as `run SCRIPT` reads it).
    pub script: String,
}

impl Default for ClientSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: "7890".into(),
            host_history: Vec::new(),
            timeout_secs: 5.0,
            close_when_peer_closes: true,
            show_trace: true,
            trace_diagram: false,
            composer: ComposerSettings::default(),
            log: LogViewSettings::default(),
            framing: crate::proto::frame::Framing::Recv,
            rx_check: None,
            show_recvs: false,
            script: String::new(),
        }
    }
}

pub struct ClientPanel {
    pub settings: ClientSettings,
    pub model: ClientModel,
    handle: Option<ClientHandle>,
    /// The engines' events, their back-pressure count and the waker.
    link: Link<ClientEvent>,
    composer: Composer,
    log_view: LogView,
    /// A problem with the form itself (bad port, empty host), shown until fixed.
    form_error: Option<Msg>,
    /// The connection's diagram; the app refreshes it with the server panel's calls when
    /// that is the other end.
    pub diagram: super::live_diagram::Cached,
    /// The conversation: its script's file, its checks, whether it is shown.
    pub conversation: super::conversation::ConversationView,
    /// When the running conversation next needs a look.
    conversation_wake: Option<Duration>,
}

impl ClientPanel {
    pub fn new(settings: ClientSettings) -> Self {
        Self {
            settings,
            model: ClientModel::default(),
            handle: None,
            link: Link::default(),
            composer: Composer::default(),
            log_view: LogView::default(),
            form_error: None,
            diagram: Default::default(),
            conversation: Default::default(),
            conversation_wake: None,
        }
    }

    /// Applies every event that has arrived. Cheap when nothing has; runs every frame, and
    /// also while the window is hidden (eframe's `logic`), so the channel never piles up.
    pub fn drain_events(&mut self) {
        self.model.set_framing(&self.settings.framing);
        self.model.set_check(self.settings.rx_check);
        self.model.set_show_recvs(self.settings.show_recvs);
        self.link.drain(&mut self.model);
        self.poll_conversation();
        if !self.model.status.active() {
            self.handle = None;
        }
    }

    /// Moves a running conversation on: its sends go out now.
    fn poll_conversation(&mut self) {
        let Some(run) = &mut self.model.conversation else {
            return;
        };
        let (sends, wake) = run.poll(std::time::SystemTime::now());
        self.conversation_wake = wake;
        for bytes in sends {
            if let Some(handle) = &self.handle {
                handle.command(ClientCommand::Send(bytes));
            }
        }
    }

    /// What the conversation's buttons asked.
    fn conversation_asked(&mut self, lang: Lang, ask: super::conversation::ConversationAsk) {
        let framing = self.model.framing();
        let target = super::conversation::Target {
            script: &mut self.settings.script,
            run: &mut self.model.conversation,
            log: &self.model.log,
            framing,
            encoding: self.settings.composer.encoding,
            peer: format!("{}:{}", self.settings.host, self.settings.port),
            only: None,
            library: self
                .composer
                .shelf
                .as_ref()
                .map(|shelf| shelf.borrow().lib.clone()),
        };
        if self.conversation.handle(lang, ask, target) {
            self.poll_conversation();
        }
    }

    /// Starts connecting to what the form says. The form's errors are shown, not thrown.
    pub fn connect(&mut self, ctx: &egui::Context) {
        let host = self.settings.host.trim().to_owned();
        if host.is_empty() {
            self.form_error = Some(Msg::ErrEmptyHost);
            return;
        }
        let Some(port) = parse_port(&self.settings.port) else {
            self.form_error = Some(Msg::ErrInvalidPort);
            return;
        };
        self.form_error = None;
        remember(&mut self.settings.host_history, &host, HOST_HISTORY_MAX);
        let mut config = ClientConfig::new(host.clone(), port);
        config.connect_timeout =
            Duration::from_secs_f32(self.settings.timeout_secs.clamp(0.1, 600.0));
        config.close_when_peer_closes = self.settings.close_when_peer_closes;
        // A fresh count per session: what an old one left unapplied does not hold it back.
        config.unread = self.link.fresh_unread();
        config.unread_limit = Some(super::plumbing::UNREAD_LIMIT);
        let waker = self.link.waker(ctx);
        // A session still winding down keeps its threads until it ends; its events are ignored.
        self.handle = None;
        match spawn_client(config, self.link.sender(), waker) {
            Ok(handle) => {
                let target = if host.contains(':') {
                    format!("[{}]:{port}", crate::net::tcp_client::normalize_host(&host))
                } else {
                    format!("{host}:{port}")
                };
                self.model.begin(handle.session(), target);
                self.handle = Some(handle);
            }
            Err(e) => {
                self.model.last_warning = Some(crate::net::NetError::from_io(&e));
            }
        }
    }

    pub fn disconnect(&mut self) {
        if let Some(handle) = &self.handle {
            handle.command(ClientCommand::Disconnect);
            self.model.closing();
        }
    }

    fn command(&mut self, cmd: ClientCommand) {
        self.model.last_warning = None;
        if let Some(handle) = &self.handle {
            handle.command(cmd);
        }
    }

    /// Waits up to `timeout` for one engine event and applies it (plus any others already
    /// queued). For the command line and tests, which have no frames to wait for; the window
    /// never calls it. Returns false if nothing arrived in time.
    pub fn wait_event(&mut self, timeout: Duration) -> bool {
        let got = self.link.wait(&mut self.model, timeout);
        self.drain_events();
        got
    }

    /// One line for the status bar.
    pub fn status_line(&self, lang: Lang) -> String {
        describe_status(lang, &self.model.status)
    }

    /// Draws the panel on the shared frame (settings, status, log with the socket calls,
    /// composer); `classroom` picks the projector's layout.
    pub fn ui(&mut self, ui: &mut Ui, lang: Lang, classroom: bool) {
        if self.link.behind {
            ui.ctx().request_repaint();
        }
        self.drain_events();
        if let Some(due) = self.model.tick_frames(std::time::SystemTime::now()) {
            ui.ctx().request_repaint_after(due);
        }
        if let Some(wake) = self.conversation_wake {
            ui.ctx().request_repaint_after(wake);
        }
        super::frame::show(ui, lang, classroom, self);
    }

    fn can_send(&self) -> bool {
        matches!(
            self.model.status,
            ClientStatus::Connected {
                write_shut: false,
                ..
            }
        )
    }

    /// Disconnect and the half-close: on the settings line and on the folded line.
    fn connection_actions_ui(&mut self, ui: &mut Ui, lang: Lang) {
        let running = self.model.status.active();
        match start_stop_ui(ui, running, lang.t(Msg::Connect), lang.t(Msg::Disconnect)) {
            Some(StartStop::Start) => self.connect(ui.ctx()),
            Some(StartStop::Stop) => self.disconnect(),
            None => {}
        }
        if ui
            .add_enabled(
                self.can_send(),
                egui::Button::new(lang.t(Msg::ShutdownSend)),
            )
            .on_hover_text(lang.t(Msg::ShutdownSendHint))
            .clicked()
        {
            self.command(ClientCommand::ShutdownWrite);
        }
    }

    fn connection_ui(&mut self, ui: &mut Ui, lang: Lang) {
        let active = self.model.status.active();
        ui.horizontal_wrapped(|ui| {
            ui.add_enabled_ui(!active, |ui| {
                let host = labelled_text(ui, lang.t(Msg::Host), &mut self.settings.host, 200.0)
                    .on_hover_text(lang.t(Msg::HostHint));
                history_button(
                    ui,
                    lang,
                    &self.settings.host_history,
                    &mut self.settings.host,
                );
                let port = labelled_text(ui, lang.t(Msg::Port), &mut self.settings.port, 60.0);
                let timeout_label = ui.label(lang.t(Msg::Timeout)).id;
                ui.add(
                    egui::DragValue::new(&mut self.settings.timeout_secs)
                        .range(0.1..=600.0)
                        .speed(0.1)
                        .suffix(" s"),
                )
                .labelled_by(timeout_label);
                let enter = (host.lost_focus() || port.lost_focus())
                    && ui.input(|i| i.key_pressed(egui::Key::Enter));
                if enter && !active {
                    self.connect(ui.ctx());
                }
            });
            self.connection_actions_ui(ui, lang);
            ui.checkbox(
                &mut self.settings.close_when_peer_closes,
                lang.t(Msg::CloseWhenPeerCloses),
            )
            .on_hover_text(lang.t(Msg::CloseWhenPeerClosesHint));
            ui.checkbox(&mut self.settings.show_trace, lang.t(Msg::ShowSocketCalls));
        });
    }

    fn status_view(&self, ui: &Ui, lang: Lang) -> (egui::Color32, String) {
        let color = match &self.model.status {
            ClientStatus::Connected { .. } => egui::Color32::from_rgb(40, 170, 70),
            ClientStatus::Connecting { .. } | ClientStatus::Closing => ui.visuals().warn_fg_color,
            ClientStatus::Closed(crate::net::tcp_client::CloseReason::Failed(_)) => {
                ui.visuals().error_fg_color
            }
            _ => ui.visuals().weak_text_color(),
        };
        (color, describe_status(lang, &self.model.status))
    }
}

impl super::frame::Framed for ClientPanel {
    fn frame_id(&self) -> &'static str {
        "client"
    }

    fn active(&self) -> bool {
        self.model.status.active()
    }

    fn settings_ui(&mut self, ui: &mut Ui, lang: Lang) {
        self.connection_ui(ui, lang);
    }

    fn status(&self, ui: &Ui, lang: Lang) -> (egui::Color32, String) {
        self.status_view(ui, lang)
    }

    fn summary(&self, _lang: Lang) -> Option<String> {
        None
    }

    fn actions_ui(&mut self, ui: &mut Ui, lang: Lang) {
        self.connection_actions_ui(ui, lang);
    }

    /// The conversation, when open, takes the table's place above (or beside) the log.
    fn table_rows(&self, _classroom: bool) -> Option<usize> {
        self.conversation.open.then_some(10)
    }

    fn table_ui(&mut self, ui: &mut Ui, lang: Lang, _compact: bool) {
        let can_run = self.can_send();
        if let Some(ask) = self.conversation.table_ui(
            ui,
            lang,
            &mut self.settings.script,
            self.model.conversation.as_ref(),
            can_run,
        ) {
            self.conversation_asked(lang, ask);
        }
    }

    fn table_share(&self) -> f32 {
        0.5
    }

    fn details_ui(&mut self, ui: &mut Ui, lang: Lang, classroom: bool) {
        super::widgets::receive_rules_ui(
            ui,
            lang,
            "client",
            (
                &mut self.settings.framing,
                &mut self.settings.rx_check,
                &mut self.settings.show_recvs,
            ),
            self.model.frame_stats(),
            self.model.round_trips(),
        );
        if let Some(line) = kernel_line(lang, &self.model) {
            // One line in classroom mode (the whole of it on hover).
            let label = egui::Label::new(RichText::new(&line).monospace());
            let label = if classroom { label.truncate() } else { label };
            ui.add(label)
                .on_hover_text(format!("{line}\n{}", lang.t(Msg::KernelHint)));
        }
        if !classroom {
            egui::CollapsingHeader::new(lang.t(Msg::PlotThroughput))
                .id_salt("client_throughput")
                .show(ui, |ui| {
                    super::plot::throughput_ui(ui, lang, "client", &self.model.throughput);
                });
        }
        if let Some(err) = self.form_error {
            ui.colored_label(ui.visuals().error_fg_color, lang.t(err));
        }
        if let Some(err) = &self.model.last_warning {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                crate::i18n::describe_error(lang, err),
            );
        }
    }

    fn log_shown(&self) -> bool {
        true
    }

    fn log_ui(&mut self, ui: &mut Ui, lang: Lang, compact: bool) {
        self.log_view.compact = compact;
        let capturing = self.model.capture.clone();
        if let Some(LogAction::Capture(path)) = self.log_view.ui(
            ui,
            lang,
            &mut self.settings.log,
            &mut self.model.log,
            capturing.as_ref(),
        ) {
            if self.handle.is_some() {
                self.command(ClientCommand::Capture(path));
            } else {
                self.model.last_warning = Some(crate::net::NetError::new(
                    crate::net::NetErrorKind::Other,
                    lang.t(Msg::CaptureNeedsConnection),
                ));
            }
        }
    }

    fn side_shown(&self) -> bool {
        self.settings.show_trace
    }

    fn side_ui(&mut self, ui: &mut Ui, lang: Lang) {
        super::live_diagram::switch_ui(ui, lang, &mut self.settings.trace_diagram);
        if self.settings.trace_diagram {
            if !self.diagram.take_fresh() {
                self.diagram.refresh_client(&self.model.trace, None);
            }
            if let Some(d) = self.diagram.current() {
                super::diagram_view::diagram_ui(ui, d, lang, true, false);
            }
        } else {
            trace_ui(ui, lang, &mut self.model.trace, self.settings.log.follow);
        }
    }

    fn composer_shown(&self) -> bool {
        true
    }

    fn composer_ui(&mut self, ui: &mut Ui, lang: Lang, more: &mut bool) {
        let state = SendState {
            can_send: self.can_send(),
            repeating: self.model.sending.repeating,
            file: self.model.sending.file_in_progress(),
        };
        let open = &mut self.conversation.open;
        let action = self.composer.ui(
            ui,
            lang,
            &mut self.settings.composer,
            state,
            more,
            &mut |ui, compact| {
                if !compact {
                    ui.strong(lang.t(Msg::SendHeading));
                }
                // On the one line the room is the message's: the conversation is behind More.
                if !compact {
                    ui.toggle_value(open, lang.t(Msg::ConversationMenu))
                        .on_hover_text(lang.t(Msg::ConversationHint));
                }
            },
        );

        if let Some(action) = action {
            let cmd = match action {
                ComposerAction::Send(bytes) => ClientCommand::Send(bytes),
                ComposerAction::Repeat {
                    bytes,
                    interval,
                    count,
                } => ClientCommand::Repeat {
                    bytes,
                    interval,
                    count,
                },
                ComposerAction::StopRepeat => ClientCommand::StopRepeat,
                ComposerAction::SendFile(path) => ClientCommand::SendFile(path),
                ComposerAction::CancelFile => ClientCommand::CancelFile,
            };
            self.command(cmd);
        }
    }
}

impl super::Panel for ClientPanel {
    fn attach_library(&mut self, shelf: super::library::Shelf) {
        self.conversation.shelf = Some(shelf.clone());
        self.composer.shelf = Some(shelf);
    }

    fn ui(&mut self, ui: &mut Ui, lang: Lang, classroom: bool) {
        ClientPanel::ui(self, ui, lang, classroom)
    }

    fn status_line(&self, lang: Lang) -> String {
        ClientPanel::status_line(self, lang)
    }

    fn drain_events(&mut self) {
        ClientPanel::drain_events(self)
    }
}
