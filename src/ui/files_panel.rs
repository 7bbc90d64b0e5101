//! The lesson's exercise 2 from both sides: a file server sharing a folder (answering lesson
//! clients and verified clients alike), and a download client with progress, several downloads
//! at once, verification and resume.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use egui::{RichText, Ui};
use serde::{Deserialize, Serialize};

use super::plumbing::Link;
use super::widgets::{
    FilePicker, PickKind, bind_choice_ui, human_bytes, labelled_text, path_field, remember,
};
use crate::i18n::{Lang, Msg, describe_error};
use crate::model::files::{
    DownloadRow, DownloadState, DownloadsModel, FileServerModel, FileServerStatus, TransferState,
};
use crate::net::download::{
    DownloadConfig, DownloadHandle, free_name, list_remote, spawn_download,
};
use crate::net::file_server::{
    Asked, FileServerConfig, FileServerHandle, NotServed, spawn_file_server,
};
use crate::net::split_host_port;
use crate::net::tcp_server::ServerEnd;
use crate::net::{NetError, ifaces};
use crate::proto::TextEncoding;
use crate::proto::download::NameEncoding;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FileServerSettings {
    pub folder: String,
    pub bind_ip: String,
    pub port: String,
    pub timeout_secs: f32,
    pub stall_secs: f32,
    pub limit_transfers: bool,
    pub max_transfers: usize,
    pub name_encoding: NameEncoding,
}

impl Default for FileServerSettings {
    fn default() -> Self {
        Self {
            folder: String::new(),
            bind_ip: "0.0.0.0".into(),
            port: "7891".into(),
            timeout_secs: 10.0,
            stall_secs: 15.0,
            limit_transfers: false,
            max_transfers: 8,
            name_encoding: NameEncoding::Auto,
        }
    }
}

pub struct FileServerPanel {
    pub settings: FileServerSettings,
    pub model: FileServerModel,
    handle: Option<FileServerHandle>,
    /// The engines' events, their back-pressure count and the waker.
    link: Link<crate::net::file_server::FileServerEvent>,
    picker: FilePicker,
    bind_choices: Vec<IpAddr>,
    local_ips: Vec<IpAddr>,
    form_error: Option<Msg>,
}

impl FileServerPanel {
    pub fn new(settings: FileServerSettings) -> Self {
        Self {
            settings,
            model: FileServerModel::default(),
            handle: None,
            link: Link::default(),
            picker: FilePicker::default(),
            bind_choices: ifaces::bind_choices(),
            local_ips: ifaces::local_ips(),
            form_error: None,
        }
    }

    pub fn drain_events(&mut self) {
        self.link.drain(&mut self.model);
        if !self.model.status.active() {
            self.handle = None;
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
            FileServerStatus::Stopped | FileServerStatus::Ended(ServerEnd::Stopped) => {
                lang.t(Msg::FilesNotServing).to_owned()
            }
            FileServerStatus::Starting => lang.t(Msg::FilesStarting).to_owned(),
            FileServerStatus::Listening { local, root } => lang.fmt(
                Msg::FilesServing,
                &[("root", &root.display()), ("local", local)],
            ),
            FileServerStatus::Stopping => lang.t(Msg::ServerStopping).to_owned(),
            FileServerStatus::Ended(ServerEnd::Failed(err)) => {
                lang.fmt(Msg::StatusError, &[("error", &describe_error(lang, err))])
            }
        }
    }

    pub fn start(&mut self, ctx: &egui::Context) {
        let folder = self.settings.folder.trim();
        if folder.is_empty() {
            self.form_error = Some(Msg::ErrNoFolder);
            return;
        }
        let Ok(ip) = self.settings.bind_ip.trim().parse::<IpAddr>() else {
            self.form_error = Some(Msg::ErrBadBindAddress);
            return;
        };
        let Some(port) = crate::proto::addr::parse_listen_port(&self.settings.port) else {
            self.form_error = Some(Msg::ErrListenPort);
            return;
        };
        self.form_error = None;
        let mut config = FileServerConfig::new(PathBuf::from(folder), SocketAddr::new(ip, port));
        config.request_timeout =
            Duration::from_secs_f32(self.settings.timeout_secs.clamp(0.5, 3600.0));
        config.stall_timeout = Duration::from_secs_f32(self.settings.stall_secs.clamp(1.0, 3600.0));
        config.max_transfers = self
            .settings
            .limit_transfers
            .then_some(self.settings.max_transfers.max(1));
        config.name_encoding = self.settings.name_encoding;
        let waker = self.link.waker(ctx);
        self.handle = None;
        match spawn_file_server(config, self.link.sender(), waker) {
            Ok(h) => {
                self.model.begin(h.session());
                self.handle = Some(h);
                self.local_ips = ifaces::local_ips();
            }
            Err(e) => self.model.last_warning = Some(NetError::from_io(&e)),
        }
    }

    pub fn stop(&mut self) {
        if let Some(h) = &self.handle {
            h.stop();
            self.model.stopping();
        }
    }

    /// Draws the panel on the shared frame (the settings fold to a line while serving; the
    /// requests take the main view); `classroom` picks the projector's layout.
    pub fn ui(&mut self, ui: &mut Ui, lang: Lang, classroom: bool) {
        self.drain_events();
        if self.link.behind {
            ui.ctx().request_repaint();
        }
        super::frame::show(ui, lang, classroom, self);
    }

    fn start_stop_ui(&mut self, ui: &mut Ui, lang: Lang) {
        let running = self.model.status.active();
        match super::frame::start_stop_ui(
            ui,
            running,
            lang.t(Msg::StartServing),
            lang.t(Msg::StopListening),
        ) {
            Some(super::frame::StartStop::Start) => self.start(ui.ctx()),
            Some(super::frame::StartStop::Stop) => self.stop(),
            None => {}
        }
    }

    fn form_ui(&mut self, ui: &mut Ui, lang: Lang) {
        let active = self.model.status.active();
        ui.horizontal_wrapped(|ui| {
            ui.add_enabled_ui(!active, |ui| {
                path_field(
                    ui,
                    lang,
                    lang.t(Msg::SharedFolder),
                    &mut self.settings.folder,
                    &mut self.picker,
                    PickKind::Folder,
                );
            });
        });
        ui.horizontal_wrapped(|ui| {
            ui.add_enabled_ui(!active, |ui| {
                bind_choice_ui(
                    ui,
                    lang,
                    (Msg::BindAddress, "files_bind_ip"),
                    &mut self.settings.bind_ip,
                    &self.bind_choices,
                )
                .on_hover_text(lang.t(Msg::BindAddressHint));
                labelled_text(ui, lang.t(Msg::Port), &mut self.settings.port, 60.0)
                    .on_hover_text(lang.t(Msg::ListenPortHint));
                let t = ui.label(lang.t(Msg::RequestTimeout)).id;
                ui.add(
                    egui::DragValue::new(&mut self.settings.timeout_secs)
                        .range(0.5..=3600.0)
                        .suffix(" s"),
                )
                .labelled_by(t)
                .on_hover_text(lang.t(Msg::RequestTimeoutHint));
                let st = ui.label(lang.t(Msg::StallTimeout)).id;
                ui.add(
                    egui::DragValue::new(&mut self.settings.stall_secs)
                        .range(1.0..=3600.0)
                        .suffix(" s"),
                )
                .labelled_by(st)
                .on_hover_text(lang.t(Msg::StallTimeoutHint));
                ui.checkbox(
                    &mut self.settings.limit_transfers,
                    lang.t(Msg::LimitTransfers),
                );
                let m = ui.label(lang.t(Msg::MaxClientsCount)).id;
                ui.add_enabled(
                    self.settings.limit_transfers,
                    egui::DragValue::new(&mut self.settings.max_transfers).range(1..=1000),
                )
                .labelled_by(m);
                let e = ui.label(lang.t(Msg::NameEncoding)).id;
                egui::ComboBox::from_id_salt("files_name_enc")
                    .selected_text(name_encoding_text(lang, self.settings.name_encoding))
                    .show_ui(ui, |ui| {
                        for enc in [NameEncoding::Auto, NameEncoding::Utf8, NameEncoding::Gbk] {
                            ui.selectable_value(
                                &mut self.settings.name_encoding,
                                enc,
                                name_encoding_text(lang, enc),
                            );
                        }
                    })
                    .response
                    .labelled_by(e);
            });
            self.start_stop_ui(ui, lang);
        });
    }

    fn status_color(&self, ui: &Ui) -> egui::Color32 {
        match &self.model.status {
            FileServerStatus::Listening { .. } => egui::Color32::from_rgb(40, 170, 70),
            FileServerStatus::Ended(ServerEnd::Failed(_)) => ui.visuals().error_fg_color,
            _ => ui.visuals().weak_text_color(),
        }
    }

    fn table_ui(&mut self, ui: &mut Ui, lang: Lang, compact: bool) {
        ui.horizontal(|ui| {
            ui.strong(lang.fmt(
                Msg::RequestsHeading,
                &[
                    ("served", &self.model.served),
                    ("refused", &self.model.refused),
                ],
            ));
        });
        if self.model.rows.is_empty() {
            ui.weak(lang.t(Msg::NoRequestsYet));
            return;
        }
        let rows: Vec<(crate::net::SessionId, u64)> =
            self.model.rows.keys().rev().copied().collect();
        let now = SystemTime::now();
        let h = super::frame::table_row_height(ui);
        use egui_extras::Column;
        // The outcome ("not found", "refused: …") is what a class reads: it keeps the room
        // that is left; in classroom mode the address and rate give theirs up.
        let columns: Vec<(Msg, Column)> = if compact {
            vec![
                (Msg::ColClient, Column::exact(40.0)),
                (
                    Msg::ColFile,
                    Column::initial(150.0).at_least(60.0).clip(true),
                ),
                (
                    Msg::ColSent,
                    Column::initial(120.0).at_least(60.0).clip(true),
                ),
                (Msg::ColState, Column::remainder().at_least(80.0).clip(true)),
            ]
        } else {
            vec![
                (Msg::ColClient, Column::exact(48.0)),
                (
                    Msg::ColAddress,
                    Column::initial(150.0).at_least(80.0).clip(true),
                ),
                (
                    Msg::ColFile,
                    Column::initial(200.0).at_least(80.0).clip(true),
                ),
                (
                    Msg::ColSent,
                    Column::initial(160.0).at_least(80.0).clip(true),
                ),
                (
                    Msg::ColRate,
                    Column::initial(90.0).at_least(50.0).clip(true),
                ),
                (
                    Msg::ColState,
                    Column::remainder().at_least(120.0).clip(true),
                ),
            ]
        };
        super::widgets::region_table(
            ui,
            lang,
            "files_table",
            compact,
            false,
            &columns,
            h,
            rows.len(),
            |mut row| {
                let Some(r) = rows.get(row.index()).and_then(|id| self.model.rows.get(id)) else {
                    return;
                };
                row.col(|ui| {
                    ui.label(format!("#{}", r.id));
                });
                if !compact {
                    row.col(|ui| {
                        ui.add(
                            egui::Label::new(RichText::new(r.peer.to_string()).monospace())
                                .truncate(),
                        );
                    });
                }
                row.col(|ui| {
                    let name = match &r.asked {
                        Some(Asked::Lesson(n)) => n.clone(),
                        Some(Asked::Verified { name, offset: 0 }) => {
                            format!("{name} ({})", lang.t(Msg::VerifiedTag))
                        }
                        Some(Asked::Verified { name, offset }) => format!(
                            "{name} ({}, +{})",
                            lang.t(Msg::VerifiedTag),
                            human_bytes(*offset)
                        ),
                        Some(Asked::List) => lang.t(Msg::ListRequest).to_owned(),
                        None => String::new(),
                    };
                    ui.add(egui::Label::new(name).truncate());
                });
                row.col(|ui| match r.size {
                    Some(size) => {
                        let total = size.saturating_sub(r.offset);
                        let frac = if total > 0 {
                            r.sent as f32 / total as f32
                        } else {
                            1.0
                        };
                        ui.add(egui::ProgressBar::new(frac).text(format!(
                            "{} / {}",
                            human_bytes(r.sent),
                            human_bytes(total)
                        )));
                    }
                    None => {
                        ui.label(human_bytes(r.sent));
                    }
                });
                if !compact {
                    row.col(|ui| {
                        ui.label(format!("{}/s", human_bytes(r.rate(now) as u64)));
                    });
                }
                row.col(|ui| {
                    let (text, bad) = transfer_state_text(lang, &r.state);
                    let text = if bad {
                        RichText::new(text).color(ui.visuals().warn_fg_color)
                    } else {
                        RichText::new(text)
                    };
                    let full = text.text().to_owned();
                    ui.add(egui::Label::new(text).truncate())
                        .on_hover_text(full);
                });
            },
        );
        if self
            .model
            .rows
            .values()
            .any(|r| matches!(r.state, TransferState::Sending))
        {
            ui.ctx().request_repaint_after(Duration::from_millis(250));
        }
    }
}

impl super::frame::Framed for FileServerPanel {
    fn frame_id(&self) -> &'static str {
        "files"
    }

    fn active(&self) -> bool {
        self.model.status.active()
    }

    fn settings_ui(&mut self, ui: &mut Ui, lang: Lang) {
        self.form_ui(ui, lang);
    }

    fn status(&self, ui: &Ui, lang: Lang) -> (egui::Color32, String) {
        (self.status_color(ui), self.status_line(lang))
    }

    fn summary(&self, lang: Lang) -> Option<String> {
        Some(format!(
            "{} {}",
            lang.t(Msg::NameEncoding),
            name_encoding_text(lang, self.settings.name_encoding)
        ))
    }

    fn actions_ui(&mut self, ui: &mut Ui, lang: Lang) {
        self.start_stop_ui(ui, lang);
    }

    fn details_ui(&mut self, ui: &mut Ui, lang: Lang, classroom: bool) {
        if let FileServerStatus::Listening { local, .. } = &self.model.status {
            let addrs = ifaces::reachable(*local, &self.local_ips);
            let body = ui.text_style_height(&egui::TextStyle::Body);
            let size = if classroom { body * 1.6 } else { body * 1.25 };
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new(lang.t(Msg::StudentsConnectTo)).size(size * 0.8));
                for (i, a) in addrs.iter().enumerate() {
                    let text = RichText::new(a.to_string()).monospace().strong();
                    let text = if i == 0 { text.size(size) } else { text };
                    ui.add(egui::Label::new(text).selectable(true));
                }
                if !classroom {
                    ui.weak(lang.t(Msg::FilesProtocolHint));
                }
            });
        }
        if let Some(err) = self.form_error {
            ui.colored_label(ui.visuals().error_fg_color, lang.t(err));
        }
        if let Some(err) = &self.model.last_warning {
            ui.colored_label(ui.visuals().warn_fg_color, describe_error(lang, err));
        }
    }

    fn table_rows(&self, _classroom: bool) -> Option<usize> {
        Some(10)
    }

    fn table_ui(&mut self, ui: &mut Ui, lang: Lang, compact: bool) {
        self.table_ui(ui, lang, compact);
    }
}

fn name_encoding_text(lang: Lang, enc: NameEncoding) -> &'static str {
    match enc {
        NameEncoding::Auto => lang.t(Msg::NameEncodingAuto),
        NameEncoding::Utf8 => "UTF-8",
        NameEncoding::Gbk => "GBK",
    }
}

fn transfer_state_text(lang: Lang, state: &TransferState) -> (String, bool) {
    match state {
        TransferState::Waiting => (lang.t(Msg::TsWaiting).to_owned(), false),
        TransferState::Queued => (lang.t(Msg::TsQueued).to_owned(), false),
        TransferState::Sending => (lang.t(Msg::TsSending).to_owned(), false),
        TransferState::Served { took } => (
            lang.fmt(
                Msg::TsServed,
                &[("secs", &format!("{:.2}", took.as_secs_f64()))],
            ),
            false,
        ),
        TransferState::Listed(n) => (lang.fmt(Msg::TsListed, &[("n", n)]), false),
        TransferState::NotServed(NotServed::NotFound) => (lang.t(Msg::TsNotFound).to_owned(), true),
        TransferState::NotServed(NotServed::Silent) => (lang.t(Msg::TsSilent).to_owned(), true),
        TransferState::NotServed(NotServed::Crowded) => (lang.t(Msg::TsCrowded).to_owned(), true),
        TransferState::NotServed(NotServed::Stopped) => (lang.t(Msg::TsStopped).to_owned(), true),
        TransferState::NotServed(NotServed::Refused(r)) => (
            lang.fmt(
                Msg::TsRefused,
                &[("why", &crate::i18n::describe_refusal(lang, *r))],
            ),
            true,
        ),
        TransferState::Failed(err) => (describe_error(lang, err), true),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DownloadSettings {
    pub server: String,
    pub server_history: Vec<String>,
    pub name: String,
    pub folder: String,
    pub verified: bool,
    pub overwrite: bool,
    pub name_encoding: TextEncoding,
}

impl Default for DownloadSettings {
    fn default() -> Self {
        Self {
            server: "127.0.0.1:7891".into(),
            server_history: Vec::new(),
            name: String::new(),
            folder: super::widgets::default_download_dir().display().to_string(),
            verified: true,
            overwrite: false,
            name_encoding: TextEncoding::Utf8,
        }
    }
}

pub struct DownloadPanel {
    pub settings: DownloadSettings,
    pub model: DownloadsModel,
    handles: Vec<DownloadHandle>,
    /// The engines' events, their back-pressure count and the waker.
    link: Link<crate::net::download::DownloadEvent>,
    folder_picker: FilePicker,
    save_picker: FilePicker,
    /// "Save as" chosen with the dialog (or typed) for the next download.
    pub save_as: String,
    listing: Option<super::jobs::Job<Result<Vec<String>, NetError>>>,
    pub remote_names: Vec<String>,
    form_error: Option<FormError>,
    /// The mode of this frame (the frame's regions are drawn without it).
    classroom: bool,
}

/// A problem with the download form, said in the language shown now.
enum FormError {
    Msg(Msg),
    Net(NetError),
}

impl DownloadPanel {
    pub fn new(settings: DownloadSettings) -> Self {
        Self {
            settings,
            model: DownloadsModel::default(),
            handles: Vec::new(),
            link: Link::default(),
            folder_picker: FilePicker::default(),
            save_picker: FilePicker::default(),
            save_as: String::new(),
            listing: None,
            remote_names: Vec::new(),
            form_error: None,
            classroom: false,
        }
    }

    pub fn drain_events(&mut self) {
        self.link.drain(&mut self.model);
        let running: Vec<u64> = self
            .model
            .rows
            .iter()
            .filter(|r| r.running())
            .map(|r| r.session)
            .collect();
        self.handles.retain(|h| running.contains(&h.session()));
    }

    /// Waits up to `timeout` for one engine event (tests only).
    pub fn wait_event(&mut self, timeout: Duration) -> bool {
        let got = self.link.wait(&mut self.model, timeout);
        self.drain_events();
        got
    }

    pub fn status_line(&self, lang: Lang) -> String {
        let running = self.model.rows.iter().filter(|r| r.running()).count();
        lang.fmt(
            Msg::DownloadsStatus,
            &[("running", &running), ("n", &self.model.rows.len())],
        )
    }

    /// Starts a download of what the form says; `resume` continues a kept `.part`.
    pub fn start(&mut self, ctx: &egui::Context, resume_dest: Option<PathBuf>) {
        let (host, port) = match split_host_port(&self.settings.server) {
            Ok(hp) => hp,
            Err(err) => {
                self.form_error = Some(FormError::Net(err));
                return;
            }
        };
        let name = self.settings.name.trim().to_owned();
        if name.is_empty() {
            self.form_error = Some(FormError::Msg(Msg::ErrNoFileName));
            return;
        }
        self.form_error = None;
        remember(&mut self.settings.server_history, &self.settings.server, 10);
        let resume = resume_dest.is_some();
        let dest = match resume_dest {
            Some(dest) => dest,
            None => {
                let typed = self.save_as.trim();
                let wanted = if typed.is_empty() {
                    // Only the last component, made safe: a remote name never leaves the folder.
                    let base = crate::proto::download::local_file_name(&name);
                    Path::new(self.settings.folder.trim()).join(base)
                } else {
                    PathBuf::from(typed)
                };
                if self.settings.overwrite {
                    wanted
                } else {
                    free_name(&wanted)
                }
            }
        };
        let mut config = DownloadConfig::new(host, port, name.clone(), dest.clone());
        config.verified = self.settings.verified || resume;
        config.resume = resume;
        config.overwrite = self.settings.overwrite || resume;
        config.name_encoding = self.settings.name_encoding;
        let waker = self.link.waker(ctx);
        match spawn_download(config, self.link.sender(), waker) {
            Ok(h) => {
                self.model.rows.retain(|r| !(resume && r.dest == dest));
                self.model.rows.push(DownloadRow {
                    session: h.session(),
                    server: self.settings.server.clone(),
                    name,
                    dest,
                    verified: self.settings.verified || resume,
                    have: 0,
                    total: None,
                    rate: 0.0,
                    state: DownloadState::Connecting,
                    history: Default::default(),
                });
                self.handles.push(h);
                self.save_as.clear();
            }
            Err(e) => self.form_error = Some(FormError::Net(NetError::from_io(&e))),
        }
    }

    fn list(&mut self, ctx: &egui::Context) {
        let (host, port) = match split_host_port(&self.settings.server) {
            Ok(hp) => hp,
            Err(err) => {
                // Said in the panel, like a download's bad address, not ignored.
                self.form_error = Some(FormError::Net(err));
                return;
            }
        };
        match super::jobs::Job::start("list-files", Some(ctx.clone()), move || {
            list_remote(&host, port, Duration::from_secs(5))
        }) {
            Ok(job) => {
                self.listing = Some(job);
                self.form_error = None;
            }
            Err(e) => self.form_error = Some(FormError::Net(e)),
        }
    }

    pub fn ui(&mut self, ui: &mut Ui, lang: Lang, classroom: bool) {
        self.drain_events();
        if self.link.behind {
            ui.ctx().request_repaint();
        }
        if let Some(job) = &self.listing
            && let Some(result) = job.poll()
        {
            self.listing = None;
            match result {
                Ok(Ok(names)) => {
                    self.remote_names = names;
                    self.form_error = None;
                }
                Ok(Err(err)) => self.form_error = Some(FormError::Net(err)),
                Err(_) => {}
            }
        }
        self.classroom = classroom;
        super::frame::show(ui, lang, classroom, self);
    }

    /// What to download, and the button; the rest of the form behind "More" in classroom
    /// mode, so the downloads get the room.
    fn form_ui(&mut self, ui: &mut Ui, lang: Lang, classroom: bool) {
        let mut mem = super::frame::memory(ui.ctx(), "download", classroom);
        let mut more = mem.more.unwrap_or(!classroom);
        ui.horizontal_wrapped(|ui| {
            labelled_text(
                ui,
                lang.t(Msg::FileServer),
                &mut self.settings.server,
                if classroom { 150.0 } else { 180.0 },
            )
            .on_hover_text(lang.t(Msg::FileServerHint));
            super::widgets::history_button(
                ui,
                lang,
                &self.settings.server_history,
                &mut self.settings.server,
            );
            labelled_text(
                ui,
                lang.t(Msg::FileName),
                &mut self.settings.name,
                if classroom { 150.0 } else { 220.0 },
            );
            if ui
                .button(RichText::new(lang.t(Msg::Download)).strong())
                .clicked()
            {
                self.start(ui.ctx(), None);
            }
            let toggle = if more {
                Msg::ComposerLess
            } else {
                Msg::ComposerMore
            };
            if ui.button(lang.t(toggle)).clicked() {
                more = !more;
            }
        });
        if mem.more != Some(more) {
            mem.more = Some(more);
            super::frame::set_memory(ui.ctx(), "download", classroom, mem);
        }
        if more {
            ui.horizontal_wrapped(|ui| {
                ui.checkbox(&mut self.settings.verified, lang.t(Msg::Verified))
                    .on_hover_text(lang.t(Msg::VerifiedHint));
                ui.add_enabled_ui(!self.settings.verified, |ui| {
                    let l = ui.label(lang.t(Msg::NameEncoding)).id;
                    egui::ComboBox::from_id_salt("dl_name_enc")
                        .selected_text(self.settings.name_encoding.label())
                        .show_ui(ui, |ui| {
                            for enc in [TextEncoding::Utf8, TextEncoding::Gbk] {
                                ui.selectable_value(
                                    &mut self.settings.name_encoding,
                                    enc,
                                    enc.label(),
                                );
                            }
                        })
                        .response
                        .labelled_by(l);
                });
                if ui
                    .add_enabled(
                        self.settings.verified && self.listing.is_none(),
                        egui::Button::new(lang.t(Msg::ListFiles)),
                    )
                    .on_hover_text(lang.t(Msg::ListFilesHint))
                    .clicked()
                {
                    self.list(ui.ctx());
                }
                if self.listing.is_some() {
                    ui.spinner();
                }
            });
        }
        if !self.remote_names.is_empty() {
            ui.horizontal(|ui| {
                ui.label(lang.t(Msg::RemoteFiles));
                egui::ScrollArea::horizontal()
                    .id_salt("remote_names")
                    .show(ui, |ui| {
                        ui.horizontal(|ui| {
                            for n in &self.remote_names {
                                if ui.selectable_label(self.settings.name == *n, n).clicked() {
                                    self.settings.name = n.clone();
                                }
                            }
                        });
                    });
            });
        }
        if more {
            ui.horizontal_wrapped(|ui| {
                path_field(
                    ui,
                    lang,
                    lang.t(Msg::SaveInFolder),
                    &mut self.settings.folder,
                    &mut self.folder_picker,
                    PickKind::Folder,
                );
            });
            ui.horizontal_wrapped(|ui| {
                path_field(
                    ui,
                    lang,
                    lang.t(Msg::SaveAs),
                    &mut self.save_as,
                    &mut self.save_picker,
                    PickKind::Save,
                )
                .on_hover_text(lang.t(Msg::SaveAsHint));
                ui.checkbox(&mut self.settings.overwrite, lang.t(Msg::Overwrite))
                    .on_hover_text(lang.t(Msg::OverwriteHint));
            });
        }
        if let Some(err) = &self.form_error {
            let text = match err {
                FormError::Msg(m) => lang.t(*m).to_owned(),
                FormError::Net(e) => describe_error(lang, e),
            };
            ui.colored_label(ui.visuals().error_fg_color, text);
        }
    }

    fn rows_ui(&mut self, ui: &mut Ui, lang: Lang, classroom: bool) {
        if self.model.rows.is_empty() {
            ui.weak(lang.t(Msg::NoDownloadsYet));
            return;
        }
        let mut cancel = None;
        let mut resume = None;
        let mut remove = None;
        egui::ScrollArea::vertical()
            .id_salt("downloads")
            .show(ui, |ui| {
                for (i, r) in self.model.rows.iter().enumerate().rev() {
                    ui.push_id(r.session, |ui| {
                        ui.horizontal(|ui| {
                            ui.strong(&r.name);
                            let whence = if classroom {
                                format!("← {}", r.server)
                            } else {
                                format!("← {}  →  {}", r.server, r.dest.display())
                            };
                            ui.add(egui::Label::new(RichText::new(whence).weak()).truncate())
                                .on_hover_text(r.dest.display().to_string());
                        });
                        ui.horizontal_wrapped(|ui| {
                            let frac = r.total.filter(|t| *t > 0).map(|t| r.have as f32 / t as f32);
                            let mut text = human_bytes(r.have);
                            if let Some(t) = r.total {
                                text = format!("{text} / {}", human_bytes(t));
                            }
                            if let Some(f) = frac {
                                text = format!("{text}  {:.0}%", f * 100.0);
                            }
                            let done = matches!(r.state, DownloadState::Done { .. });
                            ui.add(
                                egui::ProgressBar::new(if done {
                                    1.0
                                } else {
                                    frac.unwrap_or(0.0)
                                })
                                .desired_width(if classroom { 220.0 } else { 320.0 })
                                .text(text)
                                .animate(r.running() && frac.is_none()),
                            );
                            if r.running() {
                                ui.label(format!("{}/s", human_bytes(r.rate as u64)));
                                if let Some(eta) = r.eta() {
                                    ui.label(
                                        lang.fmt(Msg::TimeLeft, &[("secs", &format!("{eta:.0}"))]),
                                    );
                                }
                                if ui.button(lang.t(Msg::Cancel)).clicked() {
                                    cancel = Some(r.session);
                                }
                            }
                            match &r.state {
                                DownloadState::Connecting => {
                                    ui.label(lang.t(Msg::DlConnecting));
                                }
                                DownloadState::Receiving => {}
                                DownloadState::Done { took, verified } => {
                                    let msg = if *verified {
                                        Msg::DoneVerified
                                    } else {
                                        Msg::DoneLesson
                                    };
                                    ui.colored_label(
                                        egui::Color32::from_rgb(40, 170, 70),
                                        lang.fmt(
                                            msg,
                                            &[("secs", &format!("{:.2}", took.as_secs_f64()))],
                                        ),
                                    );
                                }
                                DownloadState::Failed { error, kept } => {
                                    ui.colored_label(
                                        ui.visuals().error_fg_color,
                                        describe_error(lang, error),
                                    );
                                    if let Some(part) = kept
                                        && error.kind == crate::net::NetErrorKind::DestinationExists
                                    {
                                        ui.label(
                                            lang.fmt(Msg::KeptAs, &[("path", &part.display())]),
                                        );
                                    } else if let Some(part) = kept
                                        && ui.button(lang.t(Msg::Resume)).clicked()
                                    {
                                        resume = Some((
                                            r.name.clone(),
                                            r.server.clone(),
                                            part.clone(),
                                            r.dest.clone(),
                                        ));
                                    }
                                }
                            }
                            if !r.running() && ui.small_button(lang.t(Msg::Remove)).clicked() {
                                remove = Some(i);
                            }
                        });
                        // In classroom mode the rows keep to their progress: the plot is a
                        // developer's view.
                        if !classroom {
                            egui::CollapsingHeader::new(lang.t(Msg::PlotThroughput))
                                .id_salt(("download_rate", r.session))
                                .show(ui, |ui| {
                                    super::plot::rate_ui(
                                        ui,
                                        lang,
                                        &format!("download-{}", r.session),
                                        &r.history,
                                    );
                                });
                        }
                        ui.separator();
                    });
                }
            });
        if let Some(session) = cancel
            && let Some(h) = self.handles.iter().find(|h| h.session() == session)
        {
            h.stop();
        }
        if let Some(i) = remove {
            self.model.rows.remove(i);
        }
        if let Some((name, server, _part, dest)) = resume {
            let saved = (self.settings.name.clone(), self.settings.server.clone());
            self.settings.name = name;
            self.settings.server = server;
            self.start(ui.ctx(), Some(dest));
            (self.settings.name, self.settings.server) = saved;
        }
        if self.model.rows.iter().any(DownloadRow::running) {
            ui.ctx().request_repaint_after(Duration::from_millis(250));
        }
    }
}

impl super::Panel for FileServerPanel {
    fn ui(&mut self, ui: &mut Ui, lang: Lang, classroom: bool) {
        FileServerPanel::ui(self, ui, lang, classroom)
    }

    fn status_line(&self, lang: Lang) -> String {
        FileServerPanel::status_line(self, lang)
    }

    fn drain_events(&mut self) {
        FileServerPanel::drain_events(self)
    }
}

/// The Download panel on the shared frame: the form stays open (each download is started
/// from it while others run), the status counts the downloads, and their rows are the main
/// view.
impl super::frame::Framed for DownloadPanel {
    fn frame_id(&self) -> &'static str {
        "download"
    }

    fn active(&self) -> bool {
        false
    }

    fn settings_ui(&mut self, ui: &mut Ui, lang: Lang) {
        let classroom = self.classroom;
        self.form_ui(ui, lang, classroom);
    }

    fn status(&self, ui: &Ui, lang: Lang) -> (egui::Color32, String) {
        let color = if self.model.rows.iter().any(DownloadRow::running) {
            egui::Color32::from_rgb(40, 170, 70)
        } else {
            ui.visuals().weak_text_color()
        };
        (color, self.status_line(lang))
    }

    fn summary(&self, _lang: Lang) -> Option<String> {
        None
    }

    fn actions_ui(&mut self, _ui: &mut Ui, _lang: Lang) {}

    fn details_ui(&mut self, _ui: &mut Ui, _lang: Lang, _classroom: bool) {}

    fn table_rows(&self, _classroom: bool) -> Option<usize> {
        Some(self.model.rows.len().clamp(1, 4))
    }

    fn table_ui(&mut self, ui: &mut Ui, lang: Lang, _compact: bool) {
        let classroom = self.classroom;
        self.rows_ui(ui, lang, classroom);
    }
}

impl super::Panel for DownloadPanel {
    fn ui(&mut self, ui: &mut Ui, lang: Lang, classroom: bool) {
        DownloadPanel::ui(self, ui, lang, classroom)
    }

    fn status_line(&self, lang: Lang) -> String {
        DownloadPanel::status_line(self, lang)
    }

    fn drain_events(&mut self) {
        DownloadPanel::drain_events(self)
    }
}
