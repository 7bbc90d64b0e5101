//! A bare eframe window (glow renderer, the crate's eframe features) with one label: the
//! yardstick `scripts/bench-idle.sh` compares the workbench's idle CPU and memory against.
//!
//! Run with `cargo run --release --example bare_window`.

fn main() -> eframe::Result {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("bare window")
            .with_inner_size([1240.0, 800.0]),
        renderer: eframe::Renderer::Glow,
        ..Default::default()
    };
    eframe::run_ui_native("bare window", options, |ui, _frame| {
        egui::CentralPanel::default().show(ui, |ui| {
            ui.label("Hello from a bare eframe window.");
        });
    })
}
