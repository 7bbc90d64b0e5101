//! Exporting the record (pcap, the diagram as SVG or PNG), written off the UI thread.

use super::*;

impl LabPanel {
    pub(super) fn export_ui(&mut self, ui: &mut Ui, lang: Lang) {
        self.exports.path_ui(ui, lang, 230.0);
        ui.horizontal_wrapped(|ui| {
            if ui
                .add_enabled(
                    !self.exports.busy(),
                    egui::Button::new(lang.t(Msg::LabExportPcap)),
                )
                .on_hover_text(lang.t(Msg::LabExportHint))
                .clicked()
            {
                let data = crate::lab::pcap::to_pcapng(self.play.lab.packets());
                let path = self.exports.target().with_extension("pcapng");
                self.exports.write(ui.ctx(), "export-pcapng", path, data);
            }
            let svg_path = self.exports.target().with_extension("svg");
            let diagram = &self.diagram;
            self.exports.diagram_buttons_ui(
                ui,
                lang,
                (svg_path, || to_svg(diagram, lang)),
                self.diagram_rect,
            );
        });
        self.exports.result_ui(ui, lang);
    }
}
