//! The send composer: what to send (text in an encoding, or hex), how lines end, and how to
//! send it (once, repeated on a timer, or a file streamed from disk). Shared by every panel
//! that sends; it only produces [`ComposerAction`]s, the panel turns them into commands.

use std::path::PathBuf;
use std::time::Duration;

use egui::text::LayoutJob;
use egui::{Color32, FontId, Key, Modifiers, TextFormat, TextStyle, Ui};
use serde::{Deserialize, Serialize};

use super::widgets::{FilePicker, PickKind, human_bytes, path_field};
use crate::i18n::{Lang, Msg, describe_template_error};
use crate::proto::checksum::{ByteOrder, Checksum, ChecksumSpec};
use crate::proto::payload::{Extras, TemplateError, build_templated};
use crate::proto::vars::CounterSpec;
use crate::proto::{LineEnding, PayloadError, PayloadMode, TextEncoding};

/// Payloads kept in the history.
pub const HISTORY_MAX: usize = 20;
/// The one-line composer's message box is at least this wide before the library's menu
/// takes a place beside it.
const MIN_MESSAGE_WIDTH: f32 = 240.0;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryItem {
    pub mode: PayloadMode,
    pub encoding: TextEncoding,
    pub eol: LineEnding,
    pub text: String,
    #[serde(default)]
    pub vars: bool,
    #[serde(default)]
    pub checksum: Option<ChecksumSpec>,
}

impl HistoryItem {
    /// Puts this payload back into the composer.
    pub fn load_into(self, s: &mut ComposerSettings) {
        s.text = self.text;
        s.mode = self.mode;
        s.encoding = self.encoding;
        s.eol = self.eol;
        s.vars = self.vars;
        s.checksum = self.checksum;
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ComposerSettings {
    pub text: String,
    pub mode: PayloadMode,
    pub encoding: TextEncoding,
    pub eol: LineEnding,
    pub repeat_ms: u64,
    /// 0 = until stopped.
    pub repeat_count: u64,
    pub file_path: String,
    pub history: Vec<HistoryItem>,
    /// Variables (`{counter}`, `{time}`, …) are expanded; off, braces go as typed.
    pub vars: bool,
    /// Appended after the line ending.
    pub checksum: Option<ChecksumSpec>,
    /// How `{counter}` counts the composer's sends.
    pub counter: CounterSpec,
}

impl Default for ComposerSettings {
    fn default() -> Self {
        Self {
            text: String::new(),
            mode: PayloadMode::Text,
            encoding: TextEncoding::Utf8,
            eol: LineEnding::None,
            repeat_ms: 1000,
            repeat_count: 0,
            file_path: String::new(),
            history: Vec::new(),
            vars: true,
            checksum: None,
            counter: CounterSpec::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComposerAction {
    Send(Vec<u8>),
    Repeat {
        bytes: Vec<u8>,
        interval: Duration,
        count: Option<u64>,
    },
    StopRepeat,
    SendFile(PathBuf),
    CancelFile,
}

/// What the engine is doing, for the composer's buttons.
#[derive(Debug, Clone, Copy, Default)]
pub struct SendState {
    /// Sending is possible at all (connected, write side open).
    pub can_send: bool,
    /// Sends done by the running repeat, if one runs.
    pub repeating: Option<u64>,
    /// (sent, total) of a running file transfer.
    pub file: Option<(u64, Option<u64>)>,
}

/// What the current input will send, for the preview: its size, its first bytes, and
/// whether variables or a checksum make it differ from what is typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    pub len: usize,
    pub head: Vec<u8>,
    /// The checksum's bytes (at the end).
    pub checksum: Vec<u8>,
    /// Variables were expanded.
    pub expanded: bool,
}

/// Bytes of a payload shown in the preview.
const PREVIEW_BYTES: usize = 48;

#[derive(Default)]
pub struct Composer {
    picker: FilePicker,
    /// Validation of the current text, recomputed only when the text or options change.
    checked: Option<(u64, Result<Preview, TemplateError>)>,
    /// Sends so far, for `{counter}`.
    sends: u64,
    /// The payload library, when the panel has been given it.
    pub shelf: Option<super::library::Shelf>,
    random: Option<crate::proto::vars::Random>,
}

fn fingerprint(s: &ComposerSettings, sends: u64) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (&s.text, s.mode, s.encoding, s.eol).hash(&mut h);
    (s.vars, s.checksum, s.counter.start, s.counter.step, sends).hash(&mut h);
    h.finish()
}

/// Whether a template has a variable whose value changes by itself (time, random bytes):
/// its preview is refreshed once a second.
fn has_live_vars(s: &ComposerSettings) -> bool {
    s.vars && (s.text.contains("{time") || s.text.contains("{unix_ms") || s.text.contains("{rand"))
}

impl Composer {
    /// Builds the bytes the current input stands for, with its variables and checksum.
    /// `commit`: it is being sent (the counter moves on).
    pub fn build(&mut self, s: &ComposerSettings, commit: bool) -> Result<Vec<u8>, TemplateError> {
        let random = self
            .random
            .get_or_insert_with(|| Box::new(crate::proto::vars::weak_random()));
        let captures = std::collections::HashMap::new();
        let now = chrono::Local::now();
        let mut ctx = crate::proto::vars::Context {
            counter: s.counter.value(self.sends),
            counter_spec: s.counter,
            now: now.naive_local(),
            unix_ms: u64::try_from(now.timestamp_millis()).unwrap_or(0),
            random: &mut **random,
            captures: &captures,
        };
        let built = build_templated(
            &s.text,
            s.mode,
            s.encoding,
            s.eol,
            Extras {
                vars: s.vars,
                checksum: s.checksum,
                ctx: &mut ctx,
            },
        );
        if commit && built.is_ok() {
            self.sends += 1;
        }
        built
    }

    /// Sends so far (what `{counter}` counts), and a fresh start.
    pub fn sends(&self) -> u64 {
        self.sends
    }

    pub fn reset_counter(&mut self) {
        self.sends = 0;
    }

    fn check(&mut self, ui: &Ui, s: &ComposerSettings) -> Result<Preview, TemplateError> {
        let mut fp = fingerprint(s, self.sends);
        if has_live_vars(s) {
            // The time moves on: the preview with it, once a second.
            let second = ui.input(|i| i.time) as u64;
            fp ^= second.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            ui.ctx().request_repaint_after(Duration::from_secs(1));
        }
        match &self.checked {
            Some((f, r)) if *f == fp => r.clone(),
            _ => {
                let expanded = s.vars
                    && s.text.contains('{')
                    && crate::proto::vars::parse(&s.text)
                        .iter()
                        .any(|p| matches!(p, crate::proto::vars::Piece::Var { .. }));
                let r = self.build(s, false).map(|b| {
                    let width = s.checksum.map_or(0, |c| c.algo.width()).min(b.len());
                    Preview {
                        len: b.len(),
                        head: b[..b.len().min(PREVIEW_BYTES)].to_vec(),
                        checksum: b[b.len() - width..].to_vec(),
                        expanded,
                    }
                });
                self.checked = Some((fp, r.clone()));
                r
            }
        }
    }

    /// Draws the composer. `more` is its "More" toggle: false is one line (the message and
    /// Send, for classroom mode), true the whole form. `lead` draws the panel's own part at
    /// the start of the first line (where the message goes); it is told whether the
    /// composer is on one line.
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        lang: Lang,
        s: &mut ComposerSettings,
        state: SendState,
        more: &mut bool,
        lead: &mut dyn FnMut(&mut Ui, bool),
    ) -> Option<ComposerAction> {
        let mut action = None;
        let checked = self.check(ui, s);
        // Ctrl+Enter (⌘Return on macOS) sends; take it before the text box turns it into a
        // newline. egui names the shortcut the way this system writes it.
        let shortcut = egui::KeyboardShortcut::new(Modifiers::COMMAND, Key::Enter);
        let shortcut_text = ui.ctx().format_shortcut(&shortcut);
        let send_key = ui.input_mut(|i| i.consume_shortcut(&shortcut));
        // F1–F12: the library's first twelve payloads of the group shown.
        if state.can_send
            && let Some(shelf) = &self.shelf
            && let Some(bytes) = super::library::f_keys(ui, lang, shelf, s.encoding)
        {
            action = Some(ComposerAction::Send(bytes));
        }
        if super::library::take_more_wanted(ui) {
            *more = true;
        }
        if !*more {
            ui.horizontal(|ui| {
                lead(ui, true);
                let label_id = ui.label(lang.t(Msg::Message)).id;
                // Room for Send and More after the box.
                let library = self.shelf.as_ref().map_or(0.0, |shelf| {
                    let n = shelf.borrow().current().map_or(0, |g| g.payloads.len());
                    let text = lang.fmt(Msg::LibraryMenu, &[("n", &n)]);
                    super::frame::text_width(ui, &text, TextStyle::Button)
                        + ui.spacing().button_padding.x * 2.0
                        + ui.spacing().item_spacing.x
                });
                let buttons = ui.spacing().interact_size.x * 2.0
                    + ui.spacing().item_spacing.x * 3.0
                    + super::frame::text_width(ui, lang.t(Msg::ComposerMore), TextStyle::Button)
                    + super::frame::text_width(ui, lang.t(Msg::Send), TextStyle::Button);
                // The message keeps room to be read: when the line is short, the library's
                // menu steps aside (F1–F12 still send; the library is behind More).
                let with_library = ui.available_width() - buttons - library >= MIN_MESSAGE_WIDTH;
                let buttons = if with_library {
                    buttons + library
                } else {
                    buttons
                };
                let width = (ui.available_width() - buttons).max(80.0);
                // One line: plain Enter sends too (Shift+Enter for a new line). Taken
                // before the box would turn it into a newline.
                let edit_id = ui.make_persistent_id("composer_text");
                let enter = ui.memory(|m| m.has_focus(edit_id))
                    && ui.input_mut(|i| i.consume_key(Modifiers::NONE, Key::Enter));
                let edit = self.text_ui(ui, lang, s, &checked, &shortcut_text, 1, width);
                let edit = edit.labelled_by(label_id);
                let send = self.send_button(ui, lang, state, checked.is_ok(), &shortcut_text);
                let key_send = (send_key && edit.has_focus()) || enter;
                if (send.clicked() || key_send)
                    && state.can_send
                    && let Ok(bytes) = self.build(s, true)
                {
                    self.remember(s);
                    action = Some(ComposerAction::Send(bytes));
                }
                if let Some(shelf) = self.shelf.as_ref().filter(|_| with_library)
                    && let Some(bytes) =
                        super::library::menu_ui(ui, lang, shelf, s.encoding, state.can_send)
                {
                    action = Some(ComposerAction::Send(bytes));
                }
                if ui
                    .button(lang.t(Msg::ComposerMore))
                    .on_hover_text(lang.t(Msg::ComposerMoreHint))
                    .clicked()
                {
                    *more = true;
                }
            });
            match &checked {
                Err(e) => {
                    ui.colored_label(
                        ui.visuals().error_fg_color,
                        describe_template_error(lang, e),
                    );
                }
                Ok(p) if p.expanded || s.checksum.is_some() => preview_ui(ui, lang, p),
                Ok(_) => {}
            }
            if let Some(sent) = state.repeating {
                ui.horizontal(|ui| {
                    if ui.button(lang.t(Msg::StopRepeat)).clicked() {
                        action = Some(ComposerAction::StopRepeat);
                    }
                    ui.label(lang.fmt(Msg::RepeatRunning, &[("n", &sent)]));
                });
            }
            return action;
        }

        ui.horizontal_wrapped(|ui| {
            lead(ui, false);
            if ui.button(lang.t(Msg::ComposerLess)).clicked() {
                *more = false;
            }
            if let Some(shelf) = &self.shelf
                && let Some(bytes) =
                    super::library::menu_ui(ui, lang, shelf, s.encoding, state.can_send)
            {
                action = Some(ComposerAction::Send(bytes));
            }
        });
        ui.horizontal_wrapped(|ui| {
            ui.label(lang.t(Msg::SendAs));
            ui.selectable_value(&mut s.mode, PayloadMode::Text, lang.t(Msg::ModeText));
            ui.selectable_value(&mut s.mode, PayloadMode::Hex, lang.t(Msg::ModeHex));
            ui.add_enabled_ui(s.mode == PayloadMode::Text, |ui| {
                let enc_label = ui.label(lang.t(Msg::Encoding)).id;
                egui::ComboBox::from_id_salt("send_encoding")
                    .selected_text(s.encoding.label())
                    .show_ui(ui, |ui| {
                        for enc in TextEncoding::ALL {
                            ui.selectable_value(&mut s.encoding, enc, enc.label());
                        }
                    })
                    .response
                    .labelled_by(enc_label);
            });
            let eol_label = ui.label(lang.t(Msg::LineEnding)).id;
            egui::ComboBox::from_id_salt("send_eol")
                .selected_text(eol_text(lang, s.eol))
                .show_ui(ui, |ui| {
                    for eol in LineEnding::ALL {
                        ui.selectable_value(&mut s.eol, eol, eol_text(lang, eol));
                    }
                })
                .response
                .labelled_by(eol_label);
            ui.separator();
            ui.checkbox(&mut s.vars, lang.t(Msg::Variables))
                .on_hover_text(lang.t(Msg::VariablesHint));
            if s.vars && s.text.contains("{counter") {
                let from = ui.label(lang.t(Msg::CounterFrom)).id;
                ui.add(egui::DragValue::new(&mut s.counter.start))
                    .labelled_by(from);
                let step = ui.label(lang.t(Msg::CounterStep)).id;
                ui.add(egui::DragValue::new(&mut s.counter.step).range(0..=u32::MAX))
                    .labelled_by(step);
                if ui
                    .small_button(lang.fmt(Msg::CounterReset, &[("n", &self.sends)]))
                    .on_hover_text(lang.t(Msg::CounterResetHint))
                    .clicked()
                {
                    self.sends = 0;
                }
            }
            ui.separator();
            checksum_ui(
                ui,
                lang,
                ("send_checksum", Msg::ChecksumLabel, Msg::ChecksumHint),
                &mut s.checksum,
            );
        });

        let edit = ui
            .horizontal(|ui| {
                let label_id = ui.label(lang.t(Msg::Message)).id;
                self.text_ui(ui, lang, s, &checked, &shortcut_text, 2, f32::INFINITY)
                    .labelled_by(label_id)
            })
            .inner;

        ui.horizontal_wrapped(|ui| {
            let valid = checked.is_ok();
            let send = self.send_button(ui, lang, state, valid, &shortcut_text);
            let key_send = send_key && (edit.has_focus() || send.has_focus());
            if (send.clicked() || key_send)
                && state.can_send
                && let Ok(bytes) = self.build(s, true)
            {
                self.remember(s);
                action = Some(ComposerAction::Send(bytes));
            }
            match &checked {
                Ok(p) if p.expanded || s.checksum.is_some() => preview_ui(ui, lang, p),
                Ok(p) => {
                    ui.weak(lang.fmt(Msg::PayloadSize, &[("n", &p.len)]));
                }
                Err(e) => {
                    ui.colored_label(
                        ui.visuals().error_fg_color,
                        describe_template_error(lang, e),
                    );
                }
            }
            ui.separator();
            match state.repeating {
                Some(sent) => {
                    if ui.button(lang.t(Msg::StopRepeat)).clicked() {
                        action = Some(ComposerAction::StopRepeat);
                    }
                    ui.label(lang.fmt(Msg::RepeatRunning, &[("n", &sent)]));
                }
                None => {
                    let every = ui.label(lang.t(Msg::RepeatEvery)).id;
                    ui.add(
                        egui::DragValue::new(&mut s.repeat_ms)
                            .range(1..=3_600_000)
                            .suffix(" ms"),
                    )
                    .labelled_by(every);
                    let times = ui.label(lang.t(Msg::RepeatTimes)).id;
                    ui.add(egui::DragValue::new(&mut s.repeat_count).range(0..=u64::MAX))
                        .labelled_by(times)
                        .on_hover_text(lang.t(Msg::RepeatTimesHint));
                    if ui
                        .add_enabled(
                            state.can_send && valid,
                            egui::Button::new(lang.t(Msg::StartRepeat)),
                        )
                        .clicked()
                        && let Ok(bytes) = self.build(s, true)
                    {
                        self.remember(s);
                        action = Some(ComposerAction::Repeat {
                            bytes,
                            interval: Duration::from_millis(s.repeat_ms.max(1)),
                            count: (s.repeat_count > 0).then_some(s.repeat_count),
                        });
                    }
                }
            }
        });

        ui.horizontal_wrapped(|ui| {
            path_field(
                ui,
                lang,
                lang.t(Msg::FileToSend),
                &mut s.file_path,
                &mut self.picker,
                PickKind::Open,
            );
            match state.file {
                Some((sent, total)) => {
                    let fraction = total.filter(|t| *t > 0).map(|t| sent as f32 / t as f32);
                    let text = match total {
                        Some(t) => format!("{} / {}", human_bytes(sent), human_bytes(t)),
                        None => human_bytes(sent),
                    };
                    ui.add(
                        egui::ProgressBar::new(fraction.unwrap_or(0.0))
                            .desired_width(160.0)
                            .text(text),
                    );
                    if ui.button(lang.t(Msg::Cancel)).clicked() {
                        action = Some(ComposerAction::CancelFile);
                    }
                }
                None => {
                    let ok = state.can_send && !s.file_path.trim().is_empty();
                    if ui
                        .add_enabled(ok, egui::Button::new(lang.t(Msg::SendFile)))
                        .clicked()
                    {
                        action = Some(ComposerAction::SendFile(PathBuf::from(s.file_path.trim())));
                    }
                }
            }
        });

        if let Some(shelf) = &self.shelf
            && let Some(bytes) = super::library::section_ui(ui, lang, shelf, s, state.can_send)
        {
            action = Some(ComposerAction::Send(bytes));
        }
        if let Some(resend) = self.history_ui(ui, lang, s, state) {
            action = Some(resend);
        }
        action
    }

    /// The message box, `rows` tall, with the invalid part painted red.
    #[allow(clippy::too_many_arguments)]
    fn text_ui(
        &mut self,
        ui: &mut Ui,
        lang: Lang,
        s: &mut ComposerSettings,
        checked: &Result<Preview, TemplateError>,
        shortcut_text: &str,
        rows: usize,
        width: f32,
    ) -> egui::Response {
        let error_span = match checked {
            Err(TemplateError::Payload(PayloadError::Hex(e))) => Some((e.char_index, e.len.max(1))),
            Err(TemplateError::Payload(PayloadError::Encode(e))) => Some((e.char_index(), 1)),
            Err(TemplateError::Var(e)) => {
                let start = s.text.get(..e.span.start).map_or(0, |t| t.chars().count());
                let len = s.text.get(e.span.clone()).map_or(1, |t| t.chars().count());
                Some((start, len.max(1)))
            }
            Ok(_) => None,
        };
        let mut layouter = |ui: &Ui, text: &dyn egui::TextBuffer, wrap: f32| {
            let job = highlight_job(ui, text.as_str(), error_span, wrap);
            ui.fonts_mut(|f| f.layout_job(job))
        };
        egui::TextEdit::multiline(&mut s.text)
            .id_salt("composer_text")
            .desired_rows(rows)
            .desired_width(width)
            .hint_text(match s.mode {
                _ if rows == 1 => lang.t(Msg::TextHintShort).to_owned(),
                PayloadMode::Text => lang.fmt(Msg::TextHint, &[("key", &shortcut_text)]),
                PayloadMode::Hex => lang.t(Msg::HexHint).to_owned(),
            })
            .layouter(&mut layouter)
            .show(ui)
            .response
            .response
    }

    fn send_button(
        &self,
        ui: &mut Ui,
        lang: Lang,
        state: SendState,
        valid: bool,
        shortcut_text: &str,
    ) -> egui::Response {
        ui.add_enabled(
            state.can_send && valid,
            egui::Button::new(lang.t(Msg::Send)),
        )
        .on_hover_text(shortcut_text)
        .on_disabled_hover_text(lang.t(Msg::SendDisabledHint))
    }

    fn remember(&mut self, s: &mut ComposerSettings) {
        let item = HistoryItem {
            mode: s.mode,
            encoding: s.encoding,
            eol: s.eol,
            text: s.text.clone(),
            vars: s.vars,
            checksum: s.checksum,
        };
        if item.text.is_empty() {
            return;
        }
        s.history.retain(|h| h != &item);
        s.history.insert(0, item);
        s.history.truncate(HISTORY_MAX);
    }

    fn history_ui(
        &mut self,
        ui: &mut Ui,
        lang: Lang,
        s: &mut ComposerSettings,
        state: SendState,
    ) -> Option<ComposerAction> {
        let mut action = None;
        egui::CollapsingHeader::new(lang.fmt(Msg::History, &[("n", &s.history.len())]))
            .id_salt("send_history")
            .show(ui, |ui| {
                egui::ScrollArea::vertical()
                    .max_height(120.0)
                    .show(ui, |ui| {
                        let mut load = None;
                        let mut resend = None;
                        for (i, item) in s.history.iter().enumerate() {
                            ui.horizontal(|ui| {
                                if ui
                                    .add_enabled(
                                        state.can_send,
                                        egui::Button::new(lang.t(Msg::Resend)),
                                    )
                                    .on_hover_text(lang.t(Msg::ResendHint))
                                    .clicked()
                                {
                                    resend = Some(i);
                                }
                                if ui.button(lang.t(Msg::Edit)).clicked() {
                                    load = Some(i);
                                }
                                let kind = match item.mode {
                                    crate::proto::PayloadMode::Text => item.encoding.label(),
                                    crate::proto::PayloadMode::Hex => "HEX",
                                };
                                let preview: String = item.text.chars().take(80).collect();
                                ui.monospace(format!("[{kind}] {}", preview.replace('\n', "\\n")));
                            });
                        }
                        if let Some(i) = resend
                            && let Some(item) = s.history.get(i).cloned()
                        {
                            let mut again = s.clone();
                            item.load_into(&mut again);
                            if let Ok(bytes) = self.build(&again, true) {
                                action = Some(ComposerAction::Send(bytes));
                            }
                        }
                        if let Some(i) = load
                            && let Some(item) = s.history.get(i).cloned()
                        {
                            item.load_into(s);
                        }
                    });
            });
        action
    }
}

/// What will be sent, after variables and the checksum: its size and first bytes in hex,
/// the checksum set apart.
fn preview_ui(ui: &mut Ui, lang: Lang, p: &Preview) {
    let body = &p.head[..p.head.len().min(p.len - p.checksum.len())];
    let mut text = crate::proto::format_hex(body);
    if p.len - p.checksum.len() > body.len() {
        text.push_str(" …");
    }
    if !p.checksum.is_empty() {
        text.push_str(&format!(" [{}]", crate::proto::format_hex(&p.checksum)));
    }
    ui.label(
        egui::RichText::new(lang.fmt(Msg::PreviewLine, &[("n", &p.len), ("bytes", &text)]))
            .monospace()
            .weak(),
    )
    .on_hover_text(lang.t(Msg::PreviewHint));
}

/// The checksum appended to what is sent: none or an algorithm, its byte order, and the
/// first byte it covers.
pub fn checksum_ui(
    ui: &mut Ui,
    lang: Lang,
    (id, label, hint): (&str, Msg, Msg),
    spec: &mut Option<ChecksumSpec>,
) {
    let label = ui.label(lang.t(label)).id;
    let shown = spec.map_or(lang.t(Msg::ChecksumNone), |c| c.algo.label());
    egui::ComboBox::from_id_salt(id)
        .selected_text(shown)
        .show_ui(ui, |ui| {
            if ui
                .selectable_label(spec.is_none(), lang.t(Msg::ChecksumNone))
                .clicked()
            {
                *spec = None;
            }
            for algo in Checksum::ALL {
                let on = spec.is_some_and(|c| c.algo == algo);
                if ui.selectable_label(on, algo.label()).clicked() && !on {
                    *spec = Some(ChecksumSpec::new(algo));
                }
            }
        })
        .response
        .labelled_by(label)
        .on_hover_text(lang.t(hint));
    if let Some(c) = spec {
        if c.algo.width() > 1 {
            ui.selectable_value(&mut c.order, ByteOrder::Little, lang.t(Msg::OrderLow))
                .on_hover_text(lang.t(Msg::OrderLowHint));
            ui.selectable_value(&mut c.order, ByteOrder::Big, lang.t(Msg::OrderHigh))
                .on_hover_text(lang.t(Msg::OrderHighHint));
        }
        let from = ui.label(lang.t(Msg::ChecksumFrom)).id;
        ui.add(egui::DragValue::new(&mut c.from).range(0..=65_535))
            .labelled_by(from)
            .on_hover_text(lang.t(Msg::ChecksumFromHint));
    }
}

fn eol_text(lang: Lang, eol: LineEnding) -> &'static str {
    match eol {
        LineEnding::None => lang.t(Msg::EolNone),
        LineEnding::Lf => "LF (\\n)",
        LineEnding::CrLf => "CRLF (\\r\\n)",
        LineEnding::Cr => "CR (\\r)",
    }
}

/// Lays out the composer's text, painting the invalid part red so the user sees where.
fn highlight_job(ui: &Ui, text: &str, error: Option<(usize, usize)>, wrap: f32) -> LayoutJob {
    let font = FontId::monospace(14.0);
    let normal = TextFormat::simple(font.clone(), ui.visuals().text_color());
    let mut bad = TextFormat::simple(font, Color32::WHITE);
    bad.background = ui.visuals().error_fg_color;
    let mut job = LayoutJob::default();
    job.wrap.max_width = wrap;
    match error {
        Some((start, len)) => {
            let start_b = text
                .char_indices()
                .nth(start)
                .map_or(text.len(), |(i, _)| i);
            let end_b = text[start_b..]
                .char_indices()
                .nth(len)
                .map_or(text.len(), |(i, _)| start_b + i);
            job.append(&text[..start_b], 0.0, normal.clone());
            job.append(&text[start_b..end_b], 0.0, bad);
            job.append(&text[end_b..], 0.0, normal);
        }
        None => job.append(text, 0.0, normal),
    }
    job
}
