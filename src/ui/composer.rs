//! The send composer: what to send (text in an encoding, or hex), how lines end, and how to
//! send it (once, repeated on a timer, or a file streamed from disk). Shared by every panel
//! that sends; it only produces [`ComposerAction`]s, the panel turns them into commands.

use std::path::PathBuf;
use std::time::Duration;

use egui::text::LayoutJob;
use egui::{Color32, FontId, Key, Modifiers, TextFormat, TextStyle, Ui};
use serde::{Deserialize, Serialize};

use super::widgets::{FilePicker, PickKind, human_bytes, path_field};
use crate::i18n::{Lang, Msg, describe_payload_error};
use crate::proto::{LineEnding, PayloadError, PayloadMode, TextEncoding, build_payload};

/// Payloads kept in the history.
pub const HISTORY_MAX: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryItem {
    pub mode: PayloadMode,
    pub encoding: TextEncoding,
    pub eol: LineEnding,
    pub text: String,
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

#[derive(Default)]
pub struct Composer {
    picker: FilePicker,
    /// Validation of the current text, recomputed only when the text or options change.
    checked: Option<(u64, Result<usize, PayloadError>)>,
}

fn fingerprint(s: &ComposerSettings) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (&s.text, s.mode, s.encoding, s.eol).hash(&mut h);
    h.finish()
}

impl Composer {
    /// Builds the bytes the current input stands for.
    pub fn payload(s: &ComposerSettings) -> Result<Vec<u8>, PayloadError> {
        build_payload(&s.text, s.mode, s.encoding, s.eol)
    }

    fn check(&mut self, s: &ComposerSettings) -> Result<usize, PayloadError> {
        let fp = fingerprint(s);
        match &self.checked {
            Some((f, r)) if *f == fp => r.clone(),
            _ => {
                let r = Self::payload(s).map(|b| b.len());
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
        let checked = self.check(s);
        // Ctrl+Enter (⌘Return on macOS) sends; take it before the text box turns it into a
        // newline. egui names the shortcut the way this system writes it.
        let shortcut = egui::KeyboardShortcut::new(Modifiers::COMMAND, Key::Enter);
        let shortcut_text = ui.ctx().format_shortcut(&shortcut);
        let send_key = ui.input_mut(|i| i.consume_shortcut(&shortcut));
        if !*more {
            ui.horizontal(|ui| {
                lead(ui, true);
                let label_id = ui.label(lang.t(Msg::Message)).id;
                // Room for Send and More after the box.
                let buttons = ui.spacing().interact_size.x * 2.0
                    + ui.spacing().item_spacing.x * 3.0
                    + super::frame::text_width(ui, lang.t(Msg::ComposerMore), TextStyle::Button)
                    + super::frame::text_width(ui, lang.t(Msg::Send), TextStyle::Button);
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
                    && let Ok(bytes) = Self::payload(s)
                {
                    self.remember(s);
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
            if let Err(e) = &checked {
                ui.colored_label(ui.visuals().error_fg_color, describe_payload_error(lang, e));
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
                && let Ok(bytes) = Self::payload(s)
            {
                self.remember(s);
                action = Some(ComposerAction::Send(bytes));
            }
            match &checked {
                Ok(n) => {
                    ui.weak(lang.fmt(Msg::PayloadSize, &[("n", n)]));
                }
                Err(e) => {
                    ui.colored_label(ui.visuals().error_fg_color, describe_payload_error(lang, e));
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
                        && let Ok(bytes) = Self::payload(s)
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
        checked: &Result<usize, PayloadError>,
        shortcut_text: &str,
        rows: usize,
        width: f32,
    ) -> egui::Response {
        let error_span = match checked {
            Err(PayloadError::Hex(e)) => Some((e.char_index, e.len.max(1))),
            Err(PayloadError::Encode(e)) => Some((e.char_index(), 1)),
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
                        for (i, item) in s.history.iter().enumerate() {
                            ui.horizontal(|ui| {
                                if ui
                                    .add_enabled(
                                        state.can_send,
                                        egui::Button::new(lang.t(Msg::Resend)),
                                    )
                                    .on_hover_text(lang.t(Msg::ResendHint))
                                    .clicked()
                                    && let Ok(bytes) = build_payload(
                                        &item.text,
                                        item.mode,
                                        item.encoding,
                                        item.eol,
                                    )
                                {
                                    action = Some(ComposerAction::Send(bytes));
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
                        if let Some(i) = load
                            && let Some(item) = s.history.get(i).cloned()
                        {
                            s.text = item.text;
                            s.mode = item.mode;
                            s.encoding = item.encoding;
                            s.eol = item.eol;
                        }
                    });
            });
        action
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
