//! The lab's scenarios, each a short play on the two hosts ending with findings read from
//! the record (structured: the command line and the panel say them in the user's language).

use smoltcp::socket::tcp::State;

mod findings;
mod play;

use findings::*;
pub use findings::{CongestionFigures, compare, first_syn, handshake_isns, other_congestion_run};
pub use play::{HELLO, Play};

use super::{
    Command, Congestion, Dir, Event, Fate, Host, Lab, LabConfig, PacketRecord, Rule, Spoil,
    WireSettings, seq_after,
};

const MS: u64 = 1_000;
const SECOND: u64 = 1_000_000;
/// smoltcp's TIME-WAIT (2×MSL, shortened from the 60 s Linux and 120 s Windows wait).
pub const TIME_WAIT_US: u64 = 10 * SECOND;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// The three-way handshake with its sequence numbers.
    Handshake,
    /// An old duplicate SYN arrives late: why the handshake takes three steps.
    OldDuplicateSyn,
    /// Cumulative and delayed acknowledgements.
    Acks,
    /// One data segment lost (twice): the RTO fires, and doubles.
    TimeoutRetransmit,
    /// One of many segments lost: three duplicate ACKs, a resend before the RTO.
    FastRetransmit,
    /// One segment corrupted: dropped by the receiver, repaired by the resend; a UDP
    /// datagram corrupted: gone for good.
    Checksum,
    /// The receiving application stops reading: a zero window, probes, a window update.
    FlowControl,
    /// A bulk transfer through a bottleneck: slow start, a drop, the window cut.
    Congestion,
    /// The four-way close, TIME-WAIT, and a simultaneous close.
    Close,
    /// Reordering: TCP delivers in order, UDP as it came.
    Reorder,
    /// UDP with loss beside TCP with the same loss.
    UdpLoss,
}

impl Scenario {
    pub const ALL: [Scenario; 11] = [
        Scenario::Handshake,
        Scenario::OldDuplicateSyn,
        Scenario::Acks,
        Scenario::TimeoutRetransmit,
        Scenario::FastRetransmit,
        Scenario::Checksum,
        Scenario::FlowControl,
        Scenario::Congestion,
        Scenario::Close,
        Scenario::Reorder,
        Scenario::UdpLoss,
    ];

    /// The command line's name.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Handshake => "handshake",
            Scenario::OldDuplicateSyn => "old-duplicate-syn",
            Scenario::Acks => "acks",
            Scenario::TimeoutRetransmit => "timeout-retransmit",
            Scenario::FastRetransmit => "fast-retransmit",
            Scenario::Checksum => "checksum",
            Scenario::FlowControl => "flow-control",
            Scenario::Congestion => "congestion",
            Scenario::Close => "close",
            Scenario::Reorder => "reorder",
            Scenario::UdpLoss => "udp-loss",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The wire this scenario is shown on, before the user's changes.
    pub fn wire(self) -> WireSettings {
        match self {
            Scenario::Congestion => WireSettings {
                delay_us: 40 * MS,
                rate_bps: 2_000_000,
                queue_pkts: 20,
                ..WireSettings::default()
            },
            Scenario::UdpLoss => WireSettings {
                loss_pct: 20.0,
                ..WireSettings::default()
            },
            _ => WireSettings::default(),
        }
    }

    /// The lab this scenario runs in.
    pub fn config(self, options: &Options) -> LabConfig {
        let mut wire = self.wire();
        if let Some(d) = options.delay_us {
            wire.delay_us = d;
        }
        if let Some(l) = options.loss_pct {
            wire.loss_pct = l;
        }
        if let Some(r) = options.rate_bps {
            wire.rate_bps = r;
        }
        if let Some(q) = options.queue_pkts {
            wire.queue_pkts = q;
        }
        let (rx_buffer, tx_buffer) = match self {
            Scenario::FlowControl => (8 * 1024, 64 * 1024),
            Scenario::Congestion => (128 * 1024, 128 * 1024),
            _ => (64 * 1024, 64 * 1024),
        };
        LabConfig {
            seed: options.seed,
            wire,
            congestion: options.congestion.unwrap_or(Congestion::Reno),
            rx_buffer,
            tx_buffer,
        }
    }
}

/// The user's changes to a scenario's settings (the command line's flags, the panel's
/// fields); None keeps the scenario's own.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    pub seed: u64,
    pub delay_us: Option<u64>,
    pub loss_pct: Option<f64>,
    pub rate_bps: Option<u64>,
    pub queue_pkts: Option<usize>,
    pub congestion: Option<Congestion>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            seed: 1,
            delay_us: None,
            loss_pct: None,
            rate_bps: None,
            queue_pkts: None,
            congestion: None,
        }
    }
}

/// What a scenario showed, read from the record.
#[derive(Debug, Clone, PartialEq)]
pub enum Finding {
    /// SYN, SYN+ACK, ACK, with each side's initial sequence number.
    Handshake { client_isn: u32, server_isn: u32 },
    /// The server answered an old SYN (seq `old_seq`) with SYN+ACK acknowledging it.
    OldSynAnswered { old_seq: u32 },
    /// The client, which had not asked, answered that SYN+ACK with RST.
    ClientReset,
    /// The server went back to LISTEN: nothing was opened.
    ServerBackToListen,
    /// What a two-step handshake would have done: opened a connection nobody wanted.
    TwoStepWouldOpen,
    /// A lone segment's ACK waited this long (the delayed ACK).
    DelayedAck { ms: f64 },
    /// One ACK acknowledged `segments` data segments at once (up to `ack`, relative).
    CumulativeAck { segments: usize, ack: u32 },
    /// `data` data segments were acknowledged by `acks` ACKs.
    AckCount { data: usize, acks: usize },
    /// The segment at relative `seq` was resent `after_us` after it was first sent.
    Retransmitted { seq: u32, after_us: u64 },
    /// The second resend waited about twice as long as the first.
    RtoDoubled { first_ms: f64, second_ms: f64 },
    /// `count` duplicate ACKs (each acknowledging relative `ack`) came back.
    DuplicateAcks { count: usize, ack: u32 },
    /// The lost segment was resent after duplicate ACKs, `after_ms` after it was first sent:
    /// before the retransmission timer (at least `rto_ms`).
    FastRetransmit {
        seq: u32,
        after_ms: f64,
        rto_ms: f64,
    },
    /// Packet `id` arrived corrupted and the receiver discarded it (no ACK for it).
    Discarded { id: u64 },
    /// A corrupted UDP datagram: `sent` sent, `received` received; nothing resent it.
    UdpGone { sent: u64, received: u64 },
    /// The receiver's window went down to zero at this time.
    ZeroWindow { t_ms: f64 },
    /// The sender probed the closed window this many times.
    WindowProbes { count: usize },
    /// The receiver opened its window again (to `win` bytes) at this time.
    WindowUpdate { t_ms: f64, win: u32 },
    /// The congestion window grew in slow start from `from` to `to` bytes by `t_ms`.
    SlowStart { from: u32, to: u32, t_ms: f64 },
    /// The bottleneck's full queue dropped `count` packets (the first at `t_ms`).
    QueueDrops { count: usize, t_ms: f64 },
    /// After the loss the congestion window fell from `before` to `after` bytes.
    WindowCut { before: u32, after: u32 },
    /// The same transfer with the other algorithm: each one's time, and its average
    /// congestion window after the first loss (Cubic cuts to 0.7, Reno to half).
    Compare {
        bytes: u64,
        reno_ms: f64,
        cubic_ms: f64,
        reno_cwnd: u32,
        cubic_cwnd: u32,
    },
    /// FIN, ACK, FIN, ACK: the close took four segments.
    FourWayClose { segments: usize },
    /// The side that closed first waited in TIME-WAIT this long.
    TimeWait { ms: f64 },
    /// Both closed at once: each went FIN-WAIT-1, CLOSING, TIME-WAIT.
    SimultaneousClose,
    /// TCP segments arrived in this order (relative seq) and the application read the bytes
    /// in order.
    TcpInOrder { arrival: Vec<u32> },
    /// UDP datagrams (numbered in the order sent) reached the application in this order.
    UdpAsArrived { order: Vec<u32> },
    /// UDP: `sent` datagrams sent, `received` received; nothing resent the others.
    UdpShort { sent: u64, received: u64 },
    /// TCP over the same wire: every byte arrived, `retransmissions` segments resent.
    TcpRepaired { bytes: u64, retransmissions: usize },
    /// Everything sent arrived, in order: `bytes`.
    AllArrived { bytes: usize },
    /// The scenario did not get as far as it should (settings that lose too much).
    Incomplete,
}

/// A run: its lab with the record, and the findings.
pub struct Outcome {
    pub lab: Lab,
    pub findings: Vec<Finding>,
}

/// Runs a scenario with the scenario's own settings and `seed`, `delay_us`.
pub fn run(scenario: Scenario, seed: u64, delay_us: u64) -> (Lab, Vec<Finding>) {
    let o = run_with(
        scenario,
        &Options {
            seed,
            delay_us: Some(delay_us),
            ..Options::default()
        },
    );
    (o.lab, o.findings)
}

/// Runs a scenario to its end, headless.
pub fn run_with(scenario: Scenario, options: &Options) -> Outcome {
    let mut play = Play::new(scenario, options);
    play.advance_to(u64::MAX);
    play.finish()
}

/// The old duplicate SYN's sequence number (an earlier attempt's ISN).
pub const OLD_SYN_SEQ: u32 = 0x1234_5678;
const FAST_BYTES: u64 = 60 * 1460;
const FLOW_BYTES: u64 = 40 * 1024;
pub const CONGESTION_BYTES: u64 = 1_000_000;
const UDP_COUNT: u64 = 20;
const REORDER_BYTES: u64 = 10 * 1460;
/// Each TCP message of the udp-loss scenario: `message NN` and padding, 1,000 bytes.
const TCP_MESSAGE: usize = 1000;

fn close_findings(lab: &Lab) -> Vec<Finding> {
    let mut f = Vec::new();
    // The first close: from the client's FIN to the server's last ACK... the segments with
    // FIN and the ACKs of FINs, before the second connection's SYN.
    let second_syn = lab
        .packets()
        .filter(|p| p.dir == Dir::C2S && p.tcp.as_ref().is_some_and(|t| t.has("SYN")))
        .nth(1)
        .map_or(u64::MAX, |p| p.t_us);
    let first_fin = lab
        .packets()
        .find(|p| p.tcp.as_ref().is_some_and(|t| t.has("FIN")))
        .map(|p| p.t_us);
    if let Some(start) = first_fin {
        let segments = lab
            .packets()
            .filter(|p| p.t_us >= start && p.t_us < second_syn && p.tcp.is_some())
            .count();
        f.push(Finding::FourWayClose { segments });
    }
    // TIME-WAIT of the client in the first close.
    let mut entered = None;
    let mut states: Vec<(Host, State)> = Vec::new();
    for e in &lab.record {
        if let Event::State { t_us, host, state } = e {
            if *host == Host::Client && *state == State::TimeWait && entered.is_none() {
                entered = Some(*t_us);
            } else if *host == Host::Client
                && *state == State::Closed
                && let Some(t) = entered
                && f.iter().all(|x| !matches!(x, Finding::TimeWait { .. }))
            {
                f.push(Finding::TimeWait { ms: ms(t_us - t) });
            }
            if *t_us >= second_syn {
                states.push((*host, *state));
            }
        }
    }
    let went = |host: Host| {
        let s: Vec<State> = states
            .iter()
            .filter(|(h, _)| *h == host)
            .map(|(_, s)| *s)
            .collect();
        let pos = |x: State| s.iter().position(|y| *y == x);
        matches!(
            (pos(State::FinWait1), pos(State::Closing), pos(State::TimeWait)),
            (Some(a), Some(b), Some(c)) if a < b && b < c
        )
    };
    if went(Host::Client) && went(Host::Server) {
        f.push(Finding::SimultaneousClose);
    }
    f
}
