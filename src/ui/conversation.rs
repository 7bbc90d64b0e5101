//! A scripted conversation in a panel: the script (TOML, as `run SCRIPT` reads it) typed,
//! loaded, saved or recorded from the log; run at once or step by step against the panel's
//! connection; each step with its state, its reply time, and for a failed expect what was
//! expected and what came, in text and hex.

use std::path::PathBuf;

use egui::{Color32, RichText, Ui};

use super::jobs::Job;
use super::widgets::{FilePicker, PickKind, path_field};
use crate::i18n::{Lang, Msg, describe_error, describe_expect};
use crate::model::conversation::{ConversationRun, StepState};
use crate::net::NetError;
use crate::proto::script::{Failure, Outcome, Report, Script, ScriptError, StepKind};
use crate::proto::{TextEncoding, format_hex};

/// What the user asked of the conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConversationAsk {
    /// Run the script (step by step when true).
    Run {
        stepping: bool,
    },
    /// Step by step: the next step.
    Step,
    Stop,
    /// Replace the script with one recorded from the log.
    Record,
}

enum FileDone {
    Loaded(PathBuf, Result<String, NetError>),
    Saved(super::jobs::Written),
}

/// The conversation's part of a panel: the script being edited, its file, its checks.
#[derive(Default)]
pub struct ConversationView {
    pub open: bool,
    pub path: String,
    picker: FilePicker,
    job: Option<Job<FileDone>>,
    /// The last file result, or a script mistake.
    pub message: Option<(bool, String)>,
    /// The script checked as typed (recomputed when the text changes).
    checked: Option<(u64, Result<usize, ScriptError>)>,
    /// On a server: how the run goes with each selected client, in a line.
    pub runs_line: Option<String>,
    /// The name the script is saved under in the library.
    pub save_name: String,
    /// The payload library (scripts are saved in it too).
    pub shelf: Option<super::library::Shelf>,
}

fn fingerprint(text: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

impl ConversationView {
    /// The script as typed, read (a library for `send_payload`).
    pub fn parse(
        text: &str,
        library: Option<&crate::proto::library::Library>,
    ) -> Result<Script, ScriptError> {
        Script::parse(text, library)
    }

    fn poll_file(&mut self, lang: Lang, script: &mut String) {
        let Some(job) = &self.job else {
            return;
        };
        let Some(done) = job.poll() else {
            return;
        };
        self.job = None;
        self.message = Some(match done {
            Ok(FileDone::Loaded(path, Ok(text))) => {
                *script = text;
                (
                    false,
                    lang.fmt(Msg::ScriptLoaded, &[("path", &path.display())]),
                )
            }
            Ok(FileDone::Loaded(_, Err(e))) | Ok(FileDone::Saved(Err(e))) => {
                (true, describe_error(lang, &e))
            }
            Ok(FileDone::Saved(Ok(path))) => (
                false,
                lang.fmt(Msg::ScriptSaved, &[("path", &path.display())]),
            ),
            Err(_) => (true, lang.t(Msg::LibraryJobGone).to_owned()),
        });
    }

    /// Draws the conversation: the script, its buttons, the steps of the run. `can_run`:
    /// the panel's connection is up.
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        lang: Lang,
        script: &mut String,
        run: Option<&ConversationRun>,
        can_run: bool,
    ) -> Option<ConversationAsk> {
        self.poll_file(lang, script);
        if self.job.is_some() {
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(100));
        }
        let mut ask = None;
        let fp = fingerprint(script);
        if self.checked.as_ref().is_none_or(|(f, _)| *f != fp) {
            // Checked against the library as it is, as Run will read it.
            let library = self.shelf.as_ref().map(|shelf| shelf.borrow().lib.clone());
            let r = Script::parse(script, library.as_ref()).map(|s| s.steps.len());
            self.checked = Some((fp, r));
        }
        let valid = matches!(self.checked, Some((_, Ok(_))));
        let running = run.is_some_and(|r| !r.done());
        ui.horizontal_wrapped(|ui| {
            ui.strong(lang.t(Msg::ConversationHeading))
                .on_hover_text(lang.t(Msg::ConversationHint));
            if running {
                if run.is_some_and(|r| r.waiting_for_step())
                    && ui
                        .button(lang.t(Msg::ConversationNextStep))
                        .on_hover_text(lang.t(Msg::ConversationNextStepHint))
                        .clicked()
                {
                    ask = Some(ConversationAsk::Step);
                }
                if ui.button(lang.t(Msg::ConversationStop)).clicked() {
                    ask = Some(ConversationAsk::Stop);
                }
            } else {
                let ok = valid && can_run && !script.trim().is_empty();
                if ui
                    .add_enabled(
                        ok,
                        egui::Button::new(RichText::new(lang.t(Msg::ConversationRun)).strong()),
                    )
                    .on_hover_text(lang.t(Msg::ConversationRunHint))
                    .on_disabled_hover_text(lang.t(Msg::ConversationRunDisabled))
                    .clicked()
                {
                    ask = Some(ConversationAsk::Run { stepping: false });
                }
                if ui
                    .add_enabled(ok, egui::Button::new(lang.t(Msg::ConversationStepByStep)))
                    .on_hover_text(lang.t(Msg::ConversationStepByStepHint))
                    .clicked()
                {
                    ask = Some(ConversationAsk::Run { stepping: true });
                }
                if ui
                    .button(lang.t(Msg::ConversationRecord))
                    .on_hover_text(lang.t(Msg::ConversationRecordHint))
                    .clicked()
                {
                    ask = Some(ConversationAsk::Record);
                }
            }
            if ui.small_button(lang.t(Msg::LibraryClose)).clicked() {
                self.open = false;
            }
        });
        if let Some(run) = run {
            run_ui(ui, lang, run);
        }
        if let Some(extra) = &self.runs_line {
            ui.label(RichText::new(extra).weak());
        }
        ui.add_enabled_ui(!running, |ui| {
            egui::ScrollArea::vertical()
                .id_salt("script_text")
                .max_height(ui.text_style_height(&egui::TextStyle::Monospace) * 8.0)
                .show(ui, |ui| {
                    ui.add(
                        egui::TextEdit::multiline(script)
                            .id_salt("script_editor")
                            .code_editor()
                            .desired_rows(6)
                            .desired_width(f32::INFINITY)
                            .hint_text(lang.t(Msg::ScriptHint)),
                    )
                });
        });
        if let Some((_, Err(e))) = &self.checked
            && !script.trim().is_empty()
        {
            let line = e
                .line
                .map(|l| lang.fmt(Msg::ScriptLine, &[("n", &l)]))
                .unwrap_or_default();
            ui.colored_label(ui.visuals().error_fg_color, format!("{line}{}", e.message));
        }
        ui.horizontal_wrapped(|ui| {
            path_field(
                ui,
                lang,
                lang.t(Msg::ScriptFile),
                &mut self.path,
                &mut self.picker,
                PickKind::Open,
            );
            let ready = !self.path.trim().is_empty() && self.job.is_none();
            let path = PathBuf::from(self.path.trim());
            if ui
                .add_enabled(
                    ready && !running,
                    egui::Button::new(lang.t(Msg::ScriptLoad)),
                )
                .clicked()
            {
                let p = path.clone();
                self.start(lang, ui.ctx().clone(), move || {
                    let read = std::fs::read_to_string(&p).map_err(|e| NetError::file_read(&p, &e));
                    FileDone::Loaded(p, read)
                });
            }
            if ui
                .add_enabled(ready, egui::Button::new(lang.t(Msg::ScriptSave)))
                .clicked()
            {
                let text = script.clone();
                self.start(lang, ui.ctx().clone(), move || {
                    FileDone::Saved(super::jobs::write_file(&path, |p| std::fs::write(p, text)))
                });
            }
        });
        if let Some(shelf) = self.shelf.clone() {
            self.library_ui(ui, lang, &shelf, script, running);
        }
        if let Some((error, words)) = &self.message {
            if *error {
                ui.colored_label(ui.visuals().error_fg_color, words);
            } else {
                ui.weak(words);
            }
        }
        ask
    }

    /// Scripts kept in the library: one to load, or this one saved under a name.
    fn library_ui(
        &mut self,
        ui: &mut Ui,
        lang: Lang,
        shelf: &super::library::Shelf,
        script: &mut String,
        running: bool,
    ) {
        ui.horizontal_wrapped(|ui| {
            let names: Vec<String> = shelf
                .borrow()
                .lib
                .scripts
                .iter()
                .map(|s| s.name.clone())
                .collect();
            ui.add_enabled_ui(!running, |ui| {
                ui.menu_button(
                    lang.fmt(Msg::ScriptFromLibrary, &[("n", &names.len())]),
                    |ui| {
                        if names.is_empty() {
                            ui.label(lang.t(Msg::ScriptLibraryEmpty));
                        }
                        for name in &names {
                            if ui.button(name).clicked() {
                                if let Some(s) = shelf.borrow().lib.script(name) {
                                    *script = s.text.clone();
                                }
                                self.save_name = name.clone();
                                ui.close();
                            }
                        }
                    },
                );
            });
            let label = ui.label(lang.t(Msg::LibraryName)).id;
            ui.add(egui::TextEdit::singleline(&mut self.save_name).desired_width(140.0))
                .labelled_by(label);
            let ok = !self.save_name.trim().is_empty()
                && matches!(self.checked, Some((_, Ok(_))))
                && !script.trim().is_empty();
            if ui
                .add_enabled(ok, egui::Button::new(lang.t(Msg::ScriptSaveToLibrary)))
                .on_hover_text(lang.t(Msg::ScriptSaveToLibraryHint))
                .clicked()
            {
                let name = self.save_name.trim().to_owned();
                shelf.borrow_mut().lib.save_script(&name, script);
                self.message = Some((
                    false,
                    lang.fmt(Msg::ScriptSavedToLibrary, &[("name", &name)]),
                ));
            }
        });
    }

    fn start(
        &mut self,
        lang: Lang,
        ctx: egui::Context,
        work: impl FnOnce() -> FileDone + Send + 'static,
    ) {
        self.job = super::jobs::start_or_say("script-file", ctx, lang, &mut self.message, work);
    }
}

impl ConversationView {
    /// The conversation in a panel's table place, scrolled as a whole.
    pub fn table_ui(
        &mut self,
        ui: &mut Ui,
        lang: Lang,
        script: &mut String,
        run: Option<&ConversationRun>,
        can_run: bool,
    ) -> Option<ConversationAsk> {
        egui::ScrollArea::vertical()
            .id_salt("conversation_scroll")
            .auto_shrink([false, false])
            .show(ui, |ui| self.ui(ui, lang, script, run, can_run))
            .inner
    }
}

/// What the conversation's asks act on: the panel's script, its run, its log.
pub struct Target<'a> {
    pub script: &'a mut String,
    pub run: &'a mut Option<ConversationRun>,
    pub log: &'a crate::model::LogBook,
    /// How the panel frames what it receives (a recording cuts messages by it).
    pub framing: crate::proto::frame::Framing,
    pub encoding: TextEncoding,
    /// Who the conversation is with, for a recording's first line.
    pub peer: String,
    /// A server's client: only its part of the log is recorded.
    pub only: Option<u64>,
    pub library: Option<crate::proto::library::Library>,
}

impl ConversationView {
    /// Does what a button asked. True when the run should be polled at once.
    pub fn handle(&mut self, lang: Lang, ask: ConversationAsk, t: Target<'_>) -> bool {
        use crate::model::conversation::recorded_from_log;
        use crate::proto::script::{Recorded, record};
        match ask {
            ConversationAsk::Run { stepping } => {
                match Script::parse(t.script, t.library.as_ref()) {
                    Ok(script) => {
                        let mut run = ConversationRun::new(script, stepping);
                        if stepping {
                            run.step_once();
                        }
                        *t.run = Some(run);
                        self.message = None;
                        true
                    }
                    Err(e) => {
                        self.message = Some((true, e.to_string()));
                        false
                    }
                }
            }
            ConversationAsk::Step => {
                if let Some(run) = t.run {
                    run.step_once();
                }
                true
            }
            ConversationAsk::Stop => {
                *t.run = None;
                self.message = Some((false, lang.t(Msg::ConversationStopped).to_owned()));
                false
            }
            ConversationAsk::Record => {
                let (items, partial) = recorded_from_log(t.log, &t.framing, t.only);
                let sent = items
                    .iter()
                    .filter(|i| matches!(i, Recorded::Sent(_)))
                    .count();
                let header = [format!(
                    "Recorded by Socket Workbench from {} on {}.",
                    t.peer,
                    chrono::Local::now().format("%Y-%m-%d %H:%M")
                )];
                *t.script = record(&items, &t.framing, t.encoding, &header);
                let mut words = lang.fmt(
                    Msg::ConversationRecorded,
                    &[("sent", &sent), ("received", &(items.len() - sent))],
                );
                if partial > 0 {
                    words.push_str("; ");
                    words.push_str(&lang.fmt(Msg::ConversationRecordedPartial, &[("n", &partial)]));
                }
                self.message = Some((false, words));
                false
            }
        }
    }
}

pub fn state_badge(lang: Lang, state: StepState) -> (Color32, &'static str) {
    match state {
        StepState::Waiting => (Color32::GRAY, lang.t(Msg::StepWaiting)),
        StepState::Running => (
            Color32::from_rgb(0x1f, 0x6f, 0xd0),
            lang.t(Msg::StepRunning),
        ),
        StepState::Passed => (Color32::from_rgb(0x1a, 0x8f, 0x3a), lang.t(Msg::StepPassed)),
        StepState::Failed => (Color32::from_rgb(0xc0, 0x20, 0x20), lang.t(Msg::StepFailed)),
    }
}

/// A message in text and hex (a few lines at most).
fn shown(bytes: &[u8], encoding: TextEncoding) -> String {
    let cut = &bytes[..bytes.len().min(128)];
    let more = if bytes.len() > cut.len() { " …" } else { "" };
    match crate::proto::script::as_text(cut, encoding) {
        Some(t) => format!(
            "\"{}\"{more}  [{}{more}]",
            t.escape_debug(),
            format_hex(cut)
        ),
        None => format!("[{}{more}]", format_hex(cut)),
    }
}

/// A step in a few words: "send 01 03 …", "expect contains \"OK\"", "wait 100 ms".
fn step_words(lang: Lang, kind: &StepKind, encoding: TextEncoding) -> String {
    match kind {
        StepKind::Send(p) => {
            let what = p.text.as_deref().or(p.hex.as_deref()).unwrap_or_default();
            let mut shown: String = what.chars().take(40).collect();
            if what.chars().count() > 40 {
                shown.push('…');
            }
            let shown = shown
                .replace('\\', "\\\\")
                .replace('\n', "\\n")
                .replace('\r', "\\r")
                .replace('\t', "\\t");
            lang.fmt(Msg::StepSend, &[("what", &shown)])
        }
        StepKind::Expect(x) => lang.fmt(
            Msg::StepExpect,
            &[("what", &describe_expect(lang, x, encoding))],
        ),
        StepKind::Wait(ms) => lang.fmt(Msg::RunWaited, &[("ms", ms)]),
        StepKind::Repeat { times, .. } => lang.fmt(Msg::StepRepeat, &[("n", times)]),
    }
}

fn failure_words(lang: Lang, r: &Report) -> Option<String> {
    let Outcome::Failed(f) = &r.outcome else {
        return None;
    };
    Some(match f {
        Failure::Timeout { ms } => lang.fmt(Msg::RunFailTimeout, &[("ms", ms)]),
        Failure::Mismatch => lang.t(Msg::RunFailMismatch).to_owned(),
        Failure::Closed => lang.t(Msg::RunFailClosed).to_owned(),
        Failure::Variable(e) => lang.fmt(Msg::RunFailVariable, &[("error", e)]),
    })
}

/// The run: a line of totals, then each step with its state, reply time and evidence.
fn run_ui(ui: &mut Ui, lang: Lang, run: &ConversationRun) {
    let script = run.script();
    let encoding = script.encoding;
    let (held, failed) = run.tally();
    let total = if run.done() {
        if failed == 0 && run.stopped_at().is_none() {
            lang.fmt(Msg::RunAllHeld, &[("n", &held)])
        } else {
            lang.fmt(
                Msg::RunSomeFailed,
                &[("failed", &failed), ("total", &(held + failed))],
            )
        }
    } else {
        lang.fmt(
            Msg::ConversationRunning,
            &[("held", &held), ("failed", &failed)],
        )
    };
    let colour = if failed > 0 {
        ui.visuals().error_fg_color
    } else {
        ui.visuals().text_color()
    };
    ui.label(RichText::new(total).strong().color(colour));
    egui::ScrollArea::vertical()
        .id_salt("conversation_steps")
        .max_height(ui.text_style_height(&egui::TextStyle::Body) * 9.0)
        .show(ui, |ui| {
            egui::Grid::new("conversation_grid")
                .striped(true)
                .num_columns(4)
                .show(ui, |ui| {
                    for (i, step) in script.steps.iter().enumerate() {
                        let state = run.state(i);
                        let (colour, word) = state_badge(lang, state);
                        ui.label(RichText::new(word).color(colour).strong());
                        let indent = "  ".repeat(step.depth);
                        let head = lang.fmt(
                            Msg::RunStep,
                            &[("step", &(i + 1)), ("line", &step.line), ("round", &"")],
                        );
                        ui.label(format!("{indent}{head}"));
                        ui.label(step_words(lang, &step.kind, encoding));
                        let last = run.last_report(i);
                        let mut detail = String::new();
                        if let Some(r) = last {
                            if let Some(round) = r.round {
                                detail.push_str(&lang.fmt(Msg::StepRound, &[("n", &round)]));
                                detail.push(' ');
                            }
                            if let Some(us) = r.rtt_us {
                                detail.push_str(&crate::model::describe::human_us(us));
                            }
                        }
                        let cell = ui.label(detail);
                        if let Some(r) = last {
                            let mut lines = Vec::new();
                            if let Some(f) = failure_words(lang, r) {
                                lines.push(f);
                            }
                            if let Some(s) = &r.sent {
                                lines.push(lang.fmt(
                                    Msg::RunSent,
                                    &[("n", &s.len()), ("bytes", &shown(s, encoding))],
                                ));
                            }
                            if let Some(x) = &r.expected {
                                lines.push(lang.fmt(
                                    Msg::RunExpected,
                                    &[("what", &describe_expect(lang, x, encoding))],
                                ));
                            }
                            match &r.got {
                                Some(g) => lines
                                    .push(lang.fmt(Msg::RunGot, &[("what", &shown(g, encoding))])),
                                None if r.expected.is_some() && !r.ok() => {
                                    lines.push(lang.t(Msg::RunGotNothing).to_owned())
                                }
                                None => {}
                            }
                            if let Some(v) = &r.verdict
                                && let Some(c) = &r.checksum
                            {
                                lines.push(crate::model::describe::describe_rx(
                                    lang,
                                    &crate::model::log::RxNote {
                                        check: Some((c.algo, v.clone())),
                                        ..Default::default()
                                    },
                                ));
                            }
                            for (name, value) in &r.captured {
                                lines.push(lang.fmt(
                                    Msg::RunCaptured,
                                    &[("name", name), ("value", &shown(value, encoding))],
                                ));
                            }
                            if r.passed_over_count > 0 {
                                lines.push(
                                    lang.fmt(Msg::RunPassedOver, &[("n", &r.passed_over_count)]),
                                );
                            }
                            if !lines.is_empty() {
                                cell.on_hover_text(lines.join("\n"));
                            }
                            if !r.ok() {
                                ui.end_row();
                                ui.label("");
                                ui.label("");
                                let text = lines.join("\n");
                                ui.label(RichText::new(text).monospace().color(colour_failed()));
                                ui.label("");
                            }
                        }
                        ui.end_row();
                    }
                });
        });
}

fn colour_failed() -> Color32 {
    Color32::from_rgb(0xc0, 0x20, 0x20)
}
