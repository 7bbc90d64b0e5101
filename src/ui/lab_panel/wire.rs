//! The wire between the two hosts, drawn large, with the packets travelling along it; and the
//! selected packet's details.

use super::*;

/// A label's words before its numbers: `SYN+ACK`, `数据 1460 B`.
pub(super) fn segment_words(label: &str) -> String {
    let end = [" seq=", " ack="]
        .iter()
        .filter_map(|m| label.find(m))
        .min()
        .unwrap_or(label.len());
    label[..end].to_owned()
}

pub(super) fn cross(painter: &egui::Painter, at: Pos2, color: Color32) {
    let s = 6.0;
    let stroke = Stroke::new(2.5, color);
    painter.line_segment([at + vec2(-s, -s), at + vec2(s, s)], stroke);
    painter.line_segment([at + vec2(-s, s), at + vec2(s, -s)], stroke);
}

impl LabPanel {
    /// The wire, drawn large: the two hosts, a rail each way, the packets on their way.
    pub(super) fn wire_ui(&mut self, ui: &mut Ui, lang: Lang) {
        let height = if self.classroom { 84.0 } else { 120.0 };
        let (rect, _) = ui.allocate_exact_size(vec2(ui.available_width(), height), Sense::hover());
        let painter = ui.painter_at(rect);
        let visuals = ui.visuals().clone();
        let strong = visuals.strong_text_color();
        let host_w = 96.0f32.min(rect.width() * 0.18);
        let client = Rect::from_min_size(rect.min + vec2(2.0, 8.0), vec2(host_w, height - 16.0));
        let server = Rect::from_min_size(
            pos2(rect.right() - host_w - 2.0, rect.top() + 8.0),
            vec2(host_w, height - 16.0),
        );
        for (r, title, ip, host) in [
            (client, Msg::DiagramClient, "10.0.0.1", Host::Client),
            (server, Msg::DiagramServer, "10.0.0.2", Host::Server),
        ] {
            painter.rect_filled(r, 6.0, visuals.faint_bg_color);
            painter.rect_stroke(r, 6.0, Stroke::new(1.5, strong), StrokeKind::Inside);
            painter.text(
                r.center_top() + vec2(0.0, 14.0),
                Align2::CENTER_CENTER,
                lang.t(title),
                FontId::proportional(15.0),
                strong,
            );
            painter.text(
                r.center() + vec2(0.0, 2.0),
                Align2::CENTER_CENTER,
                ip,
                FontId::monospace(12.0),
                visuals.weak_text_color(),
            );
            painter.text(
                r.center_bottom() - vec2(0.0, 12.0),
                Align2::CENTER_CENTER,
                self.play.lab.state_ref(host).to_string(),
                FontId::monospace(11.0),
                state_color(&visuals),
            );
        }
        let x0 = client.right() + 8.0;
        let x1 = server.left() - 8.0;
        let rails = [rect.top() + height * 0.33, rect.top() + height * 0.72];
        for (i, y) in rails.into_iter().enumerate() {
            painter.line_segment(
                [pos2(x0, y), pos2(x1, y)],
                Stroke::new(2.0, visuals.weak_text_color()),
            );
            let (tip, dir) = if i == 0 { (x1, 1.0) } else { (x0, -1.0) };
            painter.line_segment(
                [pos2(tip, y), pos2(tip - dir * 8.0, y - 5.0)],
                Stroke::new(2.0, visuals.weak_text_color()),
            );
            painter.line_segment(
                [pos2(tip, y), pos2(tip - dir * 8.0, y + 5.0)],
                Stroke::new(2.0, visuals.weak_text_color()),
            );
        }
        let mut clock = lang.fmt(Msg::LabClock, &[("t", &self.t_ms())]);
        if self.finished() {
            clock = format!("{clock} · {}", lang.t(Msg::LabFinished));
        } else if self.clock.paused {
            clock = format!("{clock} · {}", lang.t(Msg::LabPaused));
        }
        painter.text(
            pos2((x0 + x1) / 2.0, (rails[0] + rails[1]) / 2.0),
            Align2::CENTER_CENTER,
            clock,
            FontId::monospace(13.0),
            visuals.weak_text_color(),
        );
        let now = self.play.lab.now_us();
        let delay = self.play.lab.config.wire.delay_us.max(1);
        let mut held_n = [0usize; 2];
        let mut clicked = None;
        // Packets on the wire (flying, or held at their sender however long ago they were
        // sent), and the lost ones of the last moments while they fall.
        let lab = &self.play.lab;
        let mut packets: Vec<&PacketRecord> = lab
            .on_the_wire()
            .iter()
            .filter_map(|(id, _)| lab.packet(*id))
            .collect();
        let first = self.first_packet_after(now.saturating_sub(delay * 2));
        packets.extend(
            lab.packets_from(first)
                .filter(|p| p.fate.is_gone() && p.t_us <= now),
        );
        packets.sort_by_key(|p| p.id);
        // Where each lane's last label ends: a packet whose label would cover it is drawn
        // as a small chip (a congestion window's worth of labels would be one strip).
        let mut lane_end = [f32::NEG_INFINITY; 2];
        let mut drawn: Vec<(f32, f32, Color32, &PacketRecord)> = Vec::new();
        for p in packets {
            let lane = usize::from(p.dir == Dir::S2C);
            let (from, to) = if lane == 0 { (x0, x1) } else { (x1, x0) };
            let (frac, fall, color) = match p.fate {
                Fate::Held => {
                    held_n[lane] += 1;
                    let k = held_n[lane] as f32;
                    (0.04 * k, 0.0, Color32::GRAY)
                }
                Fate::QueueFull => {
                    let age = (now - p.t_us) as f32 / delay as f32;
                    if age > 1.0 {
                        continue;
                    }
                    (0.02, age * 30.0, Color32::from_rgb(200, 40, 40))
                }
                Fate::Lost | Fate::Dropped => {
                    let f = (now - p.t_us) as f32 / delay as f32;
                    if f > 1.2 {
                        continue;
                    }
                    let fall = if f > 0.5 { (f - 0.5) * 60.0 } else { 0.0 };
                    (f.min(0.5), fall, Color32::from_rgb(200, 40, 40))
                }
                fate => {
                    let Some(at) = fate.arrives_at() else {
                        continue;
                    };
                    let at = match fate {
                        Fate::Duplicated { copy_at_us, .. } => copy_at_us.max(at),
                        _ => at,
                    };
                    if at <= now || at == p.t_us {
                        continue;
                    }
                    let f = (now - p.t_us) as f32 / (at - p.t_us) as f32;
                    let color = match fate {
                        Fate::Corrupted { .. } => Color32::from_rgb(210, 30, 30),
                        _ if lane == 0 => Color32::from_rgb(40, 100, 200),
                        _ => Color32::from_rgb(30, 140, 70),
                    };
                    (f, 0.0, color)
                }
            };
            drawn.push((from + (to - from) * frac, fall, color, p));
        }
        // Left to right in each lane, so a label is kept when it has the room.
        drawn.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut placed = Vec::with_capacity(drawn.len());
        for (x, fall, color, p) in drawn {
            let lane = usize::from(p.dir == Dir::S2C);
            let y = rails[lane];
            let label = packet_label(lang, p, &self.rel);
            let name = format!("#{} {label}", p.id);
            let galley = painter.layout_no_wrap(label, FontId::proportional(13.0), Color32::WHITE);
            let full = galley.size() + vec2(10.0, 4.0);
            let chip = vec2(12.0, full.y);
            // Labels stay on the wire, between the hosts, whatever their packet's place.
            let within = |w: f32| {
                let half = (w * 0.5).min((x1 - x0) * 0.5);
                x.clamp(x0 + half, x1 - half)
            };
            let free = within(full.x) - full.x * 0.5 > lane_end[lane] + 2.0 || fall > 0.0;
            let size = if free { full } else { chip };
            let center = pos2(within(size.x), y + fall - size.y * 0.5 - 2.0);
            let r = Rect::from_center_size(center, size);
            // A chip that would sit on the last one is drawn, but not offered to the mouse:
            // the diagram and the table reach every packet.
            let clickable = fall > 0.0 || r.left() > lane_end[lane] + 1.0;
            if fall == 0.0 {
                lane_end[lane] = lane_end[lane].max(r.right());
            }
            let alpha = if fall > 0.0 {
                (1.0 - fall / 40.0).clamp(0.1, 1.0)
            } else {
                1.0
            };
            placed.push((
                r,
                color.gamma_multiply(alpha),
                free.then_some(galley),
                clickable,
                p.id,
                name,
            ));
        }
        // Chips first, labels over them, so every label's words can be read.
        placed.sort_by_key(|(_, _, galley, ..)| galley.is_some());
        for (r, color, galley, clickable, id, name) in placed {
            painter.rect_filled(r, 5.0, color);
            if self.selected == Some(id) {
                painter.rect_stroke(
                    r.expand(2.0),
                    6.0,
                    Stroke::new(2.5, strong),
                    StrokeKind::Outside,
                );
            }
            if let Some(galley) = galley {
                painter.galley(r.min + vec2(5.0, 2.0), galley, Color32::WHITE);
            }
            if !clickable {
                continue;
            }
            let response = ui.interact(r, egui::Id::unique(("lab_packet", id)), Sense::click());
            // Named for screen readers (and the tests): "#3 ACK ack=1 win=65536".
            response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &name));
            if response.clicked() {
                clicked = Some(id);
            }
        }
        if let Some(id) = clicked {
            self.select(id);
        }
    }

    /// Index (among packets) of the first packet sent at or after `t_us`: packets enter the
    /// wire in time order, so a binary search over their ids.
    pub(super) fn first_packet_after(&self, t_us: u64) -> usize {
        let lab = &self.play.lab;
        let (mut lo, mut hi) = (0, lab.packet_count());
        while lo < hi {
            let mid = (lo + hi) / 2;
            let t = lab.packet(mid as u64 + 1).map_or(u64::MAX, |p| p.t_us);
            if t < t_us {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// What can be done to the selected packet.
    pub(super) fn selection_ui(&mut self, ui: &mut Ui, lang: Lang) {
        let Some(id) = self.selected else {
            if !self.classroom {
                ui.weak(lang.t(Msg::LabPickPacket));
            }
            return;
        };
        let Some(p) = self.play.lab.packet(id).cloned() else {
            self.selected = None;
            return;
        };
        let on_wire = self.play.lab.on_the_wire();
        let here = on_wire.iter().find(|(i, _)| *i == id).copied();
        ui.horizontal_wrapped(|ui| {
            ui.label(
                RichText::new(lang.fmt(
                    Msg::LabSelected,
                    &[
                        ("id", &id),
                        ("label", &packet_label(lang, &p, &self.rel)),
                        ("fate", &fate_text(lang, p.fate)),
                    ],
                ))
                .strong(),
            );
            match here {
                None => {
                    ui.weak(lang.t(Msg::LabGone));
                }
                Some((_, at)) => {
                    let mut action = None;
                    if at.is_none() && ui.button(lang.t(Msg::LabDeliver)).clicked() {
                        action = Some(Action::Deliver);
                    }
                    if ui.button(lang.t(Msg::LabDrop)).clicked() {
                        action = Some(Action::Drop);
                    }
                    if at.is_some() {
                        if ui.button(lang.t(Msg::LabCorruptIt)).clicked() {
                            action = Some(Action::Corrupt);
                        }
                        if ui.button(lang.t(Msg::LabDelayIt)).clicked() {
                            action = Some(Action::Delay(100_000));
                        }
                        if ui.button(lang.t(Msg::LabDuplicateIt)).clicked() {
                            action = Some(Action::Duplicate);
                        }
                    }
                    if let Some(a) = action {
                        self.act(id, a);
                    }
                }
            }
        });
    }
}
