//! The real UDP panel through egui_kittest: bind on port 0, send to a loopback peer, see the
//! reply with its source, click the source to reply to it.

mod common;
use common::ui as ui_support;
use std::net::UdpSocket;
use std::time::{Duration, Instant};
use ui_support::{App, shows};

use egui_kittest::kittest::{NodeT, Queryable};
use socket_workbench::app::{Settings, Tab, WorkbenchApp};

const LIMIT: Duration = Duration::from_secs(10);

fn harness(settings: Settings) -> App {
    ui_support::harness(settings, [1280.0, 900.0])
}

fn wait_until(h: &mut App, what: &str, done: impl Fn(&WorkbenchApp) -> bool) {
    let deadline = Instant::now() + LIMIT;
    while !done(h.state()) {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "timed out waiting for {what}");
        h.state_mut()
            .panels
            .udp
            .wait_event(left.min(Duration::from_millis(200)));
    }
    h.run();
}

fn recv(s: &UdpSocket) -> (Vec<u8>, std::net::SocketAddr) {
    s.set_read_timeout(Some(LIMIT)).unwrap();
    let mut buf = [0u8; 2048];
    let (n, from) = s.recv_from(&mut buf).unwrap();
    (buf[..n].to_vec(), from)
}

fn set_target(h: &mut App, target: &str) {
    h.state_mut().panels.udp.settings.target = target.to_owned();
    h.run();
}

#[test]
fn bind_send_see_the_source_and_reply_to_it() {
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    let other = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut settings = Settings {
        tab: Tab::Udp,
        ..Settings::default()
    };
    settings.udp.bind_ip = "127.0.0.1".into();
    settings.udp.port = "0".into();
    let mut h = harness(settings);
    h.run();

    h.get_by_label("Bind").click();
    h.run();
    wait_until(&mut h, "the bind", |a| {
        a.panels.udp.model.status.bound().is_some()
    });
    let local = h.state().panels.udp.model.status.bound().unwrap();
    assert_ne!(local.port(), 0);
    assert!(shows(&h, &format!("Bound to {local}")));

    // Type the target by hand, then send.
    let target = h.get_by_label("Target");
    target.focus();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.key_press(egui::Key::Backspace);
    h.get_by_label("Target")
        .type_text(&peer.local_addr().unwrap().to_string());
    h.run();
    let message = h.get_by_label("Message");
    message.focus();
    message.type_text("ping");
    h.run();
    h.get_by_label("Send").click();
    h.run();
    let (data, from) = recv(&peer);
    assert_eq!(data, b"ping");
    assert_eq!(from, local, "sent from the bound socket");

    // A reply comes from a different socket; the log shows its source.
    other.send_to(b"pong", local).unwrap();
    wait_until(&mut h, "the reply", |a| {
        a.panels.udp.model.log.counters.rx_msgs == 1
    });
    let source = other.local_addr().unwrap().to_string();
    assert!(shows(&h, "pong"));
    assert!(shows(&h, &source), "the source address is on show");

    // Click the received datagram: its source becomes the target.
    set_target(&mut h, "127.0.0.1:9");
    let row = h
        .query_all_by_label_contains("pong")
        .find(|n| {
            let node = n.accesskit_node();
            node.label()
                .or(node.value())
                .is_some_and(|l| l.contains(&source))
        })
        .expect("the log row of the reply");
    row.click();
    h.run();
    assert_eq!(h.state().panels.udp.settings.target, source);
    h.get_by_label("Send").click();
    h.run();
    assert_eq!(recv(&other).0, b"ping", "the reply went to the sender");
    assert!(shows(&h, "Peers seen: 2"));

    h.get_by_label("Close").click();
    h.run();
    wait_until(&mut h, "the close", |a| !a.panels.udp.model.status.active());
}

#[test]
fn sending_without_bind_binds_an_ephemeral_port_and_says_so() {
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut settings = Settings {
        tab: Tab::Udp,
        ..Settings::default()
    };
    settings.udp.target = peer.local_addr().unwrap().to_string();
    settings.udp.composer.text = "hi".into();
    let mut h = harness(settings);
    h.run();
    h.get_by_label("Send").click();
    h.run();
    let (data, _) = recv(&peer);
    assert_eq!(data, b"hi");
    wait_until(&mut h, "the auto bind", |a| {
        a.panels.udp.model.status.bound().is_some()
    });
    assert!(shows(&h, "the system picked"));
}

/// Datagrams framed per peer, checked for a checksum, the reply timed; then a conversation
/// with the target run from the panel.
#[test]
fn framing_checks_round_trips_and_a_conversation_over_udp() {
    use socket_workbench::proto::checksum::{Checksum, ChecksumSpec};
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    let peer_addr = peer.local_addr().unwrap();
    let mut settings = Settings {
        tab: Tab::Udp,
        ..Settings::default()
    };
    settings.udp.bind_ip = "127.0.0.1".into();
    settings.udp.port = "0".into();
    settings.udp.target = peer_addr.to_string();
    settings.udp.framing = socket_workbench::proto::frame::Framing::parse("line").unwrap();
    settings.udp.rx_check = Some(ChecksumSpec::new(Checksum::Xor));
    settings.udp.script = "frame = \"line\"\n[[step]]\nsend = \"ping\"\n[[step]]\n\
                           expect_regex = 'pong (?P<n>\\d+)'\n"
        .into();
    let mut h = harness(settings);
    h.run();
    h.get_by_label("Bind").click();
    h.run();
    wait_until(&mut h, "the bind", |a| {
        a.panels.udp.model.status.bound().is_some()
    });
    type_message(&mut h, "hello");
    h.get_by_label("Send").click();
    h.run();
    let (got, from) = recv(&peer);
    assert_eq!(got, b"hello");
    // Two lines in one datagram: the first with a right XOR, the second wrong.
    let mut reply = ChecksumSpec::new(Checksum::Xor).append(b"ok");
    reply.extend_from_slice(b"\nbad!\n");
    peer.send_to(&reply, from).unwrap();
    wait_until(&mut h, "two messages", |a| {
        a.panels
            .udp
            .model
            .frame_stats()
            .is_some_and(|s| s.frames >= 2)
    });
    assert!(
        shows(&h, "2 messages in 1 recv()"),
        "the lesson's count over datagrams"
    );
    assert!(shows(&h, "XOR (BCC) ok"));
    assert!(shows(&h, "XOR (BCC) wrong"));
    assert!(shows(&h, "reply after"));
    assert!(
        h.state()
            .panels
            .udp
            .model
            .round_trips()
            .is_some_and(|(_, _, n)| n == 1)
    );

    // The conversation: ping, and a pong with a number.
    h.get_by_label("Conversation ▼").click();
    h.run();
    h.get_by_label("Run").click();
    h.run();
    let (got, from) = recv(&peer);
    assert_eq!(got, b"ping");
    peer.send_to(b"noise\npong 42\n", from).unwrap();
    wait_until(&mut h, "the conversation's end", |a| {
        a.panels
            .udp
            .model
            .conversation
            .as_ref()
            .is_some_and(|r| r.done())
    });
    assert!(shows(&h, "all 1 expects held"));
}

fn type_message(h: &mut App, text: &str) {
    let field = h.get_by_label("Message");
    field.focus();
    field.type_text(text);
    h.run();
}
