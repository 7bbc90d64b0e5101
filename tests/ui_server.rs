//! The real TCP server panel, driven through egui_kittest with loopback clients: start on
//! port 0, two clients arrive, talk to one, then to all, disconnect one, stop.

mod common;
use common::ui as ui_support;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use ui_support::{App, shows};

use egui_kittest::kittest::Queryable;
use socket_workbench::app::{Settings, Tab, WorkbenchApp};
use socket_workbench::model::ServerStatus;

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
            .server
            .wait_event(left.min(Duration::from_millis(200)));
    }
    h.run();
}

fn read_exactly(s: &mut TcpStream, n: usize) -> Vec<u8> {
    s.set_read_timeout(Some(LIMIT)).unwrap();
    let mut buf = vec![0; n];
    s.read_exact(&mut buf).unwrap();
    buf
}

/// Nothing arrives within a short while (the only place a short wait is right: it checks
/// for absence).
fn reads_nothing(s: &mut TcpStream) -> bool {
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buf = [0u8; 64];
    matches!(s.read(&mut buf), Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut))
}

fn send_message(h: &mut App, text: &str) {
    h.state_mut().panels.server.settings.composer.text = text.to_owned();
    h.run();
    h.get_by_label("Send").click();
    h.run();
}

#[test]
fn serve_two_clients_send_to_one_then_all_kick_and_stop() {
    let mut settings = Settings::default();
    settings.server.bind_ip = "127.0.0.1".into();
    settings.server.port = "0".into();
    let mut h = harness(settings);
    h.run();
    h.get_by_label("TCP server").click();
    h.run();
    assert_eq!(h.state().tab, Tab::TcpServer);
    h.get_by_label("Start listening").click();
    h.run();
    wait_until(&mut h, "listening", |a| {
        a.panels.server.model.status.listening().is_some()
    });
    let local = h.state().panels.server.model.status.listening().unwrap();
    assert_ne!(local.port(), 0, "the real port is shown, not 0");
    assert!(shows(&h, &format!("Listening on {local}")));
    assert!(
        shows(&h, &local.to_string()),
        "the address to type is on show"
    );

    let mut a = TcpStream::connect(local).unwrap();
    wait_until(&mut h, "client #1", |app| {
        app.panels.server.model.connected == 1
    });
    let mut b = TcpStream::connect(local).unwrap();
    wait_until(&mut h, "client #2", |app| {
        app.panels.server.model.connected == 2
    });
    assert!(shows(&h, "#1") && shows(&h, "#2"));
    assert!(shows(&h, &a.local_addr().unwrap().to_string()));
    assert!(shows(&h, &b.local_addr().unwrap().to_string()));

    // Each client says something; the table counts it.
    a.write_all(b"from a").unwrap();
    b.write_all(b"from b!").unwrap();
    wait_until(&mut h, "both messages", |app| {
        app.panels.server.model.log.counters.rx_bytes == 13
    });

    // Select client #1 in the table, send to the selection only.
    h.get_by_label("#1").click();
    h.run();
    assert!(h.state().panels.server.model.selected.contains(&1));
    h.get_by_label("To selected clients (1)").click();
    h.run();
    send_message(&mut h, "only-a");
    assert_eq!(read_exactly(&mut a, 6), b"only-a");
    assert!(reads_nothing(&mut b), "b must not get a's message");

    // Now everyone.
    h.get_by_label("To all connected (2)").click();
    h.run();
    send_message(&mut h, "everyone");
    assert_eq!(read_exactly(&mut a, 8), b"everyone");
    assert_eq!(read_exactly(&mut b, 8), b"everyone");

    // Disconnect #2 gracefully: it reads EOF.
    h.get_by_label("#1").click();
    h.get_by_label("#2").click();
    h.run();
    assert_eq!(h.state().panels.server.model.selected_open(), vec![2]);
    // The table's actions are behind a menu when the table is not wide.
    h.get_by_label("Actions ▼").click();
    h.run();
    h.get_by_label("Disconnect (FIN)").click();
    h.run();
    b.set_read_timeout(Some(LIMIT)).unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(b.read(&mut buf).unwrap(), 0, "graceful close is EOF");
    wait_until(&mut h, "#2 closed", |app| {
        app.panels.server.model.connected == 1
    });
    assert!(shows(&h, "disconnected by us: close() sent FIN"));

    // Stop: the remaining client is closed too.
    h.get_by_label("Stop").click();
    h.run();
    wait_until(&mut h, "stopped", |app| {
        matches!(app.panels.server.model.status, ServerStatus::Ended(_))
    });
    a.set_read_timeout(Some(LIMIT)).unwrap();
    assert_eq!(a.read(&mut buf).unwrap(), 0);
    assert!(shows(&h, "Not listening"));
}

#[test]
fn port_in_use_is_explained_in_the_panel() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut settings = Settings {
        tab: Tab::TcpServer,
        ..Settings::default()
    };
    settings.server.bind_ip = "127.0.0.1".into();
    settings.server.port = taken.local_addr().unwrap().port().to_string();
    let mut h = harness(settings);
    h.run();
    h.get_by_label("Start listening").click();
    h.run();
    wait_until(&mut h, "the failure", |a| {
        matches!(a.panels.server.model.status, ServerStatus::Ended(_))
    });
    assert!(shows(&h, "already in use"));
}

#[test]
fn chinese_server_panel() {
    let settings = Settings {
        lang: socket_workbench::i18n::Lang::Zh,
        tab: Tab::TcpServer,
        ..Settings::default()
    };
    let mut h = harness(settings);
    h.run();
    h.get_by_label("操作 ▼").click();
    h.run();
    for label in [
        "开始监听",
        "监听地址",
        "等待队列",
        "自动回复",
        "断开（FIN）",
        "重置（RST）",
    ] {
        assert!(h.query_by_label(label).is_some(), "no {label}");
    }
}

/// A conversation run with two selected clients at once, each its own run: one answers as
/// the script expects, the other does not; each client gets its own sends.
#[test]
fn a_conversation_runs_with_each_selected_client() {
    let mut settings = Settings {
        tab: Tab::TcpServer,
        ..Settings::default()
    };
    settings.server.bind_ip = "127.0.0.1".into();
    settings.server.port = "0".into();
    settings.server.script = "timeout_ms = 3000\n[[step]]\nsend = \"NAME?\\n\"\n\
                              [[step]]\nexpect_regex = 'NAME (?P<who>\\w+)'\n\
                              [[step]]\nsend = \"HI {who}\\n\"\n"
        .into();
    let mut h = harness(settings);
    h.run();
    h.get_by_label("Start listening").click();
    h.run();
    wait_until(&mut h, "listening", |a| {
        a.panels.server.model.status.listening().is_some()
    });
    let local = h.state().panels.server.model.status.listening().unwrap();
    let mut a = TcpStream::connect(local).unwrap();
    let mut b = TcpStream::connect(local).unwrap();
    wait_until(&mut h, "two clients", |app| {
        app.panels.server.model.connected == 2
    });
    {
        let server = &mut h.state_mut().panels.server;
        server.model.selected.insert(1);
        server.model.selected.insert(2);
    }
    h.run();
    h.get_by_label("Conversation ▼").click();
    h.run();
    h.get_by_label("Run").click();
    h.run();
    assert_eq!(read_exactly(&mut a, 6), b"NAME?\n");
    assert_eq!(read_exactly(&mut b, 6), b"NAME?\n");
    a.write_all(b"NAME alice\n").unwrap();
    b.write_all(b"no idea\n").unwrap();
    wait_until(&mut h, "alice's run", |app| {
        app.panels
            .server
            .model
            .conversations
            .get(&1)
            .is_some_and(|r| r.done())
    });
    assert_eq!(read_exactly(&mut a, 9), b"HI alice\n");
    // b's run stops at its expect (after its timeout): b gets nothing more.
    wait_until(&mut h, "both runs over", |app| {
        app.panels
            .server
            .model
            .conversations
            .values()
            .all(|r| r.done())
    });
    let runs = &h.state().panels.server.model.conversations;
    assert_eq!(runs.len(), 2);
    assert!(runs[&1].stopped_at().is_none() && runs[&1].tally() == (1, 0));
    assert_eq!(runs[&2].stopped_at(), Some(1));
    assert!(reads_nothing(&mut b));
    assert!(shows(&h, "#1 passed 1/1 · #2 FAILED 0/1"));
}
