//! The lab's scenarios, each a short play on the two hosts ending with findings read from
//! the record (structured: the command line and the panel say them in the user's language).

use smoltcp::socket::tcp::State;

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

/// A scenario as a play of acts: the panel runs it act by act at its own pace; headless
/// runs play it to its end at once (`advance_to(u64::MAX)`).
pub struct Play {
    pub scenario: Scenario,
    pub lab: Lab,
    act: usize,
    /// Virtual time the current act may take before it is given up.
    deadline_us: u64,
    failed: bool,
}

/// How long the connection may take to come up (with loss, several SYN timeouts).
const CONNECT_LIMIT: u64 = 60 * SECOND;

impl Play {
    pub fn new(scenario: Scenario, options: &Options) -> Self {
        let lab = Lab::with(scenario.config(options));
        Self {
            scenario,
            lab,
            act: 0,
            deadline_us: 0,
            failed: false,
        }
    }

    /// A lab with no play: the teacher drives the applications by hand.
    pub fn manual(config: LabConfig) -> Self {
        Self {
            scenario: Scenario::Handshake,
            lab: Lab::with(config),
            act: usize::MAX,
            deadline_us: 0,
            failed: false,
        }
    }

    /// The act's goal holds now (or its time is up): go on to the next act. Returns false
    /// when the play is over.
    fn finish_act(&mut self, done: bool) -> bool {
        if !done {
            self.failed = true;
            return false;
        }
        self.act += 1;
        self.deadline_us = 0;
        self.act < script(self.scenario).len()
    }

    /// For the panel: runs the play up to `until_us` of virtual time at most, act by act;
    /// true while it has more to do.
    pub fn advance_to(&mut self, until_us: u64) -> bool {
        loop {
            if self.failed {
                return false;
            }
            let Some(script) = script(self.scenario).get(self.act).copied() else {
                return false;
            };
            if self.deadline_us == 0 {
                let now = self.lab.now_us();
                (script.open)(&mut self.lab);
                self.deadline_us = now + script.limit_us;
            }
            let limit = self.deadline_us.min(until_us);
            let done = self.lab.run_while(limit, script.goal);
            if done || self.lab.now_us() >= self.deadline_us {
                if !self.finish_act(done) {
                    return false;
                }
            } else {
                return true;
            }
        }
    }

    /// For the panel: runs to `until_us`; once the play is over the lab runs on by itself
    /// (timers such as TIME-WAIT, the teacher's own commands), but never past its last event.
    pub fn run_to(&mut self, until_us: u64) {
        if !self.over() {
            self.advance_to(until_us);
        }
        if self.over() && self.lab.next_event().is_some() {
            self.lab.run_until(until_us);
        }
    }

    /// For the panel's step button: on to the next event (a delivery or a timer), opening
    /// the next act first when it is due.
    pub fn step_event(&mut self) {
        let next = self.lab.next_event();
        match next {
            Some(t) if !self.over() => {
                self.advance_to(t);
            }
            Some(t) => self.lab.run_until(t),
            None if !self.over() => {
                let now = self.lab.now_us();
                self.advance_to(now);
            }
            None => {}
        }
    }

    /// Nothing more will happen by itself: the play is over and nothing is scheduled.
    pub fn idle(&mut self) -> bool {
        self.over() && self.lab.next_event().is_none()
    }

    /// Whether the play has played all its acts (or given up).
    pub fn over(&self) -> bool {
        self.failed || self.act >= script(self.scenario).len()
    }

    /// The findings, read from the record as it stands.
    pub fn findings(&self) -> Vec<Finding> {
        let mut f = read_findings(self.scenario, &self.lab, self.over());
        if self.failed {
            f.push(Finding::Incomplete);
        }
        f
    }

    pub fn finish(self) -> Outcome {
        let mut findings = self.findings();
        if self.scenario == Scenario::Congestion && !self.failed {
            findings.extend(compare_congestion(&self.lab));
        }
        Outcome {
            lab: self.lab,
            findings,
        }
    }
}

/// One act: what the applications do, what the act waits for, and for how long at most.
#[derive(Clone, Copy)]
struct Act {
    open: fn(&mut Lab),
    goal: fn(&mut Lab) -> bool,
    limit_us: u64,
}

fn established(l: &mut Lab) -> bool {
    l.state(Host::Client) == State::Established && l.state(Host::Server) == State::Established
}

fn open_connection(l: &mut Lab) {
    l.apply(Command::Listen);
    l.apply(Command::Connect);
}

const CONNECT: Act = Act {
    open: open_connection,
    goal: established,
    limit_us: CONNECT_LIMIT,
};

/// The message the simple scenarios send.
pub const HELLO: &[u8] = b"Hello from the lab";

fn server_got(n: u64) -> impl Fn(&mut Lab) -> bool {
    move |l: &mut Lab| l.app(Host::Server).received >= n
}

/// Waits out a quiet time: true when nothing is on the wire and no data waits.
fn quiet(l: &mut Lab) -> bool {
    l.on_the_wire().is_empty()
        && l.app(Host::Client).unsent() == 0
        && l.state(Host::Client) != State::SynSent
}

fn script(s: Scenario) -> &'static [Act] {
    match s {
        Scenario::Handshake => &[CONNECT],
        Scenario::OldDuplicateSyn => &[
            Act {
                open: |l| {
                    l.apply(Command::Listen);
                    l.inject(Dir::C2S, Lab::old_syn(OLD_SYN_SEQ));
                },
                // The server is back in LISTEN after the client's RST.
                goal: |l| {
                    l.state(Host::Server) == State::Listen
                        && l.packets().any(|p| {
                            p.dir == Dir::C2S && p.tcp.as_ref().is_some_and(|t| t.has("RST"))
                        })
                        && l.on_the_wire().is_empty()
                },
                limit_us: 5 * SECOND,
            },
            Act {
                open: |l| l.apply(Command::Connect),
                goal: established,
                limit_us: CONNECT_LIMIT,
            },
        ],
        Scenario::Acks => &[
            CONNECT,
            Act {
                open: |l| l.apply(Command::Send(Host::Client, b"one".to_vec())),
                goal: |l| server_got(3)(l) && quiet(l),
                limit_us: 20 * SECOND,
            },
            Act {
                // Two full segments at once, then eight more.
                open: |l| l.apply(Command::SendBulk(Host::Client, 2 * 1460)),
                goal: |l| server_got(3 + 2 * 1460)(l) && quiet(l),
                limit_us: 20 * SECOND,
            },
            Act {
                open: |l| l.apply(Command::SendBulk(Host::Client, 8 * 1460)),
                goal: |l| server_got(3 + 10 * 1460)(l) && quiet(l),
                limit_us: 20 * SECOND,
            },
        ],
        Scenario::TimeoutRetransmit => &[
            CONNECT,
            Act {
                open: |l| {
                    l.add_rule(Rule {
                        dir: Dir::C2S,
                        skip: 0,
                        count: 2,
                        spoil: Spoil::Lose,
                    });
                    l.apply(Command::Send(Host::Client, HELLO.to_vec()));
                },
                goal: |l| server_got(HELLO.len() as u64)(l),
                limit_us: 60 * SECOND,
            },
        ],
        Scenario::FastRetransmit => &[
            CONNECT,
            Act {
                open: |l| {
                    l.add_rule(Rule {
                        dir: Dir::C2S,
                        skip: 15,
                        count: 1,
                        spoil: Spoil::Lose,
                    });
                    l.apply(Command::SendBulk(Host::Client, FAST_BYTES));
                },
                goal: |l| server_got(FAST_BYTES)(l),
                limit_us: 60 * SECOND,
            },
        ],
        Scenario::Checksum => &[
            CONNECT,
            Act {
                open: |l| {
                    l.set_next_fate(Dir::C2S, Spoil::Corrupt);
                    l.apply(Command::Send(Host::Client, HELLO.to_vec()));
                },
                goal: |l| server_got(HELLO.len() as u64)(l) && quiet(l),
                limit_us: 60 * SECOND,
            },
            Act {
                open: |l| {
                    // Three datagrams; the second is corrupted.
                    l.add_rule(Rule {
                        dir: Dir::C2S,
                        skip: 1,
                        count: 1,
                        spoil: Spoil::Corrupt,
                    });
                    for n in 1..=3u8 {
                        l.apply(Command::SendTo(
                            Host::Client,
                            format!("datagram {n}").into(),
                        ));
                    }
                },
                goal: |l| l.on_the_wire().is_empty() && l.now_us() > 0,
                limit_us: 5 * SECOND,
            },
        ],
        Scenario::FlowControl => &[
            CONNECT,
            Act {
                open: |l| {
                    l.apply(Command::SetReading(Host::Server, false));
                    l.apply(Command::SendBulk(Host::Client, FLOW_BYTES));
                },
                // Closed window, and the sender has probed it a few times.
                goal: |l| probes(l) >= 3,
                limit_us: 60 * SECOND,
            },
            Act {
                open: |l| l.apply(Command::SetReading(Host::Server, true)),
                goal: |l| server_got(FLOW_BYTES)(l),
                limit_us: 60 * SECOND,
            },
        ],
        Scenario::Congestion => &[
            CONNECT,
            Act {
                open: |l| l.apply(Command::SendBulk(Host::Client, CONGESTION_BYTES)),
                goal: |l| server_got(CONGESTION_BYTES)(l),
                limit_us: 300 * SECOND,
            },
        ],
        Scenario::Close => &[
            CONNECT,
            Act {
                open: |l| l.apply(Command::Close(Host::Client)),
                goal: |l| l.state(Host::Server) == State::CloseWait,
                limit_us: 30 * SECOND,
            },
            Act {
                open: |l| l.apply(Command::Close(Host::Server)),
                // Through TIME-WAIT to CLOSED.
                goal: |l| {
                    l.state(Host::Client) == State::Closed && l.state(Host::Server) == State::Closed
                },
                limit_us: TIME_WAIT_US + 30 * SECOND,
            },
            CONNECT,
            Act {
                open: |l| {
                    l.apply(Command::Close(Host::Client));
                    l.apply(Command::Close(Host::Server));
                },
                goal: |l| {
                    l.state(Host::Client) == State::Closed && l.state(Host::Server) == State::Closed
                },
                limit_us: TIME_WAIT_US + 30 * SECOND,
            },
        ],
        Scenario::Reorder => &[
            CONNECT,
            Act {
                open: |l| {
                    // The fourth of ten segments, when several are in flight.
                    l.add_rule(Rule {
                        dir: Dir::C2S,
                        skip: 3,
                        count: 1,
                        spoil: Spoil::Reorder,
                    });
                    l.apply(Command::SendBulk(Host::Client, REORDER_BYTES));
                },
                goal: |l| server_got(REORDER_BYTES)(l) && quiet(l),
                limit_us: 30 * SECOND,
            },
            Act {
                open: |l| {
                    l.add_rule(Rule {
                        dir: Dir::C2S,
                        skip: 1,
                        count: 1,
                        spoil: Spoil::Reorder,
                    });
                    for n in 1..=5u32 {
                        l.apply(Command::SendTo(Host::Client, n.to_string().into_bytes()));
                    }
                },
                goal: |l| l.app(Host::Server).udp_received.len() >= 5 && quiet(l),
                limit_us: 5 * SECOND,
            },
        ],
        Scenario::UdpLoss => &[
            Act {
                open: |l| {
                    for n in 1..=UDP_COUNT {
                        l.apply(Command::SendTo(
                            Host::Client,
                            format!("datagram {n:02}").into_bytes(),
                        ));
                    }
                },
                goal: |l| l.on_the_wire().is_empty(),
                limit_us: 5 * SECOND,
            },
            CONNECT,
            Act {
                open: |l| {
                    for n in 1..=UDP_COUNT {
                        let mut m = format!("message {n:02} ").into_bytes();
                        m.resize(TCP_MESSAGE - 1, b'.');
                        m.push(b'\n');
                        l.apply(Command::Send(Host::Client, m));
                    }
                },
                goal: |l| server_got(UDP_COUNT * TCP_MESSAGE as u64)(l),
                limit_us: 300 * SECOND,
            },
        ],
    }
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

/// Zero-window probes the client sent so far.
fn probes(l: &Lab) -> usize {
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
fn data(lab: &Lab, dir: Dir) -> impl Iterator<Item = &PacketRecord> {
    lab.packets()
        .filter(move |p| p.dir == dir && p.tcp.as_ref().is_some_and(|t| t.len > 0))
}

/// A packet's TCP header (an empty one for UDP; only called on TCP packets).
fn seg(p: &PacketRecord) -> &super::Segment {
    static EMPTY: super::Segment = super::Segment {
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

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// The findings a scenario's record shows (at its end, or so far).
fn read_findings(s: Scenario, lab: &Lab, over: bool) -> Vec<Finding> {
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

fn all_arrived(lab: &Lab, n: usize, f: &mut Vec<Finding>) {
    let got = &lab.app(Host::Server).received_data;
    if got.len() >= n {
        f.push(Finding::AllArrived { bytes: got.len() });
    }
}

/// The packets delivered `dir`, in the order they arrived.
fn arrival_order(lab: &Lab, dir: Dir) -> Vec<&PacketRecord> {
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

fn old_syn_findings(lab: &Lab) -> Vec<Finding> {
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

fn ack_findings(lab: &Lab, c_isn: u32) -> Vec<Finding> {
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

fn fast_findings(lab: &Lab, c_isn: u32) -> Vec<Finding> {
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

fn flow_findings(lab: &Lab) -> Vec<Finding> {
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

fn congestion_findings(lab: &Lab) -> Vec<Finding> {
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
fn transfer_ms(lab: &Lab) -> Option<f64> {
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
fn cwnd_after_loss(lab: &Lab) -> u32 {
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

fn figures(lab: &Lab) -> Option<CongestionFigures> {
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
fn compare_congestion(lab: &Lab) -> Option<Finding> {
    compare(lab, other_congestion_run(lab.config)?)
}

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
