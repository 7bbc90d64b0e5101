//! The egui_kittest harness every panel test drives: the real app, the bundled CJK font, a
//! window of the size asked for. Included by the `ui_*` tests as `mod ui_support`.

#![allow(dead_code)]

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use socket_workbench::app::{Settings, WorkbenchApp};

pub type App = Harness<'static, WorkbenchApp>;

/// The app with `settings`, in a window of `size` points; `run` may take up to 30 frames.
pub fn harness(settings: Settings, size: [f32; 2]) -> App {
    Harness::builder()
        .with_size(egui::vec2(size[0], size[1]))
        .with_context_setup(socket_workbench::fonts::install)
        .with_max_steps(30)
        .build_ui_state(
            |ui, app: &mut WorkbenchApp| app.ui(ui),
            WorkbenchApp::with_settings(settings),
        )
}

/// The same, stepped at 60 frames a second with at most `max_steps` frames a `run`: for
/// tests that step time themselves (the lab's virtual clock, a layout settling).
pub fn stepped(settings: Settings, size: [f32; 2], max_steps: u64) -> App {
    Harness::builder()
        .with_size(egui::vec2(size[0], size[1]))
        .with_context_setup(socket_workbench::fonts::install)
        .with_max_steps(max_steps)
        .with_step_dt(1.0 / 60.0)
        .build_ui_state(
            |ui, app: &mut WorkbenchApp| app.ui(ui),
            WorkbenchApp::with_settings(settings),
        )
}

/// Some widget's words contain `text`.
pub fn shows(h: &App, text: &str) -> bool {
    h.query_all_by_label_contains(text).next().is_some()
}
