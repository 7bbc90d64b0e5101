//! What a scenario showed, read from the lab's record after (or during) its play.

use super::*;

/// Zero-window probes the client sent so far.
pub(super) fn probes(l: &Lab) -> usize {
    l.packets()
        .filter(|p| p.dir == Dir::C2S && p.zero_window_probe)
        .count()
}

/// The initial sequence numbers of the client's SYN and the server's SYN+ACK (the lab's
/// own injected SYN is not the client's).
pub fn handshake_isns(lab: &Lab) -> Option<(u32, u32)> {
    Some((first_syn(lab, Dir::C2S)?, first_syn(lab, Dir::S2C)?))
}

/// The initial sequence number of the first SYN sent `dir` by a host's own stack (the
/// server's answer to the lab's old SYN does not count).
pub fn first_syn(lab: &Lab, dir: Dir) -> Option<u32> {
    lab.packets()
        .filter(|p| p.dir == dir && !p.injected)
        .filter(|p| p.tcp.as_ref().is_some_and(|t| t.has("SYN")))
        .filter(|p| {
            dir == Dir::C2S
                || p.tcp.as_ref().and_then(|t| t.ack) != Some(OLD_SYN_SEQ.wrapping_add(1))
        })
        .find_map(|p| p.tcp.as_ref().map(|t| t.seq))
}

/// Client-to-server data segments.
pub(super) fn data(lab: &Lab, dir: Dir) -> impl Iterator<Item = &PacketRecord> {
    lab.packets()
        .filter(move |p| p.dir == dir && p.tcp.as_ref().is_some_and(|t| t.len > 0))
}

/// A packet's TCP header (an empty one for UDP; only called on TCP packets).
pub(super) fn seg(p: &PacketRecord) -> &crate::lab::Segment {
    static EMPTY: crate::lab::Segment = crate::lab::Segment {
        src_port: 0,
        dst_port: 0,
        seq: 0,
        ack: None,
        window: 0,
        flags: Vec::new(),
        len: 0,
        mss: None,
        window_scale: None,
        sack_permitted: false,
        sack: Vec::new(),
        timestamp: None,
    };
    p.tcp.as_ref().unwrap_or(&EMPTY)
}

pub(super) fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// The findings a scenario's record shows (at its end, or so far).
pub(super) fn read_findings(s: Scenario, lab: &Lab, over: bool) -> Vec<Finding> {
    let mut f = Vec::new();
    let isns = handshake_isns(lab);
    let (c_isn, _) = isns.unwrap_or((0, 0));
    if s == Scenario::OldDuplicateSyn {
        f.extend(old_syn_findings(lab));
    }
    if let Some((client_isn, server_isn)) = isns {
        f.push(Finding::Handshake {
            client_isn,
            server_isn,
        });
    }
    let rel_c = |seq: u32| seq.wrapping_sub(c_isn);
    match s {
        Scenario::Handshake => {}
        Scenario::OldDuplicateSyn => {
            if over {
                f.push(Finding::TwoStepWouldOpen);
            }
        }
        Scenario::Acks => f.extend(ack_findings(lab, c_isn)),
        Scenario::TimeoutRetransmit => {
            let resends: Vec<_> = data(lab, Dir::C2S).filter(|p| p.retransmission).collect();
            if let (Some(first), Some(again)) = (data(lab, Dir::C2S).next(), resends.first()) {
                f.push(Finding::Retransmitted {
                    seq: rel_c(seg(again).seq),
                    after_us: again.t_us - first.t_us,
                });
                if let Some(third) = resends.get(1) {
                    f.push(Finding::RtoDoubled {
                        first_ms: ms(again.t_us - first.t_us),
                        second_ms: ms(third.t_us - again.t_us),
                    });
                }
            }
            all_arrived(lab, HELLO.len(), &mut f);
        }
        Scenario::FastRetransmit => f.extend(fast_findings(lab, c_isn)),
        Scenario::Checksum => {
            let first = data(lab, Dir::C2S).next();
            let again = data(lab, Dir::C2S).find(|p| p.retransmission);
            if let (Some(first), Some(again)) = (first, again) {
                if matches!(first.fate, Fate::Corrupted { .. }) {
                    f.push(Finding::Discarded { id: first.id });
                }
                f.push(Finding::Retransmitted {
                    seq: rel_c(seg(again).seq),
                    after_us: again.t_us - first.t_us,
                });
            }
            all_arrived(lab, HELLO.len(), &mut f);
            let sent = lab.app(Host::Client).udp_sent;
            if sent > 0 {
                f.push(Finding::UdpGone {
                    sent,
                    received: lab.app(Host::Server).udp_received.len() as u64,
                });
            }
        }
        Scenario::FlowControl => f.extend(flow_findings(lab)),
        Scenario::Congestion => f.extend(congestion_findings(lab)),
        Scenario::Close => f.extend(close_findings(lab)),
        Scenario::Reorder => {
            let arrival = arrival_order(lab, Dir::C2S)
                .into_iter()
                .filter_map(|p| p.tcp.as_ref().filter(|t| t.len > 0).map(|t| rel_c(t.seq)))
                .collect::<Vec<_>>();
            if !arrival.is_empty() {
                f.push(Finding::TcpInOrder { arrival });
            }
            let order: Vec<u32> = lab
                .app(Host::Server)
                .udp_received
                .iter()
                .filter_map(|d| std::str::from_utf8(d).ok()?.parse().ok())
                .collect();
            if !order.is_empty() {
                f.push(Finding::UdpAsArrived { order });
            }
            all_arrived(lab, REORDER_BYTES as usize, &mut f);
        }
        Scenario::UdpLoss => {
            let sent = lab.app(Host::Client).udp_sent;
            if sent > 0 {
                f.push(Finding::UdpShort {
                    sent,
                    received: lab.app(Host::Server).udp_received.len() as u64,
                });
            }
            let bytes = lab.app(Host::Server).received;
            if bytes > 0 {
                f.push(Finding::TcpRepaired {
                    bytes,
                    retransmissions: lab.packets().filter(|p| p.retransmission).count(),
                });
            }
        }
    }
    f
}

pub(super) fn all_arrived(lab: &Lab, n: usize, f: &mut Vec<Finding>) {
    let got = &lab.app(Host::Server).received_data;
    if got.len() >= n {
        f.push(Finding::AllArrived { bytes: got.len() });
    }
}

/// The packets delivered `dir`, in the order they arrived.
pub(super) fn arrival_order(lab: &Lab, dir: Dir) -> Vec<&PacketRecord> {
    let mut v: Vec<(u64, u64, &PacketRecord)> = lab
        .packets()
        .filter(|p| p.dir == dir)
        .filter_map(|p| match p.fate {
            Fate::Delivered { at_us }
            | Fate::Reordered { at_us }
            | Fate::Delayed { at_us }
            | Fate::Duplicated { at_us, .. } => Some((at_us, p.id, p)),
            _ => None,
        })
        .collect();
    v.sort_by_key(|e| (e.0, e.1));
    v.into_iter().map(|e| e.2).collect()
}

pub(super) fn old_syn_findings(lab: &Lab) -> Vec<Finding> {
    let mut f = Vec::new();
    let answered = lab.packets().any(|p| {
        p.dir == Dir::S2C
            && p.tcp.as_ref().is_some_and(|t| {
                t.has("SYN") && t.has("ACK") && t.ack == Some(OLD_SYN_SEQ.wrapping_add(1))
            })
    });
    if answered {
        f.push(Finding::OldSynAnswered {
            old_seq: OLD_SYN_SEQ,
        });
    }
    let reset = lab
        .packets()
        .any(|p| p.dir == Dir::C2S && p.tcp.as_ref().is_some_and(|t| t.has("RST")));
    if reset {
        f.push(Finding::ClientReset);
    }
    // SYN-RECEIVED, then LISTEN again, before the client's own connect.
    let mut seen_syn_received = false;
    for e in &lab.record {
        if let Event::State {
            host: Host::Server,
            state,
            ..
        } = e
        {
            if *state == State::SynReceived {
                seen_syn_received = true;
            } else if *state == State::Listen && seen_syn_received {
                f.push(Finding::ServerBackToListen);
                break;
            }
        }
    }
    f
}

pub(super) fn ack_findings(lab: &Lab, c_isn: u32) -> Vec<Finding> {
    let mut f = Vec::new();
    let segs: Vec<&PacketRecord> = data(lab, Dir::C2S).collect();
    // The server's pure ACKs after the handshake.
    let acks: Vec<&PacketRecord> = lab
        .packets()
        .filter(|p| {
            p.dir == Dir::S2C
                && p.tcp
                    .as_ref()
                    .is_some_and(|t| t.len == 0 && t.has("ACK") && !t.has("SYN") && !t.has("FIN"))
        })
        .collect();
    // The first data segment was alone: its ACK waited.
    if let Some(first) = segs.first() {
        let end = seg(first).seq.wrapping_add(seg(first).len as u32);
        if let (Some(at), Some(ack)) = (
            first.fate.arrives_at(),
            acks.iter()
                .find(|a| seg(a).ack.is_some_and(|x| !seq_after(end, x))),
        ) {
            f.push(Finding::DelayedAck {
                ms: ms(ack.t_us.saturating_sub(at)),
            });
        }
    }
    // The most segments one ACK covered.
    let mut prev = c_isn.wrapping_add(1);
    let mut best: Option<(usize, u32)> = None;
    for a in &acks {
        let Some(ack) = seg(a).ack else { continue };
        if !seq_after(ack, prev) {
            continue;
        }
        let n = segs
            .iter()
            .filter(|s| {
                let end = seg(s).seq.wrapping_add(seg(s).len as u32);
                seq_after(end, prev) && !seq_after(end, ack)
            })
            .count();
        if best.is_none_or(|b| n > b.0) {
            best = Some((n, ack.wrapping_sub(c_isn)));
        }
        prev = ack;
    }
    if let Some((segments, ack)) = best
        && segments >= 2
    {
        f.push(Finding::CumulativeAck { segments, ack });
    }
    let new_acks = {
        let mut prev = c_isn.wrapping_add(1);
        acks.iter()
            .filter(|a| {
                let fresh = seg(a).ack.is_some_and(|x| seq_after(x, prev));
                if fresh {
                    prev = seg(a).ack.unwrap_or(prev);
                }
                fresh
            })
            .count()
    };
    f.push(Finding::AckCount {
        data: segs.len(),
        acks: new_acks,
    });
    all_arrived(lab, 3 + 10 * 1460, &mut f);
    f
}

pub(super) fn fast_findings(lab: &Lab, c_isn: u32) -> Vec<Finding> {
    let mut f = Vec::new();
    let Some(lost) = data(lab, Dir::C2S).find(|p| p.fate == Fate::Lost) else {
        return f;
    };
    let lost_seq = seg(lost).seq;
    // Duplicate ACKs as Wireshark counts them: no payload, no SYN/FIN/RST, the same ack
    // and window as the ACK before, here at the lost segment's seq, before its resend.
    let resend_at = data(lab, Dir::C2S)
        .find(|p| p.retransmission && seg(p).seq == lost_seq)
        .map_or(u64::MAX, |p| p.t_us);
    let mut last: Option<(u32, u16)> = None;
    let mut dups = 0;
    for p in lab.packets().filter(|p| p.dir == Dir::S2C) {
        let t = seg(p);
        let Some(ack) = t.ack else { continue };
        let pure = t.len == 0 && !t.has("SYN") && !t.has("FIN") && !t.has("RST");
        if pure && last == Some((ack, t.window)) && ack == lost_seq && p.t_us < resend_at {
            dups += 1;
        }
        last = Some((ack, t.window));
    }
    if dups > 0 {
        f.push(Finding::DuplicateAcks {
            count: dups,
            ack: lost_seq.wrapping_sub(c_isn),
        });
    }
    if let Some(again) = data(lab, Dir::C2S).find(|p| p.retransmission && seg(p).seq == lost_seq) {
        f.push(Finding::FastRetransmit {
            seq: lost_seq.wrapping_sub(c_isn),
            after_ms: ms(again.t_us - lost.t_us),
            rto_ms: 1000.0,
        });
    }
    all_arrived(lab, FAST_BYTES as usize, &mut f);
    f
}

pub(super) fn flow_findings(lab: &Lab) -> Vec<Finding> {
    let mut f = Vec::new();
    let from_server = lab
        .packets()
        .filter(|p| p.dir == Dir::S2C && p.tcp.as_ref().is_some_and(|t| !t.has("SYN")));
    let mut zero_at = None;
    let mut update = None;
    for p in from_server {
        let w = seg(p).window;
        if w == 0 && zero_at.is_none() {
            zero_at = Some(p.t_us);
        } else if w > 0 && zero_at.is_some() && update.is_none() {
            update = Some((p.t_us, u32::from(w)));
        }
    }
    if let Some(t) = zero_at {
        f.push(Finding::ZeroWindow { t_ms: ms(t) });
    }
    let n = probes(lab);
    if n > 0 {
        f.push(Finding::WindowProbes { count: n });
    }
    if let Some((t, win)) = update {
        f.push(Finding::WindowUpdate { t_ms: ms(t), win });
    }
    all_arrived(lab, FLOW_BYTES as usize, &mut f);
    f
}

pub(super) fn congestion_findings(lab: &Lab) -> Vec<Finding> {
    let mut f = Vec::new();
    let drops: Vec<&PacketRecord> = lab
        .packets()
        .filter(|p| p.fate == Fate::QueueFull)
        .collect();
    let first_drop = drops.first().map(|p| p.t_us);
    let cwnd: Vec<(u64, u32)> = lab
        .samples()
        .filter(|s| s.host == Host::Client)
        .filter_map(|s| s.cwnd.map(|c| (s.t_us, c)))
        .collect();
    if let Some(&(_, from)) = cwnd.first() {
        let before: Vec<&(u64, u32)> = cwnd
            .iter()
            .filter(|(t, _)| first_drop.is_none_or(|d| *t <= d))
            .collect();
        if let Some(peak) = before.iter().max_by_key(|(_, c)| *c) {
            f.push(Finding::SlowStart {
                from,
                to: peak.1,
                t_ms: ms(peak.0),
            });
        }
        if let Some(d) = first_drop {
            f.push(Finding::QueueDrops {
                count: drops.len(),
                t_ms: ms(d),
            });
            // The window after the loss is repaired: the lowest cwnd within a few round
            // trips after the resend.
            let peak = before.iter().map(|(_, c)| *c).max().unwrap_or(0);
            let resend = lab
                .packets()
                .find(|p| p.retransmission && p.t_us > d && p.dir == Dir::C2S)
                .map_or(d, |p| p.t_us);
            let after = cwnd
                .iter()
                .filter(|(t, _)| *t > resend && *t < resend + 2 * SECOND)
                .map(|(_, c)| *c)
                .min();
            if let Some(after) = after {
                f.push(Finding::WindowCut {
                    before: peak,
                    after,
                });
            }
        }
    }
    all_arrived(lab, CONGESTION_BYTES as usize, &mut f);
    f
}

/// The time the last byte of the transfer reached the server's application.
pub(super) fn transfer_ms(lab: &Lab) -> Option<f64> {
    let start = data(lab, Dir::C2S).next()?.t_us;
    let end = lab
        .record
        .iter()
        .rev()
        .find(|e| matches!(e, Event::Call { host: Host::Server, call, .. } if call == "recv()"))?
        .t_us();
    Some(ms(end - start))
}

/// The client's average congestion window from the first queue drop on (over time).
pub(super) fn cwnd_after_loss(lab: &Lab) -> u32 {
    let Some(drop) = lab
        .packets()
        .find(|p| p.fate == Fate::QueueFull)
        .map(|p| p.t_us)
    else {
        return 0;
    };
    // Weighted by how long each reading held, so how often the lab was sampled (the panel
    // polls between events, a headless run does not) does not change the average.
    let after: Vec<(u64, u64)> = lab
        .samples()
        .filter(|s| s.host == Host::Client && s.t_us > drop)
        .filter_map(|s| s.cwnd.map(|c| (s.t_us, u64::from(c))))
        .collect();
    let (mut weighted, mut total) = (0u128, 0u128);
    for w in after.windows(2) {
        let held = u128::from(w[1].0 - w[0].0);
        weighted += held * u128::from(w[0].1);
        total += held;
    }
    weighted.checked_div(total).map_or(0, |v| v as u32)
}

/// A congestion run's figures for the comparison: how long the transfer took (ms) and the
/// average congestion window after the first loss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CongestionFigures {
    pub algorithm: Congestion,
    pub ms: f64,
    pub cwnd: u32,
}

pub(super) fn figures(lab: &Lab) -> Option<CongestionFigures> {
    Some(CongestionFigures {
        algorithm: lab.config.congestion,
        ms: transfer_ms(lab)?,
        cwnd: cwnd_after_loss(lab),
    })
}

/// The congestion scenario played headless with the other algorithm than `config`'s (a
/// few tens of milliseconds of CPU: the panel runs it on a job of its own).
pub fn other_congestion_run(config: LabConfig) -> Option<CongestionFigures> {
    let mut config = config;
    config.congestion = match config.congestion {
        Congestion::Reno => Congestion::Cubic,
        Congestion::Cubic => Congestion::Reno,
    };
    let mut again = Play {
        scenario: Scenario::Congestion,
        lab: Lab::with(config),
        act: 0,
        deadline_us: 0,
        failed: false,
    };
    again.advance_to(u64::MAX);
    figures(&again.lab)
}

/// The comparison finding from this run and the other algorithm's.
pub fn compare(lab: &Lab, other: CongestionFigures) -> Option<Finding> {
    let here = figures(lab)?;
    let (reno, cubic) = match here.algorithm {
        Congestion::Reno => (here, other),
        Congestion::Cubic => (other, here),
    };
    Some(Finding::Compare {
        bytes: CONGESTION_BYTES,
        reno_ms: reno.ms,
        cubic_ms: cubic.ms,
        reno_cwnd: reno.cwnd,
        cubic_cwnd: cubic.cwnd,
    })
}

/// The congestion scenario again with the other algorithm, for the comparison.
pub(super) fn compare_congestion(lab: &Lab) -> Option<Finding> {
    compare(lab, other_congestion_run(lab.config)?)
}
