//! Exporting the record (pcap, text, JSON, the diagram as SVG), written off the UI thread.

use super::*;

impl LabPanel {
    pub(super) fn export_ui(&mut self, ui: &mut Ui, lang: Lang) {
        let label = ui.label(lang.t(Msg::LessonExportPath)).id;
        ui.add(egui::TextEdit::singleline(&mut self.export_path).desired_width(230.0))
            .labelled_by(label);
        let busy = self.export_job.is_some() || self.export_rx.is_some();
        ui.horizontal_wrapped(|ui| {
            if ui
                .add_enabled(!busy, egui::Button::new(lang.t(Msg::LabExportPcap)))
                .on_hover_text(lang.t(Msg::LabExportHint))
                .clicked()
            {
                let data = crate::lab::pcap::to_pcapng(self.play.lab.packets());
                let path = PathBuf::from(self.export_path.trim()).with_extension("pcapng");
                self.start_write(ui.ctx(), "export-pcapng", path, data);
            }
            if ui
                .add_enabled(!busy, egui::Button::new(lang.t(Msg::LessonExportSvg)))
                .clicked()
            {
                let data = to_svg(&self.diagram, lang).into_bytes();
                let path = PathBuf::from(self.export_path.trim()).with_extension("svg");
                self.start_write(ui.ctx(), "export-svg", path, data);
            }
            if ui
                .add_enabled(
                    !busy && self.diagram_rect.is_some(),
                    egui::Button::new(lang.t(Msg::LessonExportPng)),
                )
                .on_hover_text(lang.t(Msg::LessonExportPngHint))
                .clicked()
                && let Some(rect) = self.diagram_rect
            {
                let path = PathBuf::from(self.export_path.trim()).with_extension("png");
                self.export_rx = Some(crate::ui::jobs::screenshot_png(ui.ctx(), rect, path));
                self.export_result = None;
            }
        });
        crate::ui::jobs::export_result_ui(ui, lang, self.export_result.as_ref());
    }

    pub(super) fn start_write(
        &mut self,
        ctx: &egui::Context,
        name: &str,
        path: PathBuf,
        data: Vec<u8>,
    ) {
        let ctx = ctx.clone();
        match Job::start(name, Some(ctx), move || {
            crate::ui::jobs::write_file(&path, |p| std::fs::write(p, &data))
        }) {
            Ok(job) => {
                self.export_job = Some(job);
                self.export_result = None;
            }
            Err(e) => self.export_result = Some(Err(e)),
        }
    }

    pub(super) fn poll_export(&mut self) {
        if let Some(job) = &self.export_job
            && let Some(r) = job.poll()
        {
            self.export_job = None;
            if let Ok(r) = r {
                self.export_result = Some(r);
            }
        }
        if let Some(rx) = &self.export_rx {
            match rx.try_recv() {
                Ok(r) => {
                    self.export_result = Some(r);
                    self.export_rx = None;
                }
                Err(flume::TryRecvError::Disconnected) => self.export_rx = None,
                Err(flume::TryRecvError::Empty) => {}
            }
        }
    }
}
