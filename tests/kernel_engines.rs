//! The TCP client and server engines report the kernel's view of their connections: the
//! state changes go into the trace, the client's TCP_INFO reaches its panel, and a closed
//! connection is followed into TIME_WAIT. Linux only (elsewhere the kernel does not tell).
#![cfg(target_os = "linux")]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::Instant;

use socket_workbench::net::tcp_client::{ClientCommand, ClientConfig, ClientEvent, spawn_client};
use socket_workbench::net::tcp_server::{
    AutoReply, KickHow, ServerCommand, ServerConfig, ServerEvent, spawn_server,
};
use socket_workbench::net::trace::TcpState;
use socket_workbench::net::{CallKind, Waker};

mod common;
use common::LIMIT;

fn kernel_call(kind: &CallKind) -> Option<TcpState> {
    match kind {
        CallKind::KernelState(s) => Some(*s),
        _ => None,
    }
}

#[test]
fn client_reports_established_then_fin_wait2_then_time_wait() {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = flume::unbounded();
    let mut config = ClientConfig::new("127.0.0.1", port);
    config.close_when_peer_closes = true;
    let handle = spawn_client(config, tx, Waker::noop()).unwrap();
    let (peer, _) = listener.accept().unwrap();
    peer.set_read_timeout(Some(LIMIT)).unwrap();
    let mut peer = Some(peer);

    let mut trace_states = Vec::new();
    let mut infos = Vec::new();
    let mut after = Vec::new();
    let mut shut = false;
    let mut peer_closed = false;
    let deadline = Instant::now() + LIMIT;
    while !after.contains(&TcpState::TimeWait) {
        let left = deadline.saturating_duration_since(Instant::now());
        let msg = rx
            .recv_timeout(left)
            .unwrap_or_else(|e| panic!("{e:?}: trace {trace_states:?}, after close {after:?}"));
        match msg.event {
            ClientEvent::Call(call) => trace_states.extend(kernel_call(&call.kind)),
            ClientEvent::Kernel(info) => {
                infos.push(info);
                if info.state == TcpState::Established && !shut {
                    // Half-close: our FIN goes out; the peer acknowledges it.
                    shut = true;
                    handle.command(ClientCommand::ShutdownWrite);
                }
                if info.state == TcpState::FinWait2 && !peer_closed {
                    let mut p = peer.take().expect("the peer");
                    let mut buf = [0u8; 16];
                    assert_eq!(p.read(&mut buf).unwrap(), 0, "the peer sees our FIN");
                    p.write_all(b"bye").unwrap();
                    // The peer closes: its FIN completes the four-way close.
                    peer_closed = true;
                    drop(p);
                }
            }
            ClientEvent::KernelAfterClose(state) => after.push(state),
            _ => {}
        }
    }
    handle.join();
    assert_eq!(infos.first().map(|i| i.state), Some(TcpState::Established));
    assert!(
        infos.iter().any(|i| i.rtt_us > 0),
        "an RTT sample: {infos:?}"
    );
    let established = trace_states
        .iter()
        .position(|s| *s == TcpState::Established)
        .expect("ESTABLISHED in the trace");
    let fin_wait2 = trace_states
        .iter()
        .position(|s| *s == TcpState::FinWait2)
        .expect("FIN_WAIT2 in the trace");
    let time_wait = trace_states
        .iter()
        .position(|s| *s == TcpState::TimeWait)
        .expect("TIME_WAIT in the trace");
    assert!(
        established < fin_wait2 && fin_wait2 < time_wait,
        "{trace_states:?}"
    );
}

#[test]
fn server_reports_each_clients_state_and_time_wait_after_a_kick() {
    let (tx, rx) = flume::unbounded();
    let mut config = ServerConfig::new(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
    config.reply = AutoReply::Off;
    let handle = spawn_server(config, tx, Waker::noop()).unwrap();
    let mut addr = None;
    let mut client = None;
    let mut id = None;
    let mut states = Vec::new();
    let mut kicked = false;
    let mut infos = Vec::new();
    let deadline = Instant::now() + LIMIT;
    while !states.contains(&TcpState::TimeWait) {
        let left = deadline.saturating_duration_since(Instant::now());
        let msg = rx
            .recv_timeout(left)
            .unwrap_or_else(|e| panic!("{e:?}: states {states:?}"));
        match msg.event {
            ServerEvent::Listening { local } => {
                addr = Some(local);
                client = Some(TcpStream::connect(local).unwrap());
            }
            ServerEvent::Accepted { client: c, .. } => id = Some(c),
            ServerEvent::KernelInfo { client: c, info } => {
                assert_eq!(Some(c), id);
                infos.push(info);
            }
            ServerEvent::Kernel { client: c, state } => {
                assert_eq!(Some(c), id);
                states.push(state);
                if state == TcpState::Established && !kicked {
                    // The server closes first (a graceful kick): it will hold TIME_WAIT.
                    kicked = true;
                    handle.command(ServerCommand::Kick {
                        clients: vec![c],
                        how: KickHow::Graceful,
                    });
                }
                if state == TcpState::FinWait2 {
                    // The client answers the FIN by closing too.
                    let mut c = client.take().unwrap();
                    let mut buf = [0u8; 8];
                    c.set_read_timeout(Some(LIMIT)).unwrap();
                    assert_eq!(c.read(&mut buf).unwrap(), 0);
                    drop(c);
                }
            }
            _ => {}
        }
    }
    assert!(addr.is_some());
    assert_eq!(states.first(), Some(&TcpState::Established), "{states:?}");
    // The full view (RTT, window) reaches the panel too, while the connection lives.
    assert_eq!(infos.first().map(|i| i.state), Some(TcpState::Established));
    assert!(infos.iter().all(|i| i.snd_cwnd > 0), "{infos:?}");
    handle.command(ServerCommand::Stop);
    handle.join();
}
