//! The frames the panels share. The connection panels (TCP client, TCP server, UDP, file
//! server, Check) use [`show`]; the demonstrations (Lesson, Lab) use [`show_demo`], with
//! the same rules for folding, splitters and status. [`show`]: a settings strip
//! that folds to one summary line once the socket is up, the status and what goes with it,
//! the main view (a table and the log, with the socket calls beside them) and the composer
//! at the bottom. It owns the sizing rules for normal and classroom mode, so each panel only
//! draws its regions, and a fix here reaches every panel.
//!
//! The rules, in the order they are applied:
//! - the content a class looks at gets the room: the table gets its rows, the log its rows;
//!   the composer takes one line in classroom mode (the rest behind "More");
//! - the socket calls sit beside the main view when there is room for both, else the main
//!   view switches between them;
//! - the table sits above the log when the height allows both their rows, else beside it;
//! - every boundary is a splitter the teacher can drag, remembered per panel and per mode
//!   (egui keeps a panel's size under its id, and the id names the panel and the mode).

use egui::{Color32, Id, RichText, Ui};
use serde::{Deserialize, Serialize};

use crate::i18n::{Lang, Msg};

/// What a framed panel draws in each region. The frame calls these in order, one at a
/// time, so each may borrow the whole panel.
pub trait Framed {
    /// Keeps this panel's remembered sizes apart from the other panels'.
    fn frame_id(&self) -> &'static str;
    /// The socket is up (connecting, connected, listening, bound): the settings are done
    /// and fold to one line.
    fn active(&self) -> bool;
    /// The whole settings form, with its Start / Connect / Bind (or Stop) button.
    fn settings_ui(&mut self, ui: &mut Ui, lang: Lang);
    /// The status line's colour and words.
    fn status(&self, ui: &Ui, lang: Lang) -> (Color32, String);
    /// The settings in a few words, after the status on the folded line.
    fn summary(&self, lang: Lang) -> Option<String>;
    /// The buttons that act on the running socket (Stop, Disconnect, …), on the folded line.
    fn actions_ui(&mut self, ui: &mut Ui, lang: Lang);
    /// Below the status: the address to type, the kernel's view, warnings and errors.
    fn details_ui(&mut self, ui: &mut Ui, lang: Lang, classroom: bool);
    /// The table beside or above the log, and how many of its rows must show; `None` when
    /// the panel has no table.
    fn table_rows(&self, _classroom: bool) -> Option<usize> {
        None
    }
    fn table_ui(&mut self, _ui: &mut Ui, _lang: Lang, _compact: bool) {}
    /// The table's share of the width when it sits beside the log.
    fn table_share(&self) -> f32 {
        0.44
    }
    /// The panel has a log below or beside its table (without one, the table is the main
    /// view).
    fn log_shown(&self) -> bool {
        false
    }
    fn log_ui(&mut self, _ui: &mut Ui, _lang: Lang, _compact: bool) {}
    /// The log entries that must show: a class reads the conversation.
    fn log_rows(&self, _classroom: bool) -> usize {
        10
    }
    /// The side panel (socket calls) is switched on.
    fn side_shown(&self) -> bool {
        false
    }
    fn side_ui(&mut self, _ui: &mut Ui, _lang: Lang) {}
    /// The panel sends (a composer at the bottom).
    fn composer_shown(&self) -> bool {
        false
    }
    /// The composer; `more` is its "More" toggle (false: one line).
    fn composer_ui(&mut self, _ui: &mut Ui, _lang: Lang, _more: &mut bool) {}
}

/// The button that starts a panel's socket or stops it, whichever is due; what was asked.
pub fn start_stop_ui(ui: &mut Ui, running: bool, start: &str, stop: &str) -> Option<StartStop> {
    let (text, asked) = if running {
        (stop, StartStop::Stop)
    } else {
        (start, StartStop::Start)
    };
    ui.button(RichText::new(text).strong())
        .clicked()
        .then_some(asked)
}

/// What [`start_stop_ui`] was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartStop {
    Start,
    Stop,
}

/// What the main view shows when the socket calls have no room beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum MainView {
    #[default]
    Messages,
    Calls,
}

/// What the frame remembers per panel and mode (in egui's memory, saved with the window).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FrameMemory {
    /// The settings are unfolded while the socket is up.
    pub settings_open: bool,
    /// The composer's "More"; `None` is the mode's default (open in normal mode).
    pub more: Option<bool>,
    pub view: MainView,
}

fn memory_id(panel: &str, classroom: bool) -> Id {
    Id::unique(("frame", panel, "memory", classroom))
}

/// Which side of the remaining room a region takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Left,
    Right,
    Top,
    Bottom,
}

/// A region at one side of `ui`, behind a splitter. Its size follows the window (the
/// `default` the rules give) until the teacher drags the splitter; from then on it keeps
/// the teacher's size, remembered per panel, region and mode. A double-click on the
/// splitter gives the size back to the rules.
pub fn region<R>(
    ui: &mut Ui,
    side: Side,
    salt: (&str, &str, bool),
    default: f32,
    configure: impl FnOnce(egui::Panel) -> egui::Panel,
    add: impl FnOnce(&mut Ui) -> R,
) -> R {
    let id = ui.scope_id().with_salt(egui::IdSalt::new(salt));
    let user_id = id.with("sized by the teacher");
    let sized = ui.data_mut(|d| d.get_persisted::<bool>(user_id).unwrap_or(false));
    if !sized {
        // Forget last frame's size, so the rules' size (for this window) applies.
        ui.data_mut(|d| d.remove::<egui::containers::panel::PanelState>(id));
    }
    let panel = match side {
        Side::Left => egui::Panel::left(salt),
        Side::Right => egui::Panel::right(salt),
        Side::Top => egui::Panel::top(salt),
        Side::Bottom => egui::Panel::bottom(salt),
    };
    let inner = configure(panel.default_size(default)).show(ui, add).inner;
    if let Some(splitter) = ui.ctx().read_response(id.with("__resize")) {
        if splitter.double_clicked() {
            ui.data_mut(|d| d.insert_persisted(user_id, false));
        } else if splitter.drag_stopped() || splitter.dragged() {
            ui.data_mut(|d| d.insert_persisted(user_id, true));
        }
    }
    inner
}

/// The frame's memory of a panel in a mode (tests and the panels read it).
pub fn memory(ctx: &egui::Context, panel: &str, classroom: bool) -> FrameMemory {
    ctx.data_mut(|d| *d.get_persisted_mut_or_default::<FrameMemory>(memory_id(panel, classroom)))
}

/// Keeps a panel's frame memory (panels that draw their own layout use it too).
pub fn set_memory(ctx: &egui::Context, panel: &str, classroom: bool, mem: FrameMemory) {
    ctx.data_mut(|d| d.insert_persisted(memory_id(panel, classroom), mem));
}

/// One line of buttons, with the space after it.
pub fn line_height(ui: &Ui) -> f32 {
    ui.spacing().interact_size.y + ui.spacing().item_spacing.y
}

/// A table row's height: the body text and a little air (the tables use it too).
pub fn table_row_height(ui: &Ui) -> f32 {
    ui.text_style_height(&egui::TextStyle::Body) + 4.0
}

/// The status dot and words.
pub fn status_ui(ui: &mut Ui, (color, text): (Color32, String)) {
    ui.label(RichText::new("●").color(color));
    ui.label(RichText::new(text).color(color).strong());
}

/// Draws a framed panel.
pub fn show(ui: &mut Ui, lang: Lang, classroom: bool, panel: &mut dyn Framed) {
    let name = panel.frame_id();
    let mem_id = memory_id(name, classroom);
    let mut mem = memory(ui.ctx(), name, classroom);

    // Is there room for the socket calls beside the main view? Else the main view switches
    // between them, with the switch on the status line.
    let full = ui.available_rect_before_wrap();
    let with_table = panel.table_rows(classroom).is_some();
    let main_min = if with_table { 480.0 } else { 340.0 };
    let side_default = (full.width() * 0.36).clamp(240.0, 440.0);
    let side_on = panel.side_shown();
    let beside = side_on && full.width() - side_default >= main_min;
    let switch = side_on && !beside;

    // The settings strip: the whole form until the socket is up, then one line.
    let active = panel.active();
    let folded = active && !mem.settings_open;
    if !folded {
        panel.settings_ui(ui, lang);
    }
    // The status on one line, its words shortened to leave the buttons their room.
    let buttons_id = mem_id.with("status buttons");
    let buttons_w = ui.data(|d| d.get_temp::<f32>(buttons_id)).unwrap_or(240.0);
    ui.horizontal(|ui| {
        let words = (ui.available_width() - buttons_w - ui.spacing().item_spacing.x).max(60.0);
        ui.allocate_ui(egui::vec2(words, ui.spacing().interact_size.y), |ui| {
            ui.horizontal(|ui| {
                let (color, text) = panel.status(ui, lang);
                ui.label(RichText::new("●").color(color));
                ui.add(egui::Label::new(RichText::new(text).color(color).strong()).truncate());
                if folded && let Some(summary) = panel.summary(lang) {
                    ui.add(
                        egui::Label::new(RichText::new(format!("· {summary}")).weak()).truncate(),
                    );
                }
            });
        });
        let width = ui
            .horizontal(|ui| {
                if switch {
                    let calls = mem.view == MainView::Calls;
                    if ui
                        .selectable_label(calls, lang.t(Msg::SocketCalls))
                        .on_hover_text(lang.t(Msg::FrameCallsHint))
                        .clicked()
                    {
                        mem.view = if calls {
                            MainView::Messages
                        } else {
                            MainView::Calls
                        };
                    }
                }
                if folded {
                    panel.actions_ui(ui, lang);
                    if ui
                        .button(lang.t(Msg::FrameSettings))
                        .on_hover_text(lang.t(Msg::FrameSettingsHint))
                        .clicked()
                    {
                        mem.settings_open = true;
                    }
                } else if active && ui.button(lang.t(Msg::FrameFold)).clicked() {
                    mem.settings_open = false;
                }
            })
            .response
            .rect
            .width();
        ui.data_mut(|d| d.insert_temp(buttons_id, width));
    });
    panel.details_ui(ui, lang, classroom);

    // The composer at the bottom: its content's height, or the teacher's.
    if panel.composer_shown() {
        composer_region(ui, lang, classroom, panel, &mut mem);
    }

    // The socket calls beside the main view, when both have room.
    let avail = ui.available_rect_before_wrap();
    if beside {
        let max = (avail.width() - 240.0).max(200.0);
        region(
            ui,
            Side::Right,
            (name, "side", classroom),
            side_default,
            |p| p.resizable(true).size_range(200.0..=max),
            |ui| panel.side_ui(ui, lang),
        );
    }
    egui::CentralPanel::no_frame().show(ui, |ui| {
        if switch && mem.view == MainView::Calls {
            panel.side_ui(ui, lang);
            return;
        }
        main_ui(ui, lang, classroom, panel);
    });
    ui.data_mut(|d| d.insert_persisted(mem_id, mem));
}

/// The composer's region: one line, or the whole composer at its content's height.
fn composer_region(
    ui: &mut Ui,
    lang: Lang,
    classroom: bool,
    panel: &mut dyn Framed,
    mem: &mut FrameMemory,
) {
    let name = panel.frame_id();
    let mut more = mem.more.unwrap_or(!classroom);
    let before = more;
    let line = line_height(ui);
    // The whole composer: its height last frame (about seven lines at first); one line
    // is one.
    let measured_id = memory_id(name, classroom).with("composer height");
    let measured = ui.data(|d| d.get_temp::<f32>(measured_id));
    let composer_h = if more {
        measured.map_or(7.0 * line + 20.0, |h| h + 12.0)
    } else {
        line + 10.0
    };
    let salt = (
        name,
        if more { "composer" } else { "composer-line" },
        classroom,
    );
    region(
        ui,
        Side::Bottom,
        salt,
        composer_h,
        |p| p.resizable(before).min_size(line + 8.0),
        |ui| {
            ui.add_space(4.0);
            if more {
                egui::ScrollArea::vertical()
                    .id_salt("composer_scroll")
                    .show(ui, |ui| {
                        let h = ui
                            .scope(|ui| panel.composer_ui(ui, lang, &mut more))
                            .response
                            .rect
                            .height();
                        ui.data_mut(|d| d.insert_temp(measured_id, h));
                    });
            } else {
                panel.composer_ui(ui, lang, &mut more);
            }
        },
    );
    if more != before {
        mem.more = Some(more);
    }
}

/// The table and the log: above each other when both get their rows, else side by side
/// when the log stays wide enough for its words, else above each other with the table
/// shortened (the log's rows come first: it is what a class reads).
fn main_ui(ui: &mut Ui, lang: Lang, classroom: bool, panel: &mut dyn Framed) {
    let name = panel.frame_id();
    let Some(table_rows) = panel.table_rows(classroom) else {
        panel.log_ui(ui, lang, classroom);
        return;
    };
    if !panel.log_shown() {
        panel.table_ui(ui, lang, classroom || ui.available_width() < 640.0);
        return;
    }
    let avail = ui.available_rect_before_wrap();
    let line = line_height(ui);
    let row = table_row_height(ui);
    // A log row is its font's height and the spacing between rows.
    let log_row = ui.fonts_mut(|f| f.row_height(&crate::ui::log_view::log_font()))
        + ui.spacing().item_spacing.y;
    // The table: its heading line, the header and the rows, and the panel's margins.
    let table_h = line + (table_rows as f32 + 2.0) * row + 8.0;
    // The log: its toolbar (one line when narrow or in classroom mode, else two) and rows.
    let narrow = classroom || avail.width() < crate::ui::log_view::NARROW;
    let toolbar = if narrow { line } else { 2.0 * line };
    let log_h = toolbar + 12.0 + panel.log_rows(classroom) as f32 * log_row;
    // Side by side, the log keeps about 60 %: room for short rows in classroom mode, for
    // whole rows otherwise.
    let wide = avail.width() >= if classroom { 500.0 } else { 980.0 };
    let stacked = avail.height() >= table_h + log_h || !wide;
    if stacked {
        let fit = (avail.height() - log_h).max(line + 4.0 * row);
        let max = (avail.height() - toolbar - 3.0 * log_row).max(line);
        region(
            ui,
            Side::Top,
            (name, "table-above", classroom),
            table_h.min(fit),
            |p| p.resizable(true).size_range(line + 3.0 * row..=max),
            |ui| {
                panel.table_ui(
                    ui,
                    lang,
                    (classroom && avail.width() < 900.0) || avail.width() < 640.0,
                )
            },
        );
    } else {
        let max = (avail.width() - 200.0).max(160.0);
        region(
            ui,
            Side::Left,
            (name, "table-beside", classroom),
            (avail.width() * 0.42).clamp(220.0, 460.0),
            |p| p.resizable(true).size_range(160.0..=max),
            // Beside the log the table keeps to its few main columns.
            |ui| panel.table_ui(ui, lang, true),
        );
    }
    egui::CentralPanel::no_frame().show(ui, |ui| panel.log_ui(ui, lang, classroom));
}

/// The width `text` takes in a text style.
pub fn text_width(ui: &Ui, text: &str, style: egui::TextStyle) -> f32 {
    let font = style.resolve(ui.style());
    ui.fonts_mut(|f| {
        f.layout_no_wrap(text.to_owned(), font, Color32::WHITE)
            .size()
            .x
    })
}

/// What a demonstration panel (the Lesson, the Lab) draws in each region. The same rules as
/// the connection panels': the choices (a scenario list, the wire's settings) sit in a column
/// at the left in normal mode and fold to one line in classroom mode; the status and the
/// controls share one line; the picture gets the room, with the words beside it when both
/// fit and above it when not; every splitter the teacher drags is remembered per panel and
/// mode; and the panel shows its own status, so classroom mode needs no status bar.
pub trait Demo {
    /// Keeps this panel's remembered sizes apart from the other panels'.
    fn frame_id(&self) -> &'static str;
    /// Above everything, the whole width: a switch between the panel's modes, if it has any.
    fn modes_ui(&mut self, _ui: &mut Ui, _lang: Lang) {}
    /// The choices column is shown (normal mode) and its width at first.
    fn choices_width(&self) -> Option<f32>;
    /// The choices, in their column.
    fn choices_ui(&mut self, ui: &mut Ui, lang: Lang);
    /// In classroom mode, the choice in one line (a drop-down) at the start of the status
    /// line.
    fn choice_line_ui(&mut self, _ui: &mut Ui, _lang: Lang) {}
    /// The status line's colour and words (`classroom`: fewer words, the picture says the
    /// rest).
    fn status(&self, ui: &Ui, lang: Lang, classroom: bool) -> (Color32, String);
    /// The buttons on the status line (play, pause, step; the words' fold).
    fn controls_ui(&mut self, _ui: &mut Ui, _lang: Lang, _classroom: bool) {}
    /// Below the status line, the whole width: the wire, a failure, a hint.
    fn details_ui(&mut self, _ui: &mut Ui, _lang: Lang, _classroom: bool) {}
    /// The words beside the picture (findings, explanation, a table): shown, and the least
    /// width the picture needs beside them.
    fn aside(&self, classroom: bool) -> Option<f32>;
    fn aside_ui(&mut self, _ui: &mut Ui, _lang: Lang) {}
    /// The picture: the diagram, the chart.
    fn picture_ui(&mut self, ui: &mut Ui, lang: Lang, classroom: bool);
}

/// Draws a demonstration panel.
pub fn show_demo(ui: &mut Ui, lang: Lang, classroom: bool, panel: &mut dyn Demo) {
    let name = panel.frame_id();
    panel.modes_ui(ui, lang);
    if !classroom && let Some(width) = panel.choices_width() {
        let max = (ui.available_width() * 0.5).max(width);
        region(
            ui,
            Side::Left,
            (name, "choices", classroom),
            width,
            |p| p.resizable(true).size_range(160.0..=max),
            |ui| {
                egui::ScrollArea::vertical()
                    .id_salt((name, "choices scroll"))
                    .show(ui, |ui| panel.choices_ui(ui, lang));
            },
        );
    }
    egui::CentralPanel::no_frame().show(ui, |ui| {
        ui.horizontal_wrapped(|ui| {
            if classroom {
                panel.choice_line_ui(ui, lang);
            }
            let (color, text) = panel.status(ui, lang, classroom);
            ui.label(RichText::new("●").color(color));
            if !text.is_empty() {
                ui.label(RichText::new(text).color(color).strong());
            }
            panel.controls_ui(ui, lang, classroom);
        });
        panel.details_ui(ui, lang, classroom);
        let avail = ui.available_rect_before_wrap();
        match panel.aside(classroom) {
            Some(picture_min) if avail.width() - 300.0 >= picture_min => {
                // Beside the picture: the words keep under half, the picture the rest.
                let default = (avail.width() * 0.45).clamp(300.0, 600.0);
                let max = (avail.width() - picture_min).max(300.0);
                region(
                    ui,
                    Side::Right,
                    (name, "aside", classroom),
                    default.min(max),
                    |p| p.resizable(true).size_range(240.0..=max),
                    |ui| panel.aside_ui(ui, lang),
                );
            }
            Some(_) => {
                // No room beside it: above the picture, behind a splitter.
                let max = (avail.height() * 0.6).max(80.0);
                region(
                    ui,
                    Side::Top,
                    (name, "aside-above", classroom),
                    (avail.height() * 0.3).clamp(80.0, max),
                    |p| p.resizable(true).size_range(60.0..=max),
                    |ui| {
                        egui::ScrollArea::vertical()
                            .id_salt((name, "aside scroll"))
                            .show(ui, |ui| panel.aside_ui(ui, lang));
                    },
                );
            }
            None => {}
        }
        egui::CentralPanel::no_frame().show(ui, |ui| panel.picture_ui(ui, lang, classroom));
    });
}
