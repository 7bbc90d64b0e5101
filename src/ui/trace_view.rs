//! The "socket calls" view: the trace of one panel, newest at the bottom.

use egui::text::LayoutJob;
use egui::{FontId, TextFormat, Ui};

use super::log_view::format_time;
use crate::i18n::{Lang, Msg, describe_outcome};
use crate::model::TraceBook;

pub fn trace_ui(ui: &mut Ui, lang: Lang, trace: &mut TraceBook, follow: bool) {
    ui.horizontal(|ui| {
        ui.heading(lang.t(Msg::SocketCalls));
        if ui.button(lang.t(Msg::Clear)).clicked() {
            trace.clear();
        }
    });
    ui.weak(lang.t(Msg::SocketCallsHint));
    if trace.dropped > 0 {
        ui.colored_label(
            ui.visuals().warn_fg_color,
            lang.fmt(Msg::OlderDropped, &[("n", &trace.dropped)]),
        );
    }
    ui.separator();
    let font = FontId::monospace(12.5);
    let row_height = ui.fonts_mut(|f| f.row_height(&font));
    let calls = trace.calls();
    if calls.is_empty() {
        ui.weak(lang.t(Msg::NoCallsYet));
    }
    egui::ScrollArea::both()
        .id_salt("trace_rows")
        .auto_shrink([false, false])
        .stick_to_bottom(follow)
        .show_rows(ui, row_height, calls.len(), |ui, rows| {
            let weak = ui.visuals().weak_text_color();
            let normal = ui.visuals().strong_text_color();
            let err = ui.visuals().error_fg_color;
            for call in rows.filter_map(|i| calls.get(i)) {
                let mut job = LayoutJob::default();
                let fmt = |c| TextFormat::simple(font.clone(), c);
                job.append(&format_time(call.at), 0.0, fmt(weak));
                job.append("  ", 0.0, fmt(weak));
                if let Some(conn) = call.conn {
                    let color = super::log_view::peer_color(ui, conn);
                    job.append(&format!("#{conn} "), 0.0, fmt(color));
                }
                job.append(&call.call_text(), 0.0, fmt(normal));
                job.append(" → ", 0.0, fmt(weak));
                let outcome = describe_outcome(lang, &call.kind, &call.outcome);
                job.append(&outcome, 0.0, fmt(if call.failed() { err } else { weak }));
                ui.add(egui::Label::new(job).extend());
            }
        });
}
