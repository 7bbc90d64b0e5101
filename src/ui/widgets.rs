//! Small widgets shared by the panels: labelled fields, a history button, and file pickers
//! that never block the UI thread.

use std::path::PathBuf;

use egui::{Response, Ui};
use flume::Receiver;

use crate::i18n::{Lang, Msg};

/// The local address to bind: a drop-down of this machine's addresses, each with what it
/// means (every address, this machine only, one interface), under `label`.
pub fn bind_choice_ui(
    ui: &mut Ui,
    lang: Lang,
    (label, id): (Msg, &str),
    value: &mut String,
    choices: &[std::net::IpAddr],
) -> Response {
    let label = ui.label(lang.t(label)).id;
    egui::ComboBox::from_id_salt(id)
        .selected_text(value.clone())
        .width(190.0)
        .show_ui(ui, |ui| {
            for ip in choices {
                let text = ip.to_string();
                let hint = bind_hint(lang, ip);
                ui.selectable_value(value, text.clone(), format!("{text}  {hint}"));
            }
        })
        .response
        .labelled_by(label)
}

fn bind_hint(lang: Lang, ip: &std::net::IpAddr) -> &'static str {
    if ip.is_unspecified() {
        lang.t(Msg::BindAll)
    } else if ip.is_loopback() {
        lang.t(Msg::BindLoopback)
    } else {
        lang.t(Msg::BindInterface)
    }
}

/// A single-line text field tied to a visible label, so tests and screen readers find it by
/// that label.
pub fn labelled_text(ui: &mut Ui, label: &str, value: &mut String, width: f32) -> Response {
    let label_id = ui.label(label).id;
    ui.add(egui::TextEdit::singleline(value).desired_width(width))
        .labelled_by(label_id)
}

/// A waker that asks egui for a frame: now, or after the given delay.
pub fn ui_waker(ctx: &egui::Context) -> crate::net::Waker {
    let ctx = ctx.clone();
    crate::net::Waker::new(move |delay| {
        if delay.is_zero() {
            ctx.request_repaint();
        } else {
            ctx.request_repaint_after(delay);
        }
    })
}

/// Keeps the most recent entries first, without duplicates, at most `max`.
pub fn remember(history: &mut Vec<String>, entry: &str, max: usize) {
    let entry = entry.trim();
    if entry.is_empty() {
        return;
    }
    history.retain(|h| h != entry);
    history.insert(0, entry.to_owned());
    history.truncate(max);
}

/// A button listing recent entries; picking one replaces `value`. Returns true if picked.
pub fn history_button(ui: &mut Ui, lang: Lang, history: &[String], value: &mut String) -> bool {
    let mut picked = false;
    ui.add_enabled_ui(!history.is_empty(), |ui| {
        ui.menu_button(lang.t(Msg::Recent), |ui| {
            for entry in history {
                if ui.button(entry).clicked() {
                    *value = entry.clone();
                    picked = true;
                    ui.close();
                }
            }
        })
        .response
        .on_hover_text(lang.t(Msg::RecentHint));
    });
    picked
}

/// A menu that stays open while its checkboxes and fields are used (a plain menu closes on
/// the first click inside); a click outside closes it.
pub fn menu<R>(ui: &mut Ui, text: &str, add: impl FnOnce(&mut Ui) -> R) -> Response {
    egui::containers::menu::MenuButton::new(text)
        .config(
            egui::containers::menu::MenuConfig::new()
                .close_behavior(egui::PopupCloseBehavior::CloseOnClickOutside),
        )
        .ui(ui, add)
        .0
}

/// What a file dialog is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickKind {
    Open,
    Save,
    Folder,
}

/// Runs an rfd dialog on its own thread (a dialog blocks its caller until it closes) and hands
/// back the answer on a later frame.
#[derive(Default)]
pub struct FilePicker {
    waiting: Option<Receiver<Option<PathBuf>>>,
    /// The dialog came back without a file: cancelled, or no dialog service on this machine.
    pub came_back_empty: bool,
}

impl FilePicker {
    pub fn open(&mut self, ctx: &egui::Context, kind: PickKind, start: &str) {
        if self.waiting.is_some() {
            return;
        }
        let (tx, rx) = flume::bounded(1);
        let ctx = ctx.clone();
        let start = PathBuf::from(start);
        let spawned = std::thread::Builder::new()
            .name("file-dialog".into())
            .spawn(move || {
                let mut dialog = rfd::FileDialog::new();
                if kind == PickKind::Folder && start.is_dir() {
                    dialog = dialog.set_directory(&start);
                } else if let Some(dir) = start.parent().filter(|d| d.is_dir()) {
                    dialog = dialog.set_directory(dir);
                }
                if let Some(name) = start.file_name().and_then(|n| n.to_str()) {
                    dialog = dialog.set_file_name(name);
                }
                let picked = match kind {
                    PickKind::Open => dialog.pick_file(),
                    PickKind::Save => dialog.save_file(),
                    PickKind::Folder => dialog.pick_folder(),
                };
                let _ = tx.send(picked);
                ctx.request_repaint();
            });
        if spawned.is_ok() {
            self.waiting = Some(rx);
            self.came_back_empty = false;
        } else {
            self.came_back_empty = true;
        }
    }

    pub fn busy(&self) -> bool {
        self.waiting.is_some()
    }

    /// The picked path, once the dialog has closed with one.
    pub fn poll(&mut self) -> Option<PathBuf> {
        let rx = self.waiting.as_ref()?;
        match rx.try_recv() {
            Ok(Some(path)) => {
                self.waiting = None;
                Some(path)
            }
            Ok(None) | Err(flume::TryRecvError::Disconnected) => {
                self.waiting = None;
                self.came_back_empty = true;
                None
            }
            Err(flume::TryRecvError::Empty) => None,
        }
    }
}

/// A typed path with a Browse… button beside it. The typed path always works, so a machine
/// without a dialog service loses nothing.
pub fn path_field(
    ui: &mut Ui,
    lang: Lang,
    label: &str,
    path: &mut String,
    picker: &mut FilePicker,
    kind: PickKind,
) -> Response {
    if let Some(p) = picker.poll() {
        *path = p.display().to_string();
    }
    let response = labelled_text(ui, label, path, 260.0);
    let browse = ui.add_enabled(!picker.busy(), egui::Button::new(lang.t(Msg::Browse)));
    if browse.clicked() {
        picker.open(ui.ctx(), kind, path);
    }
    if picker.came_back_empty {
        ui.weak(lang.t(Msg::NoFileChosen));
    }
    response
}

/// The user's download folder, or the current one.
pub fn default_download_dir() -> PathBuf {
    let home = std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE"));
    if let Some(home) = home {
        let downloads = std::path::Path::new(&home).join("Downloads");
        if downloads.is_dir() {
            return downloads;
        }
        return PathBuf::from(home);
    }
    PathBuf::from(".")
}

pub use crate::proto::format::human_bytes;

/// A table that fills its region: a header of column titles, striped rows of `row_height`,
/// each drawn by `add_row`. Compact, the columns follow the region's width; otherwise the
/// user may resize them. `clickable` rows take clicks (to select), not text selection.
#[allow(clippy::too_many_arguments)]
pub fn region_table(
    ui: &mut Ui,
    lang: Lang,
    id_salt: &str,
    compact: bool,
    clickable: bool,
    columns: &[(Msg, egui_extras::Column)],
    row_height: f32,
    rows: usize,
    add_row: impl FnMut(egui_extras::TableRow<'_, '_>),
) {
    let mut table = egui_extras::TableBuilder::new(ui)
        .id_salt((id_salt, compact))
        .striped(true)
        // Compact, the columns follow the region's width (no remembered widths).
        .resizable(!compact)
        .auto_shrink([false, false])
        // As tall as its region, however few the rows (egui_extras asks 200 points).
        .min_scrolled_height(0.0);
    if clickable {
        table = table.sense(egui::Sense::click());
    }
    for (_, column) in columns {
        table = table.column(*column);
    }
    table
        .header(row_height, |mut header| {
            for (msg, _) in columns {
                header.col(|ui| {
                    ui.add(egui::Label::new(egui::RichText::new(lang.t(*msg)).strong()).truncate());
                });
            }
        })
        .body(|mut body| {
            if clickable {
                // Clicks go to the row (to select it), not to text selection in its cells.
                body.ui_mut().style_mut().interaction.selectable_labels = false;
            }
            body.rows(row_height, rows, add_row);
        });
}

/// How received bytes are cut into messages: the common rules, and what another rule's words
/// are (set from the command line or a file) when it is none of them.
pub fn framing_ui(ui: &mut Ui, lang: Lang, id: &str, framing: &mut crate::proto::frame::Framing) {
    use crate::proto::frame::Framing;
    let presets: [(Msg, &str); 6] = [
        (Msg::FramingRecv, "recv"),
        (Msg::FramingLine, "line"),
        (Msg::FramingCrlf, "crlf"),
        (Msg::FramingLen2, "len:2be"),
        (Msg::FramingLen4, "len:4be"),
        (Msg::FramingGap, "gap:50"),
    ];
    let words = framing.words();
    // The rule typed as words (any delimiter, length field, size or pause), kept while typed.
    let typed_id = ui.make_persistent_id((id, "framing words"));
    let mut typed: Option<String> = ui.data(|d| d.get_temp(typed_id));
    let preset = presets.iter().find(|(_, w)| *w == words);
    let current = match preset {
        Some((m, _)) if typed.is_none() => lang.t(*m).to_owned(),
        _ => lang.fmt(Msg::FramingOther, &[("words", &words)]),
    };
    let label = ui.label(lang.t(Msg::FramingLabel)).id;
    egui::ComboBox::from_id_salt(id)
        .selected_text(current)
        .show_ui(ui, |ui| {
            for (msg, w) in &presets {
                if let Ok(f) = Framing::parse(w)
                    && ui.selectable_label(words == *w, lang.t(*msg)).clicked()
                {
                    *framing = f;
                    typed = None;
                }
            }
            if ui
                .selectable_label(
                    typed.is_some() || preset.is_none(),
                    lang.t(Msg::FramingCustom),
                )
                .on_hover_text(lang.t(Msg::FramingCustomHint))
                .clicked()
            {
                typed = Some(words.clone());
            }
        })
        .response
        .labelled_by(label)
        .on_hover_text(lang.t(Msg::FramingHint));
    if preset.is_none() && typed.is_none() {
        typed = Some(words.clone());
    }
    if let Some(text) = &mut typed {
        let parsed = Framing::parse(text);
        let mut edit = egui::TextEdit::singleline(text)
            .desired_width(130.0)
            .hint_text("hex:0D0A, len:2le+self@3, fixed:8, gap:20");
        if parsed.is_err() {
            edit = edit.text_color(ui.visuals().error_fg_color);
        }
        let response = ui.add(edit);
        match &parsed {
            Ok(f) => {
                response.on_hover_text(lang.t(Msg::FramingCustomHint));
                if *f != *framing {
                    *framing = f.clone();
                }
            }
            Err(why) => {
                response.on_hover_text(why);
            }
        }
    }
    ui.data_mut(|d| match typed {
        Some(t) => {
            d.insert_temp(typed_id, t);
        }
        None => d.remove::<String>(typed_id),
    });
}

/// The lesson's point in one line: how many messages shared a recv(), how many took several.
pub fn frame_stats_line(lang: Lang, s: &crate::proto::frame::FrameStats) -> String {
    lang.fmt(
        Msg::FrameStatsLine,
        &[
            ("frames", &s.frames),
            ("recvs", &s.recvs),
            ("merged", &s.merged_frames),
            ("split", &s.split_frames),
        ],
    )
}

/// How a panel reads what it receives, on one wrapped line: the framing, the checksum each
/// message is checked for, what the framing has seen, and the round trips so far.
pub fn receive_rules_ui(
    ui: &mut Ui,
    lang: Lang,
    id: &str,
    (framing, check, show_recvs): (
        &mut crate::proto::frame::Framing,
        &mut Option<crate::proto::checksum::ChecksumSpec>,
        &mut bool,
    ),
    stats: Option<crate::proto::frame::FrameStats>,
    round_trips: Option<(u64, u64, u64)>,
) {
    ui.horizontal_wrapped(|ui| {
        framing_ui(ui, lang, &format!("{id}_framing"), framing);
        super::composer::checksum_ui(
            ui,
            lang,
            (
                &format!("{id}_rx_check"),
                Msg::RxCheckLabel,
                Msg::RxCheckHint,
            ),
            check,
        );
        ui.checkbox(show_recvs, lang.t(Msg::ShowRecvs))
            .on_hover_text(lang.t(Msg::ShowRecvsHint));
        if let Some(stats) = stats
            && stats.recvs > 0
        {
            let short = lang.fmt(
                Msg::FrameStatsShort,
                &[("frames", &stats.frames), ("recvs", &stats.recvs)],
            );
            fit_label(ui, frame_stats_line(lang, &stats), short, true, "");
        }
        if let Some(rtt) = round_trips {
            let short = lang.fmt(
                Msg::RoundTripShort,
                &[("p50", &crate::model::describe::human_us(rtt.0))],
            );
            let line = round_trips_line(lang, rtt);
            fit_label(ui, line, short, false, lang.t(Msg::RoundTripsHint));
        }
    });
}

/// A label on the current row: the whole text when it fits there, else the short one (the
/// whole on hover), so a wrapped row does not grow by a line.
fn fit_label(ui: &mut Ui, full: String, short: String, strong: bool, hint: &str) {
    let need = super::frame::text_width(ui, &full, egui::TextStyle::Body);
    let fits = need + 16.0 <= ui.available_size_before_wrap().x;
    let shown = if fits { full.clone() } else { short };
    let text = if strong {
        egui::RichText::new(shown).strong()
    } else {
        egui::RichText::new(shown)
    };
    let hover = if hint.is_empty() {
        full
    } else {
        format!("{full}\n{hint}")
    };
    ui.add(egui::Label::new(text).truncate())
        .on_hover_text(hover);
}

/// The session's round trips in a few words: "round trip p50 1.2 ms · p99 3.4 ms (12)".
pub fn round_trips_line(lang: Lang, (p50, p99, n): (u64, u64, u64)) -> String {
    use crate::model::describe::human_us;
    lang.fmt(
        Msg::RoundTrips,
        &[("p50", &human_us(p50)), ("p99", &human_us(p99)), ("n", &n)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_keeps_recent_first_without_duplicates() {
        let mut h = vec![];
        for e in ["a", "b", "a", " ", "c"] {
            remember(&mut h, e, 2);
        }
        assert_eq!(h, vec!["c".to_string(), "a".to_string()]);
    }

    #[test]
    fn bytes_read_well() {
        assert_eq!(human_bytes(5), "5 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(10 * 1024 * 1024), "10.0 MiB");
    }
}
