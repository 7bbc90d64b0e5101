//! The real TCP client panel, driven through egui_kittest against loopback servers: type an
//! address, click Connect, send GBK text, see the reply, switch to hex, break the hex, close.

mod common;

use common::ui as ui_support;
use std::time::{Duration, Instant};
use ui_support::{App, shows};

use common::{LessonServer, NI_HAO_GBK, closed_port};
use egui_kittest::kittest::{NodeT, Queryable};
use socket_workbench::app::{Settings, WorkbenchApp};
use socket_workbench::i18n::Lang;
use socket_workbench::model::ClientStatus;

const LIMIT: Duration = Duration::from_secs(10);

fn harness(settings: Settings) -> App {
    ui_support::harness(settings, [1280.0, 860.0])
}

/// Applies engine events until `done` holds, then draws. Bounded by [`LIMIT`].
fn wait_until(h: &mut App, what: &str, done: impl Fn(&WorkbenchApp) -> bool) {
    let deadline = Instant::now() + LIMIT;
    while !done(h.state()) {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "timed out waiting for {what}; status {:?}",
            h.state().panels.client.model.status
        );
        h.state_mut()
            .panels
            .client
            .wait_event(left.min(Duration::from_millis(200)));
    }
    h.run();
}

fn type_into(h: &mut App, label: &str, text: &str) {
    let field = h.get_by_label(label);
    field.focus();
    field.type_text(text);
    h.run();
}

fn clear_field(h: &mut App, label: &str) {
    // Select all, then delete.
    h.get_by_label(label).focus();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.key_press(egui::Key::Backspace);
    h.run();
}

fn lesson_settings(port: u16) -> Settings {
    let mut s = Settings::default();
    s.client.host = String::new();
    s.client.port = String::new();
    let _ = port;
    s
}

#[test]
fn gbk_round_trip_hex_view_bad_hex_and_disconnect() {
    let server = LessonServer::start();
    let mut h = harness(lesson_settings(server.addr.port()));
    h.run();

    // Type the server's address by hand, as a student would.
    type_into(&mut h, "Host", "127.0.0.1");
    type_into(&mut h, "Port", &server.addr.port().to_string());
    h.get_by_label("Connect").click();
    h.run();
    wait_until(&mut h, "the connection", |a| {
        a.panels.client.model.status.connected()
    });
    assert!(shows(
        &h,
        &format!("Connected to 127.0.0.1:{}", server.addr.port())
    ));

    // The lesson's server speaks GBK.
    h.state_mut().panels.client.settings.composer.encoding =
        socket_workbench::proto::TextEncoding::Gbk;
    h.state_mut().panels.client.settings.log.encoding = socket_workbench::proto::TextEncoding::Gbk;
    h.run();
    type_into(&mut h, "Message", "你好");
    h.get_by_label("Send").click();
    h.run();
    let got = server
        .chunks
        .recv_timeout(LIMIT)
        .expect("server got our message");
    assert_eq!(got, NI_HAO_GBK, "sent as GBK");
    wait_until(&mut h, "the reply", |a| {
        a.panels.client.model.log.counters.rx_bytes >= 10
    });
    assert!(shows(&h, "收到：你好"), "the GBK reply is shown decoded");

    // The same bytes as hex, after the fact.
    h.get_by_label("Hex dump").click();
    h.run();
    assert!(shows(&h, "C4 E3 BA C3"), "hex dump shows 你好's GBK bytes");
    assert!(!shows(&h, "收到：你好"));

    // Invalid hex: flagged, and nothing is sent.
    clear_field(&mut h, "Message");
    h.get_by_label("Hex").click();
    h.run();
    type_into(&mut h, "Message", "48 6g");
    assert!(shows(&h, "Not hex: 'g' at column 5"), "inline error");
    let tx_before = h.state().panels.client.model.log.counters.tx_msgs;
    h.get_by_label("Send").click();
    h.run();
    assert_eq!(
        h.state().panels.client.model.log.counters.tx_msgs,
        tx_before,
        "nothing sent"
    );

    // Disconnect: the status line follows.
    h.get_by_label("Disconnect").click();
    h.run();
    wait_until(&mut h, "the close", |a| {
        matches!(a.panels.client.model.status, ClientStatus::Closed(_))
    });
    assert!(shows(&h, "Disconnected (we closed the connection)"));
    let seen = server.finish();
    assert_eq!(
        seen.received, NI_HAO_GBK,
        "the invalid hex never reached the server"
    );
}

#[test]
fn refused_connection_is_explained_in_the_panel() {
    let port = closed_port();
    let mut settings = Settings::default();
    settings.client.host = "127.0.0.1".into();
    settings.client.port = port.to_string();
    let mut h = harness(settings);
    h.run();
    h.get_by_label("Connect").click();
    h.run();
    wait_until(&mut h, "the refusal", |a| {
        matches!(a.panels.client.model.status, ClientStatus::Closed(_))
    });
    assert!(shows(&h, "Connection refused: nothing is listening"));
}

#[test]
fn invalid_port_is_explained_and_nothing_starts() {
    let mut settings = Settings::default();
    settings.client.port = "70000".into();
    let mut h = harness(settings);
    h.run();
    h.get_by_label("Connect").click();
    h.run();
    assert!(shows(&h, "The port must be a whole number from 1 to 65535"));
    assert_eq!(
        h.state().panels.client.model.status,
        ClientStatus::Disconnected
    );
}

#[test]
fn chinese_interface_shows_chinese_labels() {
    let settings = Settings {
        lang: Lang::Zh,
        ..Settings::default()
    };
    let mut h = harness(settings);
    h.run();
    for label in [
        "连接",
        "主机",
        "端口",
        "消息",
        "发送",
        "关闭发送 (shutdown)",
        "套接字调用",
    ] {
        assert!(h.query_by_label(label).is_some(), "no {label}");
    }
    assert!(h.query_by_label("Connect").is_none());
    // Switching language at run time, without a restart.
    h.state_mut().lang = Lang::En;
    h.run();
    assert!(h.query_by_label("Connect").is_some());
}

/// TCP has no message boundaries: a server that writes three lines in one go and one line in
/// two is shown as four messages once "lines" is chosen, with the count of what shared a
/// recv() and what took two; chosen again as "as recv() returned them", the log shows chunks.
#[test]
fn framing_shows_messages_and_counts_what_tcp_merged_and_split() {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = common::peer::spawn_peer(move || {
        let (mut s, _) = listener.accept().unwrap();
        for chunk in [&b"one\ntwo\nthr"[..], b"ee\n"] {
            s.write_all(chunk).unwrap();
            s.flush().unwrap();
            std::thread::sleep(Duration::from_millis(150));
        }
        // Hold the connection until the client goes.
        let mut buf = [0u8; 16];
        let _ = std::io::Read::read(&mut s, &mut buf);
    });
    let mut settings = Settings::default();
    settings.client.host = "127.0.0.1".into();
    settings.client.port = port.to_string();
    settings.client.framing = socket_workbench::proto::frame::Framing::parse("line").unwrap();
    settings.client.show_recvs = true;
    let mut h = harness(settings);
    h.run();
    h.get_by_label("Connect").click();
    h.run();
    wait_until(&mut h, "four messages", |a| {
        a.panels
            .client
            .model
            .frame_stats()
            .is_some_and(|s| s.frames >= 3)
    });
    // The recv()s: "one\ntwo\nthr" (two whole lines and a part), then "ee\n".
    assert!(shows(&h, "three"), "the split line is one message");
    assert!(
        shows(
            &h,
            "3 messages in 2 recv(): 2 arrived together with others, 1 split over several recv()"
        ),
        "the lesson's count"
    );
    assert!(shows(&h, "message split over 2 recv()"));
    // Each message with the recv()s that carried it: two share #1, the third came in two.
    assert!(shows(&h, "recv() #1 4 B"), "one\\n in recv() #1");
    assert!(shows(&h, "recv() #1 3 B + #2 3 B"), "thr + ee\\n");
    h.get_by_label("Disconnect").click();
    h.run();
    wait_until(&mut h, "the close", |a| {
        !a.panels.client.model.status.active()
    });
    server.join();
}

/// The payload library: a payload sent from the Library menu and another by its F-key, with
/// their checksum and counter; the composer's checksum shown in its preview before sending;
/// an unknown variable marked and nothing sent.
#[test]
fn library_sends_by_click_and_f_key_and_the_composer_previews_its_checksum() {
    use socket_workbench::proto::checksum::{Checksum, ChecksumSpec};
    use socket_workbench::proto::library::Library;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = common::peer::spawn_peer(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(LIMIT)).unwrap();
        let mut got = Vec::new();
        let _ = std::io::Read::read_to_end(&mut s, &mut got);
        got
    });
    let mut settings = Settings::default();
    settings.client.host = "127.0.0.1".into();
    settings.client.port = port.to_string();
    settings.library = Library::parse(
        "version = 1\n[[group]]\nname = \"Lab\"\n\
         [[group.payload]]\nname = \"read\"\nhex = \"01 03 00 00 00 0A\"\nchecksum = \"crc16-modbus\"\n\
         [[group.payload]]\nname = \"hi\"\ntext = \"hi {counter}\"\neol = \"lf\"\n",
    )
    .unwrap();
    settings.client.composer.checksum = Some(ChecksumSpec::new(Checksum::Xor));
    let mut h = harness(settings);
    h.run();
    h.get_by_label("Connect").click();
    h.run();
    wait_until(&mut h, "the connection", |a| {
        a.panels.client.model.status.connected()
    });

    // By click, from the Library menu.
    h.get_by_label("Library (2) ▼").click();
    h.run();
    h.get_by_label("F1  read").click();
    h.run();
    // By its key.
    h.key_press(egui::Key::F2);
    h.run();

    // The composer's own message, with XOR appended: the preview says so before sending.
    type_into(&mut h, "Message", "hello");
    assert!(
        shows(&h, "→ 6 bytes: 68 65 6C 6C 6F [62]"),
        "the preview with the checksum apart"
    );
    h.get_by_label("Send").click();
    h.run();

    // An unknown variable: said, and Send is off.
    clear_field(&mut h, "Message");
    type_into(&mut h, "Message", "x{nope}");
    assert!(shows(&h, "unknown variable {nope}"));
    assert!(h.get_by_label("Send").accesskit_node().is_disabled());

    wait_until(&mut h, "the three sends", |a| {
        a.panels.client.model.log.counters.tx_bytes >= 19
    });
    h.get_by_label("Disconnect").click();
    h.run();
    wait_until(&mut h, "the close", |a| {
        !a.panels.client.model.status.active()
    });
    let got = server.join();
    let mut want = vec![1, 3, 0, 0, 0, 0x0A, 0xC5, 0xCD];
    want.extend_from_slice(b"hi 1\nhello\x62");
    assert_eq!(got, want);
}

/// A conversation in the panel, step by step against a line server, each step's state shown;
/// then the connection's log recorded as a script and run again.
#[test]
fn a_conversation_runs_step_by_step_and_a_recording_replays() {
    use std::io::{BufRead, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = common::peer::spawn_peer(move || {
        let (s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(LIMIT)).unwrap();
        let mut w = s.try_clone().unwrap();
        let mut lines = 0;
        for line in std::io::BufReader::new(s).lines() {
            let Ok(line) = line else { break };
            let answer = line.replace("PING", "PONG");
            w.write_all(format!("{answer}\n").as_bytes()).unwrap();
            lines += 1;
        }
        lines
    });
    let mut settings = Settings::default();
    settings.client.host = "127.0.0.1".into();
    settings.client.port = port.to_string();
    settings.client.framing = socket_workbench::proto::frame::Framing::parse("line").unwrap();
    settings.client.script = "frame = \"line\"\n\n[[step]]\nsend = \"PING 1\\n\"\n\n\
                              [[step]]\nexpect_regex = 'PONG (?P<n>\\d+)'\n\n\
                              [[step]]\nsend = \"PING {n}{n}\\n\"\n\n[[step]]\nexpect = \"PONG 11\"\n"
        .into();
    let mut h = harness(settings);
    h.run();
    h.get_by_label("Connect").click();
    h.run();
    wait_until(&mut h, "the connection", |a| {
        a.panels.client.model.status.connected()
    });
    h.get_by_label("Conversation ▼").click();
    h.run();
    h.get_by_label("Step by step").click();
    h.run();
    // One step ran (the send); the expect waits for Next step.
    assert!(shows(&h, "Next step"));
    let step_state = |a: &WorkbenchApp, i: usize| {
        a.panels
            .client
            .model
            .conversation
            .as_ref()
            .map(|r| r.state(i))
    };
    use socket_workbench::model::conversation::StepState;
    assert_eq!(step_state(h.state(), 0), Some(StepState::Passed));
    assert_eq!(step_state(h.state(), 1), Some(StepState::Waiting));
    for i in 1..4 {
        h.get_by_label("Next step").click();
        h.run();
        wait_until(&mut h, "the step", |a| {
            step_state(a, i) == Some(StepState::Passed)
        });
    }
    wait_until(&mut h, "the end", |a| {
        a.panels
            .client
            .model
            .conversation
            .as_ref()
            .is_some_and(|r| r.done())
    });
    assert!(shows(&h, "all 2 expects held"));
    assert!(shows(&h, "passed"));

    // The log becomes a script, which runs again on the same connection.
    h.get_by_label("Record from log").click();
    h.run();
    let script = h.state().panels.client.settings.script.clone();
    assert!(script.contains("send = \"PING 11\\n\""), "{script}");
    assert!(script.contains("expect_exact = \"PONG 11\""), "{script}");
    h.get_by_label("Run").click();
    h.run();
    wait_until(&mut h, "the replay", |a| {
        a.panels
            .client
            .model
            .conversation
            .as_ref()
            .is_some_and(|r| r.done())
    });
    assert!(
        shows(&h, "all 2 expects held"),
        "the replay: {:?}",
        h.state()
            .panels
            .client
            .model
            .conversation
            .as_ref()
            .map(|r| r.reports.clone())
    );
    h.get_by_label("Disconnect").click();
    h.run();
    wait_until(&mut h, "the close", |a| {
        !a.panels.client.model.status.active()
    });
    assert_eq!(server.join(), 4);
}

/// The framing switched while data flows: what came before stays as recv() gave it, what
/// comes after is cut by the new rule (here a typed one: a 0x7E delimiter).
#[test]
fn framing_switched_on_live_data() {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (go_tx, go_rx) = flume::bounded::<()>(1);
    let server = common::peer::spawn_peer(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(b"a~b~").unwrap();
        go_rx.recv_timeout(LIMIT).unwrap();
        s.write_all(b"c~d~e").unwrap();
        let mut buf = [0u8; 16];
        let _ = std::io::Read::read(&mut s, &mut buf);
    });
    let mut settings = Settings::default();
    settings.client.host = "127.0.0.1".into();
    settings.client.port = port.to_string();
    let mut h = harness(settings);
    h.run();
    h.get_by_label("Connect").click();
    h.run();
    wait_until(&mut h, "the first bytes", |a| {
        a.panels.client.model.log.counters.rx_bytes >= 4
    });
    assert!(shows(&h, "a~b~"), "as recv() returned it");
    h.state_mut().panels.client.settings.framing =
        socket_workbench::proto::frame::Framing::parse("hex:7E").unwrap();
    h.run();
    go_tx.send(()).unwrap();
    wait_until(&mut h, "two messages", |a| {
        a.panels
            .client
            .model
            .frame_stats()
            .is_some_and(|s| s.frames >= 2)
    });
    assert_eq!(h.state().panels.client.model.framing().words(), "hex:7E");
    assert!(shows(&h, "2 messages in 1 recv()"));
    h.get_by_label("Disconnect").click();
    h.run();
    wait_until(&mut h, "the close", |a| {
        !a.panels.client.model.status.active()
    });
    // "e" never got its delimiter: handed on as an incomplete message when the connection ended.
    assert!(shows(&h, "incomplete message"));
    server.join();
}
