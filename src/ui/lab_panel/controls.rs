//! The Lab's controls: the view picker, the side column (the wire's settings, the
//! applications' commands), and play, pause, step and speed.

use super::*;

impl LabPanel {
    /// Tabs for the views on offer.
    pub(super) fn view_picker(&mut self, ui: &mut Ui, lang: Lang, views: &[LabView]) {
        for &v in views {
            let m = match v {
                LabView::Diagram => Msg::LabViewDiagram,
                LabView::Chart => Msg::LabViewChart,
                LabView::Table => Msg::LabViewTable,
            };
            ui.selectable_value(&mut self.view, v, RichText::new(lang.t(m)).strong());
        }
    }

    /// The scenario list, the wire's settings, the applications and the export.
    pub(super) fn side_ui(&mut self, ui: &mut Ui, lang: Lang) {
        for s in Scenario::ALL {
            let selected = self.scenario == Some(s);
            let button = egui::Button::selectable(selected, lang.t(lab_title(s)));
            if ui.add_sized([230.0, 22.0], button).clicked() {
                self.run(s);
            }
        }
        let button = egui::Button::selectable(self.scenario.is_none(), lang.t(Msg::LabManual));
        if ui
            .add_sized([230.0, 22.0], button)
            .on_hover_text(lang.t(Msg::LabManualHint))
            .clicked()
        {
            self.manual();
        }
        ui.separator();
        egui::CollapsingHeader::new(RichText::new(lang.t(Msg::LabWire)).strong())
            .id_salt("lab_wire")
            .default_open(true)
            .show(ui, |ui| self.wire_settings_ui(ui, lang));
        egui::CollapsingHeader::new(RichText::new(lang.t(Msg::LabApps)).strong())
            .id_salt("lab_apps")
            .default_open(self.scenario.is_none())
            .show(ui, |ui| self.apps_ui(ui, lang));
        ui.separator();
        self.export_ui(ui, lang);
    }

    pub(super) fn wire_settings_ui(&mut self, ui: &mut Ui, lang: Lang) {
        let mut w = self.wire;
        let mut delay_ms = w.delay_us as f64 / 1000.0;
        let mut rate = w.rate_bps / 1000;
        egui::Grid::new("lab_wire_grid")
            .num_columns(2)
            .show(ui, |ui| {
                let l = ui.label(lang.t(Msg::LabDelay)).id;
                ui.add(
                    egui::DragValue::new(&mut delay_ms)
                        .range(0.0..=2000.0)
                        .speed(1.0),
                )
                .labelled_by(l);
                ui.end_row();
                let l2 = ui.label(lang.t(Msg::LabRate)).id;
                ui.add(
                    egui::DragValue::new(&mut rate)
                        .range(0..=1_000_000)
                        .speed(10.0),
                )
                .labelled_by(l2);
                ui.end_row();
                let l3 = ui.label(lang.t(Msg::LabQueue)).id;
                ui.add(egui::DragValue::new(&mut w.queue_pkts).range(1..=10_000))
                    .labelled_by(l3);
                ui.end_row();
                for (m, v) in [
                    (Msg::LabLoss, &mut w.loss_pct),
                    (Msg::LabCorrupt, &mut w.corrupt_pct),
                    (Msg::LabDuplicate, &mut w.duplicate_pct),
                    (Msg::LabReorder, &mut w.reorder_pct),
                ] {
                    let l = ui.label(lang.t(m)).id;
                    ui.add(egui::DragValue::new(v).range(0.0..=100.0).speed(0.5))
                        .labelled_by(l);
                    ui.end_row();
                }
            });
        ui.checkbox(&mut w.hold, lang.t(Msg::LabHold))
            .on_hover_text(lang.t(Msg::LabHoldHint));
        w.delay_us = (delay_ms * 1000.0) as u64;
        w.rate_bps = rate * 1000;
        if w != self.wire {
            self.wire = w;
            self.play.lab.set_wire(w);
        }
        ui.horizontal(|ui| {
            let l = ui.label(lang.t(Msg::LabSeed)).id;
            ui.add(egui::DragValue::new(&mut self.seed)).labelled_by(l);
        });
        ui.horizontal_wrapped(|ui| {
            ui.label(lang.t(Msg::LabCongestionAlgo));
            for c in [Congestion::Reno, Congestion::Cubic] {
                ui.selectable_value(&mut self.congestion, c, c.name());
            }
        });
        ui.weak(lang.t(Msg::LabNextRun));
    }

    pub(super) fn apps_ui(&mut self, ui: &mut Ui, lang: Lang) {
        let lab = &mut self.play.lab;
        for host in [Host::Client, Host::Server] {
            ui.label(RichText::new(crate::model::lab::host_text(lang, host)).strong());
            let state = lab.state(host).to_string();
            let unread = lab.unread(host);
            let app = lab.app(host);
            ui.weak(lang.fmt(
                Msg::LabAppLine,
                &[
                    ("state", &state),
                    ("read", &app.received),
                    ("unread", &unread),
                    ("unsent", &app.unsent()),
                ],
            ));
            let reading = app.reading;
            let echo = app.mode == AppMode::Echo;
            let mut commands = Vec::new();
            ui.horizontal_wrapped(|ui| {
                match host {
                    Host::Client => {
                        if ui.button("connect()").clicked() {
                            commands.push(Command::Connect);
                        }
                    }
                    Host::Server => {
                        if ui.button("listen()").clicked() {
                            commands.push(Command::Listen);
                        }
                    }
                }
                if ui.button("shutdown()").clicked() {
                    commands.push(Command::Shutdown(host));
                }
                if ui.button("close()").clicked() {
                    commands.push(Command::Close(host));
                }
                if ui.button(lang.t(Msg::LabAbort)).clicked() {
                    commands.push(Command::Abort(host));
                }
                let (m, on) = if reading {
                    (Msg::LabStopReading, false)
                } else {
                    (Msg::LabResumeReading, true)
                };
                if ui.button(lang.t(m)).clicked() {
                    commands.push(Command::SetReading(host, on));
                }
                let mut e = echo;
                if ui.checkbox(&mut e, lang.t(Msg::LabEcho)).changed() {
                    let mode = if e { AppMode::Echo } else { AppMode::Sink };
                    commands.push(Command::SetMode(host, mode));
                }
            });
            ui.horizontal_wrapped(|ui| {
                let encoded = self.encoding.encode(&self.text);
                if ui
                    .add_enabled(encoded.is_ok(), egui::Button::new(lang.t(Msg::LabSendText)))
                    .clicked()
                    && let Ok(bytes) = &encoded
                {
                    commands.push(Command::Send(host, bytes.clone()));
                }
                if ui
                    .add_enabled(encoded.is_ok(), egui::Button::new(lang.t(Msg::LabSendTo)))
                    .clicked()
                    && let Ok(bytes) = encoded
                {
                    commands.push(Command::SendTo(host, bytes));
                }
                if ui.button(lang.t(Msg::LabSendBytes)).clicked() {
                    commands.push(Command::SendBulk(host, self.bulk));
                }
            });
            for c in commands {
                lab.apply(c);
            }
            if let Some((h, err)) = lab.last_error
                && h == host
            {
                ui.colored_label(ui.visuals().error_fg_color, call_error_text(lang, err));
            }
            ui.add_space(4.0);
        }
        let l = ui.label(lang.t(Msg::LabSendText)).id;
        ui.add(egui::TextEdit::singleline(&mut self.text).desired_width(220.0))
            .labelled_by(l);
        ui.horizontal(|ui| {
            for e in [TextEncoding::Utf8, TextEncoding::Gbk] {
                ui.selectable_value(&mut self.encoding, e, e.label());
            }
            let l = ui.label(lang.t(Msg::LabSendBytes)).id;
            ui.add(
                egui::DragValue::new(&mut self.bulk)
                    .range(1..=MAX_BULK)
                    .suffix(" B"),
            )
            .labelled_by(l);
        });
    }

    /// The scenario as a drop-down (classroom mode, where the list does not show).
    pub(super) fn scenario_line_ui(&mut self, ui: &mut Ui, lang: Lang) {
        let current = self
            .scenario
            .map_or(lang.t(Msg::LabManual), |s| lang.t(lab_title(s)));
        let mut picked = None;
        egui::ComboBox::from_id_salt("lab_scenario")
            .selected_text(RichText::new(current).strong())
            .show_ui(ui, |ui| {
                for s in Scenario::ALL {
                    if ui
                        .selectable_label(self.scenario == Some(s), lang.t(lab_title(s)))
                        .clicked()
                    {
                        picked = Some(s);
                    }
                }
            });
        if let Some(s) = picked {
            self.run(s);
        }
    }

    /// Play, pause, step, run again, the speed; with every packet held, deliver the next.
    pub(super) fn controls_ui(&mut self, ui: &mut Ui, lang: Lang) {
        {
            let playing = !self.clock.paused;
            let (m, pause) = if playing {
                (Msg::LabPause, true)
            } else {
                (Msg::LabPlay, false)
            };
            if ui.button(RichText::new(lang.t(m)).strong()).clicked() {
                self.clock.paused = pause;
            }
            if ui
                .button(RichText::new(lang.t(Msg::LabStep)).strong())
                .on_hover_text(lang.t(Msg::LabStepHint))
                .clicked()
            {
                self.step();
            }
            if ui.button(lang.t(Msg::LabRestart)).clicked() {
                match self.scenario {
                    Some(s) => self.run(s),
                    None => self.manual(),
                }
            }
            ui.label(lang.t(Msg::LabSpeed));
            if ui
                .small_button("−")
                .on_hover_text(lang.t(Msg::LabSlower))
                .clicked()
            {
                self.clock.slower();
            }
            ui.monospace(format!("{}×", self.clock.speed));
            if ui
                .small_button("+")
                .on_hover_text(lang.t(Msg::LabFaster))
                .clicked()
            {
                self.clock.faster();
            }
            if self.wire.hold {
                let held = self
                    .play
                    .lab
                    .on_the_wire()
                    .iter()
                    .filter(|(_, at)| at.is_none())
                    .count();
                if ui
                    .add_enabled(
                        held > 0,
                        egui::Button::new(lang.fmt(Msg::LabDeliverNext, &[("n", &held)])),
                    )
                    .clicked()
                {
                    self.play.lab.deliver_next_held();
                    self.dirty = true;
                }
            }
        }
    }
}
