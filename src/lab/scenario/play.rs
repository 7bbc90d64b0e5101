//! A scenario as a play of acts on the two hosts: the scripts, and the play that runs them
//! at the panel's pace or to the end at once.

use super::*;

/// A scenario as a play of acts: the panel runs it act by act at its own pace; headless
/// runs play it to its end at once (`advance_to(u64::MAX)`).
pub struct Play {
    pub scenario: Scenario,
    pub lab: Lab,
    pub(super) act: usize,
    /// Virtual time the current act may take before it is given up.
    pub(super) deadline_us: u64,
    pub(super) failed: bool,
}

/// How long the connection may take to come up (with loss, several SYN timeouts).
pub(super) const CONNECT_LIMIT: u64 = 60 * SECOND;

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
pub(super) struct Act {
    open: fn(&mut Lab),
    goal: fn(&mut Lab) -> bool,
    limit_us: u64,
}

pub(super) fn established(l: &mut Lab) -> bool {
    l.state(Host::Client) == State::Established && l.state(Host::Server) == State::Established
}

pub(super) fn open_connection(l: &mut Lab) {
    l.apply(Command::Listen);
    l.apply(Command::Connect);
}

pub(super) const CONNECT: Act = Act {
    open: open_connection,
    goal: established,
    limit_us: CONNECT_LIMIT,
};

/// The message the simple scenarios send.
pub const HELLO: &[u8] = b"Hello from the lab";

pub(super) fn server_got(n: u64) -> impl Fn(&mut Lab) -> bool {
    move |l: &mut Lab| l.app(Host::Server).received >= n
}

/// Waits out a quiet time: true when nothing is on the wire and no data waits.
pub(super) fn quiet(l: &mut Lab) -> bool {
    l.on_the_wire().is_empty()
        && l.app(Host::Client).unsent() == 0
        && l.state(Host::Client) != State::SynSent
}

pub(super) fn script(s: Scenario) -> &'static [Act] {
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
