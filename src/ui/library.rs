//! The payload library in the panels that send: named payloads in groups, one click (or
//! F1–F12 for the first twelve of the current group) to send one to the panel's target.
//! One library for every panel ([`Shelf`]), saved with the settings, imported from and
//! exported to the file a person reads and edits (`proto::library`).
//!
//! A payload is edited in the composer itself, so its preview, checksum and red marks are
//! the composer's: Edit loads it there, Save puts it back.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::rc::Rc;

use egui::{Key, Modifiers, RichText, Ui};

use super::composer::ComposerSettings;
use super::jobs::Job;
use super::widgets::{FilePicker, PickKind, path_field};
use crate::i18n::{Lang, Msg, describe_error};
use crate::net::NetError;
use crate::proto::checksum::ByteOrder;
use crate::proto::library::{Group, Library, Payload};
use crate::proto::vars::Context;
use crate::proto::{LineEnding, PayloadMode, TextEncoding};

/// The one library every sending panel shares (the UI thread's alone).
pub type Shelf = Rc<RefCell<Book>>;

/// The F-keys that send the first twelve payloads of the current group.
pub const F_KEYS: [Key; 12] = [
    Key::F1,
    Key::F2,
    Key::F3,
    Key::F4,
    Key::F5,
    Key::F6,
    Key::F7,
    Key::F8,
    Key::F9,
    Key::F10,
    Key::F11,
    Key::F12,
];

/// A payload being edited in a composer.
#[derive(Debug, Clone)]
pub struct Editing {
    pub group: usize,
    pub index: usize,
    pub name: String,
    pub note: String,
}

enum FileDone {
    Imported(PathBuf, Result<String, NetError>),
    Exported(super::jobs::Written),
}

/// The library and what the panels do with it.
pub struct Book {
    pub lib: Library,
    /// The current group (its first twelve are on F1–F12).
    pub group: usize,
    /// Sends of each payload, for its `{counter}` (by group and name).
    counts: HashMap<(String, String), u64>,
    random: crate::proto::vars::Random,
    pub editing: Option<Editing>,
    /// The file to import from or export to (typed, or picked with a dialog).
    pub file_path: String,
    picker: FilePicker,
    job: Option<Job<FileDone>>,
    /// The last thing to say: (is an error, words).
    pub message: Option<(bool, String)>,
    /// The library's management (groups, edit, import, export) is shown under the composer.
    pub open: bool,
}

impl Book {
    pub fn new(lib: Library, group: usize) -> Self {
        Book {
            lib,
            group,
            counts: HashMap::new(),
            random: Box::new(crate::proto::vars::weak_random()),
            editing: None,
            file_path: String::new(),
            picker: FilePicker::default(),
            job: None,
            message: None,
            open: false,
        }
    }

    pub fn shared(lib: Library, group: usize) -> Shelf {
        Rc::new(RefCell::new(Book::new(lib, group)))
    }

    /// The current group, if the library has any.
    pub fn current(&self) -> Option<&Group> {
        self.lib.groups.get(self.group).or(self.lib.groups.first())
    }

    fn current_index(&self) -> Option<usize> {
        if self.lib.groups.is_empty() {
            None
        } else {
            Some(self.group.min(self.lib.groups.len() - 1))
        }
    }

    /// The bytes of payload `index` of group `group`, its variables expanded (its counter
    /// moving on when `commit`). `encoding` is the panel's, for text without its own.
    pub fn build(
        &mut self,
        group: usize,
        index: usize,
        encoding: TextEncoding,
        commit: bool,
    ) -> Result<Vec<u8>, String> {
        let g = self.lib.groups.get(group).ok_or("no such group")?;
        let p = g.payloads.get(index).ok_or("no such payload")?;
        let key = (g.name.clone(), p.name.clone());
        let n = self.counts.get(&key).copied().unwrap_or(0);
        let captures = HashMap::new();
        let now = chrono::Local::now();
        let mut ctx = Context {
            counter: p.counter().value(n),
            counter_spec: p.counter(),
            now: now.naive_local(),
            unix_ms: u64::try_from(now.timestamp_millis()).unwrap_or(0),
            random: &mut *self.random,
            captures: &captures,
        };
        let bytes = p.build(encoding, &mut ctx).map_err(|e| e.message)?;
        if commit {
            self.counts.insert(key, n + 1);
        }
        Ok(bytes)
    }

    /// Sends payload `index` of the current group: its bytes, or the words why not (also
    /// kept as the message).
    pub fn send(&mut self, lang: Lang, index: usize, encoding: TextEncoding) -> Option<Vec<u8>> {
        let group = self.current_index()?;
        match self.build(group, index, encoding, true) {
            Ok(bytes) => Some(bytes),
            Err(why) => {
                let name = self.lib.groups[group]
                    .payloads
                    .get(index)
                    .map(|p| p.name.clone())
                    .unwrap_or_default();
                self.message = Some((
                    true,
                    lang.fmt(Msg::LibrarySendFailed, &[("name", &name), ("error", &why)]),
                ));
                None
            }
        }
    }

    /// Adds a payload to the current group (a first group is made when there is none).
    pub fn add(&mut self, lang: Lang, p: Payload) {
        if self.lib.groups.is_empty() {
            self.lib.groups.push(Group {
                name: lang.t(Msg::LibraryFirstGroup).to_owned(),
                payloads: Vec::new(),
            });
            self.group = 0;
        }
        let g = self.current_index().unwrap_or(0);
        let name = unique_name(&self.lib.groups[g], &p.name);
        self.lib.groups[g].payloads.push(Payload { name, ..p });
    }

    /// Takes in a finished import or export.
    fn poll(&mut self, lang: Lang) {
        let Some(job) = &self.job else {
            return;
        };
        let Some(done) = job.poll() else {
            return;
        };
        self.job = None;
        self.message = Some(match done {
            Ok(FileDone::Imported(path, Ok(text))) => match Library::parse(&text) {
                Ok(lib) => {
                    let (groups, payloads) = self.merge(lib);
                    (
                        false,
                        lang.fmt(
                            Msg::LibraryImported,
                            &[
                                ("groups", &groups),
                                ("n", &payloads),
                                ("path", &path.display()),
                            ],
                        ),
                    )
                }
                Err(e) => (
                    true,
                    lang.fmt(
                        Msg::LibraryBad,
                        &[("path", &path.display()), ("error", &e.to_string())],
                    ),
                ),
            },
            Ok(FileDone::Imported(_, Err(e))) => (true, describe_error(lang, &e)),
            Ok(FileDone::Exported(Ok(path))) => (
                false,
                lang.fmt(Msg::LibraryExported, &[("path", &path.display())]),
            ),
            Ok(FileDone::Exported(Err(e))) => (true, describe_error(lang, &e)),
            Err(_) => (true, lang.t(Msg::LibraryJobGone).to_owned()),
        });
    }

    /// An imported library: its groups replace those of the same name, others are added.
    /// What came in: (groups, payloads).
    pub fn merge(&mut self, lib: Library) -> (usize, usize) {
        let groups = lib.groups.len();
        let payloads = lib.groups.iter().map(|g| g.payloads.len()).sum();
        let mut first = None;
        for g in lib.groups {
            let at = match self.lib.groups.iter().position(|o| o.name == g.name) {
                Some(i) => {
                    self.lib.groups[i] = g;
                    i
                }
                None => {
                    self.lib.groups.push(g);
                    self.lib.groups.len() - 1
                }
            };
            first.get_or_insert(at);
        }
        for script in lib.scripts {
            self.lib.save_script(&script.name, &script.text);
        }
        self.editing = None;
        if let Some(at) = first {
            self.group = at;
        }
        (groups, payloads)
    }
}

fn unique_name(g: &Group, want: &str) -> String {
    let base = if want.trim().is_empty() {
        "payload"
    } else {
        want.trim()
    };
    if !g.payloads.iter().any(|p| p.name == base) {
        return base.to_owned();
    }
    (2..)
        .map(|n| format!("{base} ({n})"))
        .find(|name| !g.payloads.iter().any(|p| &p.name == name))
        .unwrap_or_else(|| base.to_owned())
}

/// The composer's content as a library payload.
pub fn payload_from(s: &ComposerSettings, name: &str, note: &str) -> Payload {
    let (text, hex) = match s.mode {
        PayloadMode::Text => (Some(s.text.clone()), None),
        PayloadMode::Hex => (None, Some(s.text.clone())),
    };
    let checksum = s.checksum;
    Payload {
        name: name.to_owned(),
        text,
        hex,
        encoding: (s.mode == PayloadMode::Text).then(|| s.encoding.label().to_owned()),
        eol: (s.eol != LineEnding::None).then(|| s.eol.label().to_ascii_lowercase()),
        checksum: checksum.map(|c| c.algo.name().to_owned()),
        checksum_order: checksum
            .filter(|c| c.order != c.algo.default_order())
            .map(|c| match c.order {
                ByteOrder::Big => "big".to_owned(),
                ByteOrder::Little => "little".to_owned(),
            }),
        checksum_from: checksum.map(|c| c.from).filter(|f| *f > 0),
        vars: s.vars,
        counter: (s.counter != Default::default()).then_some(s.counter),
        note: (!note.trim().is_empty()).then(|| note.trim().to_owned()),
    }
}

/// Puts a library payload into the composer, to edit or send as it is.
pub fn load_into(p: &Payload, s: &mut ComposerSettings) {
    use crate::proto::checksum::{Checksum, ChecksumSpec};
    match (&p.text, &p.hex) {
        (Some(t), _) => {
            s.mode = PayloadMode::Text;
            s.text = t.clone();
        }
        (None, Some(h)) => {
            s.mode = PayloadMode::Hex;
            s.text = h.clone();
        }
        (None, None) => {}
    }
    if let Some(enc) = p.encoding.as_deref().and_then(TextEncoding::from_label) {
        s.encoding = enc;
    }
    s.eol = p
        .eol
        .as_deref()
        .and_then(LineEnding::from_label)
        .unwrap_or(LineEnding::None);
    s.checksum = p
        .checksum
        .as_deref()
        .and_then(Checksum::from_name)
        .map(|algo| {
            let mut spec = ChecksumSpec::new(algo);
            match p.checksum_order.as_deref() {
                Some("big") => spec.order = ByteOrder::Big,
                Some("little") => spec.order = ByteOrder::Little,
                _ => {}
            }
            spec.from = p.checksum_from.unwrap_or(0);
            spec
        });
    s.vars = p.vars;
    s.counter = p.counter();
}

/// F1–F12: the first twelve payloads of the current group, when sending is possible.
pub fn f_keys(ui: &Ui, lang: Lang, shelf: &Shelf, encoding: TextEncoding) -> Option<Vec<u8>> {
    let count = shelf.borrow().current().map_or(0, |g| g.payloads.len());
    let pressed = F_KEYS
        .iter()
        .take(count)
        .position(|k| ui.input_mut(|i| i.consume_key(Modifiers::NONE, *k)))?;
    shelf.borrow_mut().send(lang, pressed, encoding)
}

fn key_label(i: usize) -> String {
    if i < F_KEYS.len() {
        format!("F{}", i + 1)
    } else {
        String::new()
    }
}

/// A payload in a few characters: its text, or its hex.
fn glance(p: &Payload) -> String {
    let t = p.text.as_deref().or(p.hex.as_deref()).unwrap_or_default();
    let mut out: String = t.chars().take(40).collect();
    if t.chars().count() > 40 {
        out.push('…');
    }
    out.replace('\n', "\\n").replace('\r', "\\r")
}

/// The one-line composer's library: a menu of the current group, each with its key.
pub fn menu_ui(
    ui: &mut Ui,
    lang: Lang,
    shelf: &Shelf,
    encoding: TextEncoding,
    can_send: bool,
) -> Option<Vec<u8>> {
    let mut send = None;
    let mut manage = false;
    let count = shelf.borrow().current().map_or(0, |g| g.payloads.len());
    ui.menu_button(lang.fmt(Msg::LibraryMenu, &[("n", &count)]), |ui| {
        let names: Vec<(String, String)> = shelf
            .borrow()
            .current()
            .map(|g| {
                g.payloads
                    .iter()
                    .map(|p| (p.name.clone(), glance(p)))
                    .collect()
            })
            .unwrap_or_default();
        if names.is_empty() {
            ui.label(lang.t(Msg::LibraryEmpty));
        }
        for (i, (name, glance)) in names.iter().enumerate() {
            let text = format!("{}  {name}", key_label(i));
            if ui
                .add_enabled(can_send, egui::Button::new(text))
                .on_hover_text(glance)
                .clicked()
            {
                send = Some(i);
                ui.close();
            }
        }
        ui.separator();
        if ui.button(lang.t(Msg::LibraryManage)).clicked() {
            shelf.borrow_mut().open = true;
            manage = true;
            ui.close();
        }
    });
    if manage {
        // The management shows under the whole composer.
        more_wanted(ui);
    }
    send.and_then(|i| shelf.borrow_mut().send(lang, i, encoding))
}

/// The full composer's library: the groups, each payload with its key and a button to send
/// it, Add (the composer's content), Edit / Duplicate / ↑ / ↓ / Delete, import and export.
pub fn section_ui(
    ui: &mut Ui,
    lang: Lang,
    shelf: &Shelf,
    s: &mut ComposerSettings,
    can_send: bool,
) -> Option<Vec<u8>> {
    let mut book = shelf.borrow_mut();
    book.poll(lang);
    if book.job.is_some() {
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_millis(100));
    }
    if !book.open {
        return None;
    }
    let count: usize = book.lib.groups.iter().map(|g| g.payloads.len()).sum();
    let mut send = None;
    ui.separator();
    ui.horizontal(|ui| {
        ui.strong(lang.fmt(Msg::LibraryHeading, &[("n", &count)]));
        if ui.small_button(lang.t(Msg::LibraryClose)).clicked() {
            book.open = false;
        }
    });
    if book.open {
        send = book_ui(ui, lang, &mut book, s, can_send);
    }
    send
}

/// Asks the composer to show its whole form (where the library's management is).
fn more_wanted(ui: &Ui) {
    ui.ctx()
        .data_mut(|d| d.insert_temp(egui::Id::unique(MORE_WANTED), true));
}

/// The key of [`more_wanted`]'s flag in egui's memory.
pub const MORE_WANTED: &str = "library_wants_more";

/// Takes the flag [`more_wanted`] set (once).
pub fn take_more_wanted(ui: &Ui) -> bool {
    ui.ctx().data_mut(|d| {
        let id = egui::Id::unique(MORE_WANTED);
        let wanted = d.get_temp::<bool>(id).unwrap_or(false);
        d.remove::<bool>(id);
        wanted
    })
}

fn book_ui(
    ui: &mut Ui,
    lang: Lang,
    book: &mut Book,
    s: &mut ComposerSettings,
    can_send: bool,
) -> Option<Vec<u8>> {
    let mut send = None;
    ui.horizontal_wrapped(|ui| {
        let label = ui.label(lang.t(Msg::LibraryGroup)).id;
        let current = book.current().map(|g| g.name.clone()).unwrap_or_default();
        egui::ComboBox::from_id_salt("library_group")
            .selected_text(current)
            .show_ui(ui, |ui| {
                for (i, g) in book.lib.groups.iter().enumerate() {
                    if ui.selectable_label(book.group == i, &g.name).clicked() {
                        book.group = i;
                    }
                }
            })
            .response
            .labelled_by(label);
        if ui
            .button(lang.t(Msg::LibraryNewGroup))
            .on_hover_text(lang.t(Msg::LibraryNewGroupHint))
            .clicked()
        {
            let n = book.lib.groups.len() + 1;
            book.lib.groups.push(Group {
                name: lang.fmt(Msg::LibraryGroupN, &[("n", &n)]),
                payloads: Vec::new(),
            });
            book.group = book.lib.groups.len() - 1;
        }
        if let Some(g) = book.current_index() {
            ui.add(
                egui::TextEdit::singleline(&mut book.lib.groups[g].name)
                    .desired_width(120.0)
                    .hint_text(lang.t(Msg::LibraryGroup)),
            )
            .on_hover_text(lang.t(Msg::LibraryRenameHint));
        }
        let addable = !s.text.is_empty();
        if ui
            .add_enabled(addable, egui::Button::new(lang.t(Msg::LibraryAdd)))
            .on_hover_text(lang.t(Msg::LibraryAddHint))
            .clicked()
        {
            let name: String = s
                .text
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(24)
                .collect();
            let p = payload_from(s, &name, "");
            book.add(lang, p);
        }
    });

    // Editing one: its name and note here, its content in the composer above.
    let mut editing_done = false;
    let mut cancel = false;
    if let Some(ed) = &mut book.editing {
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new(lang.t(Msg::LibraryEditing)).strong());
            let name = ui.label(lang.t(Msg::LibraryName)).id;
            ui.add(egui::TextEdit::singleline(&mut ed.name).desired_width(140.0))
                .labelled_by(name);
            let note = ui.label(lang.t(Msg::LibraryNote)).id;
            ui.add(egui::TextEdit::singleline(&mut ed.note).desired_width(180.0))
                .labelled_by(note);
            if ui.button(lang.t(Msg::LibrarySave)).clicked() {
                editing_done = true;
            }
            if ui.button(lang.t(Msg::Cancel)).clicked() {
                cancel = true;
            }
        });
    }
    if cancel {
        book.editing = None;
    }
    if editing_done && let Some(ed) = book.editing.take() {
        let p = payload_from(s, ed.name.trim(), &ed.note);
        if let Some(slot) = book
            .lib
            .groups
            .get_mut(ed.group)
            .and_then(|g| g.payloads.get_mut(ed.index))
        {
            *slot = p;
        }
    }

    enum Act {
        Send,
        Edit,
        Duplicate,
        Up,
        Down,
        Delete,
    }
    let mut act = None;
    if let Some(g) = book.current_index() {
        let payloads = &book.lib.groups[g].payloads;
        if payloads.is_empty() {
            ui.weak(lang.t(Msg::LibraryEmpty));
        }
        let last = payloads.len().saturating_sub(1);
        egui::ScrollArea::vertical()
            .id_salt("library_rows")
            .max_height(ui.text_style_height(&egui::TextStyle::Body) * 8.0)
            .show(ui, |ui| {
                for (i, p) in payloads.iter().enumerate() {
                    ui.horizontal(|ui| {
                        let key = key_label(i);
                        let text = if key.is_empty() {
                            p.name.clone()
                        } else {
                            format!("{key}  {}", p.name)
                        };
                        let mut send_button = ui
                            .add_enabled(can_send, egui::Button::new(RichText::new(text).strong()))
                            .on_disabled_hover_text(lang.t(Msg::SendDisabledHint));
                        if let Some(note) = &p.note {
                            send_button = send_button.on_hover_text(note);
                        }
                        if send_button.clicked() {
                            act = Some((Act::Send, i));
                        }
                        if ui.small_button(lang.t(Msg::Edit)).clicked() {
                            act = Some((Act::Edit, i));
                        }
                        if ui.small_button(lang.t(Msg::LibraryDuplicate)).clicked() {
                            act = Some((Act::Duplicate, i));
                        }
                        if ui
                            .add_enabled(i > 0, egui::Button::new("↑").small())
                            .clicked()
                        {
                            act = Some((Act::Up, i));
                        }
                        if ui
                            .add_enabled(i < last, egui::Button::new("↓").small())
                            .clicked()
                        {
                            act = Some((Act::Down, i));
                        }
                        if ui.small_button(lang.t(Msg::LibraryDelete)).clicked() {
                            act = Some((Act::Delete, i));
                        }
                        ui.add(
                            egui::Label::new(RichText::new(glance(p)).monospace().weak())
                                .truncate(),
                        );
                    });
                }
            });
        if let Some((what, i)) = act {
            let group = &mut book.lib.groups[g];
            match what {
                Act::Send => {}
                Act::Edit => {
                    if let Some(p) = group.payloads.get(i) {
                        load_into(p, s);
                        book.editing = Some(Editing {
                            group: g,
                            index: i,
                            name: p.name.clone(),
                            note: p.note.clone().unwrap_or_default(),
                        });
                    }
                }
                Act::Duplicate => {
                    if let Some(p) = group.payloads.get(i).cloned() {
                        let name = unique_name(group, &p.name);
                        group.payloads.insert(i + 1, Payload { name, ..p });
                    }
                }
                Act::Up if i > 0 => group.payloads.swap(i, i - 1),
                Act::Down if i + 1 < group.payloads.len() => group.payloads.swap(i, i + 1),
                Act::Delete if i < group.payloads.len() => {
                    group.payloads.remove(i);
                    book.editing = None;
                }
                _ => {}
            }
            if matches!(what, Act::Send) {
                send = book.send(lang, i, s.encoding);
            }
        }
    }

    // Import and export: a typed path, or one picked with a dialog.
    ui.horizontal_wrapped(|ui| {
        path_field(
            ui,
            lang,
            lang.t(Msg::LibraryFile),
            &mut book.file_path,
            &mut book.picker,
            PickKind::Open,
        );
        let path = PathBuf::from(book.file_path.trim());
        let ready = !book.file_path.trim().is_empty() && book.job.is_none();
        if ui
            .add_enabled(ready, egui::Button::new(lang.t(Msg::LibraryImport)))
            .on_hover_text(lang.t(Msg::LibraryImportHint))
            .clicked()
        {
            let ctx = ui.ctx().clone();
            let p = path.clone();
            book.job = super::jobs::start_or_say(
                "library-file",
                ctx,
                lang,
                &mut book.message,
                move || {
                    let read = std::fs::read_to_string(&p).map_err(|e| NetError::file_read(&p, &e));
                    FileDone::Imported(p, read)
                },
            );
        }
        if ui
            .add_enabled(ready, egui::Button::new(lang.t(Msg::LibraryExport)))
            .on_hover_text(lang.t(Msg::LibraryExportHint))
            .clicked()
        {
            let ctx = ui.ctx().clone();
            let text = book.lib.to_text();
            book.job = super::jobs::start_or_say(
                "library-file",
                ctx,
                lang,
                &mut book.message,
                move || {
                    FileDone::Exported(super::jobs::write_file(&path, |p| std::fs::write(p, text)))
                },
            );
        }
    });
    if let Some((error, words)) = &book.message {
        if *error {
            ui.colored_label(ui.visuals().error_fg_color, words);
        } else {
            ui.weak(words);
        }
    }
    send
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::checksum::{Checksum, ChecksumSpec};

    #[test]
    fn a_composer_payload_goes_into_the_library_and_back() {
        let mut s = ComposerSettings {
            text: "01 03 00 00 00 0A".into(),
            mode: PayloadMode::Hex,
            checksum: Some(ChecksumSpec::new(Checksum::Crc16Modbus)),
            ..Default::default()
        };
        let p = payload_from(&s, "read", "unit 1");
        let mut book = Book::new(Library::default(), 0);
        book.add(Lang::En, p.clone());
        book.add(Lang::En, p);
        let g = book.current().unwrap();
        assert_eq!(g.payloads[1].name, "read (2)");
        let bytes = book.build(0, 0, TextEncoding::Utf8, true).unwrap();
        assert_eq!(bytes, [1, 3, 0, 0, 0, 0x0A, 0xC5, 0xCD]);
        // And back into a composer, where it builds the same bytes.
        let mut back = ComposerSettings::default();
        load_into(&book.lib.groups[0].payloads[0], &mut back);
        s.vars = back.vars;
        assert_eq!(back.mode, s.mode);
        assert_eq!(back.checksum, s.checksum);
        assert_eq!(back.text, s.text);
        // The library file round-trips.
        let again = Library::parse(&book.lib.to_text()).unwrap();
        assert_eq!(again, book.lib);
    }

    #[test]
    fn importing_replaces_groups_of_the_same_name() {
        let mut book = Book::new(Library::default(), 0);
        book.add(
            Lang::En,
            payload_from(&ComposerSettings::default(), "a", ""),
        );
        let sheet = Library::parse(
            "version = 1\n[[group]]\nname = \"My payloads\"\n[[group.payload]]\nname = \"x\"\n\
             text = \"x\"\n[[group]]\nname = \"Lab 2\"\n[[group.payload]]\nname = \"y\"\nhex = \"01\"\n",
        )
        .unwrap();
        assert_eq!(book.merge(sheet), (2, 2));
        assert_eq!(book.lib.groups.len(), 2);
        assert_eq!(book.lib.groups[0].payloads[0].name, "x");
        assert_eq!(book.group, 0);
    }
}
