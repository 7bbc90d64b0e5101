//! The packet table, which selects with the diagram, and the findings.

use super::*;

impl LabPanel {
    /// Every packet: time, direction, segment, seq, ack, win, len, fate.
    pub(super) fn table_ui(&mut self, ui: &mut Ui, lang: Lang) {
        let n = self.diagram.arrows.len();
        if n == 0 {
            ui.weak(lang.t(Msg::LabNoPackets));
            return;
        }
        let row_h = 18.0;
        // Direction as an arrow, as the lanes are drawn: client on the left, server on the right.
        let cols = [52.0, 22.0, 118.0, 52.0, 52.0, 52.0, 36.0];
        ui.spacing_mut().item_spacing.x = 4.0;
        ui.horizontal(|ui| {
            for (w, m) in cols.iter().zip([
                lang.t(Msg::LabColTime),
                "",
                lang.t(Msg::LabColSegment),
                "seq",
                "ack",
                "win",
                "len",
            ]) {
                ui.add_sized([*w, row_h], egui::Label::new(RichText::new(m).strong()));
            }
            ui.add(egui::Label::new(RichText::new(lang.t(Msg::LabColFate)).strong()).truncate());
        });
        // Rows as wide as the view: the fate, last, keeps what room is left (its whole
        // words on hover) rather than running off the window's edge.
        let mut area = egui::ScrollArea::vertical()
            .id_salt("lab_table")
            .auto_shrink([false, false]);
        if let Some(i) = self.table_to.take() {
            let spacing = ui.spacing().item_spacing.y;
            area = area.vertical_scroll_offset(((i as f32) - 3.0).max(0.0) * (row_h + spacing));
        }
        let mut clicked = None;
        area.show_rows(ui, row_h, n, |ui, range| {
            for i in range {
                let Some(a) = self.diagram.arrows.get(i) else {
                    break;
                };
                let Some(p) = self.play.lab.packet(a.id) else {
                    continue;
                };
                let selected = self.selected == Some(p.id);
                let (seq, ack) = self.rel.numbers(p).unwrap_or((0, None));
                let (seq, ack, win, len) = match &p.tcp {
                    Some(t) => (
                        seq.to_string(),
                        ack.map_or(String::new(), |a| a.to_string()),
                        self.rel.window(p).to_string(),
                        t.len.to_string(),
                    ),
                    None => (
                        String::new(),
                        String::new(),
                        String::new(),
                        p.udp.as_ref().map_or(0, |u| u.len).to_string(),
                    ),
                };
                let row = ui.horizontal(|ui| {
                    let cells = [
                        format!("{:.1}", p.t_us as f64 / 1000.0),
                        match p.dir {
                            Dir::C2S => "→".to_owned(),
                            Dir::S2C => "←".to_owned(),
                        },
                        segment_words(&a.label),
                        seq,
                        ack,
                        win,
                        len,
                    ];
                    for (w, c) in cols.iter().zip(cells) {
                        let text = if selected {
                            RichText::new(c)
                                .strong()
                                .color(ui.visuals().selection.stroke.color)
                        } else {
                            RichText::new(c)
                        };
                        ui.add_sized([*w, row_h], egui::Label::new(text).truncate());
                    }
                    let mut fate = fate_text(lang, p.fate).to_owned();
                    if p.retransmission {
                        fate = format!("{fate} · {}", lang.t(Msg::LabRetransmission));
                    }
                    ui.add(egui::Label::new(fate.as_str()).truncate())
                        .on_hover_text(fate);
                });
                let r = row.response.rect;
                if selected {
                    ui.painter().rect_filled(
                        r,
                        2.0,
                        ui.visuals().selection.bg_fill.gamma_multiply(0.25),
                    );
                }
                if ui
                    .interact(r, egui::Id::unique(("lab_row", p.id)), Sense::click())
                    .clicked()
                {
                    clicked = Some(p.id);
                }
            }
        });
        if let Some(id) = clicked {
            self.selected = Some(id);
        }
    }

    pub(super) fn findings_fold(&mut self, ui: &mut Ui, lang: Lang) {
        let n = self.findings.len();
        ui.menu_button(format!("{} ({n})", lang.t(Msg::LabFindings)), |ui| {
            ui.set_max_width(560.0);
            self.findings_ui(ui, lang);
        });
    }

    pub(super) fn findings_ui(&mut self, ui: &mut Ui, lang: Lang) {
        if let Some(s) = self.scenario {
            ui.label(RichText::new(lang.t(Msg::LabWhat)).strong());
            ui.label(lang.t(lab_explanation(s)));
        } else {
            ui.label(lang.t(Msg::LabManualHint));
        }
        if let Some(e) = &self.other_error {
            ui.colored_label(
                ui.visuals().error_fg_color,
                crate::i18n::describe_error(lang, e),
            );
        }
        if !self.findings.is_empty() {
            ui.label(RichText::new(lang.t(Msg::LabFindings)).strong());
            egui::ScrollArea::vertical()
                .id_salt("lab_findings")
                .max_height(if self.classroom { 400.0 } else { 220.0 })
                .show(ui, |ui| {
                    for f in &self.findings {
                        ui.label(format!("• {}", finding_text(lang, f)));
                    }
                });
        }
    }
}
