//! The lab's scenarios, each a short play on the two hosts ending with findings read from
//! the record (structured: the command line and the panel say them in the user's language).
//! This step has the first three; the others of issue 11 follow.

use smoltcp::socket::tcp::State;

use super::{Dir, Fate, Host, Lab, WireSettings};

const SECOND: u64 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// The three-way handshake with its sequence numbers.
    Handshake,
    /// One data segment lost: the RTO fires and the same seq goes again.
    TimeoutRetransmit,
    /// One data segment corrupted: the receiver drops it; the resend repairs it.
    Checksum,
}

impl Scenario {
    pub const ALL: [Scenario; 3] = [
        Scenario::Handshake,
        Scenario::TimeoutRetransmit,
        Scenario::Checksum,
    ];

    /// The command line's name.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Handshake => "handshake",
            Scenario::TimeoutRetransmit => "timeout-retransmit",
            Scenario::Checksum => "checksum",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// What a scenario showed, read from the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// SYN, SYN+ACK, ACK, with each side's initial sequence number.
    Handshake { client_isn: u32, server_isn: u32 },
    /// The segment at relative `seq` was resent `after_us` after it was first sent.
    Retransmitted { seq: u32, after_us: u64 },
    /// Packet `id` arrived corrupted and the receiver discarded it (no ACK for it).
    Discarded { id: u64 },
    /// Everything sent arrived, in order: `bytes`.
    AllArrived { bytes: usize },
    /// The scenario did not get as far as it should (a bug, or settings that lose too much).
    Incomplete,
}

/// Runs a scenario with `seed`; returns the lab with its record, and the findings.
pub fn run(scenario: Scenario, seed: u64, delay_us: u64) -> (Lab, Vec<Finding>) {
    let settings = WireSettings {
        delay_us,
        ..WireSettings::default()
    };
    let mut lab = Lab::new(seed, settings);
    let _ = lab.listen();
    let _ = lab.connect();
    let up = lab.run_while(10 * SECOND, |l| {
        l.state(Host::Client) == State::Established && l.state(Host::Server) == State::Established
    });
    let mut findings = Vec::new();
    if !up {
        return (lab, vec![Finding::Incomplete]);
    }
    let isns = handshake_isns(&lab);
    if let Some((client_isn, server_isn)) = isns {
        findings.push(Finding::Handshake {
            client_isn,
            server_isn,
        });
    }
    if scenario == Scenario::Handshake {
        return (lab, findings);
    }
    // One data segment: the wire spoils the next packet the client sends.
    let data = b"Hello from the lab".to_vec();
    lab.set_next_fate(
        Dir::C2S,
        if scenario == Scenario::Checksum {
            Spoil::Corrupt
        } else {
            Spoil::Lose
        },
    );
    lab.send(Host::Client, &data);
    let mut got = Vec::new();
    let arrived = lab.run_while(20 * SECOND, |l| {
        got.extend(l.recv(Host::Server));
        got.len() >= data.len()
    });
    let client_isn = isns.map_or(0, |i| i.0);
    let first = lab
        .packets()
        .find(|p| p.dir == Dir::C2S && p.tcp.as_ref().is_some_and(|t| t.len > 0))
        .cloned();
    let again = lab
        .packets()
        .find(|p| {
            p.dir == Dir::C2S && p.retransmission && p.tcp.as_ref().is_some_and(|t| t.len > 0)
        })
        .cloned();
    if let (Some(first), Some(again)) = (&first, &again) {
        if scenario == Scenario::Checksum && matches!(first.fate, Fate::Corrupted { .. }) {
            findings.push(Finding::Discarded { id: first.id });
        }
        let seq = again
            .tcp
            .as_ref()
            .map_or(0, |t| t.seq.wrapping_sub(client_isn));
        findings.push(Finding::Retransmitted {
            seq,
            after_us: again.t_us - first.t_us,
        });
    }
    if arrived && got == data {
        findings.push(Finding::AllArrived { bytes: got.len() });
    } else {
        findings.push(Finding::Incomplete);
    }
    (lab, findings)
}

/// The initial sequence numbers of the client's SYN and the server's SYN+ACK.
pub fn handshake_isns(lab: &Lab) -> Option<(u32, u32)> {
    let syn = |dir: Dir| {
        lab.packets()
            .find(|p| p.dir == dir && p.tcp.as_ref().is_some_and(|t| t.flags.contains(&"SYN")))
            .and_then(|p| p.tcp.as_ref().map(|t| t.seq))
    };
    Some((syn(Dir::C2S)?, syn(Dir::S2C)?))
}

/// What the wire does to one chosen packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spoil {
    Lose,
    Corrupt,
}
