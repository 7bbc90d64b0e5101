//! The throughput plot (egui_plot): bytes per second each way over time, and the kernel's RTT
//! and congestion window beside it where it tells them.

use egui::Ui;
use egui_plot::{Legend, Line, Plot};

use crate::i18n::{Lang, Msg};
use crate::model::throughput::Throughput;

/// Height of each plot, in points.
const HEIGHT: f32 = 130.0;

pub fn throughput_ui(ui: &mut Ui, lang: Lang, id: &str, t: &Throughput) {
    if t.is_empty() {
        ui.weak(lang.t(Msg::PlotEmpty));
        return;
    }
    let rtt = t.rtt_series();
    ui.columns(if rtt.is_empty() { 1 } else { 2 }, |cols| {
        Plot::new(format!("{id}-bytes"))
            .height(HEIGHT)
            .legend(Legend::default())
            .x_axis_label(lang.t(Msg::PlotSeconds))
            .allow_scroll(false)
            .show(&mut cols[0], |p| {
                p.line(Line::new(lang.t(Msg::PlotRx), t.rx_series()));
                p.line(Line::new(lang.t(Msg::PlotTx), t.tx_series()));
            });
        if !rtt.is_empty() {
            Plot::new(format!("{id}-kernel"))
                .height(HEIGHT)
                .legend(Legend::default())
                .x_axis_label(lang.t(Msg::PlotSeconds))
                .allow_scroll(false)
                .show(&mut cols[1], |p| {
                    p.line(Line::new(lang.t(Msg::PlotRtt), rtt));
                    p.line(Line::new(lang.t(Msg::PlotCwnd), t.cwnd_series()));
                });
        }
    });
}

/// One download's rate over time.
pub fn rate_ui(ui: &mut Ui, lang: Lang, id: &str, t: &Throughput) {
    Plot::new(format!("{id}-rate"))
        .height(90.0)
        .x_axis_label(lang.t(Msg::PlotSeconds))
        .allow_scroll(false)
        .show(ui, |p| {
            p.line(Line::new(lang.t(Msg::PlotRx), t.rx_series()));
        });
}
