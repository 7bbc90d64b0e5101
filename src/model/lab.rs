//! The lab's record and findings in words, in the user's language: the packet labels the
//! panel draws on the wire and the diagram, the command line's text lines, each finding.

use crate::i18n::{Lang, Msg};
use crate::lab::report::{Rel, state_name};
use crate::lab::scenario::Finding;
use crate::lab::{Dir, Event, Fate, Host, PacketRecord};

fn ms(v: f64) -> String {
    format!("{v:.0}")
}

/// A finding, said in full.
pub fn finding_text(lang: Lang, f: &Finding) -> String {
    match f {
        Finding::Handshake {
            client_isn,
            server_isn,
        } => lang.fmt(
            Msg::LabFindHandshake,
            &[("c", client_isn), ("s", server_isn)],
        ),
        Finding::OldSynAnswered { old_seq } => {
            lang.fmt(Msg::LabFindOldSynAnswered, &[("old", old_seq)])
        }
        Finding::ClientReset => lang.t(Msg::LabFindClientReset).to_owned(),
        Finding::ServerBackToListen => lang.t(Msg::LabFindBackToListen).to_owned(),
        Finding::TwoStepWouldOpen => lang.t(Msg::LabFindTwoStep).to_owned(),
        Finding::DelayedAck { ms: m } => lang.fmt(Msg::LabFindDelayedAck, &[("ms", &ms(*m))]),
        Finding::CumulativeAck { segments, ack } => {
            lang.fmt(Msg::LabFindCumulativeAck, &[("ack", ack), ("n", segments)])
        }
        Finding::AckCount { data, acks } => {
            lang.fmt(Msg::LabFindAckCount, &[("data", data), ("acks", acks)])
        }
        Finding::Retransmitted { seq, after_us } => lang.fmt(
            Msg::LabFindRetransmitted,
            &[("seq", seq), ("ms", &ms(*after_us as f64 / 1000.0))],
        ),
        Finding::RtoDoubled {
            first_ms,
            second_ms,
        } => lang.fmt(
            Msg::LabFindRtoDoubled,
            &[("first", &ms(*first_ms)), ("second", &ms(*second_ms))],
        ),
        Finding::DuplicateAcks { count, ack } => {
            lang.fmt(Msg::LabFindDupAcks, &[("n", count), ("ack", ack)])
        }
        Finding::FastRetransmit {
            seq,
            after_ms,
            rto_ms,
        } => lang.fmt(
            Msg::LabFindFastRetransmit,
            &[("seq", seq), ("ms", &ms(*after_ms)), ("rto", &ms(*rto_ms))],
        ),
        Finding::Discarded { id } => lang.fmt(Msg::LabFindDiscarded, &[("id", id)]),
        Finding::UdpGone { sent, received } => lang.fmt(
            Msg::LabFindUdpGone,
            &[("sent", sent), ("received", received)],
        ),
        Finding::ZeroWindow { t_ms } => lang.fmt(Msg::LabFindZeroWindow, &[("t", &ms(*t_ms))]),
        Finding::WindowProbes { count } => lang.fmt(Msg::LabFindProbes, &[("n", count)]),
        Finding::WindowUpdate { t_ms, win } => {
            lang.fmt(Msg::LabFindWindowUpdate, &[("t", &ms(*t_ms)), ("win", win)])
        }
        Finding::SlowStart { from, to, t_ms } => lang.fmt(
            Msg::LabFindSlowStart,
            &[("from", from), ("to", to), ("t", &ms(*t_ms))],
        ),
        Finding::QueueDrops { count, t_ms } => {
            lang.fmt(Msg::LabFindQueueDrops, &[("n", count), ("t", &ms(*t_ms))])
        }
        Finding::WindowCut { before, after } => lang.fmt(
            Msg::LabFindWindowCut,
            &[("before", before), ("after", after)],
        ),
        Finding::Compare {
            bytes,
            reno_ms,
            cubic_ms,
            reno_cwnd,
            cubic_cwnd,
        } => lang.fmt(
            Msg::LabFindCompare,
            &[
                ("bytes", &crate::proto::format::human_bytes(*bytes)),
                ("reno", &ms(*reno_ms)),
                ("cubic", &ms(*cubic_ms)),
                ("rw", reno_cwnd),
                ("cw", cubic_cwnd),
            ],
        ),
        Finding::FourWayClose { segments } => lang.fmt(Msg::LabFindFourWay, &[("n", segments)]),
        Finding::TimeWait { ms: m } => lang.fmt(Msg::LabFindTimeWait, &[("ms", &ms(*m))]),
        Finding::SimultaneousClose => lang.t(Msg::LabFindSimultaneous).to_owned(),
        Finding::TcpInOrder { arrival } => {
            lang.fmt(Msg::LabFindTcpInOrder, &[("order", &join(arrival, ", "))])
        }
        Finding::UdpAsArrived { order } => {
            lang.fmt(Msg::LabFindUdpAsArrived, &[("order", &join(order, ", "))])
        }
        Finding::UdpShort { sent, received } => lang.fmt(
            Msg::LabFindUdpShort,
            &[("sent", sent), ("received", received)],
        ),
        Finding::TcpRepaired {
            bytes,
            retransmissions,
        } => lang.fmt(
            Msg::LabFindTcpRepaired,
            &[("n", bytes), ("r", retransmissions)],
        ),
        Finding::AllArrived { bytes } => lang.fmt(Msg::LabFindAllArrived, &[("n", bytes)]),
        Finding::Incomplete => lang.t(Msg::LabFindIncomplete).to_owned(),
    }
}

fn join(v: &[u32], sep: &str) -> String {
    v.iter().map(u32::to_string).collect::<Vec<_>>().join(sep)
}

/// A packet's fate in a word or two.
pub fn fate_text(lang: Lang, fate: Fate) -> &'static str {
    lang.t(match fate {
        Fate::Delivered { .. } => Msg::LabFateDelivered,
        Fate::Lost => Msg::LabFateLost,
        Fate::Dropped => Msg::LabFateDropped,
        Fate::QueueFull => Msg::LabFateQueueFull,
        Fate::Corrupted { .. } => Msg::LabFateCorrupted,
        Fate::Duplicated { .. } => Msg::LabFateDuplicated,
        Fate::Reordered { .. } => Msg::LabFateReordered,
        Fate::Delayed { .. } => Msg::LabFateDelayed,
        Fate::Held => Msg::LabFateHeld,
    })
}

pub fn dir_text(lang: Lang, dir: Dir) -> &'static str {
    lang.t(match dir {
        Dir::C2S => Msg::LabC2S,
        Dir::S2C => Msg::LabS2C,
    })
}

pub fn host_text(lang: Lang, host: Host) -> &'static str {
    lang.t(match host {
        Host::Client => Msg::SideClient,
        Host::Server => Msg::SideServer,
    })
}

/// A packet's label as the wire and the diagram show it: `SYN seq=0`,
/// `ACK ack=1 win=64240`, `data 1000 B seq=1`, `UDP 12 B`.
pub fn packet_label(lang: Lang, p: &PacketRecord, rel: &Rel) -> String {
    if let Some(u) = &p.udp {
        return format!("UDP {} B", u.len);
    }
    let Some(t) = &p.tcp else {
        return format!("IP {} B", p.bytes);
    };
    let (seq, ack) = rel.numbers(p).unwrap_or((t.seq, t.ack));
    if t.len > 0 {
        let data = lang.fmt(Msg::LabData, &[("n", &t.len)]);
        return format!("{data} seq={seq}");
    }
    let flags: Vec<&str> = t.flags.iter().copied().filter(|f| *f != "PSH").collect();
    let mut out = flags.join("+");
    let control = t.has("SYN") || t.has("FIN") || t.has("RST");
    if control {
        out.push_str(&format!(" seq={seq}"));
    }
    if let Some(a) = ack {
        out.push_str(&format!(" ack={a}"));
    }
    if !control {
        out.push_str(&format!(" win={}", rel.window(p)));
    }
    out
}

/// One event as a line of the command line's text output (samples are left to --json).
pub fn text_line(lang: Lang, event: &Event, rel: &Rel) -> Option<String> {
    match event {
        Event::Packet(p) => {
            let t_ms = p.t_us as f64 / 1000.0;
            let mut line = format!(
                "{t_ms:9.3} ms  #{:<4} {}  {:<28}  {}",
                p.id,
                dir_text(lang, p.dir),
                packet_label(lang, p, rel),
                fate_text(lang, p.fate)
            );
            if let Some(t) = &p.tcp
                && t.len > 0
                && let Some((_, Some(a))) = rel.numbers(p)
            {
                line.push_str(&format!("  (ack={a} win={})", rel.window(p)));
            }
            if p.retransmission {
                line.push_str(&format!("  [{}]", lang.t(Msg::LabRetransmission)));
            }
            if p.zero_window_probe {
                line.push_str(&format!("  [{}]", lang.t(Msg::LabProbe)));
            }
            if p.injected {
                line.push_str(&format!("  [{}]", lang.t(Msg::LabInjected)));
            }
            Some(line)
        }
        Event::State { t_us, host, state } => Some(format!(
            "{:9.3} ms  {}: {}",
            *t_us as f64 / 1000.0,
            host_text(lang, *host),
            state_name(*state)
        )),
        Event::Call {
            t_us,
            host,
            call,
            result,
        } => {
            // A bulk transfer reads thousands of times: its recv() calls stay in --json.
            if call == "recv()" {
                return None;
            }
            Some(format!(
                "{:9.3} ms  {}: {call} = {result}",
                *t_us as f64 / 1000.0,
                host_text(lang, *host)
            ))
        }
        Event::Sample(_) => None,
    }
}
