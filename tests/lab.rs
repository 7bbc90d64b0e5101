//! The glass-box lab's engine (issue 11, first step): two real TCP/IP stacks (smoltcp) on a
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
            Event::Packet(_) => None,
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
    let mut got = Vec::new();
    assert!(lab.run_while(10 * SECOND, |l| {
        got.extend(l.recv(Host::Server));
        got.len() >= msg.len()
    }));
    assert_eq!(got, msg);
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
    use socket_workbench::lab::scenario::{Finding, Scenario, run};

    /// Each scenario's key facts, read from its record.
    #[test]
    fn each_scenario_shows_what_it_is_for() {
        let (_, f) = run(Scenario::Handshake, 1, 20_000);
        assert!(matches!(f[..], [Finding::Handshake { .. }]), "{f:?}");

        let (lab, f) = run(Scenario::TimeoutRetransmit, 1, 20_000);
        let after = f.iter().find_map(|x| match x {
            Finding::Retransmitted { seq, after_us } => Some((*seq, *after_us)),
            _ => None,
        });
        let (seq, after_us) = after.unwrap_or_else(|| panic!("{f:?}\n{:#?}", lab.record));
        assert_eq!(seq, 1, "the first data byte is relative seq 1");
        // The RTO: at least the round trip, and smoltcp's floor.
        assert!(after_us >= 40_000, "resent after {after_us} µs");
        assert!(f.contains(&Finding::AllArrived { bytes: 18 }), "{f:?}");

        let (_, f) = run(Scenario::Checksum, 1, 20_000);
        assert!(
            f.iter().any(|x| matches!(x, Finding::Discarded { .. })),
            "{f:?}"
        );
        assert!(
            f.iter().any(|x| matches!(x, Finding::Retransmitted { .. })),
            "{f:?}"
        );
        assert!(f.contains(&Finding::AllArrived { bytes: 18 }), "{f:?}");
    }
}

/// The pcapng parses back: a section, a raw-IP interface, one packet block per packet as it
/// entered the wire plus one for the corrupted packet as delivered; every checksum is good
/// except that delivered copy's, and the comments say which is which.
#[test]
fn the_pcapng_reads_back_and_its_checksums_match_the_fates() {
    use smoltcp::wire::{IpAddress, Ipv4Packet, TcpPacket};
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
    assert_eq!(corrupted, 1);
    assert_eq!(packets.len(), lab.packets().count() + corrupted);
    let mut bad = 0;
    for (data, comment) in &packets {
        let ip = Ipv4Packet::new_checked(&data[..]).unwrap();
        assert!(ip.verify_checksum(), "IP header checksum: {comment}");
        let tcp = TcpPacket::new_checked(ip.payload()).unwrap();
        let ok = tcp.verify_checksum(
            &IpAddress::Ipv4(ip.src_addr()),
            &IpAddress::Ipv4(ip.dst_addr()),
        );
        let says_bad = comment.contains("bad checksum");
        assert_eq!(ok, !says_bad, "{comment}");
        bad += usize::from(!ok);
    }
    assert_eq!(bad, 1);
}
