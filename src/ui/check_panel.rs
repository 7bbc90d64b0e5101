//! The "Check a server" panel: grade an exercise-1 server (a class of clients, then the
//! awkward ones) or an exercise-2 file server, or put a server under load — with a progress
//! bar, a live board of the class's clients, live plots of a load run, the report in plain
//! words, and the report exported as text.
//!
//! Everything slow happens elsewhere: the name lookup and the start on a job thread, the
//! checks on the engines' threads (events over flume), the export on a job thread.

use std::path::PathBuf;
use std::time::Duration;

use egui::{Color32, RichText, Ui};
use egui_plot::{Legend, Line, Plot};
use flume::Receiver;
use serde::{Deserialize, Serialize};

use crate::i18n::{Lang, Msg, describe_error, describe_load_sample};
use crate::model::check::{FilesRunState, LoadState, Mode, ServerCheck, Square};
use crate::net::check::{CheckConfig, CheckEvent, CheckKind, Expect};
use crate::net::check_files::{FilesConfig, FilesEvent};
use crate::net::engine::{Engine, Stop};
use crate::net::load::{LoadConfig, LoadEvent, Reply};
use crate::net::{NetError, Tagged};
use crate::proto::encoding::TextEncoding;

use super::jobs::{Job, Written, export_result_ui, write_file};
use super::widgets::{FilePicker, PickKind, labelled_text, path_field, ui_waker};

/// What an answer must be, as the form holds it (a regular expression is compiled at Start).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ExpectChoice {
    #[default]
    Echo,
    Any,
    Text,
    Regex,
}

impl ExpectChoice {
    const ALL: [ExpectChoice; 4] = [
        ExpectChoice::Echo,
        ExpectChoice::Any,
        ExpectChoice::Text,
        ExpectChoice::Regex,
    ];

    fn title(self) -> Msg {
        match self {
            ExpectChoice::Echo => Msg::ExpectEcho,
            ExpectChoice::Any => Msg::ExpectAny,
            ExpectChoice::Text => Msg::ExpectText,
            ExpectChoice::Regex => Msg::ExpectRegex,
        }
    }
}

/// The panel's form, remembered between runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CheckSettings {
    pub mode: Mode,
    pub target: String,
    pub clients: u32,
    pub messages: u32,
    pub expect: ExpectChoice,
    pub expect_value: String,
    pub encoding: TextEncoding,
    /// Exercise 1's messages as bytes (every value 00-FF), evidence in hex.
    pub hex: bool,
    pub timeout_s: f64,
    /// Further checks left out, by name.
    pub skip: Vec<String>,
    pub local: String,
    pub load_clients: u32,
    /// 0: until stopped.
    pub load_secs: f64,
    /// 0: flat out.
    pub load_rate: f64,
    pub load_size: u32,
    pub load_udp: bool,
    pub load_any: bool,
    pub export_path: String,
}

impl Default for CheckSettings {
    fn default() -> Self {
        Self {
            mode: Mode::Server,
            target: "127.0.0.1:9000".into(),
            clients: 30,
            messages: 5,
            expect: ExpectChoice::Echo,
            expect_value: String::new(),
            encoding: TextEncoding::Utf8,
            hex: false,
            timeout_s: 2.0,
            skip: Vec::new(),
            local: String::new(),
            load_clients: 100,
            load_secs: 10.0,
            load_rate: 0.0,
            load_size: 64,
            load_udp: false,
            load_any: false,
            export_path: super::widgets::default_download_dir()
                .join("check-report.txt")
                .display()
                .to_string(),
        }
    }
}

/// A run and what it has shown so far; the handle goes once the run has ended.
enum Current {
    Server(Running<CheckEvent>, ServerCheck),
    Files(Running<FilesEvent>, FilesRunState),
    Load(Running<LoadEvent>, Box<LoadState>),
}

/// A run's engine, while it runs, and its events.
struct Running<E> {
    run: Option<Engine<Stop>>,
    events: Receiver<Tagged<E>>,
}

impl<E> Running<E> {
    /// A channel for a run's events and the run `start` makes with it.
    fn start(
        start: impl FnOnce(flume::Sender<Tagged<E>>) -> std::io::Result<Engine<Stop>>,
    ) -> std::io::Result<Self> {
        let (tx, events) = flume::unbounded();
        Ok(Self {
            run: Some(start(tx)?),
            events,
        })
    }

    /// Applies the events that arrived; lets the engine go once `running` says the run has
    /// ended and its thread is done.
    fn drain<S>(&mut self, state: &mut S, apply: fn(&mut S, E), running: fn(&S) -> bool) {
        let Some(run) = &self.run else {
            return;
        };
        let session = run.session();
        for e in self.events.try_iter().filter(|e| e.session == session) {
            apply(state, e.event);
        }
        if !running(state) && run.is_finished() {
            self.run = None;
        }
    }

    fn stop(&self) {
        if let Some(run) = &self.run {
            run.stop();
        }
    }
}

type Started = Result<Current, String>;

pub struct CheckPanel {
    pub settings: CheckSettings,
    starting: Option<Job<Started>>,
    current: Option<Current>,
    /// What went wrong before a run could start, in plain words.
    pub error: Option<String>,
    /// The start's thread ended without a word (it panicked).
    start_died: bool,
    folder_picker: FilePicker,
    export_picker: FilePicker,
    export_job: Option<Job<Written>>,
    export_result: Option<Written>,
}

impl CheckPanel {
    pub fn new(settings: CheckSettings) -> Self {
        Self {
            settings,
            starting: None,
            current: None,
            error: None,
            start_died: false,
            folder_picker: FilePicker::default(),
            export_picker: FilePicker::default(),
            export_job: None,
            export_result: None,
        }
    }

    /// A run is starting or under way.
    pub fn running(&self) -> bool {
        self.starting.is_some()
            || match &self.current {
                Some(Current::Server(_, s)) => s.running(),
                Some(Current::Files(_, s)) => s.running(),
                Some(Current::Load(_, s)) => s.running(),
                None => false,
            }
    }

    pub fn server_check(&self) -> Option<&ServerCheck> {
        match &self.current {
            Some(Current::Server(_, s)) => Some(s),
            _ => None,
        }
    }

    pub fn files_check(&self) -> Option<&FilesRunState> {
        match &self.current {
            Some(Current::Files(_, s)) => Some(s),
            _ => None,
        }
    }

    pub fn load_state(&self) -> Option<&LoadState> {
        match &self.current {
            Some(Current::Load(_, s)) => Some(s),
            _ => None,
        }
    }

    /// The report of the current (or last) run, a line each.
    pub fn report(&self, lang: Lang) -> Option<Vec<String>> {
        match &self.current {
            Some(Current::Server(_, s)) => Some(s.report(lang)),
            Some(Current::Files(_, s)) => Some(s.report(lang)),
            Some(Current::Load(_, s)) => Some(s.report(lang)),
            None => None,
        }
    }

    /// Applies what the engines have sent; never blocks.
    pub fn drain_events(&mut self) {
        if let Some(job) = &self.starting
            && let Some(r) = job.poll()
        {
            self.starting = None;
            match r {
                Ok(Ok(current)) => self.current = Some(current),
                Ok(Err(text)) => self.error = Some(text),
                Err(_) => self.start_died = true,
            }
        }
        match &mut self.current {
            Some(Current::Server(run, state)) => {
                run.drain(state, ServerCheck::apply, ServerCheck::running);
            }
            Some(Current::Files(run, state)) => {
                run.drain(state, FilesRunState::apply, FilesRunState::running);
            }
            Some(Current::Load(run, state)) => {
                run.drain(&mut **state, LoadState::apply, LoadState::running);
            }
            None => {}
        }
        if let Some(job) = &self.export_job
            && let Some(r) = job.poll()
        {
            self.export_job = None;
            self.export_result = Some(r.unwrap_or_else(|_| {
                Err(NetError::new(
                    crate::net::NetErrorKind::Other,
                    "the export stopped",
                ))
            }));
        }
    }

    /// Waits up to `timeout` for something to happen (tests and headless drivers).
    pub fn wait_event(&mut self, timeout: Duration) {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            let before = self.progress_key();
            self.drain_events();
            if self.progress_key() != before {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn progress_key(&self) -> (bool, usize, usize) {
        let n = match &self.current {
            Some(Current::Server(_, s)) => {
                s.results.len() * 100_000
                    + s.clients
                        .iter()
                        .map(|(sq, n)| *n + *sq as usize)
                        .sum::<usize>()
            }
            Some(Current::Files(_, s)) => s.results.len(),
            Some(Current::Load(_, s)) => s.samples.len(),
            None => 0,
        };
        (self.running(), n, usize::from(self.error.is_some()))
    }

    pub fn status_line(&self, lang: Lang) -> String {
        if self.starting.is_some() {
            return lang.fmt(Msg::CheckResolving, &[("target", &self.settings.target)]);
        }
        match &self.current {
            Some(Current::Server(_, s)) => match (s.current, s.finished) {
                (Some(k), _) => lang.fmt(
                    Msg::CheckRunning,
                    &[("check", &crate::i18n::describe_check(lang, k, &s.config))],
                ),
                (None, Some(_)) => lang.fmt(
                    Msg::CheckSummary,
                    &[("passed", &s.passed()), ("total", &s.planned.len())],
                ),
                (None, None) => lang.t(Msg::CheckIdle).to_owned(),
            },
            Some(Current::Files(_, s)) => match (s.current, s.finished) {
                (Some(k), _) => lang.fmt(
                    Msg::CheckRunning,
                    &[("check", &crate::i18n::describe_files_check(lang, k))],
                ),
                (None, Some(_)) => lang.fmt(
                    Msg::CheckSummary,
                    &[
                        ("passed", &s.passed()),
                        ("total", &crate::net::check_files::FilesCheck::ALL.len()),
                    ],
                ),
                (None, None) => lang.t(Msg::CheckIdle).to_owned(),
            },
            Some(Current::Load(_, s)) => match (&s.report, s.samples.back()) {
                (Some(r), _) => crate::i18n::describe_load_report(lang, r)
                    .into_iter()
                    .nth(1)
                    .unwrap_or_default(),
                (None, Some(sample)) => describe_load_sample(lang, sample),
                (None, None) => lang.fmt(Msg::CheckResolving, &[("target", &s.config.addr)]),
            },
            None => lang.t(Msg::CheckIdle).to_owned(),
        }
    }

    /// Starts what the form says: the lookup and the start happen on a job thread.
    pub fn start(&mut self, ctx: &egui::Context, lang: Lang) {
        if self.running() {
            return;
        }
        self.error = None;
        self.start_died = false;
        self.export_result = None;
        let s = self.settings.clone();
        let target = s.target.trim().to_owned();
        // What can be judged without a network is judged here, so the error shows at once.
        let (host, port) = match crate::net::split_host_port(&target) {
            Ok(hp) => hp,
            Err(e) => {
                self.error =
                    Some(lang.fmt(Msg::CheckBadTarget, &[("err", &describe_error(lang, &e))]));
                return;
            }
        };
        let expect = match s.expect {
            ExpectChoice::Echo => Expect::Echo,
            ExpectChoice::Any => Expect::Any,
            ExpectChoice::Text if s.hex => match Expect::Text(s.expect_value.clone()).in_hex() {
                Ok(e) => e,
                Err(_) => {
                    self.error = Some(lang.t(Msg::CheckBadHex).to_owned());
                    return;
                }
            },
            ExpectChoice::Text => Expect::Text(s.expect_value.clone()),
            ExpectChoice::Regex => match regex::Regex::new(&s.expect_value) {
                Ok(re) => Expect::Regex(re),
                Err(e) => {
                    self.error = Some(lang.fmt(Msg::CheckBadRegex, &[("err", &e)]));
                    return;
                }
            },
        };
        let local = PathBuf::from(s.local.trim());
        let rate = (s.load_rate > 0.0).then_some(s.load_rate);
        if s.mode == Mode::Load && s.load_udp {
            if rate.is_none() {
                self.error = Some(lang.t(Msg::LoadUdpNeedsRate).to_owned());
                return;
            }
            if (s.load_size as usize) < crate::net::load::UDP_MIN_SIZE {
                self.error =
                    Some(lang.fmt(Msg::LoadUdpSize, &[("n", &crate::net::load::UDP_MIN_SIZE)]));
                return;
            }
        }
        let timeout = Duration::from_secs_f64(s.timeout_s.clamp(0.05, 3600.0));
        let waker = ui_waker(ctx);
        let _repaint = ctx.clone();
        let work = move || -> Started {
            // On the job thread: a folder on a network share may take long to answer.
            if s.mode == Mode::Files && !local.is_dir() {
                return Err(lang.fmt(Msg::CheckBadFolder, &[("dir", &local.display())]));
            }
            let addr = crate::net::resolve::lookup(&host, port, Duration::from_secs(5))
                .map_err(|e| describe_error(lang, &e))?
                .first()
                .copied()
                .ok_or_else(|| lang.t(Msg::ErrKindNameNotResolved).to_owned())?;
            let not_started = |e: std::io::Error| {
                lang.fmt(
                    Msg::CheckNotStarted,
                    &[("err", &describe_error(lang, &NetError::from_io(&e)))],
                )
            };
            match s.mode {
                Mode::Server => {
                    let config = CheckConfig {
                        addr,
                        clients: s.clients.clamp(1, 1000) as usize,
                        messages: s.messages.clamp(1, 1000) as usize,
                        expect,
                        encoding: s.encoding,
                        hex: s.hex,
                        timeout,
                        skip: s
                            .skip
                            .iter()
                            .filter_map(|n| CheckKind::from_name(n))
                            .collect(),
                    };
                    let state = ServerCheck::new(config.clone());
                    let run =
                        Running::start(|tx| crate::net::check::spawn_check(config, tx, waker))
                            .map_err(not_started)?;
                    Ok(Current::Server(run, state))
                }
                Mode::Files => {
                    let config = FilesConfig {
                        addr,
                        local,
                        encoding: s.encoding,
                        timeout,
                    };
                    let state = FilesRunState::new(config.clone());
                    let run = Running::start(|tx| {
                        crate::net::check_files::spawn_files_check(config, tx, waker)
                    })
                    .map_err(not_started)?;
                    Ok(Current::Files(run, state))
                }
                Mode::Load => {
                    let config = LoadConfig {
                        addr,
                        clients: s.load_clients.clamp(1, 10_000) as usize,
                        duration: (s.load_secs > 0.0)
                            .then(|| Duration::from_secs_f64(s.load_secs.min(86_400.0 * 365.0))),
                        messages: None,
                        rate,
                        size: (s.load_size as usize).clamp(1, crate::net::load::MAX_SIZE),
                        udp: s.load_udp,
                        reply: if s.load_any { Reply::Any } else { Reply::Echo },
                        timeout,
                    };
                    let state = Box::new(LoadState::new(config.clone()));
                    let run = Running::start(|tx| crate::net::load::spawn_load(config, tx, waker))
                        .map_err(not_started)?;
                    Ok(Current::Load(run, state))
                }
            }
        };
        match Job::start("check-start", Some(ctx.clone()), work) {
            Ok(job) => self.starting = Some(job),
            Err(e) => {
                self.error =
                    Some(lang.fmt(Msg::CheckNotStarted, &[("err", &describe_error(lang, &e))]))
            }
        }
    }

    /// Asks the run to end soon; its report (partial) stays.
    pub fn stop(&mut self) {
        match &self.current {
            Some(Current::Server(r, _)) => r.stop(),
            Some(Current::Files(r, _)) => r.stop(),
            Some(Current::Load(r, _)) => r.stop(),
            _ => {}
        }
    }

    /// Draws the panel on the shared frame: the form folds to a line once a run has begun,
    /// so the board and the verdicts take the main view; `classroom` picks the projector's
    /// layout.
    pub fn ui(&mut self, ui: &mut Ui, lang: Lang, classroom: bool) {
        self.drain_events();
        super::frame::show(ui, lang, classroom, self);
    }

    /// What to check, and the form for it.
    fn settings_form_ui(&mut self, ui: &mut Ui, lang: Lang) {
        let running = self.running();
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new(lang.t(Msg::CheckWhat)).strong());
            ui.add_enabled_ui(!running, |ui| {
                for mode in Mode::ALL {
                    ui.selectable_value(&mut self.settings.mode, mode, lang.t(mode.title()));
                }
            });
        });
        ui.add_enabled_ui(!running, |ui| self.form_ui(ui, lang));
        ui.horizontal_wrapped(|ui| self.run_buttons_ui(ui, lang));
    }

    /// Start, Stop, the progress and the export.
    fn run_buttons_ui(&mut self, ui: &mut Ui, lang: Lang) {
        let running = self.running();
        let start_text = lang.t(if self.settings.mode == Mode::Load {
            Msg::LoadStart
        } else {
            Msg::CheckStart
        });
        if ui
            .add_enabled(
                !running,
                egui::Button::new(RichText::new(start_text).strong()),
            )
            .clicked()
        {
            self.start(ui.ctx(), lang);
        }
        if ui
            .add_enabled(running, egui::Button::new(lang.t(Msg::CheckStop)))
            .clicked()
        {
            self.stop();
        }
        let progress = match &self.current {
            Some(Current::Server(_, s)) => Some(s.progress()),
            Some(Current::Files(_, s)) => Some(s.progress()),
            Some(Current::Load(_, s)) => s.progress(),
            None => None,
        };
        if let Some(p) = progress.filter(|_| running) {
            ui.add(
                egui::ProgressBar::new(p)
                    .show_percentage()
                    .desired_width(110.0),
            );
        } else if running {
            ui.spinner();
        }
        super::widgets::menu(ui, lang.t(Msg::CheckExportMenu), |ui| {
            self.export_ui(ui, lang);
        });
    }

    fn form_ui(&mut self, ui: &mut Ui, lang: Lang) {
        let s = &mut self.settings;
        ui.horizontal_wrapped(|ui| {
            labelled_text(ui, lang.t(Msg::CheckTarget), &mut s.target, 180.0);
            match s.mode {
                Mode::Server => {
                    drag(ui, lang.t(Msg::CheckClients), &mut s.clients, 1..=1000);
                    drag(ui, lang.t(Msg::CheckMessages), &mut s.messages, 1..=1000);
                }
                Mode::Load => {
                    drag(
                        ui,
                        lang.t(Msg::CheckClients),
                        &mut s.load_clients,
                        1..=10_000,
                    );
                    drag_f(
                        ui,
                        lang.t(Msg::LoadDuration),
                        &mut s.load_secs,
                        0.0..=86_400.0,
                    )
                    .on_hover_text(lang.t(Msg::LoadDurationHint));
                    drag_f(
                        ui,
                        lang.t(Msg::LoadRate),
                        &mut s.load_rate,
                        0.0..=10_000_000.0,
                    )
                    .on_hover_text(lang.t(Msg::LoadRateHint));
                }
                Mode::Files => {}
            }
            drag_f(
                ui,
                lang.t(Msg::CheckTimeout),
                &mut s.timeout_s,
                0.05..=3600.0,
            );
        });
        match s.mode {
            Mode::Server => {
                ui.horizontal_wrapped(|ui| {
                    let label = ui.label(lang.t(Msg::CheckExpect)).id;
                    egui::ComboBox::from_id_salt("check_expect")
                        .selected_text(lang.t(s.expect.title()))
                        .show_ui(ui, |ui| {
                            for e in ExpectChoice::ALL {
                                ui.selectable_value(&mut s.expect, e, lang.t(e.title()));
                            }
                        })
                        .response
                        .labelled_by(label);
                    if matches!(s.expect, ExpectChoice::Text | ExpectChoice::Regex) {
                        labelled_text(
                            ui,
                            lang.t(Msg::CheckExpectValue),
                            &mut s.expect_value,
                            160.0,
                        );
                    }
                    encoding_ui(ui, lang, &mut s.encoding, Some(&mut s.hex));
                });
                ui.horizontal_wrapped(|ui| {
                    ui.label(lang.t(Msg::CheckFurther));
                    for kind in CheckKind::FURTHER {
                        let mut on = !s.skip.iter().any(|n| n == kind.name());
                        let title = crate::i18n::describe_further(lang, kind);
                        if ui.checkbox(&mut on, title).changed() {
                            s.skip.retain(|n| n != kind.name());
                            if !on {
                                s.skip.push(kind.name().to_owned());
                            }
                        }
                    }
                });
            }
            Mode::Files => {
                ui.horizontal_wrapped(|ui| {
                    path_field(
                        ui,
                        lang,
                        lang.t(Msg::CheckLocalFolder),
                        &mut s.local,
                        &mut self.folder_picker,
                        PickKind::Folder,
                    );
                    encoding_ui(ui, lang, &mut s.encoding, None);
                });
            }
            Mode::Load => {
                ui.horizontal_wrapped(|ui| {
                    drag(
                        ui,
                        lang.t(Msg::LoadSize),
                        &mut s.load_size,
                        1..=crate::net::load::MAX_SIZE as u32,
                    );
                    ui.checkbox(&mut s.load_udp, lang.t(Msg::LoadUdp));
                    ui.checkbox(&mut s.load_any, lang.t(Msg::LoadAnyReply));
                });
            }
        }
    }

    fn export_ui(&mut self, ui: &mut Ui, lang: Lang) {
        ui.horizontal(|ui| {
            path_field(
                ui,
                lang,
                lang.t(Msg::CheckExportPath),
                &mut self.settings.export_path,
                &mut self.export_picker,
                PickKind::Save,
            );
            let report = self.report(lang);
            let can = report.is_some() && self.export_job.is_none();
            if ui
                .add_enabled(can, egui::Button::new(lang.t(Msg::CheckExport)))
                .clicked()
                && let Some(lines) = report
            {
                let mut text = lines.join("\n");
                text.push('\n');
                let path = PathBuf::from(self.settings.export_path.trim());
                match Job::start("export-report", Some(ui.ctx().clone()), move || {
                    write_file(&path, |p| std::fs::write(p, text))
                }) {
                    Ok(job) => {
                        self.export_job = Some(job);
                        self.export_result = None;
                    }
                    Err(e) => self.export_result = Some(Err(e)),
                }
            }
            export_result_ui(ui, lang, self.export_result.as_ref());
        });
    }
}

impl super::frame::Framed for CheckPanel {
    fn frame_id(&self) -> &'static str {
        "check"
    }

    /// A run has begun (or ended with a report): the form folds to a line.
    fn active(&self) -> bool {
        self.running() || self.current.is_some()
    }

    fn settings_ui(&mut self, ui: &mut Ui, lang: Lang) {
        self.settings_form_ui(ui, lang);
    }

    fn status(&self, ui: &Ui, lang: Lang) -> (Color32, String) {
        let color = if self.running() {
            ui.visuals().warn_fg_color
        } else {
            ui.visuals().text_color()
        };
        (color, self.status_line(lang))
    }

    fn summary(&self, lang: Lang) -> Option<String> {
        Some(format!(
            "{} · {}",
            lang.t(self.settings.mode.title()),
            self.settings.target.trim()
        ))
    }

    fn actions_ui(&mut self, ui: &mut Ui, lang: Lang) {
        self.run_buttons_ui(ui, lang);
    }

    fn details_ui(&mut self, ui: &mut Ui, lang: Lang, _classroom: bool) {
        if let Some(err) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, err);
        }
        if self.start_died {
            ui.colored_label(ui.visuals().error_fg_color, lang.t(Msg::CheckStartDied));
        }
        // The export's outcome stays in view when its menu has closed.
        export_result_ui(ui, lang, self.export_result.as_ref());
        ui.separator();
    }

    fn table_rows(&self, _classroom: bool) -> Option<usize> {
        Some(8)
    }

    /// The board and the verdicts: the main view.
    fn table_ui(&mut self, ui: &mut Ui, lang: Lang, compact: bool) {
        egui::ScrollArea::vertical()
            .id_salt("check_results")
            .auto_shrink([false, false])
            .show(ui, |ui| match &self.current {
                Some(Current::Server(_, s)) => server_ui(ui, lang, s, compact),
                Some(Current::Files(_, s)) => results_ui(ui, lang, &s.report(lang), compact),
                Some(Current::Load(_, s)) => load_ui(ui, lang, s, compact),
                None => {
                    ui.weak(lang.t(Msg::CheckIdle));
                }
            });
    }
}

impl Drop for CheckPanel {
    fn drop(&mut self) {
        self.stop();
    }
}

fn drag(ui: &mut Ui, label: &str, value: &mut u32, range: std::ops::RangeInclusive<u32>) {
    let id = ui.label(label).id;
    ui.add(egui::DragValue::new(value).range(range).speed(1.0))
        .labelled_by(id);
}

fn drag_f(
    ui: &mut Ui,
    label: &str,
    value: &mut f64,
    range: std::ops::RangeInclusive<f64>,
) -> egui::Response {
    let id = ui.label(label).id;
    ui.add(
        egui::DragValue::new(value)
            .range(range)
            .speed(0.1)
            .max_decimals(2),
    )
    .labelled_by(id)
}

/// The text encoding; with `hex`, also "hex bytes" (messages as bytes, not text).
fn encoding_ui(ui: &mut Ui, lang: Lang, enc: &mut TextEncoding, mut hex: Option<&mut bool>) {
    let label = ui.label(lang.t(Msg::Encoding)).id;
    let is_hex = hex.as_deref().copied().unwrap_or(false);
    egui::ComboBox::from_id_salt("check_encoding")
        .selected_text(if is_hex {
            lang.t(Msg::CheckHexBytes)
        } else {
            enc.label()
        })
        .show_ui(ui, |ui| {
            for e in TextEncoding::ALL {
                if ui
                    .selectable_label(!is_hex && *enc == e, e.label())
                    .clicked()
                {
                    *enc = e;
                    if let Some(h) = hex.as_deref_mut() {
                        *h = false;
                    }
                }
            }
            if let Some(h) = hex
                && ui
                    .selectable_label(is_hex, lang.t(Msg::CheckHexBytes))
                    .on_hover_text(lang.t(Msg::CheckHexHint))
                    .clicked()
            {
                *h = true;
            }
        })
        .response
        .labelled_by(label);
}

fn square_color(sq: Square, dark: bool) -> Color32 {
    match (sq, dark) {
        (Square::Waiting, false) => Color32::from_gray(205),
        (Square::Waiting, true) => Color32::from_gray(70),
        (Square::Connecting, _) => Color32::from_rgb(90, 150, 230),
        (Square::Talking, _) => Color32::from_rgb(235, 180, 40),
        (Square::Done, _) => Color32::from_rgb(50, 170, 80),
        (Square::Failed, _) => Color32::from_rgb(215, 60, 50),
    }
}

/// The class's clients as squares, coloured by state, wrapping to the width.
fn board_ui(ui: &mut Ui, lang: Lang, s: &ServerCheck) {
    let dark = ui.visuals().dark_mode;
    let counts = s.counts();
    ui.horizontal_wrapped(|ui| {
        for (k, sq) in Square::ALL.into_iter().enumerate() {
            let (rect, _) = ui.allocate_exact_size(egui::vec2(12.0, 12.0), egui::Sense::hover());
            ui.painter().rect_filled(rect, 2.0, square_color(sq, dark));
            ui.label(format!("{} {}", lang.t(sq.title()), counts[k]));
            ui.add_space(8.0);
        }
    });
    let n = s.clients.len();
    let side = if n > 300 { 12.0 } else { 18.0 };
    let gap = 3.0;
    let width = ui.available_width().max(side);
    let per_row = ((width + gap) / (side + gap)).floor().max(1.0) as usize;
    let rows = n.div_ceil(per_row);
    let height = rows as f32 * (side + gap);
    let (rect, response) = ui.allocate_exact_size(egui::vec2(width, height), egui::Sense::hover());
    let painter = ui.painter_at(rect);
    let at = |i: usize| {
        let (r, c) = (i / per_row, i % per_row);
        egui::Rect::from_min_size(
            rect.min + egui::vec2(c as f32 * (side + gap), r as f32 * (side + gap)),
            egui::vec2(side, side),
        )
    };
    for (i, (sq, _)) in s.clients.iter().enumerate() {
        painter.rect_filled(at(i), 3.0, square_color(*sq, dark));
    }
    if let Some(pos) = response.hover_pos() {
        let rel = pos - rect.min;
        let (c, r) = (
            (rel.x / (side + gap)) as usize,
            (rel.y / (side + gap)) as usize,
        );
        let i = r * per_row + c;
        if c < per_row
            && let Some((sq, answered)) = s.clients.get(i)
        {
            response.on_hover_text(lang.fmt(
                Msg::CheckClientTip,
                &[
                    ("c", &(i + 1)),
                    ("state", &lang.t(sq.title())),
                    ("answered", answered),
                    ("m", &s.config.messages),
                ],
            ));
        }
    }
}

fn server_ui(ui: &mut Ui, lang: Lang, s: &ServerCheck, compact: bool) {
    board_ui(ui, lang, s);
    ui.separator();
    results_ui(ui, lang, &s.report(lang), compact);
}

/// The report's lines, the verdicts marked in colour. `compact` (classroom mode) leaves
/// out the lines before the first verdict: the folded settings line says what they say, and
/// the export keeps them.
fn results_ui(ui: &mut Ui, lang: Lang, lines: &[String], compact: bool) {
    let passed = format!("[{}]", lang.t(Msg::CheckPassed));
    let failed = format!("[{}]", lang.t(Msg::CheckFailed));
    let ok = Color32::from_rgb(40, 150, 70);
    let bad = ui.visuals().error_fg_color;
    let first_verdict = lines
        .iter()
        .position(|l| l.starts_with(&passed) || l.starts_with(&failed));
    let skip = if compact {
        first_verdict.unwrap_or(0)
    } else {
        0
    };
    for (k, line) in lines.iter().enumerate().skip(skip) {
        if k == 0 {
            ui.label(RichText::new(line).strong());
        } else if let Some(rest) = line.strip_prefix(&passed) {
            badge_line(ui, lang.t(Msg::CheckPassed), ok, rest);
        } else if let Some(rest) = line.strip_prefix(&failed) {
            badge_line(ui, lang.t(Msg::CheckFailed), bad, rest);
        } else if line.is_empty() {
            ui.add_space(4.0);
        } else {
            ui.label(line);
        }
    }
}

/// A verdict's word on a coloured badge (no symbol glyphs: the bundled font has none), then
/// its line.
fn badge_line(ui: &mut Ui, word: &str, color: Color32, rest: &str) {
    ui.horizontal_wrapped(|ui| {
        egui::Frame::new()
            .fill(color)
            .corner_radius(3.0)
            .inner_margin(egui::Margin::symmetric(5, 1))
            .show(ui, |ui| {
                ui.label(RichText::new(word).color(Color32::WHITE).strong());
            });
        ui.label(rest.trim_start());
    });
}

fn load_ui(ui: &mut Ui, lang: Lang, s: &LoadState, compact: bool) {
    if let Some(limit) = &s.limit {
        ui.label(crate::i18n::describe_file_limit(
            lang,
            limit,
            s.config.clients,
        ));
    }
    if s.config.duration.is_none() && s.running() {
        ui.weak(lang.t(Msg::LoadUntilStopped));
    }
    if let Some(sample) = s.samples.back() {
        ui.label(RichText::new(describe_load_sample(lang, sample)).strong());
    }
    let height = if compact { 110.0 } else { 150.0 };
    ui.columns(3, |cols| {
        Plot::new("load-rate")
            .height(height)
            .legend(Legend::default())
            .x_axis_label(lang.t(Msg::PlotSeconds))
            .allow_scroll(false)
            .include_y(0.0)
            .show(&mut cols[0], |p| {
                p.line(Line::new(
                    lang.t(Msg::PlotAnswersPerS),
                    s.series(|x| x.messages_per_s),
                ));
            });
        Plot::new("load-connected")
            .height(height)
            .legend(Legend::default())
            .x_axis_label(lang.t(Msg::PlotSeconds))
            .allow_scroll(false)
            .include_y(0.0)
            .show(&mut cols[1], |p| {
                p.line(Line::new(
                    lang.t(Msg::PlotConnected),
                    s.series(|x| x.connected as f64),
                ));
            });
        Plot::new("load-rtt")
            .height(height)
            .legend(Legend::default())
            .x_axis_label(lang.t(Msg::PlotSeconds))
            .allow_scroll(false)
            .include_y(0.0)
            .show(&mut cols[2], |p| {
                p.line(Line::new(lang.t(Msg::PlotP50), s.series(|x| x.rtt.p50_ms)));
                p.line(Line::new(lang.t(Msg::PlotP99), s.series(|x| x.rtt.p99_ms)));
            });
    });
    if s.report.is_some() {
        ui.separator();
        results_ui(ui, lang, &s.report(lang), compact);
    }
}

impl super::Panel for CheckPanel {
    fn ui(&mut self, ui: &mut Ui, lang: Lang, classroom: bool) {
        CheckPanel::ui(self, ui, lang, classroom)
    }

    fn status_line(&self, lang: Lang) -> String {
        CheckPanel::status_line(self, lang)
    }

    fn drain_events(&mut self) {
        CheckPanel::drain_events(self)
    }
}
