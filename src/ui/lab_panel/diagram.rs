//! The sequence diagram of the real segments, and the chart of the client's windows.

use super::*;

pub(super) fn arrow_head(painter: &egui::Painter, from: Pos2, to: Pos2, color: Color32) {
    let dir = (to - from).normalized();
    let side = vec2(-dir.y, dir.x);
    let a = to - dir * 9.0 + side * 4.5;
    let b = to - dir * 9.0 - side * 4.5;
    painter.add(egui::Shape::convex_polygon(
        vec![to, a, b],
        color,
        Stroke::NONE,
    ));
}

impl LabPanel {
    /// The sequence diagram of the real segments, time downward.
    pub(super) fn diagram_ui(&mut self, ui: &mut Ui, lang: Lang) {
        let visuals = ui.visuals().clone();
        let strong = visuals.strong_text_color();
        let width = ui.available_width().max(320.0);
        let head_h = 24.0;
        let (head, _) = ui.allocate_exact_size(vec2(width, head_h), Sense::hover());
        let xs = lane_xs(width).map(|x| head.left() + x);
        for (x, title) in [(xs[0], Msg::DiagramClient), (xs[1], Msg::DiagramServer)] {
            ui.painter().text(
                pos2(x, head.center().y),
                Align2::CENTER_CENTER,
                lang.t(title),
                FontId::proportional(15.0),
                strong,
            );
        }
        let now_y = self.diagram.y_at(self.play.lab.now_us());
        let mut area = egui::ScrollArea::vertical()
            .id_salt("lab_diagram")
            .auto_shrink([false, false]);
        if self.to_top {
            area = area.vertical_scroll_offset(0.0);
            self.to_top = false;
        } else if !self.clock.paused && !self.finished() {
            // Follow the present while playing; paused, the teacher may scroll back.
            let view_h = ui.available_height();
            if now_y > view_h - 30.0 {
                area = area.vertical_scroll_offset(now_y - view_h + 30.0);
            }
        }
        let d = &self.diagram;
        let mut clicked = None;
        let output = area.show_viewport(ui, |ui, viewport| {
            let total = d.height.max(now_y + 40.0);
            let (rect, _) = ui.allocate_exact_size(vec2(width, total), Sense::hover());
            let painter = ui.painter_at(rect);
            let top = viewport.top();
            let bottom = viewport.bottom();
            let y = |v: f32| rect.top() + v;
            let lane_stroke = Stroke::new(1.0, visuals.weak_text_color());
            for x in xs {
                painter.line_segment(
                    [pos2(x, y(top.max(0.0))), pos2(x, y(bottom.min(total)))],
                    lane_stroke,
                );
            }
            for g in d
                .gaps
                .iter()
                .filter(|g| g.y >= top - 20.0 && g.y <= bottom + 20.0)
            {
                painter.text(
                    pos2((xs[0] + xs[1]) / 2.0, y(g.y)),
                    Align2::CENTER_CENTER,
                    format!("⋯ {:.0} ms ⋯", g.ms),
                    FontId::proportional(12.0),
                    visuals.weak_text_color(),
                );
            }
            let mut placed: Vec<Rect> = Vec::new();
            for a in d.arrows_in(top - 20.0, bottom + 20.0) {
                let (x0, x1) = match a.dir {
                    Dir::C2S => (xs[0], xs[1]),
                    Dir::S2C => (xs[1], xs[0]),
                };
                let red = Color32::from_rgb(210, 40, 40);
                let (xe, color) = match a.end {
                    End::Arrived => (x1, strong),
                    End::Corrupted => (x1, red),
                    End::Lost => ((x0 + x1) / 2.0, red),
                    End::QueueFull => (x0 + (x1 - x0) * 0.1, red),
                    End::Held => (x0 + (x1 - x0) * 0.1, Color32::GRAY),
                };
                let selected = self.selected == Some(a.id);
                let w = if selected { 3.5 } else { 1.5 };
                let color = if selected {
                    visuals.selection.bg_fill
                } else {
                    color
                };
                let p0 = pos2(x0, y(a.y0));
                let p1 = pos2(xe, y(a.y1));
                painter.line_segment([p0, p1], Stroke::new(w, color));
                if matches!(a.end, End::Arrived | End::Corrupted) {
                    arrow_head(&painter, p0, p1, color);
                }
                if matches!(a.end, End::Lost | End::QueueFull) {
                    cross(&painter, p1, red);
                }
                if let Some(cy) = a.copy_y {
                    painter.line_segment(
                        [p0, pos2(x1, y(cy))],
                        Stroke::new(1.0, color.gamma_multiply(0.6)),
                    );
                }
                let galley =
                    painter.layout_no_wrap(a.label.clone(), FontId::proportional(13.0), color);
                // The label sits above the middle of its arrow, or further along it where a
                // burst's labels would cover each other; with no free place, the arrow goes
                // without (the table has every packet).
                let Some(r) = [0.5f32, 0.3, 0.7, 0.15, 0.85]
                    .into_iter()
                    .map(|t| {
                        let at = p0 + (p1 - p0) * t - vec2(0.0, 12.0);
                        Rect::from_center_size(at, galley.size())
                    })
                    .find(|r| {
                        // Apart by more than their click areas reach (2 points each side).
                        placed
                            .iter()
                            .all(|q: &Rect| !q.intersects(r.expand2(vec2(5.0, 1.0))))
                    })
                else {
                    continue;
                };
                placed.push(r);
                // A veil behind the label, so the arrows under it do not cross the words.
                painter.rect_filled(r.expand(1.0), 2.0, visuals.panel_fill.gamma_multiply(0.85));
                painter.galley(r.min, galley, color);
                let response = ui.interact(
                    r.expand2(vec2(2.0, 0.0)),
                    egui::Id::unique(("lab_arrow", a.id)),
                    Sense::click(),
                );
                response.widget_info(|| {
                    egui::WidgetInfo::labeled(
                        egui::Role::Button,
                        true,
                        format!("#{} {}", a.id, a.label),
                    )
                });
                if response.clicked() {
                    clicked = Some(a.id);
                }
            }
            for b in d
                .states
                .iter()
                .filter(|b| b.y >= top - 20.0 && b.y <= bottom + 20.0)
            {
                let x = xs[usize::from(b.host == Host::Server)];
                let galley = painter.layout_no_wrap(
                    b.text.clone(),
                    FontId::monospace(11.0),
                    state_color(&visuals),
                );
                let size = galley.size() + vec2(8.0, 2.0);
                let r = match b.host {
                    Host::Client => {
                        Rect::from_min_size(pos2(x - size.x - 6.0, y(b.y) - size.y / 2.0), size)
                    }
                    Host::Server => Rect::from_min_size(pos2(x + 6.0, y(b.y) - size.y / 2.0), size),
                };
                painter.rect_filled(r, 3.0, visuals.extreme_bg_color);
                painter.rect_stroke(
                    r,
                    3.0,
                    Stroke::new(1.0, state_color(&visuals)),
                    StrokeKind::Inside,
                );
                painter.galley(r.min + vec2(4.0, 1.0), galley, state_color(&visuals));
            }
            if !self.finished() {
                painter.line_segment(
                    [pos2(rect.left(), y(now_y)), pos2(rect.right(), y(now_y))],
                    Stroke::new(1.0, visuals.selection.bg_fill.gamma_multiply(0.7)),
                );
            }
        });
        self.diagram_rect = Some(output.inner_rect);
        if let Some(id) = clicked {
            self.select(id);
        }
        if self.diagram.arrows.is_empty() {
            ui.weak(lang.t(Msg::LabPick));
        }
    }

    /// cwnd, bytes in flight and the receiver's window, over virtual time.
    pub(super) fn chart_ui(&mut self, ui: &mut Ui, lang: Lang) {
        if self.series.in_flight.is_empty() {
            ui.weak(lang.t(Msg::LabChartEmpty));
            return;
        }
        ui.weak(lang.t(Msg::LabChartNote));
        let height = (ui.available_height() - 8.0).max(160.0);
        Plot::new("lab_windows")
            .height(height)
            .legend(Legend::default())
            .x_axis_label(lang.t(Msg::LabColTime))
            .allow_scroll(false)
            .show(ui, |p| {
                p.line(Line::new(lang.t(Msg::LabRwnd), self.series.rwnd.clone()));
                p.line(Line::new(
                    lang.t(Msg::LabInFlight),
                    self.series.in_flight.clone(),
                ));
                p.points(Points::new(lang.t(Msg::LabCwnd), self.series.cwnd.clone()).radius(2.5));
            });
    }
}
