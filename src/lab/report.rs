//! The record in the lesson's terms: sequence and acknowledgement numbers relative to each
//! side's initial sequence number (as Wireshark shows them), and the JSON lines of the
//! command line. Words for people (in either language) are the model's business.

use std::fmt::Write as _;

use super::scenario::first_syn;
use super::{Dir, Event, Lab, PacketRecord};

/// Each side's initial sequence number, to make numbers relative, and each side's window
/// scale, to give windows in bytes (as Wireshark shows them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rel {
    pub client_isn: u32,
    pub server_isn: u32,
    /// The lab's own old SYN, if it put one on the wire: its exchange keeps absolute
    /// numbers (it belongs to no connection the ISNs describe).
    pub old_syn: Option<u32>,
    /// Window scale from each side's SYN (client, server).
    pub wscale: [Option<u8>; 2],
}

impl Rel {
    pub fn of(lab: &Lab) -> Self {
        let client_isn = first_syn(lab, Dir::C2S).unwrap_or(0);
        let server_isn = first_syn(lab, Dir::S2C).unwrap_or(0);
        let old_syn = lab
            .packets()
            .find(|p| p.injected)
            .and_then(|p| p.tcp.as_ref().map(|t| t.seq));
        let mut rel = Self {
            client_isn,
            server_isn,
            old_syn,
            wscale: [None; 2],
        };
        for (i, dir) in [Dir::C2S, Dir::S2C].into_iter().enumerate() {
            rel.wscale[i] = lab
                .packets()
                .filter(|p| p.dir == dir && !rel.is_old(p))
                .find(|p| p.tcp.as_ref().is_some_and(|t| t.has("SYN")))
                .and_then(|p| p.tcp.as_ref().and_then(|t| t.window_scale));
        }
        rel
    }

    fn isn(&self, dir: Dir) -> u32 {
        match dir {
            Dir::C2S => self.client_isn,
            Dir::S2C => self.server_isn,
        }
    }

    /// A sequence number sent `dir`, relative.
    pub fn seq(&self, dir: Dir, seq: u32) -> u32 {
        seq.wrapping_sub(self.isn(dir))
    }

    /// An acknowledgement number sent `dir` (it counts the other side's bytes), relative.
    pub fn ack(&self, dir: Dir, ack: u32) -> u32 {
        ack.wrapping_sub(self.isn(dir.other()))
    }

    /// Part of the old SYN's exchange (the SYN, the SYN+ACK to it, the RST to that).
    pub fn is_old(&self, p: &PacketRecord) -> bool {
        let (Some(old), Some(t)) = (self.old_syn, &p.tcp) else {
            return false;
        };
        p.injected
            || (p.dir == Dir::S2C && t.ack == Some(old.wrapping_add(1)))
            || (p.dir == Dir::C2S && t.has("RST") && t.seq == old.wrapping_add(1))
    }

    /// A segment's seq and ack as the lesson shows them: relative, but absolute for the
    /// old SYN's exchange.
    pub fn numbers(&self, p: &PacketRecord) -> Option<(u32, Option<u32>)> {
        let t = p.tcp.as_ref()?;
        if self.is_old(p) {
            return Some((t.seq, t.ack));
        }
        Some((self.seq(p.dir, t.seq), t.ack.map(|a| self.ack(p.dir, a))))
    }

    /// A segment's window in bytes: the field, scaled when both SYNs carried a scale (never
    /// on a SYN itself).
    pub fn window(&self, p: &PacketRecord) -> u32 {
        let Some(t) = &p.tcp else { return 0 };
        let shift = match (self.wscale, p.dir) {
            ([Some(c), Some(_)], Dir::C2S) => c,
            ([Some(_), Some(s)], Dir::S2C) => s,
            _ => 0,
        };
        if t.has("SYN") || self.is_old(p) {
            u32::from(t.window)
        } else {
            u32::from(t.window) << shift.min(14)
        }
    }
}

/// A TCP state's name as RFC 793 writes it: `SYN-SENT`, `TIME-WAIT`.
pub fn state_name(state: smoltcp::socket::tcp::State) -> String {
    state.to_string()
}

fn t_ms(t_us: u64) -> String {
    format!("{:.3}", t_us as f64 / 1000.0)
}

/// A JSON string literal.
pub fn json_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One packet as a JSON object.
pub fn packet_json(p: &PacketRecord, rel: &Rel) -> String {
    let mut out = format!(
        "{{\"t_ms\":{},\"id\":{},\"dir\":\"{}\"",
        t_ms(p.t_us),
        p.id,
        p.dir.name()
    );
    if let Some(t) = &p.tcp {
        let flags: Vec<String> = t.flags.iter().map(|f| format!("\"{f}\"")).collect();
        let (seq, ack) = rel.numbers(p).unwrap_or((t.seq, t.ack));
        let _ = write!(
            out,
            ",\"proto\":\"tcp\",\"flags\":[{}],\"seq\":{seq},\"ack\":{},\"win\":{},\"win_field\":{},\"len\":{},\"seq_abs\":{},\"ack_abs\":{}",
            flags.join(","),
            ack.map_or("null".to_owned(), |a| a.to_string()),
            rel.window(p),
            t.window,
            t.len,
            t.seq,
            t.ack.map_or("null".to_owned(), |a| a.to_string()),
        );
        let mut options = Vec::new();
        if let Some(m) = t.mss {
            options.push(format!("\"mss\":{m}"));
        }
        if let Some(w) = t.window_scale {
            options.push(format!("\"wscale\":{w}"));
        }
        if t.sack_permitted {
            options.push("\"sack_permitted\":true".to_owned());
        }
        if !t.sack.is_empty() {
            let blocks: Vec<String> = t
                .sack
                .iter()
                .map(|(a, b)| format!("[{},{}]", rel.ack(p.dir, *a), rel.ack(p.dir, *b)))
                .collect();
            options.push(format!("\"sack\":[{}]", blocks.join(",")));
        }
        if let Some((val, ecr)) = t.timestamp {
            options.push(format!("\"ts\":[{val},{ecr}]"));
        }
        let _ = write!(out, ",\"options\":{{{}}}", options.join(","));
    } else if let Some(u) = &p.udp {
        let _ = write!(
            out,
            ",\"proto\":\"udp\",\"src_port\":{},\"dst_port\":{},\"len\":{}",
            u.src_port, u.dst_port, u.len
        );
    }
    let _ = write!(
        out,
        ",\"bytes\":{},\"fate\":\"{}\",\"arrives_ms\":{},\"checksum_ok\":{},\"retransmission\":{}{}{}}}",
        p.bytes,
        p.fate.name(),
        p.fate.arrives_at().map_or("null".to_owned(), t_ms),
        p.checksum_ok(),
        p.retransmission,
        if p.zero_window_probe {
            ",\"zero_window_probe\":true"
        } else {
            ""
        },
        if p.injected { ",\"injected\":true" } else { "" },
    );
    out
}

/// One event of the record as a JSON object (the command line's `--json`).
pub fn event_json(event: &Event, rel: &Rel) -> String {
    match event {
        Event::Packet(p) => packet_json(p, rel),
        Event::State { t_us, host, state } => format!(
            "{{\"t_ms\":{},\"host\":\"{}\",\"state\":\"{}\"}}",
            t_ms(*t_us),
            host.name(),
            state_name(*state)
        ),
        Event::Sample(s) => format!(
            "{{\"t_ms\":{},\"host\":\"{}\",\"cwnd\":{},\"in_flight\":{},\"rwnd\":{},\"timer_ms\":{}}}",
            t_ms(s.t_us),
            s.host.name(),
            s.cwnd.map_or("null".to_owned(), |c| c.to_string()),
            s.in_flight,
            s.rwnd,
            s.timer_at_us.map_or("null".to_owned(), t_ms),
        ),
        Event::Call {
            t_us,
            host,
            call,
            result,
        } => format!(
            "{{\"t_ms\":{},\"host\":\"{}\",\"call\":{},\"result\":{}}}",
            t_ms(*t_us),
            host.name(),
            json_string(call),
            json_string(result)
        ),
    }
}
