//! The log view: draws a [`LogBook`] as text or as a hex dump, switchable after the fact
//! because the bytes are kept.
//!
//! Entries are flattened into display lines (an entry may span several) and only the lines in
//! view are laid out, so a log at its cap draws as fast as an empty one. The line index is
//! kept up to date incrementally; it is rebuilt only when the view mode, encoding or filter
//! changes.

use std::collections::VecDeque;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use egui::text::LayoutJob;
use egui::{Color32, FontId, RichText, TextFormat, Ui};
use serde::{Deserialize, Serialize};

use super::widgets::{FilePicker, PickKind, human_bytes, path_field};
use crate::i18n::{Lang, Msg, describe_error};
use crate::model::describe::describe_note;
use crate::model::{Direction, LogBook, LogEntry};
use crate::proto::{Segment, TextEncoding, format_hex, hex_dump_line, hex_dump_line_count};

/// Long text lines are broken after this many characters, so every display line has the same
/// height and a 64 KiB line without newlines does not have to be laid out whole.
pub const WRAP_CHARS: usize = 160;

/// Time a frame may spend catching the line index up with the log.
pub const INDEX_BUDGET: Duration = Duration::from_millis(6);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ViewMode {
    #[default]
    Text,
    Hex,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogViewSettings {
    pub mode: ViewMode,
    pub encoding: TextEncoding,
    pub show_tx: bool,
    pub show_rx: bool,
    pub show_info: bool,
    pub follow: bool,
    pub filter: String,
    pub save_path: String,
}

impl Default for LogViewSettings {
    fn default() -> Self {
        Self {
            mode: ViewMode::Text,
            encoding: TextEncoding::Utf8,
            show_tx: true,
            show_rx: true,
            show_info: true,
            follow: true,
            filter: String::new(),
            save_path: String::new(),
        }
    }
}

/// One piece of a display line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Span {
    Text(String),
    /// Bytes that are not text in the chosen encoding, or control characters, shown as `\xNN`.
    Escaped(String),
}

/// Splits decoded bytes into display lines: breaks at `\n` (a `\r` before it is dropped),
/// marks undecodable bytes and control characters, and wraps at [`WRAP_CHARS`].
pub fn text_lines(data: &[u8], encoding: TextEncoding) -> Vec<Vec<Span>> {
    let mut out = LineBuilder::default();
    for segment in encoding.decode_segments(data) {
        match segment {
            Segment::Text(text) => {
                let mut chars = text.chars().peekable();
                while let Some(c) = chars.next() {
                    match c {
                        '\n' => out.newline(),
                        '\r' if chars.peek() == Some(&'\n') => {}
                        '\t' => out.text_str("    ", 4),
                        c if c.is_control() => {
                            let esc = if (c as u32) < 0x100 {
                                format!("\\x{:02X}", c as u32)
                            } else {
                                format!("\\u{{{:04X}}}", c as u32)
                            };
                            out.escaped(&esc);
                        }
                        c => out.text_char(c),
                    }
                }
            }
            Segment::Invalid(bytes) => {
                for b in bytes {
                    out.escaped(&format!("\\x{b:02X}"));
                }
            }
        }
    }
    out.finish()
}

/// Collects spans into display lines, wrapping at [`WRAP_CHARS`]. Appends to the current span
/// instead of allocating one per character: a full log is re-read whenever the view changes.
#[derive(Default)]
struct LineBuilder {
    lines: Vec<Vec<Span>>,
    line: Vec<Span>,
    width: usize,
}

impl LineBuilder {
    fn make_room(&mut self, chars: usize) {
        if self.width + chars > WRAP_CHARS && self.width > 0 {
            self.newline();
        }
        self.width += chars;
    }

    fn newline(&mut self) {
        self.lines.push(std::mem::take(&mut self.line));
        self.width = 0;
    }

    fn text_char(&mut self, c: char) {
        self.make_room(1);
        match self.line.last_mut() {
            Some(Span::Text(s)) => s.push(c),
            _ => self.line.push(Span::Text(c.to_string())),
        }
    }

    fn text_str(&mut self, t: &str, chars: usize) {
        self.make_room(chars);
        match self.line.last_mut() {
            Some(Span::Text(s)) => s.push_str(t),
            _ => self.line.push(Span::Text(t.to_owned())),
        }
    }

    fn escaped(&mut self, t: &str) {
        self.make_room(t.len());
        match self.line.last_mut() {
            Some(Span::Escaped(s)) => s.push_str(t),
            _ => self.line.push(Span::Escaped(t.to_owned())),
        }
    }

    fn finish(mut self) -> Vec<Vec<Span>> {
        // "hello\n" is one line, not a line and an empty one; "" is one empty line.
        if !self.line.is_empty() || self.lines.is_empty() {
            self.lines.push(self.line);
        }
        self.lines
    }
}

/// Plain text of the spans (for filtering and copying).
fn spans_text(lines: &[Vec<Span>]) -> String {
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        for span in line {
            match span {
                Span::Text(s) | Span::Escaped(s) => out.push_str(s),
            }
        }
    }
    out
}

/// Which entries are shown and how, so the index knows when to rebuild.
#[derive(Debug, Clone, PartialEq)]
struct IndexKey {
    mode: ViewMode,
    encoding: TextEncoding,
    show: [bool; 3],
    filter: String,
    lang: Lang,
    peers: Option<Vec<u64>>,
}

/// The shown entries, each with the number of its first display line: 16 bytes an entry,
/// however many lines it has (a flood of newlines is 65,536 lines to a 64 KiB entry; one
/// slot per line cost 1 GiB for a full log of them). Line numbers count from the index's
/// last rebuild, so dropping old entries at the front renumbers nothing.
#[derive(Default)]
struct LineIndex {
    key: Option<IndexKey>,
    /// (entry seq, its first line), in order.
    entries: VecDeque<(u64, u64)>,
    /// One past the last line of the last entry.
    end: u64,
    next_seq: u64,
}

fn entry_line_count(entry: &LogEntry, mode: ViewMode, encoding: TextEncoding) -> usize {
    match (entry.dir, mode) {
        (Direction::Info | Direction::Error, _) => 1,
        (_, ViewMode::Hex) => hex_dump_line_count(entry.data.len()).max(1),
        (_, ViewMode::Text) => text_lines(&entry.data, encoding).len().max(1),
    }
}

fn entry_matches(entry: &LogEntry, key: &IndexKey, needle: &str) -> bool {
    if let Some(peers) = &key.peers
        && entry
            .peer
            .is_none_or(|p| peers.binary_search(&p.id).is_err())
    {
        return false;
    }
    let shown = match entry.dir {
        Direction::Tx => key.show[0],
        Direction::Rx => key.show[1],
        Direction::Info | Direction::Error => key.show[2],
    };
    if !shown {
        return false;
    }
    if needle.is_empty() {
        return true;
    }
    let mut hay = match &entry.note {
        Some(note) => describe_note(key.lang, note),
        None => String::new(),
    };
    match key.mode {
        ViewMode::Text => hay.push_str(&spans_text(&text_lines(&entry.data, key.encoding))),
        ViewMode::Hex => hay.push_str(&format_hex(&entry.data)),
    }
    hay.to_lowercase().contains(needle)
}

impl LineIndex {
    /// Brings the index up to date with the book, spending at most `budget` on it; returns
    /// false if it ran out of time (the caller asks for another frame to carry on). A rebuild
    /// of a full log is spread over several frames instead of freezing one.
    fn update(&mut self, book: &LogBook, key: IndexKey, budget: Duration) -> bool {
        let started = Instant::now();
        if self.key.as_ref() != Some(&key) || self.next_seq > book.next_seq() {
            self.entries.clear();
            self.end = 0;
            self.next_seq = book.first_seq();
            self.key = Some(key);
        }
        let Some(key) = &self.key else { return true };
        let first = book.first_seq();
        while self.entries.front().is_some_and(|(seq, _)| *seq < first) {
            self.entries.pop_front();
        }
        let needle = key.filter.to_lowercase();
        let start = self.next_seq.max(first);
        // The clock is read every 256 entries, or sooner after big ones (a flood's entries
        // are up to 64 KiB each, and counting their lines means decoding them).
        let mut unchecked = 0usize;
        for seq in start..book.next_seq() {
            if seq % 256 == 0 || unchecked >= 64 * 1024 {
                unchecked = 0;
                if started.elapsed() > budget {
                    self.next_seq = seq;
                    return false;
                }
            }
            let Some(entry) = book.get(seq) else { continue };
            unchecked += entry.data.len();
            if !entry_matches(entry, key, &needle) {
                continue;
            }
            let n = entry_line_count(entry, key.mode, key.encoding);
            self.entries.push_back((seq, self.end));
            self.end += n as u64;
        }
        self.next_seq = book.next_seq();
        true
    }

    /// Display lines in the index.
    fn len(&self) -> usize {
        self.entries
            .front()
            .map_or(0, |(_, start)| (self.end - start) as usize)
    }

    /// The entry and its line shown at `row` (0 = the first line of the index).
    fn line(&self, row: usize) -> Option<(u64, u32)> {
        let (_, base) = *self.entries.front()?;
        let at = base + row as u64;
        if at >= self.end {
            return None;
        }
        let i = self.entries.partition_point(|(_, start)| *start <= at);
        let (seq, start) = self.entries[i.checked_sub(1)?];
        Some((seq, u32::try_from(at - start).unwrap_or(u32::MAX)))
    }

    /// Bytes the index holds on the heap.
    #[cfg(test)]
    fn heap_bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<(u64, u64)>()
    }

    /// How far a rebuild has got, 0.0 to 1.0.
    fn progress(&self, book: &LogBook) -> f32 {
        let first = book.first_seq();
        let total = book.next_seq().saturating_sub(first).max(1);
        self.next_seq.saturating_sub(first) as f32 / total as f32
    }
}

/// What the log view asked for this frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogAction {
    /// Start (Some) or stop (None) appending received bytes to a file.
    Capture(Option<PathBuf>),
    /// An entry's peer was clicked (to reply to it).
    PickPeer(std::net::SocketAddr),
}

/// The log view widget with its toolbar.
#[derive(Default)]
pub struct LogView {
    index: LineIndex,
    save_picker: FilePicker,
    capture_picker: FilePicker,
    /// Result of the last save: Ok(path) or Err(message).
    save_result: Option<super::jobs::Written>,
    saving: Option<super::jobs::Job<super::jobs::Written>>,
    /// Last decoded entry, so an entry spanning several visible rows is decoded once a frame.
    decoded: Option<(u64, ViewMode, TextEncoding, Vec<Vec<Span>>)>,
    pub capture_path: String,
    /// This panel has no single stream to append to a file (a server's clients would
    /// interleave), so the "receive to file" row is left out.
    pub no_capture: bool,
    /// Clicking an entry with a peer picks that peer (UDP: reply to the sender).
    pub peers_clickable: bool,
    /// Show only entries of these connections (sorted ids); None shows all.
    pub peer_filter: Option<Vec<u64>>,
    /// The row with "receive to file" and "save log" is open.
    pub show_files: bool,
    /// Classroom mode: the toolbar on one line (the rest behind "Options"), rows without
    /// the milliseconds, sizes and addresses (the table beside has those).
    pub compact: bool,
    /// This frame the log is narrower than [`NARROW_ROWS`].
    narrow: bool,
}

/// A log narrower than this (in points) has the one-line toolbar of classroom mode.
pub const NARROW: f32 = 900.0;
/// A log narrower than this has the short rows of classroom mode.
pub const NARROW_ROWS: f32 = 600.0;

/// The log's font: every row has its height.
pub fn log_font() -> FontId {
    FontId::monospace(13.0)
}

/// Colours per direction, readable in light and dark themes.
pub fn dir_color(ui: &Ui, dir: Direction) -> Color32 {
    let dark = ui.visuals().dark_mode;
    match (dir, dark) {
        (Direction::Tx, true) => Color32::from_rgb(110, 170, 255),
        (Direction::Tx, false) => Color32::from_rgb(20, 90, 200),
        (Direction::Rx, true) => Color32::from_rgb(120, 220, 120),
        (Direction::Rx, false) => Color32::from_rgb(10, 130, 40),
        (Direction::Info, _) => ui.visuals().weak_text_color(),
        (Direction::Error, _) => ui.visuals().error_fg_color,
    }
}

/// A colour of its own for each connection, spread around the hue circle.
pub fn peer_color(ui: &Ui, id: u64) -> Color32 {
    let hue = (id as f32 * 0.618_034).fract();
    let (s, v) = if ui.visuals().dark_mode {
        (0.55, 0.95)
    } else {
        (0.85, 0.6)
    };
    egui::ecolor::Hsva::new(hue, s, v, 1.0).into()
}

pub use crate::i18n::format_time;

impl LogView {
    /// A log view without the "receive to file" row.
    pub fn without_capture() -> Self {
        Self {
            no_capture: true,
            ..Self::default()
        }
    }

    /// Draws toolbar, counters and the entries. `capturing` is the file received bytes are
    /// appended to now, if any.
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        lang: Lang,
        settings: &mut LogViewSettings,
        book: &mut LogBook,
        capturing: Option<&PathBuf>,
    ) -> Option<LogAction> {
        let mut action = None;
        // The whole toolbar takes two lines of about 720 points, and a row's time, size and
        // address about 350: a narrower log gets the one-line toolbar and the short rows,
        // so its lines keep the room and their words show.
        self.narrow = ui.available_width() < NARROW_ROWS;
        if self.compact || ui.available_width() < NARROW {
            self.compact_toolbar_ui(ui, lang, settings, book);
        } else {
            self.toolbar_ui(ui, lang, settings);
            self.counters_ui(ui, lang, settings, book);
        }
        if self.show_files || capturing.is_some() {
            if !self.no_capture {
                ui.horizontal_wrapped(|ui| {
                    action = self.capture_ui(ui, lang, capturing);
                });
            }
            ui.horizontal_wrapped(|ui| {
                self.save_ui(ui, lang, settings, book);
            });
        }
        ui.separator();
        if let Some(picked) = self.entries_ui(ui, lang, settings, book) {
            action = Some(picked);
        }
        action
    }

    /// One line: the rest behind "Options", the view, the counters.
    fn compact_toolbar_ui(
        &mut self,
        ui: &mut Ui,
        lang: Lang,
        s: &mut LogViewSettings,
        book: &mut LogBook,
    ) {
        ui.horizontal(|ui| {
            super::widgets::menu(ui, lang.t(Msg::LogOptions), |ui| {
                self.toolbar_ui(ui, lang, s);
                self.counters_ui(ui, lang, s, book);
            });
            ui.selectable_value(&mut s.mode, ViewMode::Text, lang.t(Msg::ViewText));
            ui.selectable_value(&mut s.mode, ViewMode::Hex, lang.t(Msg::ViewHexDump));
            // The counters in what room is left (all of them are under Options).
            let c = book.counters;
            let mut job = LayoutJob::default();
            let font = egui::TextStyle::Body.resolve(ui.style());
            job.append(
                &lang.fmt(
                    Msg::TxCounterShort,
                    &[("bytes", &human_bytes(c.tx_bytes)), ("n", &c.tx_msgs)],
                ),
                0.0,
                TextFormat::simple(font.clone(), dir_color(ui, Direction::Tx)),
            );
            job.append(
                &lang.fmt(
                    Msg::RxCounterShort,
                    &[("bytes", &human_bytes(c.rx_bytes)), ("n", &c.rx_msgs)],
                ),
                8.0,
                TextFormat::simple(font, dir_color(ui, Direction::Rx)),
            );
            ui.add(egui::Label::new(job).truncate());
        });
    }

    fn toolbar_ui(&mut self, ui: &mut Ui, lang: Lang, s: &mut LogViewSettings) {
        ui.horizontal_wrapped(|ui| {
            ui.label(lang.t(Msg::ShowAs));
            ui.selectable_value(&mut s.mode, ViewMode::Text, lang.t(Msg::ViewText));
            ui.selectable_value(&mut s.mode, ViewMode::Hex, lang.t(Msg::ViewHexDump));
            let enc_label = ui.label(lang.t(Msg::DecodeAs)).id;
            egui::ComboBox::from_id_salt("log_encoding")
                .selected_text(s.encoding.label())
                .show_ui(ui, |ui| {
                    for enc in TextEncoding::ALL {
                        ui.selectable_value(&mut s.encoding, enc, enc.label());
                    }
                })
                .response
                .labelled_by(enc_label);
            ui.separator();
            ui.checkbox(&mut s.show_tx, lang.t(Msg::ShowTx));
            ui.checkbox(&mut s.show_rx, lang.t(Msg::ShowRx));
            ui.checkbox(&mut s.show_info, lang.t(Msg::ShowEvents));
            let filter_label = ui.label(lang.t(Msg::Filter)).id;
            ui.add(
                egui::TextEdit::singleline(&mut s.filter)
                    .desired_width(120.0)
                    .hint_text(lang.t(Msg::FilterHint)),
            )
            .labelled_by(filter_label);
        });
    }

    fn capture_ui(
        &mut self,
        ui: &mut Ui,
        lang: Lang,
        capturing: Option<&PathBuf>,
    ) -> Option<LogAction> {
        let mut action = None;
        if let Some(path) = capturing {
            ui.label(
                RichText::new(lang.fmt(Msg::CapturingTo, &[("path", &path.display())]))
                    .color(ui.visuals().warn_fg_color),
            );
            if ui.button(lang.t(Msg::StopCapture)).clicked() {
                action = Some(LogAction::Capture(None));
            }
        } else {
            path_field(
                ui,
                lang,
                lang.t(Msg::CaptureFile),
                &mut self.capture_path,
                &mut self.capture_picker,
                PickKind::Save,
            );
            let ok = !self.capture_path.trim().is_empty();
            if ui
                .add_enabled(ok, egui::Button::new(lang.t(Msg::StartCapture)))
                .on_hover_text(lang.t(Msg::CaptureHint))
                .clicked()
            {
                action = Some(LogAction::Capture(Some(PathBuf::from(
                    self.capture_path.trim(),
                ))));
            }
        }
        action
    }

    fn save_ui(&mut self, ui: &mut Ui, lang: Lang, s: &mut LogViewSettings, book: &LogBook) {
        path_field(
            ui,
            lang,
            lang.t(Msg::SaveLogTo),
            &mut s.save_path,
            &mut self.save_picker,
            PickKind::Save,
        );
        let can_save = !s.save_path.trim().is_empty() && self.saving.is_none();
        if ui
            .add_enabled(can_save, egui::Button::new(lang.t(Msg::SaveLog)))
            .clicked()
        {
            self.start_save(ui.ctx(), lang, s, book);
        }
        if let Some(job) = &self.saving {
            match job.poll() {
                Some(Ok(result)) => {
                    self.save_result = Some(result);
                    self.saving = None;
                }
                None => {
                    ui.spinner();
                }
                Some(Err(_)) => self.saving = None,
            }
        }
        match &self.save_result {
            Some(Ok(path)) => {
                ui.label(lang.fmt(Msg::LogSaved, &[("path", &path.display())]));
            }
            Some(Err(err)) => {
                ui.colored_label(
                    ui.visuals().error_fg_color,
                    lang.fmt(Msg::LogSaveFailed, &[("error", &describe_error(lang, err))]),
                );
            }
            None => {}
        }
    }

    /// Formats and writes the log on a background thread: the entries share their bytes, so
    /// the snapshot is cheap, and the UI never waits on the disk.
    fn start_save(&mut self, ctx: &egui::Context, lang: Lang, s: &LogViewSettings, book: &LogBook) {
        let entries: Vec<LogEntry> = book.entries().iter().cloned().collect();
        let path = PathBuf::from(s.save_path.trim());
        let mode = s.mode;
        let encoding = s.encoding;
        let spawned = super::jobs::Job::start("save-log", Some(ctx.clone()), move || {
            super::jobs::write_file(&path, |p| write_log(p, &entries, lang, mode, encoding))
        });
        match spawned {
            Ok(job) => {
                self.saving = Some(job);
                self.save_result = None;
            }
            Err(e) => self.save_result = Some(Err(e)),
        }
    }

    fn counters_ui(
        &mut self,
        ui: &mut Ui,
        lang: Lang,
        s: &mut LogViewSettings,
        book: &mut LogBook,
    ) {
        ui.horizontal_wrapped(|ui| {
            ui.checkbox(&mut s.follow, lang.t(Msg::Autoscroll))
                .on_hover_text(lang.t(Msg::AutoscrollHint));
            if ui.button(lang.t(Msg::Clear)).clicked() {
                book.clear();
                self.index = LineIndex::default();
                self.decoded = None;
            }
            ui.toggle_value(&mut self.show_files, lang.t(Msg::FileOptions))
                .on_hover_text(lang.t(Msg::FileOptionsHint));
            ui.separator();
            let c = book.counters;
            ui.label(
                RichText::new(lang.fmt(
                    Msg::TxCounter,
                    &[("bytes", &human_bytes(c.tx_bytes)), ("n", &c.tx_msgs)],
                ))
                .color(dir_color(ui, Direction::Tx)),
            )
            .on_hover_text(format!("{} B", c.tx_bytes));
            ui.label(
                RichText::new(lang.fmt(
                    Msg::RxCounter,
                    &[("bytes", &human_bytes(c.rx_bytes)), ("n", &c.rx_msgs)],
                ))
                .color(dir_color(ui, Direction::Rx)),
            )
            .on_hover_text(format!("{} B", c.rx_bytes));
            if ui.button(lang.t(Msg::ResetCounters)).clicked() {
                book.reset_counters();
            }
            ui.weak(lang.fmt(
                Msg::EntriesHeld,
                &[
                    ("n", &book.len()),
                    ("bytes", &human_bytes(book.bytes_held() as u64)),
                ],
            ));
            if book.dropped > 0 {
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    lang.fmt(Msg::OlderDropped, &[("n", &book.dropped)]),
                );
            }
        });
    }

    fn entries_ui(
        &mut self,
        ui: &mut Ui,
        lang: Lang,
        s: &LogViewSettings,
        book: &LogBook,
    ) -> Option<LogAction> {
        let mut action = None;
        let key = IndexKey {
            mode: s.mode,
            encoding: s.encoding,
            show: [s.show_tx, s.show_rx, s.show_info],
            filter: s.filter.trim().to_owned(),
            lang,
            peers: self.peer_filter.clone(),
        };
        let complete = self.index.update(book, key, INDEX_BUDGET);
        if !complete {
            ui.ctx().request_repaint();
            ui.horizontal(|ui| {
                ui.spinner();
                ui.weak(lang.fmt(
                    Msg::Reindexing,
                    &[("pct", &format!("{:.0}", self.index.progress(book) * 100.0))],
                ));
            });
        }
        let font = log_font();
        let row_height = ui.fonts_mut(|f| f.row_height(&font));
        let total = self.index.len();
        if total == 0 {
            ui.weak(lang.t(Msg::LogEmpty));
        }
        egui::ScrollArea::both()
            .id_salt("log_rows")
            .auto_shrink([false, false])
            .stick_to_bottom(s.follow)
            .show_rows(ui, row_height, total, |ui, rows| {
                for row in rows {
                    let Some((seq, line)) = self.index.line(row) else {
                        continue;
                    };
                    let Some(entry) = book.get(seq) else { continue };
                    let job = self.row_job(ui, lang, s, entry, line as usize, &font);
                    let response =
                        ui.add(egui::Label::new(job).extend().sense(egui::Sense::click()));
                    if let Some(peer) = entry.peer.filter(|_| self.peers_clickable) {
                        let response = response
                            .clone()
                            .on_hover_text(lang.fmt(Msg::ClickToReply, &[("peer", &peer.addr)]));
                        if response.clicked() {
                            action = Some(LogAction::PickPeer(peer.addr));
                        }
                    }
                    response.context_menu(|ui| {
                        if ui.button(lang.t(Msg::CopyText)).clicked() {
                            let text = spans_text(&text_lines(&entry.data, s.encoding));
                            ui.ctx().copy_text(text);
                            ui.close();
                        }
                        if ui.button(lang.t(Msg::CopyHex)).clicked() {
                            ui.ctx().copy_text(format_hex(&entry.data));
                            ui.close();
                        }
                    });
                }
            });
        action
    }

    fn row_job(
        &mut self,
        ui: &Ui,
        lang: Lang,
        s: &LogViewSettings,
        entry: &LogEntry,
        line: usize,
        font: &FontId,
    ) -> LayoutJob {
        let mut job = LayoutJob::default();
        let weak = ui.visuals().weak_text_color();
        let normal = ui.visuals().text_color();
        let color = dir_color(ui, entry.dir);
        let fmt = |c: Color32| TextFormat::simple(font.clone(), c);
        let compact = self.compact || self.narrow;
        let prefix = if line == 0 && compact {
            let arrow = match entry.dir {
                Direction::Tx => "→",
                Direction::Rx => "←",
                Direction::Info => "·",
                Direction::Error => "!",
            };
            let time = format_time(entry.at);
            // HH:MM:SS without the milliseconds.
            job.append(time.get(..8).unwrap_or(&time), 0.0, fmt(weak));
            format!(" {arrow} ")
        } else if compact {
            format!("{:8}   ", "")
        } else if line == 0 {
            let (arrow, word) = match entry.dir {
                Direction::Tx => ("→", "TX"),
                Direction::Rx => ("←", "RX"),
                Direction::Info => ("·", "  "),
                Direction::Error => ("!", "  "),
            };
            let size = match entry.dir {
                Direction::Tx | Direction::Rx => human_bytes(entry.len),
                _ => String::new(),
            };
            job.append(&format_time(entry.at), 0.0, fmt(weak));
            format!(" {arrow} {word} {size:>9} │ ")
        } else {
            format!("{:12} {:>14} │ ", "", "")
        };
        job.append(&prefix, 0.0, fmt(color));
        if line == 0
            && let Some(peer) = entry.peer
        {
            // Short, a connection is its number (the table has its address); a UDP peer is
            // its address (what a reply goes to).
            let tag = match (compact, self.peers_clickable) {
                (true, false) => format!("#{} ", peer.id),
                (true, true) => format!("{} ", peer.addr),
                (false, _) => format!("#{} {} ", peer.id, peer.addr),
            };
            job.append(&tag, 0.0, fmt(peer_color(ui, peer.id)));
        }
        if let Some(note) = &entry.note {
            if line == 0 {
                let text = describe_note(lang, note);
                let c = if matches!(entry.dir, Direction::Tx | Direction::Rx) {
                    weak
                } else {
                    color
                };
                job.append(&text, 0.0, fmt(c));
                if !entry.data.is_empty() {
                    job.append(" ", 0.0, fmt(weak));
                }
            }
            if matches!(entry.dir, Direction::Info | Direction::Error) {
                return job;
            }
        }
        match s.mode {
            ViewMode::Hex => {
                if let Some(dump) = hex_dump_line(&entry.data, line) {
                    job.append(&format!("{:08X}  ", dump.offset), 0.0, fmt(weak));
                    job.append(&dump.hex, 0.0, fmt(normal));
                    job.append("  ", 0.0, fmt(weak));
                    job.append(&dump.ascii, 0.0, fmt(weak));
                }
            }
            ViewMode::Text => {
                let fresh = !matches!(&self.decoded, Some((seq, m, e, _)) if *seq == entry.seq && *m == s.mode && *e == s.encoding);
                if fresh {
                    self.decoded = Some((
                        entry.seq,
                        s.mode,
                        s.encoding,
                        text_lines(&entry.data, s.encoding),
                    ));
                }
                if let Some((_, _, _, lines)) = &self.decoded
                    && let Some(spans) = lines.get(line)
                {
                    let escaped = ui.visuals().warn_fg_color;
                    for span in spans {
                        match span {
                            Span::Text(t) => job.append(t, 0.0, fmt(normal)),
                            Span::Escaped(t) => {
                                let mut f = fmt(escaped);
                                f.background = ui.visuals().faint_bg_color;
                                job.append(t, 0.0, f);
                            }
                        }
                    }
                }
            }
        }
        job
    }
}

/// Writes the log as text, one entry per block, in the chosen view mode.
pub fn write_log(
    path: &std::path::Path,
    entries: &[LogEntry],
    lang: Lang,
    mode: ViewMode,
    encoding: TextEncoding,
) -> std::io::Result<()> {
    let file = std::fs::File::create(path)?;
    let mut out = std::io::BufWriter::new(file);
    for entry in entries {
        let dir = match entry.dir {
            Direction::Tx => "TX",
            Direction::Rx => "RX",
            Direction::Info => "--",
            Direction::Error => "!!",
        };
        write!(out, "{} {dir} {:>8} B", format_time(entry.at), entry.len)?;
        if let Some(note) = &entry.note {
            write!(out, " [{}]", describe_note(lang, note))?;
        }
        writeln!(out)?;
        if entry.data.is_empty() {
            continue;
        }
        match mode {
            ViewMode::Text => {
                for line in text_lines(&entry.data, encoding) {
                    let text: String = line
                        .iter()
                        .map(|s| match s {
                            Span::Text(t) | Span::Escaped(t) => t.as_str(),
                        })
                        .collect();
                    writeln!(out, "    {text}")?;
                }
            }
            ViewMode::Hex => {
                for line in crate::proto::hex_dump_lines(&entry.data, 0) {
                    writeln!(out, "    {:08X}  {}  {}", line.offset, line.hex, line.ascii)?;
                }
            }
        }
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    fn plain(lines: &[Vec<Span>]) -> Vec<String> {
        lines
            .iter()
            .map(|l| spans_text(std::slice::from_ref(l)))
            .collect()
    }

    #[test]
    fn text_lines_mark_invalid_and_controls() {
        let cases: &[(&[u8], TextEncoding, &[&str])] = &[
            (b"hello\r\nworld\n", TextEncoding::Utf8, &["hello", "world"]),
            (b"a\x00b", TextEncoding::Utf8, &["a\\x00b"]),
            (b"ok\xFF", TextEncoding::Utf8, &["ok\\xFF"]),
            (&[0xC4, 0xE3, 0xBA, 0xC3], TextEncoding::Gbk, &["你好"]),
            (b"", TextEncoding::Utf8, &[""]),
        ];
        for (data, enc, want) in cases {
            assert_eq!(plain(&text_lines(data, *enc)), *want, "{data:?}");
        }
        let invalid = text_lines(b"\xFF", TextEncoding::Utf8);
        assert_eq!(invalid[0], vec![Span::Escaped("\\xFF".into())]);
    }

    #[test]
    fn long_lines_wrap() {
        let data = vec![b'x'; WRAP_CHARS * 2 + 1];
        assert_eq!(text_lines(&data, TextEncoding::Utf8).len(), 3);
    }

    #[test]
    fn index_follows_caps_and_filters() {
        let mut book = LogBook::with_caps(10, 1 << 20);
        let mut index = LineIndex::default();
        let key = |filter: &str| IndexKey {
            mode: ViewMode::Text,
            encoding: TextEncoding::Utf8,
            show: [true, true, true],
            filter: filter.into(),
            lang: Lang::En,
            peers: None,
        };
        for i in 0..25 {
            let text = format!("line {i}\nsecond");
            book.push_data(
                SystemTime::now(),
                Direction::Rx,
                text.as_bytes().into(),
                text.len() as u64,
                None,
            );
            assert!(index.update(&book, key(""), Duration::from_secs(60)));
        }
        assert_eq!(index.len(), 20, "10 entries of 2 lines each");
        assert_eq!(index.line(0), Some((15, 0)));
        assert_eq!(index.line(1), Some((15, 1)));
        assert_eq!(index.line(19), Some((24, 1)));
        assert_eq!(index.line(20), None);
        assert!(index.update(&book, key("line 2"), Duration::from_secs(60)));
        assert_eq!(index.len(), 2 * 5, "entries 20..=24 match");
        assert_eq!(index.line(2), Some((21, 0)));
    }

    /// A peer floods newlines. The log keeps its 64 MiB of them (1,024
    /// entries of 64 KiB); the index of their 67 million display lines costs one slot per
    /// entry, not per line (16 bytes a line was 1 GiB).
    #[test]
    fn a_flood_of_newlines_costs_the_index_one_slot_per_entry() {
        let mut book = LogBook::default();
        let mut index = LineIndex::default();
        let key = IndexKey {
            mode: ViewMode::Text,
            encoding: TextEncoding::Utf8,
            show: [true, true, true],
            filter: String::new(),
            lang: Lang::En,
            peers: None,
        };
        let chunk: std::sync::Arc<[u8]> = vec![b'\n'; 64 * 1024].into();
        for _ in 0..1024 {
            book.push_data(
                SystemTime::now(),
                Direction::Rx,
                chunk.clone(),
                chunk.len() as u64,
                None,
            );
        }
        while !index.update(&book, key.clone(), Duration::from_secs(60)) {}
        let lines = entry_line_count(book.get(book.first_seq()).unwrap(), key.mode, key.encoding);
        assert!(lines >= 64 * 1024, "{lines} lines in one entry");
        assert_eq!(index.len(), lines * book.len());
        let last = index.line(index.len() - 1).unwrap();
        assert_eq!(last.0, book.next_seq() - 1);
        assert!(
            index.heap_bytes() <= 64 * 1024,
            "the index holds {} bytes",
            index.heap_bytes()
        );
    }
}
