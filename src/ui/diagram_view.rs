//! The connection's sequence diagram (see `model::diagram`): a legend, two lanes, a slanted
//! arrow per segment (dashed when inferred), kernel states as boxes on their lane, and the
//! program's calls beside it. Only the rows in view are drawn, so a long connection scrolls as
//! fast as a short one; sizes are in points, so the figure grows with the zoom.

use egui::text::LayoutJob;
use egui::{
    Color32, FontId, Label, Pos2, Rect, Sense, Shape, Stroke, TextFormat, TextWrapMode, Ui, pos2,
    vec2,
};

use super::log_view::format_time;
use crate::i18n::{Lang, Msg};
use crate::model::diagram::{
    Diagram, HEADER_HEIGHT, LANE_X, Lane, Row, SEGMENT_SLANT, SegmentKind,
};

/// Height of the legend line above the heads (one line; more when it wraps).
pub const LEGEND_HEIGHT: f32 = 26.0;
/// Narrower than this, the figure keeps this width and is clipped.
const MIN_WIDTH: f32 = 320.0;
const LABEL_SIZE: f32 = 13.0;
const CODE_SIZE: f32 = 12.0;
const DASH: (f32, f32) = (6.0, 4.0);

/// The height the whole figure (legend, heads, rows) wants, in points, with the legend on one
/// line.
pub fn diagram_height(d: &Diagram) -> f32 {
    HEADER_HEIGHT + d.rows_height() + LEGEND_HEIGHT
}

/// Draws the diagram into the available space: the legend (read first: the arrows are
/// inferred), the lane heads, then the rows in a scroll area that follows the newest row
/// when `follow` (a run under way); `to_top` puts it back at its start (a run just ended: the
/// handshake in view).
pub fn diagram_ui(ui: &mut Ui, d: &Diagram, lang: Lang, follow: bool, to_top: bool) {
    legend_ui(ui, lang);
    let width = ui.available_width().max(MIN_WIDTH);
    let (head_rect, _) = ui.allocate_exact_size(vec2(width, HEADER_HEIGHT), Sense::hover());
    // Lane positions in screen coordinates, shared by the heads and the (vertically
    // scrolling) rows so the two always line up.
    let xs = LANE_X.map(|f| (head_rect.left() + width * f).round());
    heads_ui(ui, head_rect, xs, d, lang);
    if d.rows.is_empty() {
        ui.weak(lang.t(Msg::DiagramEmpty));
        return;
    }
    let mut area = egui::ScrollArea::vertical()
        .id_salt("diagram_rows")
        .auto_shrink([false, true])
        .stick_to_bottom(follow);
    if to_top {
        area = area.vertical_scroll_offset(0.0);
    }
    area.show_viewport(ui, |ui, viewport| {
        let (rect, _) = ui.allocate_exact_size(vec2(width, d.rows_height()), Sense::hover());
        let visible = viewport.translate(rect.min.to_vec2());
        lane_lines(ui, rect.intersect(visible), xs, d);
        let mut y = rect.top();
        for row in &d.rows {
            let row_rect = Rect::from_min_size(pos2(rect.left(), y), vec2(width, row.height()));
            if row_rect.intersects(visible) {
                row_ui(ui, row_rect, xs, row, lang);
            }
            y += row.height();
        }
    });
}

fn heads_ui(ui: &mut Ui, rect: Rect, xs: [f32; 2], d: &Diagram, lang: Lang) {
    let title_color = ui.visuals().strong_text_color();
    let weak = ui.visuals().weak_text_color();
    for head in &d.lanes {
        let x = xs[head.lane.index()];
        let title = job(&head.title(lang), FontId::proportional(14.0), title_color);
        place(ui, title, pos2(x, rect.top() + 11.0));
        if let Some(addr) = head.addr {
            let addr = job(&addr.to_string(), FontId::monospace(CODE_SIZE), weak);
            place(ui, addr, pos2(x, rect.top() + 29.0));
        }
    }
    let stroke = lane_stroke(ui);
    for head in &d.lanes {
        let x = xs[head.lane.index()];
        let line = [pos2(x, rect.bottom() - 6.0), pos2(x, rect.bottom())];
        ui.painter().line_segment(line, stroke);
    }
}

fn lane_stroke(ui: &Ui) -> Stroke {
    Stroke::new(2.0, ui.visuals().widgets.noninteractive.bg_stroke.color)
}

fn lane_lines(ui: &Ui, visible: Rect, xs: [f32; 2], d: &Diagram) {
    if !visible.is_positive() {
        return;
    }
    let stroke = lane_stroke(ui);
    for head in &d.lanes {
        let x = xs[head.lane.index()];
        let line = [pos2(x, visible.top()), pos2(x, visible.bottom())];
        if head.observed {
            ui.painter().line_segment(line, stroke);
        } else {
            // The peer's lane: dotted, nobody watched it.
            let dots = Shape::dashed_line(&line, stroke, 2.0, 4.0);
            ui.painter().extend(dots);
        }
    }
}

fn segment_color(ui: &Ui, kind: SegmentKind) -> Color32 {
    let v = ui.visuals();
    match kind {
        SegmentKind::Syn | SegmentKind::SynAck | SegmentKind::Ack => v.hyperlink_color,
        SegmentKind::Data { .. } => v.strong_text_color(),
        SegmentKind::Fin => v.warn_fg_color,
        SegmentKind::Rst => v.error_fg_color,
    }
}

fn row_ui(ui: &mut Ui, rect: Rect, xs: [f32; 2], row: &Row, lang: Lang) {
    let tip = format_time(row.at());
    match row {
        Row::Segment {
            from,
            kind,
            inferred,
            note,
            ..
        } => {
            let color = segment_color(ui, *kind);
            let a = pos2(xs[from.index()], rect.top() + 22.0);
            let b = pos2(xs[from.other().index()], a.y + SEGMENT_SLANT);
            arrow(ui, a, b, Stroke::new(1.5, color), *inferred);
            let mut text = job(&kind.label(lang), FontId::proportional(LABEL_SIZE), color);
            if let Some(note) = note {
                let weak = ui.visuals().weak_text_color();
                text.append(
                    &format!("  {note}"),
                    0.0,
                    TextFormat::simple(FontId::monospace(CODE_SIZE - 1.0), weak),
                );
            }
            let center = pos2((a.x + b.x) / 2.0, a.y + SEGMENT_SLANT / 2.0 - 12.0);
            place(ui, text, center).on_hover_text(tip);
        }
        Row::State { lane, state, .. } => {
            let visuals = ui.visuals();
            let text = job(
                state.name(),
                FontId::monospace(CODE_SIZE),
                visuals.strong_text_color(),
            );
            let size = ui.painter().layout_job(text.clone()).size() + vec2(12.0, 4.0);
            let center = pos2(xs[lane.index()], rect.center().y);
            state_box(ui, Rect::from_center_size(center, size));
            place(ui, text, center).on_hover_text(tip);
        }
        Row::Call {
            lane, text, failed, ..
        } => {
            let color = if *failed {
                ui.visuals().error_fg_color
            } else {
                ui.visuals().text_color()
            };
            let text = job(text, FontId::monospace(CODE_SIZE), color);
            let size = ui.painter().layout_job(text.clone()).size();
            let y = rect.center().y;
            let left = match lane {
                // Right-aligned against the client's lane, unless it would leave the figure.
                Lane::Client => (xs[0] - 8.0 - size.x).max(rect.left() + 2.0),
                Lane::Server => xs[1] + 8.0,
            };
            let at = Rect::from_min_size(pos2(left, y - size.y / 2.0), size);
            ui.place(at, label(text)).on_hover_text(tip);
        }
    }
}

/// A line from `a` to `b` with a filled head at `b`; dashed when inferred.
fn arrow(ui: &Ui, a: Pos2, b: Pos2, stroke: Stroke, dashed: bool) {
    let dir = (b - a).normalized();
    let head = 9.0;
    let base = b - dir * head;
    let side = dir.rot90() * (head * 0.45);
    if dashed {
        ui.painter()
            .extend(Shape::dashed_line(&[a, base], stroke, DASH.0, DASH.1));
    } else {
        ui.painter().line_segment([a, base], stroke);
    }
    ui.painter().add(Shape::convex_polygon(
        vec![b, base + side, base - side],
        stroke.color,
        Stroke::NONE,
    ));
}

fn job(text: &str, font: FontId, color: Color32) -> LayoutJob {
    LayoutJob::simple_singleline(text.to_owned(), font, color)
}

fn label(text: LayoutJob) -> Label {
    Label::new(text)
        .selectable(false)
        .wrap_mode(TextWrapMode::Extend)
}

/// A label centred on `center`. Labels, not painted text, so screen readers and tests see it.
fn place(ui: &mut Ui, text: LayoutJob, center: Pos2) -> egui::Response {
    let size = ui.painter().layout_job(text.clone()).size();
    ui.place(Rect::from_center_size(center, size), label(text))
}

fn legend_ui(ui: &mut Ui, lang: Lang) {
    ui.horizontal_wrapped(|ui| {
        let weak = ui.visuals().weak_text_color();
        let (rect, _) = ui.allocate_exact_size(vec2(34.0, 14.0), Sense::hover());
        let y = rect.center().y;
        arrow(
            ui,
            pos2(rect.left(), y),
            pos2(rect.right(), y),
            Stroke::new(1.5, ui.visuals().text_color()),
            true,
        );
        ui.label(egui::RichText::new(lang.t(Msg::DiagramLegendInferred)).color(weak));
        let (rect, _) = ui.allocate_exact_size(vec2(28.0, 14.0), Sense::hover());
        state_box(ui, rect);
        ui.label(egui::RichText::new(lang.t(Msg::DiagramLegendState)).color(weak));
        ui.label(egui::RichText::new("f()").monospace());
        ui.label(egui::RichText::new(lang.t(Msg::DiagramLegendCalls)).color(weak));
    });
}

/// The box a kernel state is drawn in (rows and legend alike).
fn state_box(ui: &Ui, rect: Rect) {
    let visuals = ui.visuals();
    ui.painter().rect(
        rect,
        4.0,
        visuals.extreme_bg_color,
        visuals.widgets.noninteractive.bg_stroke,
        egui::StrokeKind::Inside,
    );
}
