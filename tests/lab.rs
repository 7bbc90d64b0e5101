//! The glass-box lab's engine: two real TCP/IP stacks (smoltcp) on a
//! simulated wire in virtual time. No sockets of the system are used at all.

use smoltcp::socket::tcp::State;
use socket_workbench::lab::{Dir, Event, Fate, Host, Lab, WireSettings};

const SECOND: u64 = 1_000_000;

fn established(lab: &mut Lab) -> bool {
    lab.state(Host::Client) == State::Established && lab.state(Host::Server) == State::Established
}

/// The three-way handshake on the wire: SYN, SYN+ACK, ACK; the SYN consumes one sequence
/// number on each side, so each ACK number is the other's ISN plus one; both reach
/// ESTABLISHED, the server after one round trip and a half.
#[test]
fn the_handshake_is_three_segments_with_the_right_numbers() {
    let mut lab = Lab::new(7, WireSettings::default());
    lab.listen().unwrap();
    lab.connect().unwrap();
    assert!(lab.run_while(5 * SECOND, established));
    let p: Vec<_> = lab.packets().cloned().collect();
    assert!(p.len() >= 3, "{p:#?}");
    let (syn, synack, ack) = (&p[0], &p[1], &p[2]);
    let (s, sa, a) = (
        syn.tcp.as_ref().unwrap(),
        synack.tcp.as_ref().unwrap(),
        ack.tcp.as_ref().unwrap(),
    );
    assert_eq!((syn.dir, s.flags.as_slice()), (Dir::C2S, &["SYN"][..]));
    assert_eq!(
        (synack.dir, sa.flags.as_slice()),
        (Dir::S2C, &["SYN", "ACK"][..])
    );
    assert_eq!((ack.dir, a.flags.as_slice()), (Dir::C2S, &["ACK"][..]));
    assert_eq!(
        sa.ack,
        Some(s.seq.wrapping_add(1)),
        "SYN+ACK acknowledges ISN+1"
    );
    assert_eq!(
        a.ack,
        Some(sa.seq.wrapping_add(1)),
        "ACK acknowledges the server's ISN+1"
    );
    assert_eq!(a.seq, s.seq.wrapping_add(1));
    // 20 ms each way: SYN+ACK leaves when the SYN arrives, the ACK when the SYN+ACK does.
    assert_eq!(synack.t_us - syn.t_us, 20_000);
    assert_eq!(ack.t_us - synack.t_us, 20_000);
    let states: Vec<(Host, State)> = lab
        .record
        .iter()
        .filter_map(|e| match e {
            Event::State { host, state, .. } => Some((*host, *state)),
            _ => None,
        })
        .collect();
    assert!(states.contains(&(Host::Client, State::SynSent)));
    assert!(states.contains(&(Host::Server, State::SynReceived)));
}

/// Data and a four-way close: what one application sends, the other receives whole; both
/// FINs are acknowledged; the client that closed first waits in TIME-WAIT.
#[test]
fn data_then_the_close() {
    let mut lab = Lab::new(1, WireSettings::default());
    lab.listen().unwrap();
    lab.connect().unwrap();
    assert!(lab.run_while(5 * SECOND, established));
    let msg = b"hello, server".to_vec();
    assert_eq!(lab.send(Host::Client, &msg), msg.len());
    // The server's application reads by itself (a recv loop).
    assert!(lab.run_while(10 * SECOND, |l| {
        l.app(Host::Server).received_data.len() >= msg.len()
    }));
    assert_eq!(lab.app(Host::Server).received_data, msg);
    lab.close(Host::Client);
    assert!(lab.run_while(20 * SECOND, |l| l.state(Host::Server) == State::CloseWait));
    lab.close(Host::Server);
    assert!(lab.run_while(30 * SECOND, |l| l.state(Host::Client) == State::TimeWait));
    let fins = lab
        .packets()
        .filter(|p| p.tcp.as_ref().is_some_and(|t| t.flags.contains(&"FIN")))
        .count();
    assert_eq!(fins, 2);
}

/// Everything lost: the SYN is sent again with the same sequence number, the first time at
/// least the initial RTO (1 s) later, then later still (back-off).
#[test]
fn a_lost_syn_is_sent_again_after_the_timeout() {
    let mut lab = Lab::new(
        3,
        WireSettings {
            loss_pct: 100.0,
            ..WireSettings::default()
        },
    );
    lab.listen().unwrap();
    lab.connect().unwrap();
    lab.run_until(8 * SECOND);
    let syns: Vec<_> = lab.packets().cloned().collect();
    assert!(syns.len() >= 3, "{syns:#?}");
    assert!(syns.iter().all(|p| p.fate == Fate::Lost));
    let seq0 = syns[0].tcp.as_ref().unwrap().seq;
    assert!(syns.iter().all(|p| p.tcp.as_ref().unwrap().seq == seq0));
    assert!(!syns[0].retransmission);
    assert!(
        syns[1..].iter().all(|p| p.retransmission),
        "resends are marked"
    );
    let gap1 = syns[1].t_us - syns[0].t_us;
    let gap2 = syns[2].t_us - syns[1].t_us;
    assert!(gap1 >= SECOND, "first retransmission after {gap1} µs");
    assert!(gap2 > gap1, "the timeout backs off: {gap1} then {gap2} µs");
}

/// The same seed and settings give the same run, packet for packet.
#[test]
fn the_same_seed_gives_the_same_run() {
    let run = |seed| {
        let mut lab = Lab::new(
            seed,
            WireSettings {
                loss_pct: 20.0,
                ..WireSettings::default()
            },
        );
        lab.listen().unwrap();
        lab.connect().unwrap();
        lab.run_while(20 * SECOND, established);
        lab.send(Host::Client, &[7u8; 20_000]);
        lab.run_until(40 * SECOND);
        format!("{:?}", lab.record)
    };
    assert_eq!(run(42), run(42));
    assert_ne!(run(42), run(43));
}

/// A corrupted SYN arrives but fails the server's checksum check: no SYN+ACK comes back, and
/// the client's resend is marked as a retransmission.
#[test]
fn a_corrupted_segment_is_thrown_away_and_sent_again() {
    let mut lab = Lab::new(
        5,
        WireSettings {
            corrupt_pct: 100.0,
            ..WireSettings::default()
        },
    );
    lab.listen().unwrap();
    lab.connect().unwrap();
    lab.run_until(4 * SECOND);
    let p: Vec<_> = lab.packets().cloned().collect();
    assert!(p.len() >= 2, "{p:#?}");
    assert!(
        p.iter().all(|x| x.dir == Dir::C2S),
        "the server answered a bad checksum"
    );
    assert!(matches!(p[0].fate, Fate::Corrupted { .. }));
    assert!(!p[0].retransmission);
    assert!(p[1].retransmission, "{:?}", p[1]);
    assert_eq!(lab.state(Host::Server), State::Listen);
}

mod scenarios {
    use socket_workbench::lab::scenario::{Finding, Options, Scenario, run, run_with};
    use socket_workbench::lab::{Dir, Event, Fate, Host, seq_after};

    fn findings(s: Scenario) -> (socket_workbench::lab::Lab, Vec<Finding>) {
        let o = run_with(s, &Options::default());
        (o.lab, o.findings)
    }

    fn find<T>(f: &[Finding], pick: impl Fn(&Finding) -> Option<T>) -> T {
        f.iter()
            .find_map(pick)
            .unwrap_or_else(|| panic!("not among the findings: {f:#?}"))
    }

    #[test]
    fn handshake() {
        let (_, f) = run(Scenario::Handshake, 1, 20_000);
        assert!(matches!(f[..], [Finding::Handshake { .. }]), "{f:?}");
    }

    /// The old SYN is answered with SYN+ACK, the client answers RST, the server goes back
    /// to LISTEN; then the real connection opens.
    #[test]
    fn an_old_duplicate_syn_is_refused_by_the_third_step() {
        let (mut lab, f) = findings(Scenario::OldDuplicateSyn);
        for want in [
            Finding::ClientReset,
            Finding::ServerBackToListen,
            Finding::TwoStepWouldOpen,
        ] {
            assert!(f.contains(&want), "{want:?} in {f:#?}");
        }
        let p: Vec<_> = lab.packets().cloned().collect();
        assert!(p[0].injected && p[0].tcp.as_ref().unwrap().has("SYN"));
        let synack = p[1].tcp.as_ref().unwrap();
        assert!(synack.has("SYN") && synack.has("ACK"));
        assert_eq!(
            synack.ack,
            Some(p[0].tcp.as_ref().unwrap().seq.wrapping_add(1))
        );
        assert!(p[2].tcp.as_ref().unwrap().has("RST"), "{:?}", p[2]);
        assert_eq!(p[2].dir, Dir::C2S);
        assert_eq!(
            lab.state(Host::Client),
            smoltcp::socket::tcp::State::Established
        );
    }

    /// A lone segment's ACK waits (delayed ACK); one ACK covers several segments.
    #[test]
    fn acknowledgements_are_delayed_and_cumulative() {
        let (_, f) = findings(Scenario::Acks);
        let delay = find(&f, |x| match x {
            Finding::DelayedAck { ms } => Some(*ms),
            _ => None,
        });
        assert!((5.0..=500.0).contains(&delay), "delayed ACK {delay} ms");
        let n = find(&f, |x| match x {
            Finding::CumulativeAck { segments, .. } => Some(*segments),
            _ => None,
        });
        assert!(n >= 2);
        let (data, acks) = find(&f, |x| match x {
            Finding::AckCount { data, acks } => Some((*data, *acks)),
            _ => None,
        });
        assert!(acks < data, "{acks} ACKs for {data} segments");
    }

    /// Lost twice: the same seq is sent again at least the RTO (1 s) later, then after
    /// twice as long.
    #[test]
    fn the_timeout_fires_and_doubles() {
        let (lab, f) = findings(Scenario::TimeoutRetransmit);
        let (seq, after_us) = find(&f, |x| match x {
            Finding::Retransmitted { seq, after_us } => Some((*seq, *after_us)),
            _ => None,
        });
        assert_eq!(seq, 1, "the first data byte is relative seq 1");
        assert!(after_us >= 1_000_000, "resent after {after_us} µs");
        let (first, second) = find(&f, |x| match x {
            Finding::RtoDoubled {
                first_ms,
                second_ms,
            } => Some((*first_ms, *second_ms)),
            _ => None,
        });
        assert!(
            (second / first - 2.0).abs() < 0.1,
            "{first} then {second} ms"
        );
        let data: Vec<_> = lab
            .packets()
            .filter(|p| p.tcp.as_ref().is_some_and(|t| t.len > 0))
            .collect();
        assert_eq!(data.len(), 3);
        assert_eq!((data[0].fate, data[1].fate), (Fate::Lost, Fate::Lost));
        // The sender's timer, sampled: each resend goes when the timer said it would.
        for resend in &data[1..] {
            let armed = lab
                .samples()
                .filter(|s| s.host == Host::Client && s.t_us < resend.t_us)
                .filter_map(|s| s.timer_at_us)
                .last();
            assert_eq!(armed, Some(resend.t_us), "timer against resend {resend:?}");
        }
        assert!(data[1].retransmission && data[2].retransmission);
        assert!(f.contains(&Finding::AllArrived { bytes: 18 }), "{f:?}");
    }

    /// One of many segments lost: duplicate ACKs, and the resend well before the RTO.
    #[test]
    fn three_duplicate_acks_resend_before_the_timeout() {
        let (_, f) = findings(Scenario::FastRetransmit);
        let dups = find(&f, |x| match x {
            Finding::DuplicateAcks { count, .. } => Some(*count),
            _ => None,
        });
        assert!(dups >= 3, "{dups} duplicate ACKs");
        let after = find(&f, |x| match x {
            Finding::FastRetransmit { after_ms, .. } => Some(*after_ms),
            _ => None,
        });
        assert!(after < 1000.0, "resent after {after} ms: that is the RTO");
        assert!(f.iter().any(|x| matches!(x, Finding::AllArrived { .. })));
    }

    /// A corrupted segment is dropped and repaired by the resend; a corrupted datagram is
    /// gone for good.
    #[test]
    fn a_bad_checksum_is_repaired_for_tcp_and_not_for_udp() {
        let (lab, f) = findings(Scenario::Checksum);
        assert!(
            f.iter().any(|x| matches!(x, Finding::Discarded { .. })),
            "{f:?}"
        );
        assert!(f.contains(&Finding::AllArrived { bytes: 18 }), "{f:?}");
        assert!(
            f.contains(&Finding::UdpGone {
                sent: 3,
                received: 2
            }),
            "{f:?}"
        );
        let bad_udp = lab
            .packets()
            .find(|p| p.udp.is_some() && matches!(p.fate, Fate::Corrupted { .. }))
            .expect("a corrupted datagram");
        assert!(!bad_udp.checksum_ok());
        let got = &lab.app(Host::Server).udp_received;
        assert_eq!(got, &[b"datagram 1".to_vec(), b"datagram 3".to_vec()]);
    }

    /// The reader stops: the window goes to zero, the sender probes, the reader resumes, a
    /// window update, and everything arrives.
    #[test]
    fn a_zero_window_is_probed_and_reopened() {
        let (lab, f) = findings(Scenario::FlowControl);
        let zero = find(&f, |x| match x {
            Finding::ZeroWindow { t_ms } => Some(*t_ms),
            _ => None,
        });
        let (update, win) = find(&f, |x| match x {
            Finding::WindowUpdate { t_ms, win } => Some((*t_ms, *win)),
            _ => None,
        });
        assert!(update > zero && win > 0);
        let probes = find(&f, |x| match x {
            Finding::WindowProbes { count } => Some(*count),
            _ => None,
        });
        assert!(probes >= 3);
        // A repeated probe is a probe, not a retransmission (as Wireshark has it).
        let marked: Vec<_> = lab.packets().filter(|p| p.zero_window_probe).collect();
        assert_eq!(marked.len(), probes);
        assert!(
            marked
                .iter()
                .all(|p| !p.retransmission && p.dir == Dir::C2S)
        );
        assert!(
            f.contains(&Finding::AllArrived { bytes: 40 * 1024 }),
            "{f:?}"
        );
        // The window samples of the sender show the zero.
        assert!(lab.samples().any(|s| s.host == Host::Client && s.rwnd == 0));
    }

    /// A bottleneck: slow start grows the window, the full queue drops, the window is cut
    /// to about half; Reno and Cubic both finish.
    #[test]
    fn congestion_grows_drops_and_cuts_the_window() {
        let (lab, f) = findings(Scenario::Congestion);
        let (from, to) = find(&f, |x| match x {
            Finding::SlowStart { from, to, .. } => Some((*from, *to)),
            _ => None,
        });
        assert!(to >= 8 * from, "slow start from {from} to {to}");
        let drops = find(&f, |x| match x {
            Finding::QueueDrops { count, .. } => Some(*count),
            _ => None,
        });
        assert!(drops > 0);
        assert!(lab.packets().any(|p| p.fate == Fate::QueueFull));
        let (before, after) = find(&f, |x| match x {
            Finding::WindowCut { before, after } => Some((*before, *after)),
            _ => None,
        });
        assert!(
            after * 10 <= before * 6,
            "the window fell from {before} only to {after}"
        );
        let (reno, cubic) = find(&f, |x| match x {
            Finding::Compare {
                reno_ms, cubic_ms, ..
            } => Some((*reno_ms, *cubic_ms)),
            _ => None,
        });
        // Cubic cuts its window to 0.7, Reno to half: Cubic keeps more in flight after.
        let (rw, cw) = find(&f, |x| match x {
            Finding::Compare {
                reno_cwnd,
                cubic_cwnd,
                ..
            } => Some((*reno_cwnd, *cubic_cwnd)),
            _ => None,
        });
        assert!(cw > rw, "Cubic {cw} against Reno {rw}");
        // 1 MB at 2 Mbit/s takes at least 4 s.
        assert!(reno >= 4000.0 && cubic >= 4000.0, "{reno} {cubic}");
        // The bottleneck's rate holds: no two client packets leave it closer than one
        // full segment's serialisation time (1500 B at 2 Mbit/s: 6 ms) apart on arrival.
        let mut arrivals: Vec<u64> = lab
            .packets()
            .filter(|p| p.dir == Dir::C2S && p.bytes == 1500)
            .filter_map(|p| p.fate.arrives_at())
            .collect();
        arrivals.sort_unstable();
        assert!(arrivals.windows(2).all(|w| w[1] - w[0] >= 6_000));
    }

    /// FIN, ACK, FIN, ACK; TIME-WAIT for smoltcp's 10 s; then a simultaneous close.
    #[test]
    fn the_close_has_four_segments_and_a_time_wait() {
        let (lab, f) = findings(Scenario::Close);
        assert!(f.contains(&Finding::FourWayClose { segments: 4 }), "{f:#?}");
        let wait = find(&f, |x| match x {
            Finding::TimeWait { ms } => Some(*ms),
            _ => None,
        });
        assert!((wait - 10_000.0).abs() < 50.0, "TIME-WAIT {wait} ms");
        assert!(f.contains(&Finding::SimultaneousClose), "{f:#?}");
        let closing = lab
            .record
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    Event::State {
                        state: smoltcp::socket::tcp::State::Closing,
                        ..
                    }
                )
            })
            .count();
        assert_eq!(closing, 2);
    }

    /// A segment overtaken on the wire; the application still reads in order. Datagrams
    /// reach the application in the order they came.
    #[test]
    fn tcp_reorders_back_and_udp_does_not() {
        let (lab, f) = findings(Scenario::Reorder);
        let arrival = find(&f, |x| match x {
            Finding::TcpInOrder { arrival } => Some(arrival.clone()),
            _ => None,
        });
        assert!(
            arrival.windows(2).any(|w| seq_after(w[0], w[1])),
            "nothing overtaken: {arrival:?}"
        );
        let data = &lab.app(Host::Server).received_data;
        assert_eq!(data.len(), 10 * 1460);
        assert!(
            data.iter()
                .enumerate()
                .all(|(i, b)| *b == b'a' + (i % 26) as u8),
            "the application read the bytes out of order"
        );
        let order = find(&f, |x| match x {
            Finding::UdpAsArrived { order } => Some(order.clone()),
            _ => None,
        });
        assert_eq!(order.len(), 5);
        assert!(order.windows(2).any(|w| w[0] > w[1]), "{order:?}");
    }

    /// The same loss: UDP comes up short, TCP delivers everything by resending.
    #[test]
    fn udp_loses_and_tcp_repairs() {
        let (_, f) = findings(Scenario::UdpLoss);
        let (sent, received) = find(&f, |x| match x {
            Finding::UdpShort { sent, received } => Some((*sent, *received)),
            _ => None,
        });
        assert_eq!(sent, 20);
        assert!(received < sent, "{received} of {sent}");
        let (bytes, resent) = find(&f, |x| match x {
            Finding::TcpRepaired {
                bytes,
                retransmissions,
            } => Some((*bytes, *retransmissions)),
            _ => None,
        });
        assert_eq!(bytes, 20_000);
        assert!(resent > 0);
    }
}

mod wire {
    use socket_workbench::lab::{Action, Command, Dir, Fate, Host, Lab, LabConfig, WireSettings};

    fn lab(wire: WireSettings) -> Lab {
        Lab::with(LabConfig {
            wire,
            ..LabConfig::default()
        })
    }

    /// A 1 Mbit/s bottleneck: a 1,500-byte packet takes 12 ms to leave; with a queue of two,
    /// a burst of ten loses the rest to the full queue.
    #[test]
    fn the_bottleneck_serialises_and_its_queue_drops() {
        let mut l = lab(WireSettings {
            rate_bps: 1_000_000,
            queue_pkts: 2,
            delay_us: 10_000,
            ..WireSettings::default()
        });
        for _ in 0..10 {
            l.apply(Command::SendTo(Host::Client, vec![0; 1472]));
        }
        let p: Vec<_> = l.packets().cloned().collect();
        assert_eq!(p.len(), 10);
        assert_eq!(p[0].bytes, 1500);
        assert_eq!(
            p[0].fate,
            Fate::Delivered {
                at_us: 12_000 + 10_000
            }
        );
        assert_eq!(
            p[1].fate,
            Fate::Delivered {
                at_us: 24_000 + 10_000
            }
        );
        assert!(p[2..].iter().all(|x| x.fate == Fate::QueueFull), "{p:#?}");
        l.run_until(1_000_000);
        assert_eq!(l.app(Host::Server).udp_received.len(), 2);
    }

    /// A call the socket cannot take is kept, with why, for the panel to say.
    #[test]
    fn a_failed_call_says_why() {
        use smoltcp::socket::tcp::State;
        use socket_workbench::lab::CallError;
        let mut l = lab(WireSettings::default());
        l.apply(Command::Send(Host::Client, b"too soon".to_vec()));
        assert_eq!(
            l.last_error,
            Some((Host::Client, CallError::NotOpen(State::Closed)))
        );
        assert!(l.app(Host::Client).unsent() == 0, "nothing was queued");
        l.apply(Command::Connect);
        assert_eq!(l.last_error, None);
        // connect() again while the first is under way.
        l.apply(Command::Connect);
        assert_eq!(
            l.last_error,
            Some((Host::Client, CallError::Busy(State::SynSent)))
        );
    }

    /// Duplication delivers a datagram twice.
    #[test]
    fn a_duplicated_datagram_arrives_twice() {
        let mut l = lab(WireSettings {
            duplicate_pct: 100.0,
            ..WireSettings::default()
        });
        l.apply(Command::SendTo(Host::Client, b"twice".to_vec()));
        l.run_until(1_000_000);
        assert!(matches!(
            l.packets().next().unwrap().fate,
            Fate::Duplicated { .. }
        ));
        assert_eq!(l.app(Host::Server).udp_received.len(), 2);
    }

    /// Hold every packet: nothing moves until the teacher delivers, one at a time; a packet
    /// in flight can be dropped by hand, and then it never arrives.
    #[test]
    fn held_packets_wait_for_the_teacher() {
        let mut l = lab(WireSettings {
            hold: true,
            ..WireSettings::default()
        });
        l.apply(Command::Listen);
        l.apply(Command::Connect);
        l.run_until(500_000);
        let p: Vec<_> = l.packets().cloned().collect();
        assert_eq!(p.len(), 1, "only the SYN, held: {p:#?}");
        assert_eq!(p[0].fate, Fate::Held);
        assert_eq!(l.on_the_wire(), vec![(1, None)]);
        assert!(l.deliver_next_held());
        assert_eq!(
            l.packet(1).unwrap().fate,
            Fate::Delivered {
                at_us: 500_000 + 20_000
            }
        );
        l.run_until(600_000);
        // The SYN+ACK is now held in its turn.
        let synack = l.packet(2).unwrap().clone();
        assert_eq!((synack.dir, synack.fate), (Dir::S2C, Fate::Held));
        // Let go, then drop it while it flies: the client never hears back.
        let mut settings = l.config.wire;
        settings.hold = false;
        l.set_wire(settings);
        assert!(l.act(2, Action::Deliver));
        assert!(l.act(2, Action::Drop));
        assert_eq!(l.packet(2).unwrap().fate, Fate::Dropped);
        assert!(!l.act(2, Action::Drop), "already gone");
        l.run_until(900_000);
        assert_eq!(l.state(Host::Client), smoltcp::socket::tcp::State::SynSent);
    }
}

/// The pcapng parses back: a section, a raw-IP interface, one packet block per packet as it
/// entered the wire plus one for the corrupted packet as delivered; every checksum is good
/// except that delivered copy's, and the comments say which is which.
#[test]
fn the_pcapng_reads_back_and_its_checksums_match_the_fates() {
    use smoltcp::wire::{IpAddress, IpProtocol, Ipv4Packet, TcpPacket, UdpPacket};
    use socket_workbench::lab::pcap::to_pcapng;
    use socket_workbench::lab::scenario::{Scenario, run};

    let (lab, _) = run(Scenario::Checksum, 2, 20_000);
    let file = to_pcapng(lab.packets());
    let u32_at = |at: usize| u32::from_le_bytes(file[at..at + 4].try_into().unwrap());
    let mut at = 0;
    let mut kinds = Vec::new();
    let mut packets = Vec::new();
    while at < file.len() {
        let kind = u32_at(at);
        let len = u32_at(at + 4) as usize;
        assert_eq!(len % 4, 0);
        assert_eq!(u32_at(at + len - 4) as usize, len, "trailing length");
        match kind {
            0x0A0D_0D0A => assert_eq!(u32_at(at + 8), 0x1A2B_3C4D, "byte-order magic"),
            1 => assert_eq!(u16::from_le_bytes([file[at + 8], file[at + 9]]), 101),
            6 => {
                let caplen = u32_at(at + 20) as usize;
                let data = file[at + 28..at + 28 + caplen].to_vec();
                let rest = &file[at + 28 + caplen..at + len];
                let comment = String::from_utf8_lossy(rest).into_owned();
                packets.push((data, comment));
            }
            other => panic!("block type {other:#x}"),
        }
        kinds.push(kind);
        at += len;
    }
    assert_eq!(&kinds[..2], &[0x0A0D_0D0A, 1]);
    let corrupted = lab
        .packets()
        .filter(|p| matches!(p.fate, Fate::Corrupted { .. }))
        .count();
    // The segment, and the datagram.
    assert_eq!(corrupted, 2);
    assert_eq!(packets.len(), lab.packets().count() + corrupted);
    let mut bad = 0;
    for (data, comment) in &packets {
        let ip = Ipv4Packet::new_checked(&data[..]).unwrap();
        assert!(ip.verify_checksum(), "IP header checksum: {comment}");
        let (src, dst) = (
            IpAddress::Ipv4(ip.src_addr()),
            IpAddress::Ipv4(ip.dst_addr()),
        );
        let ok = match ip.next_header() {
            IpProtocol::Tcp => TcpPacket::new_checked(ip.payload())
                .unwrap()
                .verify_checksum(&src, &dst),
            IpProtocol::Udp => UdpPacket::new_checked(ip.payload())
                .unwrap()
                .verify_checksum(&src, &dst),
            other => panic!("{other}"),
        };
        let says_bad = comment.contains("bad checksum");
        assert_eq!(ok, !says_bad, "{comment}");
        bad += usize::from(!ok);
    }
    assert_eq!(bad, 2);
}
