//! The UDP panel: datagrams with their boundaries, no connection, one-to-one, one-to-many by
//! broadcast and multicast. Every received datagram shows who sent it; a click on it (or on a
//! row of the peers table) makes that sender the target, for replies.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use egui::{RichText, Ui};
use serde::{Deserialize, Serialize};

use super::composer::{Composer, ComposerAction, ComposerSettings, SendState};
use super::log_view::{LogAction, LogView, LogViewSettings, format_time, peer_color};
use super::plumbing::Link;
use super::trace_view::trace_ui;
use super::widgets::{bind_choice_ui, history_button, human_bytes, labelled_text, remember};
use crate::i18n::{Lang, Msg, describe_error};
use crate::model::{UdpModel, UdpStatus};
use crate::net::tcp_client::CloseReason;
use crate::net::udp::{UdpCommand, UdpConfig, UdpEvent, UdpHandle, spawn_udp};
use crate::net::{NetError, ifaces};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UdpSettings {
    pub bind_ip: String,
    pub port: String,
    pub target: String,
    pub target_history: Vec<String>,
    pub broadcast: bool,
    pub group: String,
    pub iface: String,
    pub ttl: u32,
    pub multicast_loop: bool,
    /// SO_RCVBUF in KiB; 0 keeps the system's default.
    pub recv_buffer_kib: u32,
    pub show_trace: bool,
    pub composer: ComposerSettings,
    pub log: LogViewSettings,
    /// How each peer's datagrams are cut into messages in the log.
    pub framing: crate::proto::frame::Framing,
    /// The checksum each received message is checked for.
    pub rx_check: Option<crate::proto::checksum::ChecksumSpec>,
    /// Each received message is marked with the recv() calls that carried it.
    pub show_recvs: bool,
    /// The conversation script being edited (as `run SCRIPT --udp` reads it).
    pub script: String,
}

impl Default for UdpSettings {
    fn default() -> Self {
        Self {
            bind_ip: "0.0.0.0".into(),
            port: "0".into(),
            target: "127.0.0.1:8080".into(),
            target_history: Vec::new(),
            broadcast: false,
            group: "239.255.0.1".into(),
            iface: "0.0.0.0".into(),
            ttl: 1,
            multicast_loop: true,
            recv_buffer_kib: 0,
            show_trace: true,
            composer: ComposerSettings::default(),
            log: LogViewSettings::default(),
            framing: crate::proto::frame::Framing::Recv,
            rx_check: None,
            show_recvs: false,
            script: String::new(),
        }
    }
}

pub struct UdpPanel {
    pub settings: UdpSettings,
    pub model: UdpModel,
    handle: Option<UdpHandle>,
    /// The engines' events, their back-pressure count and the waker.
    link: Link<UdpEvent>,
    composer: Composer,
    log_view: LogView,
    bind_choices: Vec<IpAddr>,
    broadcasts: Vec<Ipv4Addr>,
    form_error: Option<Msg>,
    rows: (u64, Vec<SocketAddr>),
    /// The conversation with the target: its script's file, whether it is shown.
    pub conversation: super::conversation::ConversationView,
    conversation_wake: Option<Duration>,
}

impl UdpPanel {
    pub fn new(settings: UdpSettings) -> Self {
        let mut log_view = LogView::without_capture();
        log_view.peers_clickable = true;
        Self {
            settings,
            model: UdpModel::default(),
            handle: None,
            link: Link::default(),
            composer: Composer::default(),
            log_view,
            bind_choices: ifaces::bind_choices(),
            broadcasts: ifaces::broadcast_addrs(),
            form_error: None,
            rows: (u64::MAX, Vec::new()),
            conversation: Default::default(),
            conversation_wake: None,
        }
    }

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

    /// Moves a running conversation on: its datagrams go to the target now.
    fn poll_conversation(&mut self) {
        let Some(run) = &mut self.model.conversation else {
            return;
        };
        let (sends, wake) = run.poll(std::time::SystemTime::now());
        self.conversation_wake = wake;
        let to = self.settings.target.trim().to_owned();
        for bytes in sends {
            if let Some(h) = &self.handle {
                h.command(UdpCommand::SendTo {
                    to: to.clone(),
                    bytes,
                });
            }
        }
    }

    fn conversation_asked(&mut self, lang: Lang, ask: super::conversation::ConversationAsk) {
        let framing = self.model.framing();
        let target = super::conversation::Target {
            script: &mut self.settings.script,
            run: &mut self.model.conversation,
            log: &self.model.log,
            framing,
            encoding: self.settings.composer.encoding,
            peer: self.settings.target.trim().to_owned(),
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

    /// Waits up to `timeout` for one engine event (tests and the command line only).
    pub fn wait_event(&mut self, timeout: Duration) -> bool {
        let got = self.link.wait(&mut self.model, timeout);
        self.drain_events();
        got
    }

    pub fn status_line(&self, lang: Lang) -> String {
        match &self.model.status {
            UdpStatus::Closed => lang.t(Msg::UdpClosed).to_owned(),
            UdpStatus::Binding { bind } => lang.fmt(Msg::UdpBinding, &[("bind", bind)]),
            UdpStatus::Bound { local, .. } => lang.fmt(Msg::UdpBound, &[("local", local)]),
            UdpStatus::Closing => lang.t(Msg::StatusClosing).to_owned(),
            UdpStatus::Ended(CloseReason::Failed(err)) => {
                lang.fmt(Msg::StatusError, &[("error", &describe_error(lang, err))])
            }
            UdpStatus::Ended(_) => lang.t(Msg::UdpClosed).to_owned(),
        }
    }

    fn spawn(&mut self, ctx: &egui::Context, bind: SocketAddr, auto: bool) -> bool {
        let mut config = UdpConfig::new(bind);
        config.auto = auto;
        // A fresh count per session: what an old one left unapplied does not hold it back.
        config.unread = self.link.fresh_unread();
        config.unread_limit = Some(super::plumbing::UNREAD_LIMIT);
        config.broadcast = self.settings.broadcast;
        config.multicast_ttl = self.settings.ttl;
        config.multicast_loop = self.settings.multicast_loop;
        config.recv_buffer = (self.settings.recv_buffer_kib > 0)
            .then_some(self.settings.recv_buffer_kib as usize * 1024);
        config.multicast_if = self
            .settings
            .iface
            .trim()
            .parse::<Ipv4Addr>()
            .ok()
            .filter(|i| !i.is_unspecified());
        let waker = self.link.waker(ctx);
        self.handle = None;
        match spawn_udp(config, self.link.sender(), waker) {
            Ok(handle) => {
                self.model
                    .begin(handle.session(), bind, self.settings.broadcast);
                self.handle = Some(handle);
                true
            }
            Err(e) => {
                self.model.last_warning = Some(NetError::from_io(&e));
                false
            }
        }
    }

    /// Binds to what the form says.
    pub fn bind(&mut self, ctx: &egui::Context) {
        let Ok(ip) = self.settings.bind_ip.trim().parse::<IpAddr>() else {
            self.form_error = Some(Msg::ErrBadBindAddress);
            return;
        };
        let Some(port) = crate::proto::addr::parse_listen_port(&self.settings.port) else {
            self.form_error = Some(Msg::ErrListenPort);
            return;
        };
        self.form_error = None;
        self.spawn(ctx, SocketAddr::new(ip, port), false);
    }

    pub fn close(&mut self) {
        if let Some(h) = &self.handle {
            h.command(UdpCommand::Close);
            self.model.closing();
        }
    }

    /// Sends a command, binding an ephemeral port first if no socket is open (as `sendto()`
    /// on an unbound socket does; the log says which port was picked).
    fn command(&mut self, ctx: &egui::Context, cmd: UdpCommand) {
        self.model.last_warning = None;
        if self.handle.is_none() {
            let v6 = self.settings.target.trim().starts_with('[');
            let bind = if v6 {
                SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, 0))
            } else {
                SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))
            };
            if !self.spawn(ctx, bind, true) {
                return;
            }
        }
        if let Some(h) = &self.handle {
            h.command(cmd);
        }
    }

    /// Draws the panel on the shared frame; `classroom` picks the projector's layout.
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

    fn bind_close_ui(&mut self, ui: &mut Ui, lang: Lang) {
        let running = self.model.status.active();
        match super::frame::start_stop_ui(ui, running, lang.t(Msg::Bind), lang.t(Msg::CloseSocket))
        {
            Some(super::frame::StartStop::Start) => self.bind(ui.ctx()),
            Some(super::frame::StartStop::Stop) => self.close(),
            None => {}
        }
    }

    fn socket_ui(&mut self, ui: &mut Ui, lang: Lang) {
        let active = self.model.status.active();
        ui.horizontal_wrapped(|ui| {
            ui.add_enabled_ui(!active, |ui| {
                bind_choice_ui(
                    ui,
                    lang,
                    (Msg::LocalAddress, "udp_bind_ip"),
                    &mut self.settings.bind_ip,
                    &self.bind_choices,
                );
                labelled_text(ui, lang.t(Msg::Port), &mut self.settings.port, 60.0)
                    .on_hover_text(lang.t(Msg::ListenPortHint));
                let rcv = ui.label(lang.t(Msg::RecvBuffer)).id;
                ui.add(
                    egui::DragValue::new(&mut self.settings.recv_buffer_kib)
                        .range(0..=65_536)
                        .suffix(" KiB"),
                )
                .labelled_by(rcv)
                .on_hover_text(lang.t(Msg::RecvBufferHint));
            });
            self.bind_close_ui(ui, lang);
            ui.checkbox(&mut self.settings.show_trace, lang.t(Msg::ShowSocketCalls));
        });
    }

    fn status_color(&self, ui: &Ui) -> egui::Color32 {
        match &self.model.status {
            UdpStatus::Bound { .. } => egui::Color32::from_rgb(40, 170, 70),
            UdpStatus::Ended(CloseReason::Failed(_)) => ui.visuals().error_fg_color,
            _ => ui.visuals().weak_text_color(),
        }
    }

    /// Broadcast: the addresses to send to and the socket option.
    fn target_ui(&mut self, ui: &mut Ui, lang: Lang) {
        ui.horizontal_wrapped(|ui| {
            let port = self
                .settings
                .target
                .rsplit_once(':')
                .map(|(_, p)| p.to_owned())
                .unwrap_or_else(|| "8080".into());
            ui.menu_button(lang.t(Msg::BroadcastAddresses), |ui| {
                for b in &self.broadcasts {
                    let hint = if b.is_loopback() {
                        lang.t(Msg::BroadcastLoopback)
                    } else if b.is_broadcast() {
                        lang.t(Msg::BroadcastLimited)
                    } else {
                        lang.t(Msg::BroadcastSubnet)
                    };
                    if ui.button(format!("{b}  {hint}")).clicked() {
                        self.settings.target = format!("{b}:{port}");
                        ui.close();
                    }
                }
            });
            let before = self.settings.broadcast;
            ui.checkbox(&mut self.settings.broadcast, "SO_BROADCAST")
                .on_hover_text(lang.t(Msg::BroadcastHint));
            if before != self.settings.broadcast
                && let Some(h) = &self.handle
            {
                h.command(UdpCommand::SetBroadcast(self.settings.broadcast));
            }
        });
    }

    fn multicast_ui(&mut self, ui: &mut Ui, lang: Lang) {
        egui::CollapsingHeader::new(lang.fmt(Msg::Multicast, &[("n", &self.model.groups.len())]))
            .id_salt("udp_multicast")
            .show(ui, |ui| {
                ui.horizontal_wrapped(|ui| {
                    labelled_text(ui, lang.t(Msg::Group), &mut self.settings.group, 140.0)
                        .on_hover_text(lang.t(Msg::GroupHint));
                    let iface_label = ui.label(lang.t(Msg::Interface)).id;
                    egui::ComboBox::from_id_salt("udp_iface")
                        .selected_text(self.settings.iface.clone())
                        .show_ui(ui, |ui| {
                            for ip in self.bind_choices.iter().filter(|i| i.is_ipv4()) {
                                let text = ip.to_string();
                                ui.selectable_value(&mut self.settings.iface, text.clone(), text);
                            }
                        })
                        .response
                        .labelled_by(iface_label);
                    let group = self.settings.group.trim().parse::<IpAddr>();
                    let iface = self.settings.iface.trim().parse::<IpAddr>();
                    let valid = matches!((&group, &iface), (Ok(g), Ok(_)) if g.is_multicast());
                    if ui
                        .add_enabled(valid, egui::Button::new(lang.t(Msg::Join)))
                        .on_disabled_hover_text(lang.t(Msg::ErrKindNotMulticast))
                        .clicked()
                        && let (Ok(group), Ok(iface)) = (group, iface)
                    {
                        self.command(ui.ctx(), UdpCommand::Join { group, iface });
                    }
                    let ttl = ui.label("TTL").id;
                    let before = (self.settings.ttl, self.settings.multicast_loop);
                    ui.add(egui::DragValue::new(&mut self.settings.ttl).range(0..=255))
                        .labelled_by(ttl)
                        .on_hover_text(lang.t(Msg::TtlHint));
                    ui.checkbox(
                        &mut self.settings.multicast_loop,
                        lang.t(Msg::MulticastLoop),
                    )
                    .on_hover_text(lang.t(Msg::MulticastLoopHint));
                    if let Some(h) = &self.handle {
                        if before.0 != self.settings.ttl {
                            h.command(UdpCommand::SetMulticastTtl(self.settings.ttl));
                        }
                        if before.1 != self.settings.multicast_loop {
                            h.command(UdpCommand::SetMulticastLoop(self.settings.multicast_loop));
                        }
                    }
                });
                let mut leave = None;
                for (group, iface) in &self.model.groups {
                    ui.horizontal(|ui| {
                        ui.monospace(
                            lang.fmt(Msg::JoinedGroup, &[("group", group), ("iface", iface)]),
                        );
                        if ui
                            .button(lang.fmt(Msg::LeaveGroup, &[("group", group)]))
                            .clicked()
                        {
                            leave = Some((*group, *iface));
                        }
                    });
                }
                if let Some((group, iface)) = leave
                    && let Some(h) = &self.handle
                {
                    h.command(UdpCommand::Leave { group, iface });
                }
            });
    }

    /// Everyone heard from or sent to; a click makes that peer the target.
    fn peers_ui(&mut self, ui: &mut Ui, lang: Lang, compact: bool) {
        ui.horizontal(|ui| {
            let heading = ui.strong(lang.fmt(Msg::PeersHeading, &[("n", &self.model.peers.len())]));
            if compact {
                heading.on_hover_text(lang.t(Msg::PeersHint));
            } else {
                ui.add(egui::Label::new(RichText::new(lang.t(Msg::PeersHint)).weak()).truncate());
            }
        });
        if self.rows.0 != self.model.generation {
            self.rows = (
                self.model.generation,
                self.model.peers.keys().copied().collect(),
            );
        }
        if self.rows.1.is_empty() {
            ui.weak(lang.t(Msg::NoPeersYet));
            return;
        }
        let row_height = super::frame::table_row_height(ui);
        let mut picked = None;
        let peers = &self.model.peers;
        use egui_extras::Column;
        let columns: &[(Msg, Column)] = if compact {
            &[
                (Msg::ColPeer, Column::remainder().at_least(110.0).clip(true)),
                (Msg::ColIn, Column::initial(90.0).at_least(40.0).clip(true)),
                (
                    Msg::ColLastSeen,
                    Column::remainder().at_least(60.0).clip(true),
                ),
            ]
        } else {
            &[
                (Msg::ColPeer, Column::remainder().at_least(130.0).clip(true)),
                (Msg::ColIn, Column::initial(120.0).clip(true)),
                (Msg::ColOut, Column::initial(120.0).clip(true)),
                (
                    Msg::ColLastSeen,
                    Column::remainder().at_least(90.0).clip(true),
                ),
            ]
        };
        super::widgets::region_table(
            ui,
            lang,
            "udp_peers_table",
            compact,
            true,
            columns,
            row_height,
            self.rows.1.len(),
            |mut row| {
                let Some(p) = self.rows.1.get(row.index()).and_then(|a| peers.get(a)) else {
                    return;
                };
                row.set_selected(self.settings.target.trim() == p.addr.to_string());
                row.col(|ui| {
                    ui.add(
                        egui::Label::new(
                            RichText::new(p.addr.to_string())
                                .monospace()
                                .color(peer_color(ui, p.id)),
                        )
                        .truncate(),
                    );
                });
                row.col(|ui| {
                    let text = format!("{} / {}", human_bytes(p.bytes_in), p.datagrams_in);
                    ui.add(egui::Label::new(text).truncate());
                });
                if !compact {
                    row.col(|ui| {
                        let text = format!("{} / {}", human_bytes(p.bytes_out), p.datagrams_out);
                        ui.add(egui::Label::new(text).truncate());
                    });
                }
                if !compact {
                    row.col(|ui| {
                        ui.add(egui::Label::new(format_time(p.last_seen)).truncate());
                    });
                }
                if row.response().clicked() {
                    picked = Some(p.addr);
                }
            },
        );
        if let Some(addr) = picked {
            self.settings.target = addr.to_string();
        }
    }
}

impl super::frame::Framed for UdpPanel {
    fn frame_id(&self) -> &'static str {
        "udp"
    }

    fn active(&self) -> bool {
        self.model.status.active()
    }

    fn settings_ui(&mut self, ui: &mut Ui, lang: Lang) {
        self.socket_ui(ui, lang);
        self.target_ui(ui, lang);
        self.multicast_ui(ui, lang);
    }

    fn status(&self, ui: &Ui, lang: Lang) -> (egui::Color32, String) {
        (self.status_color(ui), self.status_line(lang))
    }

    fn summary(&self, lang: Lang) -> Option<String> {
        let mut parts = Vec::new();
        if self.settings.broadcast {
            parts.push("SO_BROADCAST".to_owned());
        }
        if !self.model.groups.is_empty() {
            parts.push(lang.fmt(Msg::Multicast, &[("n", &self.model.groups.len())]));
        }
        (!parts.is_empty()).then(|| parts.join(" · "))
    }

    fn actions_ui(&mut self, ui: &mut Ui, lang: Lang) {
        self.bind_close_ui(ui, lang);
    }

    fn details_ui(&mut self, ui: &mut Ui, lang: Lang, _classroom: bool) {
        super::widgets::receive_rules_ui(
            ui,
            lang,
            "udp",
            (
                &mut self.settings.framing,
                &mut self.settings.rx_check,
                &mut self.settings.show_recvs,
            ),
            self.model.frame_stats(),
            self.model.round_trips(),
        );
        let active = self.model.status.active();
        if !active {
            ui.weak(lang.t(Msg::UdpUnboundHint));
        }
        if self.model.drops > 0 {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                lang.fmt(Msg::UdpDrops, &[("n", &self.model.drops)]),
            );
        }
        if let Some(err) = self.form_error {
            ui.colored_label(ui.visuals().error_fg_color, lang.t(err));
        }
        // What this system cannot tell, said once the socket exists (not guessed).
        if active {
            use crate::net::sys;
            if !sys::UDP_DROPS {
                ui.weak(lang.t(Msg::UdpDropsUnavailable));
            }
            if sys::UDP_UNREACHABLE == sys::UdpUnreachable::Never {
                ui.weak(lang.t(Msg::UdpUnreachableUnavailable));
            }
        }
        if let Some(err) = &self.model.last_warning {
            ui.colored_label(ui.visuals().warn_fg_color, describe_error(lang, err));
        }
    }

    fn table_rows(&self, _classroom: bool) -> Option<usize> {
        Some(if self.conversation.open { 10 } else { 3 })
    }

    /// The peers; or, while it is open, the conversation with the target.
    fn table_ui(&mut self, ui: &mut Ui, lang: Lang, compact: bool) {
        if !self.conversation.open {
            self.peers_ui(ui, lang, compact);
            return;
        }
        let can_run =
            self.model.status.bound().is_some() && !self.settings.target.trim().is_empty();
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

    /// Beside the log the peers keep a third: the log is what a class reads.
    fn table_share(&self) -> f32 {
        0.34
    }

    fn log_shown(&self) -> bool {
        true
    }

    fn log_ui(&mut self, ui: &mut Ui, lang: Lang, compact: bool) {
        self.log_view.compact = compact;
        if let Some(LogAction::PickPeer(addr)) =
            self.log_view
                .ui(ui, lang, &mut self.settings.log, &mut self.model.log, None)
        {
            self.settings.target = addr.to_string();
        }
    }

    fn side_shown(&self) -> bool {
        self.settings.show_trace
    }

    fn side_ui(&mut self, ui: &mut Ui, lang: Lang) {
        trace_ui(ui, lang, &mut self.model.trace, self.settings.log.follow);
    }

    fn composer_shown(&self) -> bool {
        true
    }

    fn composer_ui(&mut self, ui: &mut Ui, lang: Lang, more: &mut bool) {
        let state = SendState {
            can_send: !self.settings.target.trim().is_empty()
                && !matches!(
                    self.model.status,
                    UdpStatus::Binding { .. } | UdpStatus::Closing
                ),
            repeating: self.model.sending.repeating,
            file: self.model.sending.file_in_progress(),
        };
        // The target is part of every send: on the composer's first line in either mode.
        let mut target = std::mem::take(&mut self.settings.target);
        let mut history = std::mem::take(&mut self.settings.target_history);
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
                let width = if compact { 130.0 } else { 220.0 };
                labelled_text(ui, lang.t(Msg::Target), &mut target, width)
                    .on_hover_text(lang.t(Msg::TargetHint));
                // On the one line the room is the message's; recent targets are behind More.
                if !compact {
                    history_button(ui, lang, &history, &mut target);
                }
                // On the one line the room is the message's: the conversation is behind More.
                if !compact {
                    ui.toggle_value(open, lang.t(Msg::ConversationMenu))
                        .on_hover_text(lang.t(Msg::ConversationHint));
                }
            },
        );
        self.settings.target = target;
        if let Some(action) = action {
            let to = self.settings.target.trim().to_owned();
            remember(&mut history, &to, 10);
            self.settings.target_history = history;
            let cmd = match action {
                ComposerAction::Send(bytes) => UdpCommand::SendTo { to, bytes },
                ComposerAction::Repeat {
                    bytes,
                    interval,
                    count,
                } => UdpCommand::Repeat {
                    to,
                    bytes,
                    interval,
                    count,
                },
                ComposerAction::StopRepeat => UdpCommand::StopRepeat,
                ComposerAction::SendFile(path) => UdpCommand::SendFile { to, path },
                ComposerAction::CancelFile => UdpCommand::CancelFile,
            };
            self.command(ui.ctx(), cmd);
        } else {
            self.settings.target_history = history;
        }
    }
}

impl super::Panel for UdpPanel {
    fn attach_library(&mut self, shelf: super::library::Shelf) {
        self.conversation.shelf = Some(shelf.clone());
        self.composer.shelf = Some(shelf);
    }

    fn ui(&mut self, ui: &mut Ui, lang: Lang, classroom: bool) {
        UdpPanel::ui(self, ui, lang, classroom)
    }

    fn status_line(&self, lang: Lang) -> String {
        UdpPanel::status_line(self, lang)
    }

    fn drain_events(&mut self) {
        UdpPanel::drain_events(self)
    }
}
