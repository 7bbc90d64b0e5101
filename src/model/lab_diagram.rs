//! The lab's sequence diagram, laid out once and drawn by the panel (only the part in view)
//! or written whole as SVG: two lanes, time downward, one solid arrow per real segment from
//! the moment it entered the wire to the moment it arrived (slanted by the delay), the
//! hosts' states as boxes on their lanes.
//!
//! Time runs down at a fixed scale, except that every moment something happens gets at least
//! a label's height, and a quiet stretch longer than a few labels is cut short and marked with
//! its length (a 1 s retransmission timeout does not push the rest off the screen).

use crate::i18n::Lang;
use crate::lab::report::{Rel, state_name};
use crate::lab::{Dir, Event, Fate, Host, Lab};
use crate::model::lab::packet_label;

/// Points per millisecond of virtual time, where nothing is cut or stretched.
pub const PX_PER_MS: f32 = 2.0;
/// The least room between two moments with something to label.
pub const ROW: f32 = 18.0;
/// A quiet stretch longer than twice this is cut to this height (and marked).
pub const MAX_GAP: f32 = 70.0;
/// Above the first moment: room for the first label.
pub const TOP: f32 = 22.0;

/// How an arrow ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// At the receiver's lane.
    Arrived,
    /// Halfway, with a cross: lost or dropped.
    Lost,
    /// Before the link, with a cross: the bottleneck's queue was full.
    QueueFull,
    /// At the receiver's lane, in red: the checksum fails there.
    Corrupted,
    /// Not yet sent on (held by the teacher).
    Held,
}

/// One segment's arrow, in diagram coordinates (y down from the top, in points).
#[derive(Debug, Clone, PartialEq)]
pub struct Arrow {
    pub id: u64,
    pub dir: Dir,
    pub y0: f32,
    pub y1: f32,
    pub end: End,
    pub label: String,
    pub retransmission: bool,
    /// Duplicated on the wire: a second, thin arrow arrives at `y2`.
    pub copy_y: Option<f32>,
}

/// A host's new TCP state, as a box on its lane.
#[derive(Debug, Clone, PartialEq)]
pub struct StateBox {
    pub host: Host,
    pub y: f32,
    pub text: String,
}

/// A cut in a quiet stretch: where, and how long it really was.
#[derive(Debug, Clone, PartialEq)]
pub struct Gap {
    pub y: f32,
    pub ms: f64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabDiagram {
    pub arrows: Vec<Arrow>,
    pub states: Vec<StateBox>,
    pub gaps: Vec<Gap>,
    /// Moments (µs) and their y, in order: the time axis.
    keys: Vec<(u64, f32)>,
    pub height: f32,
    /// How many events of the record it was built from.
    pub built_from: usize,
}

impl LabDiagram {
    /// Lays out the whole record.
    pub fn build(lab: &Lab, lang: Lang) -> Self {
        let rel = Rel::of(lab);
        let half = lab.config.wire.delay_us / 2;
        // Every moment something is drawn: (time, kind, direction, packet index). Sends and
        // arrivals at one instant each get a row of their own per direction, so a burst of
        // segments is drawn as parallel arrows, not one on top of another.
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
        enum Kind {
            Arrive,
            Send,
            Fall,
        }
        let packets: Vec<&crate::lab::PacketRecord> = lab.packets().collect();
        let mut moments: Vec<(u64, Kind, usize, usize)> = Vec::with_capacity(packets.len() * 2);
        for (i, p) in packets.iter().enumerate() {
            let dir = usize::from(p.dir == Dir::S2C);
            moments.push((p.t_us, Kind::Send, dir, i));
            if let Some(at) = p.fate.arrives_at() {
                moments.push((at, Kind::Arrive, dir, i));
            }
            if p.fate.is_gone() && p.fate != Fate::QueueFull {
                moments.push((p.t_us + half, Kind::Fall, dir, i));
            }
        }
        moments.sort_unstable_by_key(|m| (m.0, m.1, m.3));
        let mut send_y = vec![0.0f32; packets.len()];
        let mut end_y = vec![f32::NAN; packets.len()];
        let mut keys: Vec<(u64, f32)> = Vec::new();
        let mut gaps = Vec::new();
        let mut bottom = TOP - ROW;
        let mut i = 0;
        while i < moments.len() {
            let t = moments[i].0;
            let group_end = i + moments[i..].iter().take_while(|m| m.0 == t).count();
            let labelled = moments[i..group_end].iter().any(|m| m.1 == Kind::Send);
            // Where this instant begins: after the last one, by the time between them.
            let base = match keys.last() {
                None => TOP,
                Some(&(last_t, _)) => {
                    let dt_ms = (t - last_t) as f64 / 1000.0;
                    let natural = dt_ms as f32 * PX_PER_MS;
                    // Only a stretch worth cutting is cut (and marked): up to twice the cut
                    // height it is drawn to scale.
                    let step = if natural > 2.0 * MAX_GAP {
                        gaps.push(Gap {
                            y: bottom + MAX_GAP / 2.0,
                            ms: dt_ms,
                        });
                        MAX_GAP
                    } else {
                        natural
                    };
                    let least = if labelled { ROW } else { 2.0 };
                    bottom + step.max(least)
                }
            };
            let mut rows = [[0usize; 2]; 3];
            let mut deepest = base;
            for &(_, kind, dir, p) in &moments[i..group_end] {
                let k = kind as usize;
                let y = base + rows[k][dir] as f32 * ROW;
                rows[k][dir] += 1;
                deepest = deepest.max(y);
                match kind {
                    Kind::Send => send_y[p] = y,
                    Kind::Arrive | Kind::Fall => end_y[p] = y,
                }
            }
            keys.push((t, base));
            bottom = deepest;
            i = group_end;
        }
        let mut d = LabDiagram {
            keys,
            gaps,
            ..Default::default()
        };
        for (i, p) in packets.iter().enumerate() {
            let y0 = send_y[i];
            let y1 = if end_y[i].is_nan() { y0 } else { end_y[i] };
            let end = match p.fate {
                Fate::Delivered { .. }
                | Fate::Reordered { .. }
                | Fate::Delayed { .. }
                | Fate::Duplicated { .. } => End::Arrived,
                Fate::Corrupted { .. } => End::Corrupted,
                Fate::Lost | Fate::Dropped => End::Lost,
                Fate::QueueFull => End::QueueFull,
                Fate::Held => End::Held,
            };
            let copy_y = match p.fate {
                Fate::Duplicated { copy_at_us, .. } => Some(d.y_at(copy_at_us)),
                _ => None,
            };
            d.arrows.push(Arrow {
                id: p.id,
                dir: p.dir,
                y0,
                y1,
                end,
                label: if p.retransmission {
                    format!(
                        "{} · {}",
                        packet_label(lang, p, &rel),
                        lang.t(crate::i18n::Msg::LabRetransmission)
                    )
                } else if p.zero_window_probe {
                    format!(
                        "{} · {}",
                        packet_label(lang, p, &rel),
                        lang.t(crate::i18n::Msg::LabProbe)
                    )
                } else {
                    packet_label(lang, p, &rel)
                },
                retransmission: p.retransmission,
                copy_y,
            });
        }
        for e in &lab.record {
            if let Event::State { t_us, host, state } = e {
                d.states.push(StateBox {
                    host: *host,
                    y: d.y_at(*t_us),
                    text: state_name(*state),
                });
            }
        }
        d.height = bottom + ROW * 2.0;
        d.built_from = lab.record.len();
        d
    }

    /// Where virtual time `t_us` falls (between moments: in proportion; after the last:
    /// at the natural scale, up to one cut).
    pub fn y_at(&self, t_us: u64) -> f32 {
        let i = self.keys.partition_point(|k| k.0 <= t_us);
        match (i.checked_sub(1).map(|j| self.keys[j]), self.keys.get(i)) {
            (Some((t0, y0)), Some(&(t1, y1))) => {
                if t1 == t0 {
                    y0
                } else {
                    y0 + (y1 - y0) * ((t_us - t0) as f32 / (t1 - t0) as f32)
                }
            }
            (Some((t0, y0)), None) => {
                y0 + (((t_us - t0) as f32 / 1000.0) * PX_PER_MS).min(2.0 * MAX_GAP)
            }
            (None, _) => TOP,
        }
    }

    /// The arrows that cross the band from `top` to `bottom` (the part in view).
    pub fn arrows_in(&self, top: f32, bottom: f32) -> impl Iterator<Item = &Arrow> {
        // Arrows are in the order they were sent, so y0 only grows; a long flight starts at
        // most one cut above the band.
        let from = self.arrows.partition_point(|a| a.y0 < top - MAX_GAP * 8.0);
        self.arrows[from..]
            .iter()
            .take_while(move |a| a.y0 <= bottom)
            .filter(move |a| a.y1.max(a.copy_y.unwrap_or(0.0)) >= top)
    }

    pub fn arrow(&self, id: u64) -> Option<&Arrow> {
        self.arrows
            .binary_search_by_key(&id, |a| a.id)
            .ok()
            .map(|i| &self.arrows[i])
    }
}

/// Lane positions across a figure of `width`: the client's and the server's x.
pub fn lane_xs(width: f32) -> [f32; 2] {
    [width * 0.24, width * 0.76]
}

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The whole diagram as an SVG document.
pub fn to_svg(d: &LabDiagram, lang: Lang) -> String {
    use std::fmt::Write as _;
    let width = 900.0f32;
    let head = 50.0f32;
    let [cx, sx] = lane_xs(width);
    let height = d.height + head;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"13\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <defs><marker id=\"a\" markerWidth=\"10\" markerHeight=\"8\" refX=\"9\" refY=\"4\" \
         orient=\"auto\"><path d=\"M0,0 L10,4 L0,8 z\" fill=\"#333\"/></marker></defs>\n"
    );
    let client = format!("{} 10.0.0.1", lang.t(crate::i18n::Msg::DiagramClient));
    let server = format!("{} 10.0.0.2", lang.t(crate::i18n::Msg::DiagramServer));
    for (x, title) in [(cx, &client), (sx, &server)] {
        let _ = writeln!(
            s,
            "<text x=\"{x}\" y=\"24\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>\
             <line x1=\"{x}\" y1=\"{head}\" x2=\"{x}\" y2=\"{height}\" stroke=\"#999\"/>",
            esc(title)
        );
    }
    for g in &d.gaps {
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#777\">⋯ {:.0} ms ⋯</text>",
            width / 2.0,
            g.y + head,
            g.ms
        );
    }
    for a in &d.arrows {
        let (x0, x1) = match a.dir {
            Dir::C2S => (cx, sx),
            Dir::S2C => (sx, cx),
        };
        let (y0, y1) = (a.y0 + head, a.y1 + head);
        let (xe, color) = match a.end {
            End::Arrived => (x1, "#333"),
            End::Corrupted => (x1, "#c00"),
            End::Lost => ((x0 + x1) / 2.0, "#c00"),
            End::QueueFull => (x0 + (x1 - x0) * 0.1, "#c00"),
            End::Held => (x0 + (x1 - x0) * 0.1, "#888"),
        };
        let _ = writeln!(
            s,
            "<line x1=\"{x0}\" y1=\"{y0}\" x2=\"{xe}\" y2=\"{y1}\" stroke=\"{color}\" \
             stroke-width=\"1.5\"{}/>",
            if matches!(a.end, End::Arrived | End::Corrupted) {
                " marker-end=\"url(#a)\""
            } else {
                ""
            }
        );
        if matches!(a.end, End::Lost | End::QueueFull) {
            let _ = writeln!(
                s,
                "<text x=\"{xe}\" y=\"{}\" text-anchor=\"middle\" fill=\"#c00\" \
                 font-size=\"16\">✕</text>",
                y1 + 5.0
            );
        }
        let label = &a.label;
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{color}\">{}</text>",
            (x0 + xe) / 2.0,
            (y0 + y1) / 2.0 - 4.0,
            esc(label)
        );
    }
    for b in &d.states {
        let x = match b.host {
            Host::Client => cx,
            Host::Server => sx,
        };
        let anchor_x = match b.host {
            Host::Client => x - 8.0,
            Host::Server => x + 8.0,
        };
        let anchor = match b.host {
            Host::Client => "end",
            Host::Server => "start",
        };
        let _ = writeln!(
            s,
            "<text x=\"{anchor_x}\" y=\"{}\" text-anchor=\"{anchor}\" fill=\"#05a\" \
             font-size=\"12\">{}</text>",
            b.y + head + 4.0,
            esc(&b.text)
        );
    }
    s.push_str("</svg>\n");
    s
}
