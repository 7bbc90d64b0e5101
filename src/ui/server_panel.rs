//! The TCP server panel: exercise 1 at classroom scale. Start a listener, watch students'
//! clients arrive in the table, talk to one, some or all of them, and disconnect them
//! gracefully (FIN) or abortively (RST).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use egui::{RichText, Ui};
use serde::{Deserialize, Serialize};

use super::composer::{Composer, ComposerAction, ComposerSettings, SendState};
use super::log_view::{LogView, LogViewSettings, format_time, peer_color};
use super::plumbing::Link;
use super::trace_view::trace_ui;
use super::widgets::{bind_choice_ui, human_bytes, labelled_text};
use crate::i18n::{Lang, Msg, describe_client_end, describe_error};
use crate::model::{ClientState, ServerModel, ServerStatus};
use crate::net::tcp_server::{
    AutoReply, KickHow, Matcher, ReplyRule, ServerCommand, ServerConfig, ServerEvent, ServerHandle,
    Target, spawn_server,
};
use crate::net::{NetError, ifaces};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum ReplyMode {
    #[default]
    Off,
    Echo,
    Fixed,
    Rules,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum RuleKind {
    #[default]
    Contains,
    Regex,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct RuleSettings {
    pub kind: RuleKind,
    pub pattern: String,
    pub reply: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum SendTarget {
    #[default]
    Selected,
    All,
}

/// What the server panel remembers between runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerSettings {
    pub bind_ip: String,
    pub port: String,
    pub backlog: i32,
    pub limit_clients: bool,
    pub max_clients: usize,
    pub reply_mode: ReplyMode,
    pub reply_text: String,
    pub rules: Vec<RuleSettings>,
    pub target: SendTarget,
    pub hide_closed: bool,
    pub log_only_selected: bool,
    pub show_trace: bool,
    /// The side panel shows the selected client's sequence diagram instead of the calls.
    pub trace_diagram: bool,
    pub composer: ComposerSettings,
    pub log: LogViewSettings,
    /// How each client's bytes are cut into messages in the log.
    pub framing: crate::proto::frame::Framing,
    /// The checksum each received message is checked for.
    pub rx_check: Option<crate::proto::checksum::ChecksumSpec>,
    /// Each received message is marked with the recv() calls that carried it.
    pub show_recvs: bool,
    /// The conversation script run with the selected clients.
    pub script: String,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            bind_ip: "0.0.0.0".into(),
            port: "7890".into(),
            backlog: 128,
            limit_clients: false,
            max_clients: 30,
            reply_mode: ReplyMode::Off,
            reply_text: String::new(),
            rules: Vec::new(),
            target: SendTarget::All,
            hide_closed: false,
            log_only_selected: true,
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

/// Builds the engine's auto-reply from the form; the error says what is wrong with it.
pub fn build_auto_reply(s: &ServerSettings) -> Result<AutoReply, (Msg, String)> {
    let encoding = s.composer.encoding;
    let encode = |text: &str| -> Result<Vec<u8>, (Msg, String)> {
        encoding
            .encode(text)
            .map_err(|e| (Msg::ErrReplyEncoding, e.to_string()))
    };
    Ok(match s.reply_mode {
        ReplyMode::Off => AutoReply::Off,
        ReplyMode::Echo => AutoReply::Echo,
        ReplyMode::Fixed => AutoReply::Fixed(encode(&s.reply_text)?),
        ReplyMode::Rules => {
            let mut rules = Vec::new();
            for rule in &s.rules {
                let matcher = match rule.kind {
                    RuleKind::Contains => Matcher::Contains(encode(&rule.pattern)?),
                    RuleKind::Regex => Matcher::Regex(
                        regex::Regex::new(&rule.pattern)
                            .map_err(|e| (Msg::ErrBadRegex, e.to_string()))?,
                    ),
                };
                let reply = encode(&rule.reply)?;
                // A regex rule's reply may use what it captured ($1, {name}).
                let template = (matches!(rule.kind, RuleKind::Regex)
                    && (rule.reply.contains('$') || rule.reply.contains('{')))
                .then(|| rule.reply.clone());
                rules.push(ReplyRule {
                    matcher,
                    reply,
                    template,
                });
            }
            AutoReply::Rules { rules, encoding }
        }
    })
}

pub struct ServerPanel {
    pub settings: ServerSettings,
    pub model: ServerModel,
    handle: Option<ServerHandle>,
    /// The engines' events, their back-pressure count and the waker.
    link: Link<ServerEvent>,
    composer: Composer,
    log_view: LogView,
    bind_choices: Vec<IpAddr>,
    local_ips: Vec<IpAddr>,
    form_error: Option<Msg>,
    /// The auto-reply last given to the engine, by fingerprint of the form.
    reply_sent: Option<u64>,
    reply_error: Option<(Msg, String)>,
    /// The client limit last given to the engine.
    max_sent: Option<usize>,
    /// Row ids in table order, rebuilt when rows come or go.
    rows: (u64, bool, Vec<u64>),
    /// The last drain stopped at its time budget with events left: draw again soon.
    /// The diagram of [`Self::diagram_client`]'s connection; the app refreshes it with the
    /// client panel's calls when that client is this program.
    pub diagram: super::live_diagram::Cached,
    /// The conversation with the selected clients: its script's file, whether it is shown.
    pub conversation: super::conversation::ConversationView,
    conversation_wake: Option<Duration>,
}

impl ServerPanel {
    pub fn new(settings: ServerSettings) -> Self {
        Self {
            settings,
            model: ServerModel::default(),
            handle: None,
            link: Link::default(),
            composer: Composer::default(),
            log_view: LogView::without_capture(),
            bind_choices: ifaces::bind_choices(),
            local_ips: ifaces::local_ips(),
            form_error: None,
            reply_sent: None,
            reply_error: None,
            rows: (u64::MAX, false, Vec::new()),
            max_sent: None,
            diagram: Default::default(),
            conversation: Default::default(),
            conversation_wake: None,
        }
    }

    /// Moves the conversations on: each one's sends go to its own client.
    fn poll_conversations(&mut self) {
        let now = std::time::SystemTime::now();
        let mut wake: Option<Duration> = None;
        let mut sends = Vec::new();
        for (&client, run) in &mut self.model.conversations {
            let (out, next) = run.poll(now);
            sends.extend(out.into_iter().map(|bytes| (client, bytes)));
            if let Some(next) = next {
                wake = Some(wake.map_or(next, |w| w.min(next)));
            }
        }
        self.conversation_wake = wake;
        for (client, bytes) in sends {
            if let Some(h) = &self.handle {
                h.command(ServerCommand::Send {
                    to: crate::net::tcp_server::Target::Clients(vec![client]),
                    bytes,
                });
            }
        }
    }

    /// The conversations in a line: each client's number and how its run stands.
    fn runs_line(&self, lang: Lang) -> Option<String> {
        if self.model.conversations.is_empty() {
            return None;
        }
        let parts: Vec<String> = self
            .model
            .conversations
            .iter()
            .map(|(id, run)| {
                let (held, failed) = run.tally();
                let word = if !run.done() {
                    lang.t(Msg::StepRunning)
                } else if failed == 0 && run.stopped_at().is_none() {
                    lang.t(Msg::StepPassed)
                } else {
                    lang.t(Msg::StepFailed)
                };
                format!("#{id} {word} {held}/{}", held + failed)
            })
            .collect();
        Some(parts.join(" · "))
    }

    /// What the conversation's buttons asked, for every selected client.
    fn conversation_asked(&mut self, lang: Lang, ask: super::conversation::ConversationAsk) {
        use super::conversation::ConversationAsk;
        use crate::model::conversation::ConversationRun;
        match ask {
            ConversationAsk::Run { stepping } => {
                let library = self
                    .composer
                    .shelf
                    .as_ref()
                    .map(|shelf| shelf.borrow().lib.clone());
                match crate::proto::script::Script::parse(&self.settings.script, library.as_ref()) {
                    Ok(script) => {
                        self.model.conversations.clear();
                        for id in self.model.selected_open() {
                            let mut run = ConversationRun::new(script.clone(), stepping);
                            if stepping {
                                run.step_once();
                            }
                            self.model.conversations.insert(id, run);
                        }
                        self.conversation.message = None;
                        self.poll_conversations();
                    }
                    Err(e) => self.conversation.message = Some((true, e.to_string())),
                }
            }
            ConversationAsk::Step => {
                for run in self.model.conversations.values_mut() {
                    run.step_once();
                }
                self.poll_conversations();
            }
            ConversationAsk::Stop => {
                self.model.conversations.clear();
                self.conversation.message =
                    Some((false, lang.t(Msg::ConversationStopped).to_owned()));
            }
            ConversationAsk::Record => {
                // From the first selected client's part of the log.
                let Some(&id) = self.model.selected.iter().next() else {
                    return;
                };
                let peer = self
                    .model
                    .clients
                    .get(&id)
                    .map_or_else(String::new, |c| format!("client #{id} {}", c.peer));
                let framing = self.settings.framing.clone();
                let mut none = None;
                let target = super::conversation::Target {
                    script: &mut self.settings.script,
                    run: &mut none,
                    log: &self.model.log,
                    framing,
                    encoding: self.settings.composer.encoding,
                    peer,
                    only: Some(id),
                    library: None,
                };
                self.conversation
                    .handle(lang, ConversationAsk::Record, target);
            }
        }
    }

    /// The client whose connection the diagram shows: the one selected, else the newest.
    pub fn diagram_client(&self) -> Option<crate::net::tcp_server::ClientId> {
        match self.model.selected.len() {
            1 => self.model.selected.iter().next().copied(),
            0 => self.model.clients.keys().next_back().copied(),
            _ => None,
        }
    }

    /// Applies what the engine reported, for at most [`DRAIN_BUDGET`] (a flood must not make
    /// one frame long); what is left waits for the next frame.
    /// A framing or a checksum is chosen for what clients send.
    fn receive_rules_active(&self) -> bool {
        self.settings.framing != crate::proto::frame::Framing::Recv
            || self.settings.rx_check.is_some()
    }

    fn receive_rules_ui(&mut self, ui: &mut Ui, lang: Lang) {
        super::widgets::receive_rules_ui(
            ui,
            lang,
            "server",
            (
                &mut self.settings.framing,
                &mut self.settings.rx_check,
                &mut self.settings.show_recvs,
            ),
            self.model.frame_stats(),
            self.model.round_trips(),
        );
    }

    pub fn drain_events(&mut self) {
        self.model.set_framing(&self.settings.framing);
        self.model.set_check(self.settings.rx_check);
        self.model.set_show_recvs(self.settings.show_recvs);
        self.link.drain(&mut self.model);
        if !self.model.conversations.is_empty() {
            self.poll_conversations();
        }
        if !self.model.status.active() {
            self.handle = None;
        }
    }

    /// Waits up to `timeout` for one engine event and applies it with any others queued. For
    /// tests and the command line; the window never waits.
    pub fn wait_event(&mut self, timeout: Duration) -> bool {
        let got = self.link.wait(&mut self.model, timeout);
        self.drain_events();
        got
    }

    pub fn status_line(&self, lang: Lang) -> String {
        describe_server_status(lang, &self.model)
    }

    /// Starts listening on what the form says.
    pub fn start(&mut self, ctx: &egui::Context) {
        let Ok(ip) = self.settings.bind_ip.trim().parse::<IpAddr>() else {
            self.form_error = Some(Msg::ErrBadBindAddress);
            return;
        };
        let Some(port) = crate::proto::addr::parse_listen_port(&self.settings.port) else {
            self.form_error = Some(Msg::ErrListenPort);
            return;
        };
        let reply = match build_auto_reply(&self.settings) {
            Ok(r) => r,
            Err(e) => {
                self.reply_error = Some(e);
                AutoReply::Off
            }
        };
        self.form_error = None;
        let bind = SocketAddr::new(ip, port);
        let mut config = ServerConfig::new(bind);
        config.backlog = self.settings.backlog.clamp(0, 65_535);
        config.max_clients = self
            .settings
            .limit_clients
            .then_some(self.settings.max_clients);
        config.reply = reply;
        config.unread = self.link.fresh_unread();
        config.unread_limit = Some(super::plumbing::UNREAD_LIMIT);
        self.max_sent = config.max_clients;
        self.reply_sent = Some(reply_fingerprint(&self.settings));
        let waker = self.link.waker(ctx);
        self.handle = None;
        match spawn_server(config, self.link.sender(), waker) {
            Ok(handle) => {
                self.model.begin(handle.session(), bind);
                self.handle = Some(handle);
                self.local_ips = ifaces::local_ips();
            }
            Err(e) => self.model.last_warning = Some(NetError::from_io(&e)),
        }
    }

    pub fn stop(&mut self) {
        if let Some(handle) = &self.handle {
            handle.command(ServerCommand::Stop);
            self.model.stopping();
        }
    }

    fn command(&mut self, cmd: ServerCommand) {
        self.model.last_warning = None;
        if let Some(handle) = &self.handle {
            handle.command(cmd);
        }
    }

    fn target(&self) -> Target {
        match self.settings.target {
            SendTarget::All => Target::All,
            SendTarget::Selected => Target::Clients(self.model.selected_open()),
        }
    }

    /// Keeps the engine's auto-reply in step with the form while listening.
    fn sync_auto_reply(&mut self) {
        let fp = reply_fingerprint(&self.settings);
        if self.reply_sent == Some(fp) {
            return;
        }
        match build_auto_reply(&self.settings) {
            Ok(reply) => {
                self.reply_error = None;
                if self.handle.is_some() {
                    self.command(ServerCommand::SetAutoReply(reply));
                }
                self.reply_sent = Some(fp);
            }
            Err(e) => self.reply_error = Some(e),
        }
    }

    /// Draws the panel on the shared frame; `classroom` picks the projector's layout.
    pub fn ui(&mut self, ui: &mut Ui, lang: Lang, classroom: bool) {
        self.drain_events();
        if self.link.behind {
            ui.ctx().request_repaint();
        }
        self.sync_auto_reply();
        self.sync_max_clients();
        if let Some(due) = self.model.tick_frames(std::time::SystemTime::now()) {
            ui.ctx().request_repaint_after(due);
        }
        super::frame::show(ui, lang, classroom, self);
    }

    /// Keeps the engine's client limit in step with the form.
    fn sync_max_clients(&mut self) {
        if self.handle.is_none() {
            return;
        }
        let max = self
            .settings
            .limit_clients
            .then_some(self.settings.max_clients);
        if self.max_sent != max {
            self.max_sent = max;
            self.command(ServerCommand::SetMaxClients(max));
        }
    }

    fn start_stop_ui(&mut self, ui: &mut Ui, lang: Lang) {
        let running = self.model.status.active();
        match super::frame::start_stop_ui(
            ui,
            running,
            lang.t(Msg::StartListening),
            lang.t(Msg::StopListening),
        ) {
            Some(super::frame::StartStop::Start) => self.start(ui.ctx()),
            Some(super::frame::StartStop::Stop) => self.stop(),
            None => {}
        }
    }

    fn listen_ui(&mut self, ui: &mut Ui, lang: Lang) {
        let active = self.model.status.active();
        ui.horizontal_wrapped(|ui| {
            ui.add_enabled_ui(!active, |ui| {
                bind_choice_ui(
                    ui,
                    lang,
                    (Msg::BindAddress, "bind_ip"),
                    &mut self.settings.bind_ip,
                    &self.bind_choices,
                )
                .on_hover_text(lang.t(Msg::BindAddressHint));
                labelled_text(ui, lang.t(Msg::Port), &mut self.settings.port, 60.0)
                    .on_hover_text(lang.t(Msg::ListenPortHint));
                let backlog = ui.label(lang.t(Msg::Backlog)).id;
                ui.add(egui::DragValue::new(&mut self.settings.backlog).range(0..=65_535))
                    .labelled_by(backlog)
                    .on_hover_text(lang.t(Msg::BacklogHint));
            });
            ui.checkbox(&mut self.settings.limit_clients, lang.t(Msg::MaxClients));
            let max = ui.label(lang.t(Msg::MaxClientsCount)).id;
            ui.add_enabled(
                self.settings.limit_clients,
                egui::DragValue::new(&mut self.settings.max_clients).range(1..=100_000),
            )
            .labelled_by(max);
            self.start_stop_ui(ui, lang);
            ui.checkbox(&mut self.settings.show_trace, lang.t(Msg::ShowSocketCalls));
        });
    }

    /// The addresses students type, large enough to copy from the back of the room.
    fn addresses_ui(&mut self, ui: &mut Ui, lang: Lang, classroom: bool) {
        let Some(local) = self.model.status.listening() else {
            return;
        };
        let addrs = ifaces::reachable(local, &self.local_ips);
        let body = ui.text_style_height(&egui::TextStyle::Body);
        let size = if classroom { body * 1.6 } else { body * 1.25 };
        ui.horizontal(|ui| {
            ui.label(RichText::new(lang.t(Msg::StudentsConnectTo)).size(size * 0.8));
            // The first is the one students on other machines use: large. Then Copy, then
            // the others small, in what room is left.
            if let Some(first) = addrs.first() {
                ui.add(
                    egui::Label::new(
                        RichText::new(first.to_string())
                            .monospace()
                            .strong()
                            .size(size),
                    )
                    .selectable(true),
                );
            }
            if ui.button(lang.t(Msg::CopyAddresses)).clicked() {
                let text: Vec<String> = addrs.iter().map(ToString::to_string).collect();
                ui.ctx().copy_text(text.join("\n"));
            }
            let others: Vec<String> = addrs.iter().skip(1).map(ToString::to_string).collect();
            if !others.is_empty() {
                ui.add(
                    egui::Label::new(RichText::new(others.join("  ")).monospace())
                        .truncate()
                        .selectable(true),
                );
            }
        });
    }

    fn status_color(&self, ui: &Ui) -> egui::Color32 {
        match &self.model.status {
            ServerStatus::Listening { .. } => egui::Color32::from_rgb(40, 170, 70),
            ServerStatus::Ended(crate::net::tcp_server::ServerEnd::Failed(_)) => {
                ui.visuals().error_fg_color
            }
            ServerStatus::Starting { .. } | ServerStatus::Stopping => ui.visuals().warn_fg_color,
            _ => ui.visuals().weak_text_color(),
        }
    }

    fn auto_reply_ui(&mut self, ui: &mut Ui, lang: Lang) {
        let s = &mut self.settings;
        ui.horizontal_wrapped(|ui| {
            ui.label(lang.t(Msg::AutoReply));
            ui.selectable_value(&mut s.reply_mode, ReplyMode::Off, lang.t(Msg::ReplyOff));
            ui.selectable_value(&mut s.reply_mode, ReplyMode::Echo, lang.t(Msg::ReplyEcho));
            ui.selectable_value(&mut s.reply_mode, ReplyMode::Fixed, lang.t(Msg::ReplyFixed));
            ui.selectable_value(&mut s.reply_mode, ReplyMode::Rules, lang.t(Msg::ReplyRules));
            if s.reply_mode == ReplyMode::Fixed {
                labelled_text(ui, lang.t(Msg::ReplyText), &mut s.reply_text, 240.0);
            }
            if s.reply_mode != ReplyMode::Off {
                ui.weak(lang.fmt(
                    Msg::ReplyEncodingNote,
                    &[("encoding", &s.composer.encoding)],
                ));
            }
        });
        if s.reply_mode == ReplyMode::Rules {
            let mut remove = None;
            for (i, rule) in s.rules.iter_mut().enumerate() {
                ui.horizontal(|ui| {
                    ui.push_id(i, |ui| {
                        ui.selectable_value(
                            &mut rule.kind,
                            RuleKind::Contains,
                            lang.t(Msg::RuleContains),
                        );
                        ui.selectable_value(
                            &mut rule.kind,
                            RuleKind::Regex,
                            lang.t(Msg::RuleRegex),
                        );
                        labelled_text(ui, lang.t(Msg::RulePattern), &mut rule.pattern, 160.0);
                        labelled_text(ui, lang.t(Msg::RuleReply), &mut rule.reply, 200.0);
                        if ui.button(lang.t(Msg::Remove)).clicked() {
                            remove = Some(i);
                        }
                    });
                });
            }
            if let Some(i) = remove {
                s.rules.remove(i);
            }
            ui.horizontal(|ui| {
                if ui.button(lang.t(Msg::AddRule)).clicked() {
                    s.rules.push(RuleSettings::default());
                }
                ui.weak(lang.t(Msg::RulesHint));
            });
        }
        if let Some((msg, detail)) = &self.reply_error {
            ui.colored_label(
                ui.visuals().error_fg_color,
                format!("{} ({detail})", lang.t(*msg)),
            );
        }
    }

    /// Select, disconnect and the table's filters.
    fn client_actions_ui(&mut self, ui: &mut Ui, lang: Lang) {
        let m = &mut self.model;
        if ui.button(lang.t(Msg::SelectAll)).clicked() {
            m.selected = m
                .clients
                .values()
                .filter(|r| r.open())
                .map(|r| r.id)
                .collect();
        }
        if ui.button(lang.t(Msg::SelectNone)).clicked() {
            m.selected.clear();
        }
        let chosen = m.selected_open();
        let any = !chosen.is_empty();
        if ui
            .add_enabled(any, egui::Button::new(lang.t(Msg::KickGraceful)))
            .on_hover_text(lang.t(Msg::KickGracefulHint))
            .clicked()
            && let Some(h) = &self.handle
        {
            h.command(ServerCommand::Kick {
                clients: chosen.clone(),
                how: KickHow::Graceful,
            });
        }
        if ui
            .add_enabled(any, egui::Button::new(lang.t(Msg::KickAbortive)))
            .on_hover_text(lang.t(Msg::KickAbortiveHint))
            .clicked()
            && let Some(h) = &self.handle
        {
            h.command(ServerCommand::Kick {
                clients: chosen,
                how: KickHow::Abortive,
            });
        }
        ui.checkbox(&mut self.settings.hide_closed, lang.t(Msg::HideClosed));
        ui.checkbox(
            &mut self.settings.log_only_selected,
            lang.t(Msg::LogOnlySelected),
        );
    }

    /// The class's clients. `compact` (classroom mode): fewer columns, the actions behind a
    /// menu, so the rows get the room.
    fn clients_ui(&mut self, ui: &mut Ui, lang: Lang, compact: bool) {
        // The actions fit on the heading line only in a wide table.
        let folded = compact || ui.available_width() < 900.0;
        ui.horizontal(|ui| {
            let m = &self.model;
            let heading = if compact {
                Msg::ClientsHeadingShort
            } else {
                Msg::ClientsHeading
            };
            ui.strong(lang.fmt(heading, &[("n", &m.connected), ("total", &m.clients.len())]))
                .on_hover_text(lang.fmt(
                    Msg::ClientsHeading,
                    &[("n", &m.connected), ("total", &m.clients.len())],
                ));
            if m.refused > 0 {
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    lang.fmt(Msg::RefusedCount, &[("n", &m.refused)]),
                );
            }
            if folded {
                super::widgets::menu(ui, lang.t(Msg::ClientActions), |ui| {
                    self.client_actions_ui(ui, lang);
                });
            } else {
                self.client_actions_ui(ui, lang);
            }
        });
        let m = &mut self.model;
        let key = (m.generation, self.settings.hide_closed);
        if (self.rows.0, self.rows.1) != key {
            self.rows = (
                key.0,
                key.1,
                m.clients
                    .values()
                    .filter(|r| !self.settings.hide_closed || r.open())
                    .map(|r| r.id)
                    .collect(),
            );
        }
        let rows = &self.rows.2;
        if rows.is_empty() {
            ui.weak(lang.t(Msg::NoClientsYet));
            return;
        }
        let row_height = super::frame::table_row_height(ui);
        let mut toggle = None;
        use egui_extras::Column;
        // An address column as wide as a loopback client's address ("127.0.0.1:54321").
        let addr_w =
            super::frame::text_width(ui, "127.0.0.1:54321", egui::TextStyle::Monospace) + 12.0;
        let compact_columns = [
            (Msg::ColClient, Column::exact(40.0)),
            (
                Msg::ColAddress,
                Column::initial(addr_w).at_least(80.0).clip(true),
            ),
            (Msg::ColState, Column::remainder().at_least(40.0).clip(true)),
        ];
        let columns: &[(Msg, Column)] = if compact {
            &compact_columns
        } else {
            &[
                (Msg::ColClient, Column::exact(48.0)),
                (
                    Msg::ColAddress,
                    Column::remainder().at_least(110.0).clip(true),
                ),
                (Msg::ColConnectedAt, Column::initial(96.0).clip(true)),
                (Msg::ColIn, Column::initial(100.0).clip(true)),
                (Msg::ColOut, Column::initial(100.0).clip(true)),
                (Msg::ColState, Column::remainder().at_least(80.0).clip(true)),
            ]
        };
        super::widgets::region_table(
            ui,
            lang,
            "clients_table",
            compact,
            true,
            columns,
            row_height,
            rows.len(),
            |mut row| {
                let Some(r) = rows.get(row.index()).and_then(|id| m.clients.get(id)) else {
                    return;
                };
                row.set_selected(m.selected.contains(&r.id));
                row.col(|ui| {
                    ui.label(
                        RichText::new(format!("#{}", r.id))
                            .color(peer_color(ui, r.id))
                            .strong(),
                    );
                });
                row.col(|ui| {
                    ui.add(
                        egui::Label::new(RichText::new(r.peer.to_string()).monospace()).truncate(),
                    );
                });
                if !compact {
                    row.col(|ui| {
                        ui.label(format_time(r.connected_at));
                    });
                }
                if !compact {
                    row.col(|ui| {
                        let text = format!("{} / {}", human_bytes(r.bytes_in), r.msgs_in);
                        ui.add(egui::Label::new(text).truncate());
                    });
                    row.col(|ui| {
                        let text = format!("{} / {}", human_bytes(r.bytes_out), r.msgs_out);
                        ui.add(egui::Label::new(text).truncate());
                    });
                }
                row.col(|ui| client_state_ui(ui, lang, r, compact));
                if row.response().clicked() {
                    toggle = Some(r.id);
                }
            },
        );
        if let Some(id) = toggle
            && !self.model.selected.remove(&id)
        {
            self.model.selected.insert(id);
        }
    }
}

/// A client's state, and the kernel's beside it (TIME_WAIT lives on after close); on one
/// line, the rest on hover.
fn client_state_ui(ui: &mut Ui, lang: Lang, r: &crate::model::ClientRow, compact: bool) {
    let ours = match &r.state {
        ClientState::Connected => lang.t(Msg::StateConnected).to_owned(),
        ClientState::PeerClosed => lang.t(Msg::StatePeerClosed).to_owned(),
        ClientState::Closed(end) => describe_client_end(lang, end),
    };
    let text = ours.clone();
    let info = r.kernel_info.as_deref().copied().filter(|_| r.open());
    let text = match (r.kernel, info) {
        // Short, an open connection is the kernel's word for it (the lesson's vocabulary);
        // ours is on hover.
        (Some(k), _) if compact && r.open() => k.name().to_owned(),
        (Some(k), Some(i)) if !compact => format!(
            "{text} · {}",
            lang.fmt(
                Msg::KernelShort,
                &[
                    ("state", &k.name()),
                    ("rtt", &format!("{:.2}", f64::from(i.rtt_us) / 1000.0)),
                    ("cwnd", &i.snd_cwnd),
                ],
            )
        ),
        (Some(k), _) => format!("{text} · {}", k.name()),
        _ => text,
    };
    let weak = !r.open();
    let held = r.held_back && r.open();
    let text = if held {
        format!("{text} · {}", lang.t(Msg::HeldBack))
    } else {
        text
    };
    let rich = if weak {
        RichText::new(text).weak()
    } else if held {
        RichText::new(text).color(ui.visuals().warn_fg_color)
    } else {
        RichText::new(text)
    };
    let label = ui.add(egui::Label::new(rich).truncate());
    let label = if compact {
        label.on_hover_text(ours)
    } else {
        label
    };
    let label = if held {
        label.on_hover_text(lang.t(Msg::HeldBackHint))
    } else {
        label
    };
    if let Some(i) = info {
        label.on_hover_text(crate::model::describe::describe_kernel(lang, &i));
    }
}

impl super::frame::Framed for ServerPanel {
    fn frame_id(&self) -> &'static str {
        "server"
    }

    fn active(&self) -> bool {
        self.model.status.active()
    }

    fn settings_ui(&mut self, ui: &mut Ui, lang: Lang) {
        self.listen_ui(ui, lang);
        self.auto_reply_ui(ui, lang);
        // Once a rule is chosen it shows under the status too, with what it has seen.
        if !self.receive_rules_active() {
            self.receive_rules_ui(ui, lang);
        }
    }

    fn status(&self, ui: &Ui, lang: Lang) -> (egui::Color32, String) {
        (self.status_color(ui), self.status_line(lang))
    }

    fn summary(&self, lang: Lang) -> Option<String> {
        let s = &self.settings;
        let mut parts = vec![lang.fmt(Msg::SummaryBacklog, &[("n", &s.backlog)])];
        if s.limit_clients {
            parts.push(lang.fmt(Msg::SummaryMaxClients, &[("n", &s.max_clients)]));
        }
        let reply = match s.reply_mode {
            ReplyMode::Off => Msg::ReplyOff,
            ReplyMode::Echo => Msg::ReplyEcho,
            ReplyMode::Fixed => Msg::ReplyFixed,
            ReplyMode::Rules => Msg::ReplyRules,
        };
        parts.push(format!("{} {}", lang.t(Msg::AutoReply), lang.t(reply)));
        Some(parts.join(" · "))
    }

    fn actions_ui(&mut self, ui: &mut Ui, lang: Lang) {
        self.start_stop_ui(ui, lang);
    }

    fn details_ui(&mut self, ui: &mut Ui, lang: Lang, classroom: bool) {
        if self.model.kernel_unavailable && self.model.status.listening().is_some() {
            ui.weak(lang.t(Msg::KernelUnavailable));
        }
        self.addresses_ui(ui, lang, classroom);
        if self.receive_rules_active() {
            self.receive_rules_ui(ui, lang);
        }
        if let Some(err) = self.form_error {
            ui.colored_label(ui.visuals().error_fg_color, lang.t(err));
        }
        if let Some(err) = &self.model.last_warning {
            ui.colored_label(ui.visuals().warn_fg_color, describe_error(lang, err));
        }
        if let Some((msg, detail)) = &self.reply_error {
            ui.colored_label(
                ui.visuals().error_fg_color,
                format!("{} ({detail})", lang.t(*msg)),
            );
        }
        if !classroom
            && let Some(id) = self.diagram_client()
            && let Some(row) = self.model.clients.get(&id)
        {
            egui::CollapsingHeader::new(lang.fmt(
                Msg::PlotThroughputOf,
                &[("client", &format!("#{id} {}", row.peer))],
            ))
            .id_salt("server_throughput")
            .show(ui, |ui| {
                super::plot::throughput_ui(
                    ui,
                    lang,
                    "server",
                    row.throughput.as_deref().unwrap_or(&Default::default()),
                );
            });
        }
    }

    fn table_rows(&self, _classroom: bool) -> Option<usize> {
        Some(8)
    }

    /// The class's clients; with the conversation open, it beside them (under them when
    /// narrow), run with the selected clients.
    fn table_ui(&mut self, ui: &mut Ui, lang: Lang, compact: bool) {
        if !self.conversation.open {
            self.clients_ui(ui, lang, compact);
            return;
        }
        let can_run =
            self.model.status.listening().is_some() && !self.model.selected_open().is_empty();
        self.conversation.runs_line = self.runs_line(lang);
        let mut ask = None;
        let mut conversation_ui = |panel: &mut Self, ui: &mut Ui| {
            let shown = panel.model.conversations.values().next();
            ask = panel
                .conversation
                .table_ui(ui, lang, &mut panel.settings.script, shown, can_run);
        };
        if ui.available_width() >= 700.0 {
            ui.columns(2, |cols| {
                self.clients_ui(&mut cols[0], lang, true);
                conversation_ui(self, &mut cols[1]);
            });
        } else {
            conversation_ui(self, ui);
        }
        if let Some(ask) = ask {
            self.conversation_asked(lang, ask);
        }
    }

    /// Beside the log, the class's table takes half: a client's state must fit.
    fn table_share(&self) -> f32 {
        0.5
    }

    /// In classroom mode the class's clients share the height with the log.
    fn log_rows(&self, classroom: bool) -> usize {
        if classroom { 8 } else { 10 }
    }

    fn log_shown(&self) -> bool {
        true
    }

    fn log_ui(&mut self, ui: &mut Ui, lang: Lang, compact: bool) {
        let selected: Vec<u64> = self.model.selected.iter().copied().collect();
        self.log_view.peer_filter =
            (self.settings.log_only_selected && !selected.is_empty()).then_some(selected);
        self.log_view.compact = compact;
        // The server has no single connection to capture from; every client's bytes would
        // interleave in one file, so capture stays with the client panel.
        let _ = self
            .log_view
            .ui(ui, lang, &mut self.settings.log, &mut self.model.log, None);
    }

    fn side_shown(&self) -> bool {
        self.settings.show_trace
    }

    fn side_ui(&mut self, ui: &mut Ui, lang: Lang) {
        super::live_diagram::switch_ui(ui, lang, &mut self.settings.trace_diagram);
        if self.settings.trace_diagram {
            match self.diagram_client() {
                Some(id) => {
                    if !self.diagram.take_fresh() {
                        self.diagram.refresh_server(&self.model, id, None);
                    }
                    if let Some(d) = self.diagram.current() {
                        super::diagram_view::diagram_ui(ui, d, lang, true, false);
                    }
                }
                None => {
                    ui.weak(lang.t(Msg::DiagramPickClient));
                }
            }
        } else {
            trace_ui(ui, lang, &mut self.model.trace, self.settings.log.follow);
        }
    }

    fn composer_shown(&self) -> bool {
        true
    }

    fn composer_ui(&mut self, ui: &mut Ui, lang: Lang, more: &mut bool) {
        let targets = match self.settings.target {
            SendTarget::All => self.model.connected,
            SendTarget::Selected => self.model.selected_open().len(),
        };
        let state = SendState {
            can_send: self.model.status.listening().is_some() && targets > 0,
            repeating: self.model.sending.repeating,
            file: self.model.sending.file_in_progress(),
        };
        let selected = self.model.selected_open().len();
        let connected = self.model.connected;
        let target = &mut self.settings.target;
        let open = &mut self.conversation.open;
        let action = self.composer.ui(
            ui,
            lang,
            &mut self.settings.composer,
            state,
            more,
            &mut |ui, compact| {
                if compact {
                    // Where Send goes, in a word; choosing is behind More.
                    ui.weak(match target {
                        SendTarget::Selected => lang.fmt(Msg::ToSelectedShort, &[("n", &selected)]),
                        SendTarget::All => lang.fmt(Msg::ToAllShort, &[("n", &connected)]),
                    });
                } else {
                    ui.strong(lang.t(Msg::SendHeading));
                    ui.radio_value(
                        target,
                        SendTarget::Selected,
                        lang.fmt(Msg::ToSelected, &[("n", &selected)]),
                    );
                    ui.radio_value(
                        target,
                        SendTarget::All,
                        lang.fmt(Msg::ToAll, &[("n", &connected)]),
                    );
                    ui.toggle_value(open, lang.t(Msg::ConversationMenu))
                        .on_hover_text(lang.t(Msg::ConversationServerHint));
                }
            },
        );
        if let Some(action) = action {
            let to = self.target();
            let cmd = match action {
                ComposerAction::Send(bytes) => ServerCommand::Send { to, bytes },
                ComposerAction::Repeat {
                    bytes,
                    interval,
                    count,
                } => ServerCommand::Repeat {
                    to,
                    bytes,
                    interval,
                    count,
                },
                ComposerAction::StopRepeat => ServerCommand::StopRepeat,
                ComposerAction::SendFile(path) => ServerCommand::SendFile { to, path },
                ComposerAction::CancelFile => ServerCommand::CancelFile,
            };
            self.command(cmd);
        }
    }
}

fn reply_fingerprint(s: &ServerSettings) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (s.reply_mode, &s.reply_text, &s.rules, s.composer.encoding).hash(&mut h);
    h.finish()
}

pub fn describe_server_status(lang: Lang, m: &ServerModel) -> String {
    match &m.status {
        ServerStatus::Stopped => lang.t(Msg::ServerStopped).to_owned(),
        ServerStatus::Starting { bind } => lang.fmt(Msg::ServerStarting, &[("bind", bind)]),
        ServerStatus::Listening { local } => lang.fmt(
            Msg::ServerListening,
            &[("local", local), ("n", &m.connected)],
        ),
        ServerStatus::Stopping => lang.t(Msg::ServerStopping).to_owned(),
        ServerStatus::Ended(crate::net::tcp_server::ServerEnd::Stopped) => {
            lang.t(Msg::ServerStopped).to_owned()
        }
        ServerStatus::Ended(crate::net::tcp_server::ServerEnd::Failed(err)) => {
            lang.fmt(Msg::StatusError, &[("error", &describe_error(lang, err))])
        }
    }
}

impl super::Panel for ServerPanel {
    fn attach_library(&mut self, shelf: super::library::Shelf) {
        self.conversation.shelf = Some(shelf.clone());
        self.composer.shelf = Some(shelf);
    }

    fn ui(&mut self, ui: &mut Ui, lang: Lang, classroom: bool) {
        ServerPanel::ui(self, ui, lang, classroom)
    }

    fn status_line(&self, lang: Lang) -> String {
        ServerPanel::status_line(self, lang)
    }

    fn drain_events(&mut self) {
        ServerPanel::drain_events(self)
    }
}
