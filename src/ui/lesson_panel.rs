//! The "Lesson" panel: one-click scenarios and step mode, each drawing its sequence diagram
//! from the recorded socket calls and kernel states.

use std::net::SocketAddr;

use egui::{RichText, Ui};
use flume::{Receiver, Sender};

use super::diagram_view::diagram_ui;
use super::widgets::ui_waker;
use crate::i18n::{Lang, Msg, describe_error, describe_outcome};
use crate::model::diagram::{Diagram, Lane, LaneCall, build, to_svg};
use crate::net::scenario::{
    LessonFinding, LessonScenario, ScenarioEvent, ScenarioHandle, ScenarioMsg, Side, spawn_scenario,
};
use crate::net::step::{
    ClientStage, ServerStage, Step, StepCommand, StepEvent, StepHandle, StepMsg, legal,
    spawn_step_lab,
};
use crate::net::trace::TcpState;
use crate::net::{CallOutcome, NetError};

/// What the last click in step mode did.
enum LastStep {
    Made(Step, crate::net::SocketCall),
    /// The call would have waited; it was not made.
    WouldBlock(Step),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LessonMode {
    Scenarios,
    Steps,
}

pub fn scenario_title(s: LessonScenario) -> Msg {
    match s {
        LessonScenario::Handshake => Msg::ScenarioHandshake,
        LessonScenario::HalfClose => Msg::ScenarioHalfClose,
        LessonScenario::TimeWait => Msg::ScenarioTimeWait,
        LessonScenario::Abortive => Msg::ScenarioAbortive,
        LessonScenario::BacklogFull => Msg::ScenarioBacklog,
        LessonScenario::Boundaries => Msg::ScenarioBoundaries,
        LessonScenario::UdpLoss => Msg::ScenarioUdpLoss,
        LessonScenario::UdpClosedPort => Msg::ScenarioClosedPort,
    }
}

pub fn scenario_explanation(s: LessonScenario) -> Msg {
    match s {
        LessonScenario::Handshake => Msg::ExplainHandshake,
        LessonScenario::HalfClose => Msg::ExplainHalfClose,
        LessonScenario::TimeWait if crate::net::sys::OS == crate::net::sys::Os::Windows => {
            Msg::ExplainTimeWaitWindows
        }
        LessonScenario::TimeWait => Msg::ExplainTimeWait,
        LessonScenario::Abortive => Msg::ExplainAbortive,
        LessonScenario::BacklogFull => Msg::ExplainBacklog,
        LessonScenario::Boundaries => Msg::ExplainBoundaries,
        LessonScenario::UdpLoss => Msg::ExplainUdpLoss,
        LessonScenario::UdpClosedPort => Msg::ExplainClosedPort,
    }
}

fn side_name(lang: Lang, side: Side) -> &'static str {
    match side {
        Side::Client => lang.t(Msg::SideClient),
        Side::Server => lang.t(Msg::SideServer),
    }
}

fn lane(side: Side) -> Lane {
    match side {
        Side::Client => Lane::Client,
        Side::Server => Lane::Server,
    }
}

fn result_text(lang: Lang, err: &Option<NetError>, none: Msg) -> String {
    match err {
        Some(e) => describe_error(lang, e),
        None => lang.t(none).to_owned(),
    }
}

/// A finding in plain words.
pub fn describe_finding(lang: Lang, f: &LessonFinding) -> String {
    match f {
        LessonFinding::TimeWait { side } => {
            lang.fmt(Msg::FindTimeWait, &[("side", &side_name(lang, *side))])
        }
        LessonFinding::NoTimeWait => lang.t(Msg::FindNoTimeWait).to_owned(),
        LessonFinding::DataAfterHalfClose { bytes } => {
            lang.fmt(Msg::FindDataAfterHalfClose, &[("bytes", bytes)])
        }
        LessonFinding::Rebind {
            without,
            with_reuse,
        } => format!(
            "{}\n{}",
            lang.fmt(
                Msg::FindRebindWithout,
                &[("result", &result_text(lang, without, Msg::FindOk))]
            ),
            lang.fmt(
                Msg::FindRebindWith,
                &[
                    ("opt", &crate::net::sys::LISTENER_OPTION),
                    ("result", &result_text(lang, with_reuse, Msg::FindOk))
                ]
            )
        ),
        LessonFinding::ResetSeen { side } => {
            lang.fmt(Msg::FindReset, &[("side", &side_name(lang, *side))])
        }
        LessonFinding::SynSent { waiting, of } => {
            lang.fmt(Msg::FindSynSent, &[("waiting", waiting), ("of", of)])
        }
        LessonFinding::TcpMerged {
            nodelay,
            sends,
            recvs,
        } => lang.fmt(
            Msg::FindTcpMerged,
            &[
                (
                    "nodelay",
                    &lang.t(if *nodelay {
                        Msg::SwitchOn
                    } else {
                        Msg::SwitchOff
                    }),
                ),
                ("sends", sends),
                ("recvs", recvs),
            ],
        ),
        LessonFinding::UdpKept { sent, received } => {
            lang.fmt(Msg::FindUdpKept, &[("sent", sent), ("received", received)])
        }
        LessonFinding::UdpDropped {
            sent,
            received,
            dropped,
        } => lang.fmt(
            Msg::FindUdpDropped,
            &[("sent", sent), ("received", received), ("dropped", dropped)],
        ),
        LessonFinding::ClosedPort { udp, tcp } => format!(
            "{}\n{}",
            lang.fmt(
                Msg::FindClosedUdp,
                &[("result", &result_text(lang, udp, Msg::FindNoError))]
            ),
            lang.fmt(
                Msg::FindClosedTcp,
                &[("result", &result_text(lang, tcp, Msg::FindNoError))]
            )
        ),
        LessonFinding::UdpLost { sent, received } => lang.fmt(
            Msg::FindUdpLost,
            &[
                ("sent", sent),
                ("received", received),
                ("lost", &sent.saturating_sub(*received)),
            ],
        ),
        LessonFinding::KernelUnavailable => lang.t(Msg::LessonKernelUnavailable).to_owned(),
    }
}

fn step_explanation(step: Step) -> Msg {
    match step {
        Step::ServerSocket | Step::ClientSocket => Msg::StepExplainSocket,
        Step::ServerBind => Msg::StepExplainBind,
        Step::ServerListen => Msg::StepExplainListen,
        Step::ServerAccept => Msg::StepExplainAccept,
        Step::ClientConnect => Msg::StepExplainConnect,
        Step::ServerSend | Step::ClientSend => Msg::StepExplainSend,
        Step::ServerRecv | Step::ClientRecv => Msg::StepExplainRecv,
        Step::ClientShutdown => Msg::StepExplainShutdown,
        Step::ServerClose | Step::ClientClose => Msg::StepExplainClose,
    }
}

/// What a scenario or the step lab recorded, and the diagram drawn from it.
#[derive(Default)]
struct Recording {
    calls: Vec<LaneCall>,
    client: Option<SocketAddr>,
    server: Option<SocketAddr>,
    diagram: Option<Diagram>,
}

impl Recording {
    fn push(&mut self, side: Side, call: crate::net::SocketCall) {
        self.calls.push(LaneCall {
            lane: lane(side),
            call,
        });
        self.diagram = None;
    }

    fn diagram(&mut self) -> &Diagram {
        let calls = &self.calls;
        self.diagram
            .get_or_insert_with(|| build(calls, [true, true]))
    }
}

pub struct LessonPanel {
    pub mode: LessonMode,
    scenario: Option<LessonScenario>,
    running: bool,
    rec: Recording,
    findings: Vec<LessonFinding>,
    failed: Option<NetError>,
    events_tx: Sender<ScenarioMsg>,
    events_rx: Receiver<ScenarioMsg>,
    /// The scenario under way, kept until it ends.
    run: Option<ScenarioHandle>,
    step_tx: Sender<StepMsg>,
    step_rx: Receiver<StepMsg>,
    lab: Option<StepHandle>,
    steps: Recording,
    stages: (ServerStage, ClientStage),
    states: (Option<TcpState>, Option<TcpState>),
    /// The last step's result.
    last_step: Option<LastStep>,
    exports: super::jobs::Exports,
    /// Where the diagram was drawn last frame (for cropping a PNG from a screenshot).
    diagram_rect: Option<egui::Rect>,
    /// Why the step lab could not start.
    lab_error: Option<crate::net::NetError>,
    /// Set by the app each frame: the diagram takes the screen, the words fold away.
    pub classroom: bool,
    /// A run just ended: show its diagram from the top (the handshake) once.
    to_top: bool,
}

impl Default for LessonPanel {
    fn default() -> Self {
        let (events_tx, events_rx) = flume::unbounded();
        let (step_tx, step_rx) = flume::unbounded();
        Self {
            mode: LessonMode::Scenarios,
            scenario: None,
            running: false,
            rec: Recording::default(),
            findings: Vec::new(),
            failed: None,
            events_tx,
            events_rx,
            run: None,
            step_tx,
            step_rx,
            lab: None,
            steps: Recording::default(),
            stages: (ServerStage::None, ClientStage::None),
            states: (None, None),
            last_step: None,
            exports: super::jobs::Exports::new(
                super::widgets::default_download_dir()
                    .join("socket-workbench-diagram.svg")
                    .display()
                    .to_string(),
            ),
            diagram_rect: None,
            lab_error: None,
            classroom: false,
            to_top: false,
        }
    }
}

impl LessonPanel {
    pub fn drain_events(&mut self) {
        for e in self.events_rx.try_iter() {
            match e.event {
                ScenarioEvent::Call { side, call } => self.rec.push(side, call),
                ScenarioEvent::Ends { client, server } => {
                    self.rec.client.get_or_insert(client);
                    self.rec.server.get_or_insert(server);
                }
                ScenarioEvent::LessonFinding(f) => self.findings.push(f),
                ScenarioEvent::Done => {
                    self.run = None;
                    self.running = false;
                    self.to_top = true;
                }
                ScenarioEvent::Failed(err) => {
                    self.run = None;
                    self.running = false;
                    self.failed = Some(err);
                }
            }
        }
        for e in self.step_rx.try_iter() {
            match e.event {
                StepEvent::Call { step, side, call } => {
                    if let Some(step) = step {
                        self.last_step = Some(LastStep::Made(step, call.clone()));
                    }
                    self.steps.push(side, call);
                }
                StepEvent::Stages {
                    server,
                    client,
                    server_state,
                    client_state,
                } => {
                    self.stages = (server, client);
                    self.states = (server_state, client_state);
                }
                StepEvent::WouldBlock { step } => {
                    self.last_step = Some(LastStep::WouldBlock(step));
                }
            }
        }
        self.exports.poll();
    }

    /// Starts a scenario (also used by tests).
    pub fn run(&mut self, ctx: &egui::Context, scenario: LessonScenario) {
        if self.running {
            return;
        }
        self.scenario = Some(scenario);
        self.rec = Recording::default();
        self.findings.clear();
        self.failed = None;
        // A fresh channel, so events of an earlier run can never mix into this one.
        let (tx, rx) = flume::unbounded();
        self.events_tx = tx;
        self.events_rx = rx;
        match spawn_scenario(scenario, self.events_tx.clone(), ui_waker(ctx)) {
            Ok(run) => {
                self.run = Some(run);
                self.running = true;
            }
            Err(e) => self.failed = Some(NetError::from_io(&e)),
        }
    }

    pub fn status_line(&self, lang: Lang) -> String {
        match (self.mode, self.scenario) {
            (LessonMode::Steps, _) => lang.t(Msg::StepIntro).to_owned(),
            (_, Some(s)) if self.running => {
                format!(
                    "{} — {}",
                    lang.t(scenario_title(s)),
                    lang.t(Msg::LessonRunning)
                )
            }
            (_, Some(s)) => lang.t(scenario_title(s)).to_owned(),
            (_, None) => lang.t(Msg::LessonPickScenario).to_owned(),
        }
    }

    pub fn running(&self) -> bool {
        self.running
    }

    pub fn findings(&self) -> &[LessonFinding] {
        &self.findings
    }

    pub fn ui(&mut self, ui: &mut Ui, lang: Lang) {
        self.drain_events();
        let classroom = self.classroom;
        super::frame::show_demo(ui, lang, classroom, self);
    }

    /// The scenario as a drop-down (classroom mode, where the list does not show).
    fn scenario_line_ui(&mut self, ui: &mut Ui, lang: Lang) {
        let mut picked = None;
        let current = self.scenario.map_or(lang.t(Msg::LessonPickScenario), |s| {
            lang.t(scenario_title(s))
        });
        ui.add_enabled_ui(!self.running, |ui| {
            egui::ComboBox::from_id_salt("lesson_scenario")
                .selected_text(RichText::new(current).strong())
                .show_ui(ui, |ui| {
                    for s in LessonScenario::ALL {
                        if ui
                            .selectable_label(self.scenario == Some(s), lang.t(scenario_title(s)))
                            .clicked()
                        {
                            picked = Some(s);
                        }
                    }
                });
        });
        if let Some(s) = picked {
            self.run(ui.ctx(), s);
        }
    }

    /// The scenario list (normal mode).
    fn scenario_list_ui(&mut self, ui: &mut Ui, lang: Lang) {
        ui.add_space(4.0);
        for s in LessonScenario::ALL {
            let selected = self.scenario == Some(s);
            let button = egui::Button::selectable(selected, lang.t(scenario_title(s)));
            if ui.add_enabled(!self.running, button).clicked() {
                self.run(ui.ctx(), s);
            }
        }
    }

    /// The scenario's diagram (with its export in normal mode).
    fn scenario_picture_ui(&mut self, ui: &mut Ui, lang: Lang) {
        let Some(scenario) = self.scenario else {
            ui.label(lang.t(Msg::LessonPickScenario));
            return;
        };
        if scenario.has_diagram() && !self.rec.calls.is_empty() {
            if !self.classroom {
                self.export_ui(ui, lang, false);
            }
            let follow = self.running;
            let to_top = std::mem::take(&mut self.to_top);
            let diagram = self.rec.diagram();
            self.diagram_rect = Some(
                ui.scope(|ui| diagram_ui(ui, diagram, lang, follow, to_top))
                    .response
                    .rect,
            );
        }
    }

    /// The findings and the explanation.
    fn words_ui(&self, ui: &mut Ui, lang: Lang, scenario: LessonScenario) {
        if !self.findings.is_empty() {
            ui.label(RichText::new(lang.t(Msg::LessonFindings)).strong());
            for f in &self.findings {
                ui.label(RichText::new(describe_finding(lang, f)).strong());
            }
        }
        if !self.running {
            ui.label(RichText::new(lang.t(Msg::LessonWhy)).strong());
            ui.label(lang.t(scenario_explanation(scenario)));
        }
    }

    /// In classroom mode the words fold into a menu the teacher opens when it is time.
    fn words_fold(&self, ui: &mut Ui, lang: Lang) {
        let Some(scenario) = self.scenario else {
            return;
        };
        ui.menu_button(RichText::new(lang.t(Msg::LessonWhy)).strong(), |ui| {
            ui.set_max_width(600.0);
            self.words_ui(ui, lang, scenario);
        });
    }

    fn export_ui(&mut self, ui: &mut Ui, lang: Lang, steps: bool) {
        ui.horizontal(|ui| {
            self.exports.path_ui(ui, lang, 380.0);
            let rec = if steps {
                &mut self.steps
            } else {
                &mut self.rec
            };
            // The SVG goes to the path as typed.
            let svg_path = self.exports.target();
            self.exports.diagram_buttons_ui(
                ui,
                lang,
                (svg_path, || to_svg(rec.diagram(), lang)),
                self.diagram_rect,
            );
            self.exports.result_ui(ui, lang);
        });
    }

    fn lab(&mut self, ctx: &egui::Context) -> Option<&StepHandle> {
        if self.lab.is_none() {
            match spawn_step_lab(self.step_tx.clone(), ui_waker(ctx)) {
                Ok(lab) => {
                    self.lab = Some(lab);
                    self.lab_error = None;
                }
                // Said under the steps, not swallowed.
                Err(e) => self.lab_error = Some(crate::net::NetError::from_io(&e)),
            }
        }
        self.lab.as_ref()
    }

    /// Makes one step-mode call (also used by tests).
    pub fn step(&mut self, ctx: &egui::Context, step: Step) {
        if let Some(lab) = self.lab(ctx) {
            lab.command(StepCommand::Do(step));
        }
    }

    pub fn step_legal(&self, step: Step) -> bool {
        legal(step, self.stages.0, self.stages.1)
    }

    fn steps_ui(&mut self, ui: &mut Ui, lang: Lang) {
        ui.label(lang.t(Msg::StepIntro));
        if let Some(err) = &self.lab_error {
            ui.colored_label(
                ui.visuals().error_fg_color,
                lang.fmt(Msg::StepLabFailed, &[("error", &describe_error(lang, err))]),
            );
        }
        let ctx = ui.ctx().clone();
        let mut clicked = None;
        ui.columns(2, |cols| {
            for (col, title, steps, state) in [
                (0, Msg::StepServer, &Step::SERVER[..], self.states.0),
                (1, Msg::StepClient, &Step::CLIENT[..], self.states.1),
            ] {
                let ui = &mut cols[col];
                ui.horizontal(|ui| {
                    ui.label(RichText::new(lang.t(title)).heading());
                    match state {
                        Some(s) => ui.label(
                            RichText::new(lang.fmt(Msg::StepState, &[("state", &s.name())]))
                                .monospace()
                                .strong(),
                        ),
                        None => ui.label(lang.t(Msg::StepNoState)),
                    };
                });
                ui.horizontal_wrapped(|ui| {
                    for &step in steps {
                        let ok = legal(step, self.stages.0, self.stages.1);
                        if ui
                            .add_enabled(
                                ok,
                                egui::Button::new(RichText::new(step.label()).monospace()),
                            )
                            .clicked()
                        {
                            clicked = Some(step);
                        }
                    }
                });
            }
        });
        if let Some(step) = clicked {
            self.step(&ctx, step);
        }
        ui.horizontal(|ui| {
            if ui.button(lang.t(Msg::StepReset)).clicked() {
                if let Some(lab) = &self.lab {
                    lab.command(StepCommand::Reset);
                }
                self.steps = Recording::default();
                self.last_step = None;
            }
        });
        match &self.last_step {
            Some(LastStep::WouldBlock(step)) => {
                ui.separator();
                let msg = if *step == Step::ServerAccept {
                    Msg::StepWouldBlockAccept
                } else {
                    Msg::StepWouldBlockRecv
                };
                ui.label(RichText::new(lang.t(msg)).strong());
            }
            Some(LastStep::Made(step, call)) => {
                ui.separator();
                let text = format!(
                    "{} → {}",
                    call.call_text(),
                    describe_outcome(lang, &call.kind, &call.outcome)
                );
                let mut text = RichText::new(text).monospace().strong();
                if matches!(call.outcome, CallOutcome::Failed(_)) {
                    text = text.color(ui.visuals().error_fg_color);
                }
                ui.label(text);
                ui.label(lang.t(step_explanation(*step)));
            }
            None => {}
        }
        ui.separator();
        if !self.steps.calls.is_empty() {
            self.export_ui(ui, lang, true);
            let diagram = self.steps.diagram();
            self.diagram_rect = Some(
                ui.scope(|ui| diagram_ui(ui, diagram, lang, true, false))
                    .response
                    .rect,
            );
        }
    }
}

/// Nothing is remembered between runs: a run starts from its scenario.
impl super::Persist for LessonPanel {
    type Settings = ();
    fn from_settings(_: ()) -> Self {
        Self::default()
    }
    fn settings(&self) {}
}

/// The Lesson on the demonstration frame: the scenarios in the column (a drop-down in
/// classroom mode), the diagram with the findings and the explanation beside it (folded into
/// "Why" in classroom mode); step mode takes the whole view.
impl super::frame::Demo for LessonPanel {
    fn frame_id(&self) -> &'static str {
        "lesson"
    }

    fn modes_ui(&mut self, ui: &mut Ui, lang: Lang) {
        ui.horizontal(|ui| {
            ui.selectable_value(
                &mut self.mode,
                LessonMode::Scenarios,
                RichText::new(lang.t(Msg::LessonScenarios)).strong(),
            );
            ui.selectable_value(
                &mut self.mode,
                LessonMode::Steps,
                RichText::new(lang.t(Msg::LessonStepMode)).strong(),
            );
        });
        ui.separator();
    }

    fn choices_width(&self) -> Option<f32> {
        (self.mode == LessonMode::Scenarios).then_some(290.0)
    }

    fn choices_ui(&mut self, ui: &mut Ui, lang: Lang) {
        self.scenario_list_ui(ui, lang);
    }

    fn choice_line_ui(&mut self, ui: &mut Ui, lang: Lang) {
        if self.mode == LessonMode::Scenarios {
            self.scenario_line_ui(ui, lang);
        }
    }

    fn status(&self, ui: &Ui, lang: Lang, classroom: bool) -> (egui::Color32, String) {
        let weak = ui.visuals().weak_text_color();
        if self.mode == LessonMode::Steps {
            return (weak, lang.t(Msg::LessonStepMode).to_owned());
        }
        let Some(scenario) = self.scenario else {
            return (weak, lang.t(Msg::LessonPickScenario).to_owned());
        };
        let (color, state) = if self.running {
            (ui.visuals().warn_fg_color, Msg::LessonRunning)
        } else if self.failed.is_some() {
            (ui.visuals().error_fg_color, Msg::LessonFailedShort)
        } else {
            (egui::Color32::from_rgb(40, 170, 70), Msg::LabFinished)
        };
        let text = if classroom {
            // The scenario's name is in the drop-down.
            lang.t(state).to_owned()
        } else {
            format!("{} — {}", lang.t(scenario_title(scenario)), lang.t(state))
        };
        (color, text)
    }

    fn controls_ui(&mut self, ui: &mut Ui, lang: Lang, classroom: bool) {
        if self.mode != LessonMode::Scenarios {
            return;
        }
        if self.running {
            ui.spinner();
        }
        if classroom {
            self.words_fold(ui, lang);
        }
    }

    fn details_ui(&mut self, ui: &mut Ui, lang: Lang, _classroom: bool) {
        if self.mode == LessonMode::Scenarios
            && let Some(err) = &self.failed
        {
            ui.colored_label(
                ui.visuals().error_fg_color,
                lang.fmt(Msg::LessonFailed, &[("err", &describe_error(lang, err))]),
            );
        }
    }

    fn aside(&self, classroom: bool) -> Option<f32> {
        (!classroom && self.mode == LessonMode::Scenarios && self.scenario.is_some())
            // The diagram's lanes and the calls written beside them.
            .then_some(760.0)
    }

    fn aside_ui(&mut self, ui: &mut Ui, lang: Lang) {
        if let Some(scenario) = self.scenario {
            self.words_ui(ui, lang, scenario);
        }
    }

    fn picture_ui(&mut self, ui: &mut Ui, lang: Lang, _classroom: bool) {
        match self.mode {
            LessonMode::Scenarios => self.scenario_picture_ui(ui, lang),
            LessonMode::Steps => self.steps_ui(ui, lang),
        }
    }
}

impl super::Panel for LessonPanel {
    fn ui(&mut self, ui: &mut Ui, lang: Lang, classroom: bool) {
        self.classroom = classroom;
        LessonPanel::ui(self, ui, lang)
    }

    fn status_line(&self, lang: Lang) -> String {
        LessonPanel::status_line(self, lang)
    }

    fn drain_events(&mut self) {
        LessonPanel::drain_events(self)
    }

    fn shows_status(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use crate::ui::jobs::write_png;

    #[test]
    fn png_is_written_and_reads_back() {
        let dir = std::env::temp_dir().join(format!("swb-png-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("d.png");
        let mut image = egui::ColorImage::filled([3, 2], egui::Color32::WHITE);
        image.pixels[4] = egui::Color32::from_rgb(200, 10, 20);
        write_png(&path, &image).unwrap();
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (3, 2));
        assert_eq!(&buf[16..20], &[200, 10, 20, 255]);
        let _ = std::fs::remove_dir_all(&dir);
        // An unwritable path is an error, not a panic.
        assert!(write_png(&dir.join("missing").join("d.png"), &image).is_err());
    }
}
