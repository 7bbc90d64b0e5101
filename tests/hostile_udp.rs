//! The UDP engine against unlucky situations: Close while a file is being sent,
//! two echoing peers answering each other, and IPv6 multicast options.
//!
//! Only loopback (`127.0.0.1`, `::1`) is used; every wait is bounded.

use std::net::{Ipv6Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use flume::Receiver;
use socket_workbench::net::udp::{
    ECHO_RATE, SendOrigin, UdpCommand, UdpConfig, UdpEvent, UdpHandle, UdpMsg, spawn_udp,
};
use socket_workbench::net::{CallKind, CallOutcome, NetErrorKind, Waker};

mod common;
use common::LIMIT;

fn start(bind: &str, echo: bool) -> (UdpHandle, Receiver<UdpMsg>, SocketAddr) {
    let (tx, rx) = flume::unbounded();
    let mut config = UdpConfig::new(bind.parse().unwrap());
    config.echo = echo;
    let handle = spawn_udp(config, tx, Waker::noop()).unwrap();
    let deadline = Instant::now() + LIMIT;
    loop {
        let msg = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("Bound");
        if let UdpEvent::Bound { local, .. } = msg.event {
            return (handle, rx, local);
        }
    }
}

/// Close while a 32 MB file goes out as 32,768 datagrams: the socket closes at once. (The
/// file loop took every command it found and dropped it: Close ended the file and was lost,
/// and the socket stayed open.)
#[test]
fn close_during_a_file_send_closes() {
    let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (handle, rx, _) = start("127.0.0.1:0", false);
    let path = std::env::temp_dir().join(format!("swb-udp-close-{}", std::process::id()));
    std::fs::write(&path, vec![7u8; 32 * 1024 * 1024]).unwrap();
    struct Rm(std::path::PathBuf);
    impl Drop for Rm {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    let _rm = Rm(path.clone());
    handle.command(UdpCommand::SendFile {
        to: sink.local_addr().unwrap().to_string(),
        path,
    });
    // Wait until the file is under way, then close.
    let deadline = Instant::now() + LIMIT;
    loop {
        let msg = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the file starts");
        if matches!(msg.event, UdpEvent::Sent { .. }) {
            break;
        }
    }
    handle.command(UdpCommand::Close);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(msg) if matches!(msg.event, UdpEvent::Closed { .. }) => break,
            Ok(_) => {}
            Err(e) => panic!("no Closed after Close during a file send: {e:?}"),
        }
    }
}

/// Two programs in echo mode answer each other for ever. Ours echoes at most
/// [`ECHO_RATE`] a second (after a burst of as many), and says that it held some back.
#[test]
fn echo_between_two_echoing_peers_is_rate_limited() {
    let (_handle, rx, local) = start("127.0.0.1:0", true);
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    peer.send_to(b"ping", local).unwrap();
    // The peer echoes everything back, and sends a few more to keep the game going.
    let run = Duration::from_secs(2);
    let started = Instant::now();
    let mut buf = [0u8; 64];
    while started.elapsed() < run {
        match peer.recv_from(&mut buf) {
            Ok((n, from)) => {
                let _ = peer.send_to(&buf[..n], from);
            }
            Err(_) => {
                let _ = peer.send_to(b"ping", local);
            }
        }
    }
    let mut echoed = 0u64;
    let mut limited = false;
    while let Ok(msg) = rx.try_recv() {
        match msg.event {
            UdpEvent::Sent {
                origin: SendOrigin::Echo,
                ..
            } => echoed += 1,
            UdpEvent::Warning(e) if e.kind == NetErrorKind::EchoLimited => limited = true,
            _ => {}
        }
    }
    let most = u64::from(ECHO_RATE) * 3 + 50;
    assert!(echoed <= most, "{echoed} echoes in {run:?}, at most {most}");
    assert!(echoed >= u64::from(ECHO_RATE), "only {echoed} echoes");
    assert!(limited, "no EchoLimited warning");
}

fn option_call(rx: &Receiver<UdpMsg>, name: &str) -> (String, CallOutcome) {
    let deadline = Instant::now() + LIMIT;
    loop {
        let msg = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|e| panic!("no {name}: {e:?}"));
        if let UdpEvent::Call(call) = msg.event
            && let CallKind::SetOption { name: n, value } = call.kind
            && n == name
        {
            return (value, call.outcome);
        }
    }
}

/// On an IPv6 socket the multicast hop limit is IPv6's own option (it was set with
/// IP_MULTICAST_TTL, an IPv4 option).
#[test]
fn ipv6_multicast_hops_use_the_ipv6_option() {
    let (handle, rx, _) = start("[::1]:0", false);
    handle.command(UdpCommand::SetMulticastTtl(7));
    let (value, outcome) = option_call(&rx, "IPV6_MULTICAST_HOPS");
    assert_eq!(value, "7");
    assert_eq!(outcome, CallOutcome::Done);
}

/// Joining an IPv6 group on a chosen interface address joins on that interface (its index);
/// before, the address was ignored and the system chose (index 0).
#[test]
#[cfg_attr(wine, ignore = "Wine lists no interface holding ::1")]
fn ipv6_join_uses_the_chosen_interface() {
    let index = socket_workbench::net::ifaces::index_of(Ipv6Addr::LOCALHOST)
        .expect("::1 belongs to an interface");
    let (handle, rx, _) = start("[::]:0", false);
    let group: Ipv6Addr = "ff12::5eb".parse().unwrap();
    handle.command(UdpCommand::Join {
        group: group.into(),
        iface: Ipv6Addr::LOCALHOST.into(),
    });
    let (value, outcome) = option_call(&rx, "IPV6_JOIN_GROUP");
    assert_eq!(value, format!("{group} on ::1 (interface {index})"));
    assert_eq!(outcome, CallOutcome::Done);
    // An address no interface has is refused, in plain words.
    handle.command(UdpCommand::Join {
        group: group.into(),
        iface: "2001:db8::77".parse::<Ipv6Addr>().unwrap().into(),
    });
    let (_, outcome) = option_call(&rx, "IPV6_JOIN_GROUP");
    assert!(matches!(outcome, CallOutcome::Failed(_)), "{outcome:?}");
}
