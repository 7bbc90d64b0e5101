//! The Lab panel (issue 11): the glass-box lab, projector first. A wire between the two hosts
//! drawn large, with the packets travelling along it; the sequence diagram of the real
//! segments; a chart of the client's windows; a packet table that selects with the diagram;
//! the controls (play, pause, step, speed, the wire's settings, hold and deliver, the
//! applications' commands, run again, export).
//!
//! The lab is a simulation with no sockets: it runs on the UI thread in virtual time, a few
//! milliseconds of work per frame at most (a headless 10 MB transfer takes well under a
//! second of CPU in all), so nothing here ever waits. Files are written by `ui::jobs`.

use std::path::PathBuf;

use egui::{
    Align2, Color32, FontId, Pos2, Rect, RichText, Sense, Stroke, StrokeKind, Ui, pos2, vec2,
};
use egui_plot::{Legend, Line, Plot, Points};

use super::jobs::{Job, Written};
use crate::i18n::{Lang, Msg};
use crate::lab::clock::Clock;
use crate::lab::report::Rel;
use crate::lab::scenario::{Finding, Options, Play, Scenario};
use crate::lab::{
    Action, AppMode, Command, Congestion, Dir, Fate, Host, LabConfig, PacketRecord, WireSettings,
};
use crate::model::lab::{fate_text, finding_text, packet_label};
use crate::model::lab_diagram::{End, LabDiagram, lane_xs, to_svg};
use crate::proto::encoding::TextEncoding;

/// The scenario's title on its button.
pub fn lab_title(s: Scenario) -> Msg {
    match s {
        Scenario::Handshake => Msg::LabTitleHandshake,
        Scenario::OldDuplicateSyn => Msg::LabTitleOldSyn,
        Scenario::Acks => Msg::LabTitleAcks,
        Scenario::TimeoutRetransmit => Msg::LabTitleTimeout,
        Scenario::FastRetransmit => Msg::LabTitleFast,
        Scenario::Checksum => Msg::LabTitleChecksum,
        Scenario::FlowControl => Msg::LabTitleFlow,
        Scenario::Congestion => Msg::LabTitleCongestion,
        Scenario::Close => Msg::LabTitleClose,
        Scenario::Reorder => Msg::LabTitleReorder,
        Scenario::UdpLoss => Msg::LabTitleUdpLoss,
    }
}

/// What to watch in a scenario.
pub fn lab_explanation(s: Scenario) -> Msg {
    match s {
        Scenario::Handshake => Msg::LabExplainHandshake,
        Scenario::OldDuplicateSyn => Msg::LabExplainOldSyn,
        Scenario::Acks => Msg::LabExplainAcks,
        Scenario::TimeoutRetransmit => Msg::LabExplainTimeout,
        Scenario::FastRetransmit => Msg::LabExplainFast,
        Scenario::Checksum => Msg::LabExplainChecksum,
        Scenario::FlowControl => Msg::LabExplainFlow,
        Scenario::Congestion => Msg::LabExplainCongestion,
        Scenario::Close => Msg::LabExplainClose,
        Scenario::Reorder => Msg::LabExplainReorder,
        Scenario::UdpLoss => Msg::LabExplainUdpLoss,
    }
}

/// The speed a scenario opens at: slow enough to follow its packets with the eye.
fn opening_speed(s: Scenario) -> f64 {
    match s {
        Scenario::Handshake
        | Scenario::OldDuplicateSyn
        | Scenario::Acks
        | Scenario::Checksum
        | Scenario::Reorder => 0.1,
        Scenario::FastRetransmit => 0.25,
        Scenario::TimeoutRetransmit | Scenario::UdpLoss => 0.5,
        Scenario::FlowControl | Scenario::Congestion => 1.0,
        Scenario::Close => 2.0,
    }
}

/// The most one "send bytes" may ask for: 10 MB keep the record (and the diagram rebuilt
/// while it grows) within a few thousand packets' worth per click.
const MAX_BULK: u64 = 10_000_000;

/// A failed call, in plain words.
fn call_error_text(lang: Lang, err: crate::lab::CallError) -> String {
    use crate::lab::CallError;
    match err {
        CallError::Busy(state) => lang.fmt(Msg::LabCallBusy, &[("state", &state)]),
        CallError::NotOpen(state) => lang.fmt(Msg::LabCallNotOpen, &[("state", &state)]),
        CallError::Datagram => lang.t(Msg::LabCallDatagram).to_owned(),
    }
}

/// Which view fills the space under the wire (in classroom mode, one at a time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabView {
    Diagram,
    Chart,
    Table,
}

/// The client's windows over time, for the chart.
#[derive(Default)]
struct Series {
    cwnd: Vec<[f64; 2]>,
    in_flight: Vec<[f64; 2]>,
    rwnd: Vec<[f64; 2]>,
}

pub struct LabPanel {
    /// The scenario shown (None: by hand).
    pub scenario: Option<Scenario>,
    pub play: Play,
    pub clock: Clock,
    pub diagram: LabDiagram,
    diagram_lang: Lang,
    /// The record changed in place (a fate by hand): rebuild even at the same length.
    dirty: bool,
    rel: Rel,
    findings: Vec<Finding>,
    series: Series,
    pub selected: Option<u64>,
    pub view: LabView,
    /// Settings for the next run (the wire's apply at once).
    pub wire: WireSettings,
    pub seed: u64,
    pub congestion: Congestion,
    text: String,
    encoding: TextEncoding,
    bulk: u64,
    export_path: String,
    export_job: Option<Job<Written>>,
    export_rx: Option<flume::Receiver<Written>>,
    export_result: Option<Written>,
    diagram_rect: Option<Rect>,
    /// Set by the app each frame: the wire and the diagram take the screen.
    pub classroom: bool,
    was_classroom: bool,
    /// Scroll the diagram to its top on the next frame (a new run).
    to_top: bool,
    /// Congestion control: the same scenario with the other algorithm, run on a job once the
    /// play is over, for the side-by-side finding.
    other_job: Option<Job<Option<crate::lab::scenario::CongestionFigures>>>,
    other: Option<crate::lab::scenario::CongestionFigures>,
    /// The job could not start.
    other_error: Option<crate::net::NetError>,
    /// Scroll the table to this row on the next frame.
    table_to: Option<usize>,
}

impl Default for LabPanel {
    fn default() -> Self {
        let wire = WireSettings::default();
        Self {
            scenario: None,
            play: Play::manual(LabConfig::default()),
            clock: Clock::default(),
            diagram: LabDiagram::default(),
            diagram_lang: Lang::En,
            dirty: true,
            rel: Rel::default(),
            findings: Vec::new(),
            series: Series::default(),
            selected: None,
            view: LabView::Diagram,
            wire,
            seed: 1,
            congestion: Congestion::Reno,
            text: "你好, TCP".to_owned(),
            encoding: TextEncoding::Utf8,
            bulk: 20_000,
            export_path: std::env::temp_dir()
                .join("lab")
                .to_string_lossy()
                .into_owned(),
            export_job: None,
            export_rx: None,
            export_result: None,
            diagram_rect: None,
            classroom: false,
            was_classroom: false,
            to_top: true,
            other_job: None,
            other: None,
            other_error: None,
            table_to: None,
        }
    }
}

impl LabPanel {
    /// Starts a scenario afresh with its own wire (and the chosen seed and algorithm).
    pub fn run(&mut self, scenario: Scenario) {
        let options = Options {
            seed: self.seed,
            congestion: Some(self.congestion),
            ..Options::default()
        };
        self.wire = scenario.wire();
        self.play = Play::new(scenario, &options);
        self.scenario = Some(scenario);
        self.view = self.opening_view();
        self.after_reset(opening_speed(scenario));
    }

    /// What shows first under the wire: congestion control is about the window, so its
    /// chart; otherwise the diagram in classroom mode (the table sits beside it otherwise).
    fn opening_view(&self) -> LabView {
        match (self.scenario, self.classroom) {
            (Some(Scenario::Congestion), _) => LabView::Chart,
            (_, true) => LabView::Diagram,
            (_, false) => LabView::Table,
        }
    }

    /// An empty lab on the wire as set: the teacher drives the applications.
    pub fn manual(&mut self) {
        self.play = Play::manual(LabConfig {
            seed: self.seed,
            wire: self.wire,
            congestion: self.congestion,
            ..LabConfig::default()
        });
        self.scenario = None;
        self.after_reset(0.1);
    }

    fn after_reset(&mut self, speed: f64) {
        self.other_job = None;
        self.other = None;
        self.other_error = None;
        self.clock = Clock::new(speed);
        self.selected = None;
        self.dirty = true;
        self.to_top = true;
        self.table_to = None;
    }

    pub fn status_line(&self, lang: Lang) -> String {
        let state = if self.finished() {
            lang.t(Msg::LabFinished)
        } else if self.clock.paused {
            lang.t(Msg::LabPaused)
        } else {
            lang.t(Msg::LabPlaying)
        };
        let name = self
            .scenario
            .map_or(lang.t(Msg::LabManual), |s| lang.t(lab_title(s)));
        format!(
            "{name} — {state} — {}",
            lang.fmt(Msg::LabClock, &[("t", &self.t_ms())])
        )
    }

    fn t_ms(&self) -> String {
        format!("{:.3}", self.play.lab.now_us() as f64 / 1000.0)
    }

    /// The play is over and nothing more is scheduled.
    pub fn finished(&self) -> bool {
        self.scenario.is_some() && self.play.over() && self.play.lab.on_the_wire().is_empty()
    }

    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// Step to the next event (the button; also for tests).
    pub fn step(&mut self) {
        self.clock.paused = true;
        self.play.step_event();
    }

    /// Drops, corrupts, delays, duplicates or delivers a packet on the wire.
    pub fn act(&mut self, id: u64, action: Action) -> bool {
        let done = self.play.lab.act(id, action);
        self.dirty = true;
        done
    }

    /// Runs the lab for this frame's share of virtual time, and keeps the views in step.
    fn tick(&mut self, ctx: &egui::Context) {
        let dt = ctx.input(|i| i.stable_dt).clamp(0.0, 0.25);
        if self.scenario.is_some() && !self.clock.paused && self.finished() && self.play.idle() {
            // The scenario has played out: the button offers Play again for what the teacher
            // does next by hand, and the diagram goes back to its start (the handshake in
            // view, as the lesson shows it) after following the present.
            self.clock.paused = true;
            self.to_top = true;
        }
        if !self.clock.paused {
            let idle = self.play.idle();
            if !idle {
                let dv = self.clock.advance(std::time::Duration::from_secs_f32(dt));
                let until = self.play.lab.now_us() + dv;
                // A few milliseconds of CPU at most per frame: a fast speed over a bulk
                // transfer catches up over several frames.
                let started = std::time::Instant::now();
                let mut t = self.play.lab.now_us();
                while t < until && started.elapsed() < std::time::Duration::from_millis(8) {
                    t = (t + 20_000).min(until);
                    self.play.run_to(t);
                }
                ctx.request_repaint();
            }
        }
        self.refresh(ctx);
    }

    /// Congestion control, played out: the other algorithm's run, off the UI thread.
    fn compare_algorithms(&mut self, ctx: &egui::Context) {
        if let Some(job) = &self.other_job
            && let Some(r) = job.poll()
        {
            self.other_job = None;
            self.other = r.ok().flatten();
            self.dirty = true;
        }
        let due = self.scenario == Some(Scenario::Congestion)
            && self.play.over()
            && self.other.is_none()
            && self.other_job.is_none()
            && self.other_error.is_none();
        if due {
            let config = self.play.lab.config;
            match Job::start("lab-compare", Some(ctx.clone()), move || {
                crate::lab::scenario::other_congestion_run(config)
            }) {
                Ok(job) => self.other_job = Some(job),
                Err(e) => self.other_error = Some(e),
            }
        }
    }

    /// Rebuilds the diagram, the findings and the chart when the record changed.
    fn refresh(&mut self, ctx: &egui::Context) {
        self.compare_algorithms(ctx);
        let lang = self.diagram_lang;
        if !self.dirty && self.diagram.built_from == self.play.lab.record.len() {
            return;
        }
        self.dirty = false;
        self.diagram = LabDiagram::build(&self.play.lab, lang);
        self.rel = Rel::of(&self.play.lab);
        self.findings = self.play.findings();
        if let Some(other) = self.other {
            self.findings
                .extend(crate::lab::scenario::compare(&self.play.lab, other));
        }
        let mut s = Series::default();
        for sample in self.play.lab.samples().filter(|s| s.host == Host::Client) {
            let t = sample.t_us as f64 / 1000.0;
            if let Some(c) = sample.cwnd {
                s.cwnd.push([t, f64::from(c)]);
            }
            s.in_flight.push([t, f64::from(sample.in_flight)]);
            s.rwnd.push([t, f64::from(sample.rwnd)]);
        }
        self.series = s;
        ctx.request_repaint();
    }

    pub fn ui(&mut self, ui: &mut Ui, lang: Lang) {
        if self.classroom != self.was_classroom {
            self.was_classroom = self.classroom;
            self.view = self.opening_view();
        }
        if self.diagram_lang != lang {
            self.diagram_lang = lang;
            self.dirty = true;
        }
        self.tick(ui.ctx());
        self.poll_export();
        if !self.classroom {
            egui::Panel::left("lab_side")
                .resizable(false)
                .exact_size(250.0)
                .show(ui, |ui| {
                    egui::ScrollArea::vertical()
                        .id_salt("lab_side_scroll")
                        .show(ui, |ui| self.side_ui(ui, lang));
                });
        }
        self.controls_ui(ui, lang);
        self.wire_ui(ui, lang);
        self.selection_ui(ui, lang);
        if self.classroom {
            ui.horizontal(|ui| {
                self.view_picker(
                    ui,
                    lang,
                    &[LabView::Diagram, LabView::Chart, LabView::Table],
                );
                ui.separator();
                self.findings_fold(ui, lang);
            });
            match self.view {
                LabView::Diagram => self.diagram_ui(ui, lang),
                LabView::Chart => self.chart_ui(ui, lang),
                LabView::Table => self.table_ui(ui, lang),
            }
        } else {
            // The diagram on the left, the words and the table or chart on the right.
            let avail = ui.available_size();
            let side = (avail.x * 0.47).clamp(300.0, 600.0);
            let main = (avail.x - side - 12.0).max(320.0);
            ui.horizontal_top(|ui| {
                ui.allocate_ui_with_layout(
                    vec2(main, avail.y),
                    egui::Layout::top_down(egui::Align::Min),
                    |ui| {
                        ui.set_min_size(vec2(main, avail.y));
                        self.diagram_ui(ui, lang);
                    },
                );
                ui.separator();
                ui.allocate_ui_with_layout(
                    vec2(side, avail.y),
                    egui::Layout::top_down(egui::Align::Min),
                    |ui| {
                        ui.set_min_size(vec2(side, avail.y));
                        self.findings_ui(ui, lang);
                        ui.separator();
                        ui.horizontal(|ui| {
                            self.view_picker(ui, lang, &[LabView::Table, LabView::Chart]);
                        });
                        if self.view == LabView::Chart {
                            self.chart_ui(ui, lang);
                        } else {
                            self.table_ui(ui, lang);
                        }
                    },
                );
            });
        }
    }

    /// Tabs for the views on offer.
    fn view_picker(&mut self, ui: &mut Ui, lang: Lang, views: &[LabView]) {
        for &v in views {
            let m = match v {
                LabView::Diagram => Msg::LabViewDiagram,
                LabView::Chart => Msg::LabViewChart,
                LabView::Table => Msg::LabViewTable,
            };
            ui.selectable_value(&mut self.view, v, RichText::new(lang.t(m)).strong());
        }
    }

    /// The scenario list, the wire's settings, the applications and the export.
    fn side_ui(&mut self, ui: &mut Ui, lang: Lang) {
        for s in Scenario::ALL {
            let selected = self.scenario == Some(s);
            let button = egui::Button::selectable(selected, lang.t(lab_title(s)));
            if ui.add_sized([230.0, 22.0], button).clicked() {
                self.run(s);
            }
        }
        let button = egui::Button::selectable(self.scenario.is_none(), lang.t(Msg::LabManual));
        if ui
            .add_sized([230.0, 22.0], button)
            .on_hover_text(lang.t(Msg::LabManualHint))
            .clicked()
        {
            self.manual();
        }
        ui.separator();
        egui::CollapsingHeader::new(RichText::new(lang.t(Msg::LabWire)).strong())
            .id_salt("lab_wire")
            .default_open(true)
            .show(ui, |ui| self.wire_settings_ui(ui, lang));
        egui::CollapsingHeader::new(RichText::new(lang.t(Msg::LabApps)).strong())
            .id_salt("lab_apps")
            .default_open(self.scenario.is_none())
            .show(ui, |ui| self.apps_ui(ui, lang));
        ui.separator();
        self.export_ui(ui, lang);
    }

    fn wire_settings_ui(&mut self, ui: &mut Ui, lang: Lang) {
        let mut w = self.wire;
        let mut delay_ms = w.delay_us as f64 / 1000.0;
        let mut rate = w.rate_bps / 1000;
        egui::Grid::new("lab_wire_grid")
            .num_columns(2)
            .show(ui, |ui| {
                let l = ui.label(lang.t(Msg::LabDelay)).id;
                ui.add(
                    egui::DragValue::new(&mut delay_ms)
                        .range(0.0..=2000.0)
                        .speed(1.0),
                )
                .labelled_by(l);
                ui.end_row();
                let l2 = ui.label(lang.t(Msg::LabRate)).id;
                ui.add(
                    egui::DragValue::new(&mut rate)
                        .range(0..=1_000_000)
                        .speed(10.0),
                )
                .labelled_by(l2);
                ui.end_row();
                let l3 = ui.label(lang.t(Msg::LabQueue)).id;
                ui.add(egui::DragValue::new(&mut w.queue_pkts).range(1..=10_000))
                    .labelled_by(l3);
                ui.end_row();
                for (m, v) in [
                    (Msg::LabLoss, &mut w.loss_pct),
                    (Msg::LabCorrupt, &mut w.corrupt_pct),
                    (Msg::LabDuplicate, &mut w.duplicate_pct),
                    (Msg::LabReorder, &mut w.reorder_pct),
                ] {
                    let l = ui.label(lang.t(m)).id;
                    ui.add(egui::DragValue::new(v).range(0.0..=100.0).speed(0.5))
                        .labelled_by(l);
                    ui.end_row();
                }
            });
        ui.checkbox(&mut w.hold, lang.t(Msg::LabHold))
            .on_hover_text(lang.t(Msg::LabHoldHint));
        w.delay_us = (delay_ms * 1000.0) as u64;
        w.rate_bps = rate * 1000;
        if w != self.wire {
            self.wire = w;
            self.play.lab.set_wire(w);
        }
        ui.horizontal(|ui| {
            let l = ui.label(lang.t(Msg::LabSeed)).id;
            ui.add(egui::DragValue::new(&mut self.seed)).labelled_by(l);
        });
        ui.horizontal_wrapped(|ui| {
            ui.label(lang.t(Msg::LabCongestionAlgo));
            for c in [Congestion::Reno, Congestion::Cubic] {
                ui.selectable_value(&mut self.congestion, c, c.name());
            }
        });
        ui.weak(lang.t(Msg::LabNextRun));
    }

    fn apps_ui(&mut self, ui: &mut Ui, lang: Lang) {
        let lab = &mut self.play.lab;
        for host in [Host::Client, Host::Server] {
            ui.label(RichText::new(crate::model::lab::host_text(lang, host)).strong());
            let state = lab.state(host).to_string();
            let unread = lab.unread(host);
            let app = lab.app(host);
            ui.weak(lang.fmt(
                Msg::LabAppLine,
                &[
                    ("state", &state),
                    ("read", &app.received),
                    ("unread", &unread),
                    ("unsent", &app.unsent()),
                ],
            ));
            let reading = app.reading;
            let echo = app.mode == AppMode::Echo;
            let mut commands = Vec::new();
            ui.horizontal_wrapped(|ui| {
                match host {
                    Host::Client => {
                        if ui.button("connect()").clicked() {
                            commands.push(Command::Connect);
                        }
                    }
                    Host::Server => {
                        if ui.button("listen()").clicked() {
                            commands.push(Command::Listen);
                        }
                    }
                }
                if ui.button("shutdown()").clicked() {
                    commands.push(Command::Shutdown(host));
                }
                if ui.button("close()").clicked() {
                    commands.push(Command::Close(host));
                }
                if ui.button(lang.t(Msg::LabAbort)).clicked() {
                    commands.push(Command::Abort(host));
                }
                let (m, on) = if reading {
                    (Msg::LabStopReading, false)
                } else {
                    (Msg::LabResumeReading, true)
                };
                if ui.button(lang.t(m)).clicked() {
                    commands.push(Command::SetReading(host, on));
                }
                let mut e = echo;
                if ui.checkbox(&mut e, lang.t(Msg::LabEcho)).changed() {
                    let mode = if e { AppMode::Echo } else { AppMode::Sink };
                    commands.push(Command::SetMode(host, mode));
                }
            });
            ui.horizontal_wrapped(|ui| {
                let encoded = self.encoding.encode(&self.text);
                if ui
                    .add_enabled(encoded.is_ok(), egui::Button::new(lang.t(Msg::LabSendText)))
                    .clicked()
                    && let Ok(bytes) = &encoded
                {
                    commands.push(Command::Send(host, bytes.clone()));
                }
                if ui
                    .add_enabled(encoded.is_ok(), egui::Button::new(lang.t(Msg::LabSendTo)))
                    .clicked()
                    && let Ok(bytes) = encoded
                {
                    commands.push(Command::SendTo(host, bytes));
                }
                if ui.button(lang.t(Msg::LabSendBytes)).clicked() {
                    commands.push(Command::SendBulk(host, self.bulk));
                }
            });
            for c in commands {
                lab.apply(c);
            }
            if let Some((h, err)) = lab.last_error
                && h == host
            {
                ui.colored_label(ui.visuals().error_fg_color, call_error_text(lang, err));
            }
            ui.add_space(4.0);
        }
        let l = ui.label(lang.t(Msg::LabSendText)).id;
        ui.add(egui::TextEdit::singleline(&mut self.text).desired_width(220.0))
            .labelled_by(l);
        ui.horizontal(|ui| {
            for e in [TextEncoding::Utf8, TextEncoding::Gbk] {
                ui.selectable_value(&mut self.encoding, e, e.label());
            }
            let l = ui.label(lang.t(Msg::LabSendBytes)).id;
            ui.add(
                egui::DragValue::new(&mut self.bulk)
                    .range(1..=MAX_BULK)
                    .suffix(" B"),
            )
            .labelled_by(l);
        });
    }

    fn export_ui(&mut self, ui: &mut Ui, lang: Lang) {
        let label = ui.label(lang.t(Msg::LessonExportPath)).id;
        ui.add(egui::TextEdit::singleline(&mut self.export_path).desired_width(230.0))
            .labelled_by(label);
        let busy = self.export_job.is_some() || self.export_rx.is_some();
        ui.horizontal_wrapped(|ui| {
            if ui
                .add_enabled(!busy, egui::Button::new(lang.t(Msg::LabExportPcap)))
                .on_hover_text(lang.t(Msg::LabExportHint))
                .clicked()
            {
                let data = crate::lab::pcap::to_pcapng(self.play.lab.packets());
                let path = PathBuf::from(self.export_path.trim()).with_extension("pcapng");
                self.start_write(ui.ctx(), "export-pcapng", path, data);
            }
            if ui
                .add_enabled(!busy, egui::Button::new(lang.t(Msg::LessonExportSvg)))
                .clicked()
            {
                let data = to_svg(&self.diagram, lang).into_bytes();
                let path = PathBuf::from(self.export_path.trim()).with_extension("svg");
                self.start_write(ui.ctx(), "export-svg", path, data);
            }
            if ui
                .add_enabled(
                    !busy && self.diagram_rect.is_some(),
                    egui::Button::new(lang.t(Msg::LessonExportPng)),
                )
                .on_hover_text(lang.t(Msg::LessonExportPngHint))
                .clicked()
                && let Some(rect) = self.diagram_rect
            {
                let path = PathBuf::from(self.export_path.trim()).with_extension("png");
                self.export_rx = Some(super::jobs::screenshot_png(ui.ctx(), rect, path));
                self.export_result = None;
            }
        });
        super::jobs::export_result_ui(ui, lang, self.export_result.as_ref());
    }

    fn start_write(&mut self, ctx: &egui::Context, name: &str, path: PathBuf, data: Vec<u8>) {
        let ctx = ctx.clone();
        match Job::start(name, Some(ctx), move || {
            super::jobs::write_file(&path, |p| std::fs::write(p, &data))
        }) {
            Ok(job) => {
                self.export_job = Some(job);
                self.export_result = None;
            }
            Err(e) => self.export_result = Some(Err(e)),
        }
    }

    fn poll_export(&mut self) {
        if let Some(job) = &self.export_job
            && let Some(r) = job.poll()
        {
            self.export_job = None;
            if let Ok(r) = r {
                self.export_result = Some(r);
            }
        }
        if let Some(rx) = &self.export_rx {
            match rx.try_recv() {
                Ok(r) => {
                    self.export_result = Some(r);
                    self.export_rx = None;
                }
                Err(flume::TryRecvError::Disconnected) => self.export_rx = None,
                Err(flume::TryRecvError::Empty) => {}
            }
        }
    }

    /// Play, pause, step, speed, run again, the clock; in classroom mode also the scenario.
    fn controls_ui(&mut self, ui: &mut Ui, lang: Lang) {
        ui.horizontal_wrapped(|ui| {
            if self.classroom {
                let current = self
                    .scenario
                    .map_or(lang.t(Msg::LabManual), |s| lang.t(lab_title(s)));
                let mut picked = None;
                egui::ComboBox::from_id_salt("lab_scenario")
                    .selected_text(RichText::new(current).strong())
                    .show_ui(ui, |ui| {
                        for s in Scenario::ALL {
                            if ui
                                .selectable_label(self.scenario == Some(s), lang.t(lab_title(s)))
                                .clicked()
                            {
                                picked = Some(s);
                            }
                        }
                    });
                if let Some(s) = picked {
                    self.run(s);
                }
            } else {
                let title = self
                    .scenario
                    .map_or(lang.t(Msg::LabManual), |s| lang.t(lab_title(s)));
                ui.label(RichText::new(title).heading().strong());
            }
            let playing = !self.clock.paused;
            let (m, pause) = if playing {
                (Msg::LabPause, true)
            } else {
                (Msg::LabPlay, false)
            };
            if ui.button(RichText::new(lang.t(m)).strong()).clicked() {
                self.clock.paused = pause;
            }
            if ui
                .button(RichText::new(lang.t(Msg::LabStep)).strong())
                .on_hover_text(lang.t(Msg::LabStepHint))
                .clicked()
            {
                self.step();
            }
            if ui.button(lang.t(Msg::LabRestart)).clicked() {
                match self.scenario {
                    Some(s) => self.run(s),
                    None => self.manual(),
                }
            }
            ui.label(lang.t(Msg::LabSpeed));
            if ui
                .small_button("−")
                .on_hover_text(lang.t(Msg::LabSlower))
                .clicked()
            {
                self.clock.slower();
            }
            ui.monospace(format!("{}×", self.clock.speed));
            if ui
                .small_button("+")
                .on_hover_text(lang.t(Msg::LabFaster))
                .clicked()
            {
                self.clock.faster();
            }
            if self.wire.hold {
                let held = self
                    .play
                    .lab
                    .on_the_wire()
                    .iter()
                    .filter(|(_, at)| at.is_none())
                    .count();
                if ui
                    .add_enabled(
                        held > 0,
                        egui::Button::new(lang.fmt(Msg::LabDeliverNext, &[("n", &held)])),
                    )
                    .clicked()
                {
                    self.play.lab.deliver_next_held();
                    self.dirty = true;
                }
            }
        });
    }

    /// The wire, drawn large: the two hosts, a rail each way, the packets on their way.
    fn wire_ui(&mut self, ui: &mut Ui, lang: Lang) {
        let height = if self.classroom { 84.0 } else { 120.0 };
        let (rect, _) = ui.allocate_exact_size(vec2(ui.available_width(), height), Sense::hover());
        let painter = ui.painter_at(rect);
        let visuals = ui.visuals().clone();
        let strong = visuals.strong_text_color();
        let host_w = 96.0f32.min(rect.width() * 0.18);
        let client = Rect::from_min_size(rect.min + vec2(2.0, 8.0), vec2(host_w, height - 16.0));
        let server = Rect::from_min_size(
            pos2(rect.right() - host_w - 2.0, rect.top() + 8.0),
            vec2(host_w, height - 16.0),
        );
        for (r, title, ip, host) in [
            (client, Msg::DiagramClient, "10.0.0.1", Host::Client),
            (server, Msg::DiagramServer, "10.0.0.2", Host::Server),
        ] {
            painter.rect_filled(r, 6.0, visuals.faint_bg_color);
            painter.rect_stroke(r, 6.0, Stroke::new(1.5, strong), StrokeKind::Inside);
            painter.text(
                r.center_top() + vec2(0.0, 14.0),
                Align2::CENTER_CENTER,
                lang.t(title),
                FontId::proportional(15.0),
                strong,
            );
            painter.text(
                r.center() + vec2(0.0, 2.0),
                Align2::CENTER_CENTER,
                ip,
                FontId::monospace(12.0),
                visuals.weak_text_color(),
            );
            painter.text(
                r.center_bottom() - vec2(0.0, 12.0),
                Align2::CENTER_CENTER,
                self.play.lab.state_ref(host).to_string(),
                FontId::monospace(11.0),
                state_color(&visuals),
            );
        }
        let x0 = client.right() + 8.0;
        let x1 = server.left() - 8.0;
        let rails = [rect.top() + height * 0.33, rect.top() + height * 0.72];
        for (i, y) in rails.into_iter().enumerate() {
            painter.line_segment(
                [pos2(x0, y), pos2(x1, y)],
                Stroke::new(2.0, visuals.weak_text_color()),
            );
            let (tip, dir) = if i == 0 { (x1, 1.0) } else { (x0, -1.0) };
            painter.line_segment(
                [pos2(tip, y), pos2(tip - dir * 8.0, y - 5.0)],
                Stroke::new(2.0, visuals.weak_text_color()),
            );
            painter.line_segment(
                [pos2(tip, y), pos2(tip - dir * 8.0, y + 5.0)],
                Stroke::new(2.0, visuals.weak_text_color()),
            );
        }
        let mut clock = lang.fmt(Msg::LabClock, &[("t", &self.t_ms())]);
        if self.finished() {
            clock = format!("{clock} · {}", lang.t(Msg::LabFinished));
        } else if self.clock.paused {
            clock = format!("{clock} · {}", lang.t(Msg::LabPaused));
        }
        painter.text(
            pos2((x0 + x1) / 2.0, (rails[0] + rails[1]) / 2.0),
            Align2::CENTER_CENTER,
            clock,
            FontId::monospace(13.0),
            visuals.weak_text_color(),
        );
        let now = self.play.lab.now_us();
        let delay = self.play.lab.config.wire.delay_us.max(1);
        let mut held_n = [0usize; 2];
        let mut clicked = None;
        // Packets on the wire (flying, or held at their sender however long ago they were
        // sent), and the lost ones of the last moments while they fall.
        let lab = &self.play.lab;
        let mut packets: Vec<&PacketRecord> = lab
            .on_the_wire()
            .iter()
            .filter_map(|(id, _)| lab.packet(*id))
            .collect();
        let first = self.first_packet_after(now.saturating_sub(delay * 2));
        packets.extend(
            lab.packets_from(first)
                .filter(|p| p.fate.is_gone() && p.t_us <= now),
        );
        packets.sort_by_key(|p| p.id);
        // Where each lane's last label ends: a packet whose label would cover it is drawn
        // as a small chip (a congestion window's worth of labels would be one strip).
        let mut lane_end = [f32::NEG_INFINITY; 2];
        let mut drawn: Vec<(f32, f32, Color32, &PacketRecord)> = Vec::new();
        for p in packets {
            let lane = usize::from(p.dir == Dir::S2C);
            let (from, to) = if lane == 0 { (x0, x1) } else { (x1, x0) };
            let (frac, fall, color) = match p.fate {
                Fate::Held => {
                    held_n[lane] += 1;
                    let k = held_n[lane] as f32;
                    (0.04 * k, 0.0, Color32::GRAY)
                }
                Fate::QueueFull => {
                    let age = (now - p.t_us) as f32 / delay as f32;
                    if age > 1.0 {
                        continue;
                    }
                    (0.02, age * 30.0, Color32::from_rgb(200, 40, 40))
                }
                Fate::Lost | Fate::Dropped => {
                    let f = (now - p.t_us) as f32 / delay as f32;
                    if f > 1.2 {
                        continue;
                    }
                    let fall = if f > 0.5 { (f - 0.5) * 60.0 } else { 0.0 };
                    (f.min(0.5), fall, Color32::from_rgb(200, 40, 40))
                }
                fate => {
                    let Some(at) = fate.arrives_at() else {
                        continue;
                    };
                    let at = match fate {
                        Fate::Duplicated { copy_at_us, .. } => copy_at_us.max(at),
                        _ => at,
                    };
                    if at <= now || at == p.t_us {
                        continue;
                    }
                    let f = (now - p.t_us) as f32 / (at - p.t_us) as f32;
                    let color = match fate {
                        Fate::Corrupted { .. } => Color32::from_rgb(210, 30, 30),
                        _ if lane == 0 => Color32::from_rgb(40, 100, 200),
                        _ => Color32::from_rgb(30, 140, 70),
                    };
                    (f, 0.0, color)
                }
            };
            drawn.push((from + (to - from) * frac, fall, color, p));
        }
        // Left to right in each lane, so a label is kept when it has the room.
        drawn.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut placed = Vec::with_capacity(drawn.len());
        for (x, fall, color, p) in drawn {
            let lane = usize::from(p.dir == Dir::S2C);
            let y = rails[lane];
            let label = packet_label(lang, p, &self.rel);
            let name = format!("#{} {label}", p.id);
            let galley = painter.layout_no_wrap(label, FontId::proportional(13.0), Color32::WHITE);
            let full = galley.size() + vec2(10.0, 4.0);
            let chip = vec2(12.0, full.y);
            // Labels stay on the wire, between the hosts, whatever their packet's place.
            let within = |w: f32| {
                let half = (w * 0.5).min((x1 - x0) * 0.5);
                x.clamp(x0 + half, x1 - half)
            };
            let free = within(full.x) - full.x * 0.5 > lane_end[lane] + 2.0 || fall > 0.0;
            let size = if free { full } else { chip };
            let center = pos2(within(size.x), y + fall - size.y * 0.5 - 2.0);
            let r = Rect::from_center_size(center, size);
            // A chip that would sit on the last one is drawn, but not offered to the mouse:
            // the diagram and the table reach every packet.
            let clickable = fall > 0.0 || r.left() > lane_end[lane] + 1.0;
            if fall == 0.0 {
                lane_end[lane] = lane_end[lane].max(r.right());
            }
            let alpha = if fall > 0.0 {
                (1.0 - fall / 40.0).clamp(0.1, 1.0)
            } else {
                1.0
            };
            placed.push((
                r,
                color.gamma_multiply(alpha),
                free.then_some(galley),
                clickable,
                p.id,
                name,
            ));
        }
        // Chips first, labels over them, so every label's words can be read.
        placed.sort_by_key(|(_, _, galley, ..)| galley.is_some());
        for (r, color, galley, clickable, id, name) in placed {
            painter.rect_filled(r, 5.0, color);
            if self.selected == Some(id) {
                painter.rect_stroke(
                    r.expand(2.0),
                    6.0,
                    Stroke::new(2.5, strong),
                    StrokeKind::Outside,
                );
            }
            if let Some(galley) = galley {
                painter.galley(r.min + vec2(5.0, 2.0), galley, Color32::WHITE);
            }
            if !clickable {
                continue;
            }
            let response = ui.interact(r, egui::Id::unique(("lab_packet", id)), Sense::click());
            // Named for screen readers (and the tests): "#3 ACK ack=1 win=65536".
            response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &name));
            if response.clicked() {
                clicked = Some(id);
            }
        }
        if let Some(id) = clicked {
            self.select(id);
        }
    }

    /// Index (among packets) of the first packet sent at or after `t_us`: packets enter the
    /// wire in time order, so a binary search over their ids.
    fn first_packet_after(&self, t_us: u64) -> usize {
        let lab = &self.play.lab;
        let (mut lo, mut hi) = (0, lab.packet_count());
        while lo < hi {
            let mid = (lo + hi) / 2;
            let t = lab.packet(mid as u64 + 1).map_or(u64::MAX, |p| p.t_us);
            if t < t_us {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    pub fn select(&mut self, id: u64) {
        self.selected = Some(id);
        self.table_to = usize::try_from(id).ok().map(|i| i.saturating_sub(1));
    }

    /// What can be done to the selected packet.
    fn selection_ui(&mut self, ui: &mut Ui, lang: Lang) {
        let Some(id) = self.selected else {
            if !self.classroom {
                ui.weak(lang.t(Msg::LabPickPacket));
            }
            return;
        };
        let Some(p) = self.play.lab.packet(id).cloned() else {
            self.selected = None;
            return;
        };
        let on_wire = self.play.lab.on_the_wire();
        let here = on_wire.iter().find(|(i, _)| *i == id).copied();
        ui.horizontal_wrapped(|ui| {
            ui.label(
                RichText::new(lang.fmt(
                    Msg::LabSelected,
                    &[
                        ("id", &id),
                        ("label", &packet_label(lang, &p, &self.rel)),
                        ("fate", &fate_text(lang, p.fate)),
                    ],
                ))
                .strong(),
            );
            match here {
                None => {
                    ui.weak(lang.t(Msg::LabGone));
                }
                Some((_, at)) => {
                    let mut action = None;
                    if at.is_none() && ui.button(lang.t(Msg::LabDeliver)).clicked() {
                        action = Some(Action::Deliver);
                    }
                    if ui.button(lang.t(Msg::LabDrop)).clicked() {
                        action = Some(Action::Drop);
                    }
                    if at.is_some() {
                        if ui.button(lang.t(Msg::LabCorruptIt)).clicked() {
                            action = Some(Action::Corrupt);
                        }
                        if ui.button(lang.t(Msg::LabDelayIt)).clicked() {
                            action = Some(Action::Delay(100_000));
                        }
                        if ui.button(lang.t(Msg::LabDuplicateIt)).clicked() {
                            action = Some(Action::Duplicate);
                        }
                    }
                    if let Some(a) = action {
                        self.act(id, a);
                    }
                }
            }
        });
    }

    fn findings_fold(&mut self, ui: &mut Ui, lang: Lang) {
        let n = self.findings.len();
        ui.menu_button(format!("{} ({n})", lang.t(Msg::LabFindings)), |ui| {
            ui.set_max_width(560.0);
            self.findings_ui(ui, lang);
        });
    }

    fn findings_ui(&mut self, ui: &mut Ui, lang: Lang) {
        if let Some(s) = self.scenario {
            ui.label(RichText::new(lang.t(Msg::LabWhat)).strong());
            ui.label(lang.t(lab_explanation(s)));
        } else {
            ui.label(lang.t(Msg::LabManualHint));
        }
        if let Some(e) = &self.other_error {
            ui.colored_label(
                ui.visuals().error_fg_color,
                crate::i18n::describe_error(lang, e),
            );
        }
        if !self.findings.is_empty() {
            ui.label(RichText::new(lang.t(Msg::LabFindings)).strong());
            egui::ScrollArea::vertical()
                .id_salt("lab_findings")
                .max_height(if self.classroom { 400.0 } else { 220.0 })
                .show(ui, |ui| {
                    for f in &self.findings {
                        ui.label(format!("• {}", finding_text(lang, f)));
                    }
                });
        }
    }

    /// The sequence diagram of the real segments, time downward.
    fn diagram_ui(&mut self, ui: &mut Ui, lang: Lang) {
        let visuals = ui.visuals().clone();
        let strong = visuals.strong_text_color();
        let width = ui.available_width().max(320.0);
        let head_h = 24.0;
        let (head, _) = ui.allocate_exact_size(vec2(width, head_h), Sense::hover());
        let xs = lane_xs(width).map(|x| head.left() + x);
        for (x, title) in [(xs[0], Msg::DiagramClient), (xs[1], Msg::DiagramServer)] {
            ui.painter().text(
                pos2(x, head.center().y),
                Align2::CENTER_CENTER,
                lang.t(title),
                FontId::proportional(15.0),
                strong,
            );
        }
        let now_y = self.diagram.y_at(self.play.lab.now_us());
        let mut area = egui::ScrollArea::vertical()
            .id_salt("lab_diagram")
            .auto_shrink([false, false]);
        if self.to_top {
            area = area.vertical_scroll_offset(0.0);
            self.to_top = false;
        } else if !self.clock.paused && !self.finished() {
            // Follow the present while playing; paused, the teacher may scroll back.
            let view_h = ui.available_height();
            if now_y > view_h - 30.0 {
                area = area.vertical_scroll_offset(now_y - view_h + 30.0);
            }
        }
        let d = &self.diagram;
        let mut clicked = None;
        let output = area.show_viewport(ui, |ui, viewport| {
            let total = d.height.max(now_y + 40.0);
            let (rect, _) = ui.allocate_exact_size(vec2(width, total), Sense::hover());
            let painter = ui.painter_at(rect);
            let top = viewport.top();
            let bottom = viewport.bottom();
            let y = |v: f32| rect.top() + v;
            let lane_stroke = Stroke::new(1.0, visuals.weak_text_color());
            for x in xs {
                painter.line_segment(
                    [pos2(x, y(top.max(0.0))), pos2(x, y(bottom.min(total)))],
                    lane_stroke,
                );
            }
            for g in d
                .gaps
                .iter()
                .filter(|g| g.y >= top - 20.0 && g.y <= bottom + 20.0)
            {
                painter.text(
                    pos2((xs[0] + xs[1]) / 2.0, y(g.y)),
                    Align2::CENTER_CENTER,
                    format!("⋯ {:.0} ms ⋯", g.ms),
                    FontId::proportional(12.0),
                    visuals.weak_text_color(),
                );
            }
            let mut placed: Vec<Rect> = Vec::new();
            for a in d.arrows_in(top - 20.0, bottom + 20.0) {
                let (x0, x1) = match a.dir {
                    Dir::C2S => (xs[0], xs[1]),
                    Dir::S2C => (xs[1], xs[0]),
                };
                let red = Color32::from_rgb(210, 40, 40);
                let (xe, color) = match a.end {
                    End::Arrived => (x1, strong),
                    End::Corrupted => (x1, red),
                    End::Lost => ((x0 + x1) / 2.0, red),
                    End::QueueFull => (x0 + (x1 - x0) * 0.1, red),
                    End::Held => (x0 + (x1 - x0) * 0.1, Color32::GRAY),
                };
                let selected = self.selected == Some(a.id);
                let w = if selected { 3.5 } else { 1.5 };
                let color = if selected {
                    visuals.selection.bg_fill
                } else {
                    color
                };
                let p0 = pos2(x0, y(a.y0));
                let p1 = pos2(xe, y(a.y1));
                painter.line_segment([p0, p1], Stroke::new(w, color));
                if matches!(a.end, End::Arrived | End::Corrupted) {
                    arrow_head(&painter, p0, p1, color);
                }
                if matches!(a.end, End::Lost | End::QueueFull) {
                    cross(&painter, p1, red);
                }
                if let Some(cy) = a.copy_y {
                    painter.line_segment(
                        [p0, pos2(x1, y(cy))],
                        Stroke::new(1.0, color.gamma_multiply(0.6)),
                    );
                }
                let galley =
                    painter.layout_no_wrap(a.label.clone(), FontId::proportional(13.0), color);
                // The label sits above the middle of its arrow, or further along it where a
                // burst's labels would cover each other; with no free place, the arrow goes
                // without (the table has every packet).
                let Some(r) = [0.5f32, 0.3, 0.7, 0.15, 0.85]
                    .into_iter()
                    .map(|t| {
                        let at = p0 + (p1 - p0) * t - vec2(0.0, 12.0);
                        Rect::from_center_size(at, galley.size())
                    })
                    .find(|r| {
                        // Apart by more than their click areas reach (2 points each side).
                        placed
                            .iter()
                            .all(|q: &Rect| !q.intersects(r.expand2(vec2(5.0, 1.0))))
                    })
                else {
                    continue;
                };
                placed.push(r);
                // A veil behind the label, so the arrows under it do not cross the words.
                painter.rect_filled(r.expand(1.0), 2.0, visuals.panel_fill.gamma_multiply(0.85));
                painter.galley(r.min, galley, color);
                let response = ui.interact(
                    r.expand2(vec2(2.0, 0.0)),
                    egui::Id::unique(("lab_arrow", a.id)),
                    Sense::click(),
                );
                response.widget_info(|| {
                    egui::WidgetInfo::labeled(
                        egui::Role::Button,
                        true,
                        format!("#{} {}", a.id, a.label),
                    )
                });
                if response.clicked() {
                    clicked = Some(a.id);
                }
            }
            for b in d
                .states
                .iter()
                .filter(|b| b.y >= top - 20.0 && b.y <= bottom + 20.0)
            {
                let x = xs[usize::from(b.host == Host::Server)];
                let galley = painter.layout_no_wrap(
                    b.text.clone(),
                    FontId::monospace(11.0),
                    state_color(&visuals),
                );
                let size = galley.size() + vec2(8.0, 2.0);
                let r = match b.host {
                    Host::Client => {
                        Rect::from_min_size(pos2(x - size.x - 6.0, y(b.y) - size.y / 2.0), size)
                    }
                    Host::Server => Rect::from_min_size(pos2(x + 6.0, y(b.y) - size.y / 2.0), size),
                };
                painter.rect_filled(r, 3.0, visuals.extreme_bg_color);
                painter.rect_stroke(
                    r,
                    3.0,
                    Stroke::new(1.0, state_color(&visuals)),
                    StrokeKind::Inside,
                );
                painter.galley(r.min + vec2(4.0, 1.0), galley, state_color(&visuals));
            }
            if !self.finished() {
                painter.line_segment(
                    [pos2(rect.left(), y(now_y)), pos2(rect.right(), y(now_y))],
                    Stroke::new(1.0, visuals.selection.bg_fill.gamma_multiply(0.7)),
                );
            }
        });
        self.diagram_rect = Some(output.inner_rect);
        if let Some(id) = clicked {
            self.select(id);
        }
        if self.diagram.arrows.is_empty() {
            ui.weak(lang.t(Msg::LabPick));
        }
    }

    /// cwnd, bytes in flight and the receiver's window, over virtual time.
    fn chart_ui(&mut self, ui: &mut Ui, lang: Lang) {
        if self.series.in_flight.is_empty() {
            ui.weak(lang.t(Msg::LabChartEmpty));
            return;
        }
        ui.weak(lang.t(Msg::LabChartNote));
        let height = (ui.available_height() - 8.0).max(160.0);
        Plot::new("lab_windows")
            .height(height)
            .legend(Legend::default())
            .x_axis_label(lang.t(Msg::LabColTime))
            .allow_scroll(false)
            .show(ui, |p| {
                p.line(Line::new(lang.t(Msg::LabRwnd), self.series.rwnd.clone()));
                p.line(Line::new(
                    lang.t(Msg::LabInFlight),
                    self.series.in_flight.clone(),
                ));
                p.points(Points::new(lang.t(Msg::LabCwnd), self.series.cwnd.clone()).radius(2.5));
            });
    }

    /// Every packet: time, direction, segment, seq, ack, win, len, fate.
    fn table_ui(&mut self, ui: &mut Ui, lang: Lang) {
        let n = self.diagram.arrows.len();
        if n == 0 {
            ui.weak(lang.t(Msg::LabNoPackets));
            return;
        }
        let row_h = 18.0;
        // Direction as an arrow, as the lanes are drawn: client on the left, server on the right.
        let cols = [52.0, 22.0, 118.0, 52.0, 52.0, 52.0, 36.0];
        ui.spacing_mut().item_spacing.x = 4.0;
        ui.horizontal(|ui| {
            for (w, m) in cols.iter().zip([
                lang.t(Msg::LabColTime),
                "",
                lang.t(Msg::LabColSegment),
                "seq",
                "ack",
                "win",
                "len",
            ]) {
                ui.add_sized([*w, row_h], egui::Label::new(RichText::new(m).strong()));
            }
            ui.add(egui::Label::new(RichText::new(lang.t(Msg::LabColFate)).strong()).truncate());
        });
        // Rows as wide as the view: the fate, last, keeps what room is left (its whole
        // words on hover) rather than running off the window's edge.
        let mut area = egui::ScrollArea::vertical()
            .id_salt("lab_table")
            .auto_shrink([false, false]);
        if let Some(i) = self.table_to.take() {
            let spacing = ui.spacing().item_spacing.y;
            area = area.vertical_scroll_offset(((i as f32) - 3.0).max(0.0) * (row_h + spacing));
        }
        let mut clicked = None;
        area.show_rows(ui, row_h, n, |ui, range| {
            for i in range {
                let Some(a) = self.diagram.arrows.get(i) else {
                    break;
                };
                let Some(p) = self.play.lab.packet(a.id) else {
                    continue;
                };
                let selected = self.selected == Some(p.id);
                let (seq, ack) = self.rel.numbers(p).unwrap_or((0, None));
                let (seq, ack, win, len) = match &p.tcp {
                    Some(t) => (
                        seq.to_string(),
                        ack.map_or(String::new(), |a| a.to_string()),
                        self.rel.window(p).to_string(),
                        t.len.to_string(),
                    ),
                    None => (
                        String::new(),
                        String::new(),
                        String::new(),
                        p.udp.as_ref().map_or(0, |u| u.len).to_string(),
                    ),
                };
                let row = ui.horizontal(|ui| {
                    let cells = [
                        format!("{:.1}", p.t_us as f64 / 1000.0),
                        match p.dir {
                            Dir::C2S => "→".to_owned(),
                            Dir::S2C => "←".to_owned(),
                        },
                        segment_words(&a.label),
                        seq,
                        ack,
                        win,
                        len,
                    ];
                    for (w, c) in cols.iter().zip(cells) {
                        let text = if selected {
                            RichText::new(c)
                                .strong()
                                .color(ui.visuals().selection.stroke.color)
                        } else {
                            RichText::new(c)
                        };
                        ui.add_sized([*w, row_h], egui::Label::new(text).truncate());
                    }
                    let mut fate = fate_text(lang, p.fate).to_owned();
                    if p.retransmission {
                        fate = format!("{fate} · {}", lang.t(Msg::LabRetransmission));
                    }
                    ui.add(egui::Label::new(fate.as_str()).truncate())
                        .on_hover_text(fate);
                });
                let r = row.response.rect;
                if selected {
                    ui.painter().rect_filled(
                        r,
                        2.0,
                        ui.visuals().selection.bg_fill.gamma_multiply(0.25),
                    );
                }
                if ui
                    .interact(r, egui::Id::unique(("lab_row", p.id)), Sense::click())
                    .clicked()
                {
                    clicked = Some(p.id);
                }
            }
        });
        if let Some(id) = clicked {
            self.selected = Some(id);
        }
    }
}

fn state_color(v: &egui::Visuals) -> Color32 {
    if v.dark_mode {
        Color32::from_rgb(120, 180, 255)
    } else {
        Color32::from_rgb(0, 80, 170)
    }
}

/// A label's words before its numbers: `SYN+ACK`, `数据 1460 B`.
fn segment_words(label: &str) -> String {
    let end = [" seq=", " ack="]
        .iter()
        .filter_map(|m| label.find(m))
        .min()
        .unwrap_or(label.len());
    label[..end].to_owned()
}

fn arrow_head(painter: &egui::Painter, from: Pos2, to: Pos2, color: Color32) {
    let dir = (to - from).normalized();
    let side = vec2(-dir.y, dir.x);
    let a = to - dir * 9.0 + side * 4.5;
    let b = to - dir * 9.0 - side * 4.5;
    painter.add(egui::Shape::convex_polygon(
        vec![to, a, b],
        color,
        Stroke::NONE,
    ));
}

fn cross(painter: &egui::Painter, at: Pos2, color: Color32) {
    let s = 6.0;
    let stroke = Stroke::new(2.5, color);
    painter.line_segment([at + vec2(-s, -s), at + vec2(s, s)], stroke);
    painter.line_segment([at + vec2(-s, s), at + vec2(s, -s)], stroke);
}

impl super::Panel for LabPanel {
    fn ui(&mut self, ui: &mut Ui, lang: Lang, classroom: bool) {
        self.classroom = classroom;
        LabPanel::ui(self, ui, lang)
    }

    fn status_line(&self, lang: Lang) -> String {
        LabPanel::status_line(self, lang)
    }

    fn shows_status(&self) -> bool {
        false
    }
}
