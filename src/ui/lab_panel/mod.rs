//! The Lab panel: the glass-box lab, projector first. A wire between the two hosts
//! drawn large, with the packets travelling along it; the sequence diagram of the real
//! segments; a chart of the client's windows; a packet table that selects with the diagram;
//! the controls (play, pause, step, speed, the wire's settings, hold and deliver, the
//! applications' commands, run again, export).
//!
//! The lab is a simulation with no sockets: it runs on the UI thread in virtual time, a few
//! milliseconds of work per frame at most (a headless 10 MB transfer takes well under a
//! second of CPU in all), so nothing here ever waits. Files are written by `ui::jobs`.

use egui::{
    Align2, Color32, FontId, Pos2, Rect, RichText, Sense, Stroke, StrokeKind, Ui, pos2, vec2,
};
use egui_plot::{Legend, Line, Plot, Points};

use super::jobs::Job;

mod controls;
mod diagram;
mod export;
mod table;
mod wire;

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
use wire::{cross, segment_words};

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
    exports: super::jobs::Exports,
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
            exports: super::jobs::Exports::new(
                std::env::temp_dir()
                    .join("lab")
                    .to_string_lossy()
                    .into_owned(),
            ),
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
        self.exports.poll();
        let classroom = self.classroom;
        super::frame::show_demo(ui, lang, classroom, self);
    }

    pub fn select(&mut self, id: u64) {
        self.selected = Some(id);
        self.table_to = usize::try_from(id).ok().map(|i| i.saturating_sub(1));
    }
}

fn state_color(v: &egui::Visuals) -> Color32 {
    if v.dark_mode {
        Color32::from_rgb(120, 180, 255)
    } else {
        Color32::from_rgb(0, 80, 170)
    }
}

/// Nothing is remembered between runs: a run starts from its scenario.
impl super::Persist for LabPanel {
    type Settings = ();
    fn from_settings(_: ()) -> Self {
        Self::default()
    }
    fn settings(&self) {}
}

/// The Lab on the demonstration frame: the scenarios and the wire's settings in the column,
/// the controls on the status line, the wire below it, and the diagram with the words and
/// the table (or chart) beside it; in classroom mode one view at a time.
impl super::frame::Demo for LabPanel {
    fn frame_id(&self) -> &'static str {
        "lab"
    }

    fn choices_width(&self) -> Option<f32> {
        Some(250.0)
    }

    fn choices_ui(&mut self, ui: &mut Ui, lang: Lang) {
        self.side_ui(ui, lang);
    }

    fn choice_line_ui(&mut self, ui: &mut Ui, lang: Lang) {
        self.scenario_line_ui(ui, lang);
    }

    fn status(&self, ui: &Ui, lang: Lang, classroom: bool) -> (Color32, String) {
        let (state, color) = if self.finished() {
            (Msg::LabFinished, state_color(ui.visuals()))
        } else if self.clock.paused {
            (Msg::LabPaused, ui.visuals().warn_fg_color)
        } else {
            (Msg::LabPlaying, Color32::from_rgb(40, 170, 70))
        };
        if classroom {
            // The scenario is in the drop-down, the clock on the wire.
            return (color, lang.t(state).to_owned());
        }
        let name = self
            .scenario
            .map_or(lang.t(Msg::LabManual), |s| lang.t(lab_title(s)));
        (color, format!("{name} — {}", lang.t(state)))
    }

    fn controls_ui(&mut self, ui: &mut Ui, lang: Lang, _classroom: bool) {
        LabPanel::controls_ui(self, ui, lang);
    }

    fn details_ui(&mut self, ui: &mut Ui, lang: Lang, classroom: bool) {
        self.wire_ui(ui, lang);
        self.selection_ui(ui, lang);
        if classroom {
            ui.horizontal(|ui| {
                self.view_picker(
                    ui,
                    lang,
                    &[LabView::Diagram, LabView::Chart, LabView::Table],
                );
                ui.separator();
                self.findings_fold(ui, lang);
            });
        }
    }

    fn aside(&self, classroom: bool) -> Option<f32> {
        (!classroom).then_some(320.0)
    }

    fn aside_ui(&mut self, ui: &mut Ui, lang: Lang) {
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
    }

    fn picture_ui(&mut self, ui: &mut Ui, lang: Lang, classroom: bool) {
        if !classroom {
            self.diagram_ui(ui, lang);
            return;
        }
        match self.view {
            LabView::Diagram => self.diagram_ui(ui, lang),
            LabView::Chart => self.chart_ui(ui, lang),
            LabView::Table => self.table_ui(ui, lang),
        }
    }
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
        true
    }
}
