//! The "Check a server" panel through egui_kittest: type a server, press Start, watch the
//! board fill and the verdicts arrive, export the report; a failing server gets its hint in
//! Chinese; a load run draws its report; Stop ends a run at once; bad input is said in words.
//! Loopback only, reference servers written in the test.

mod common;
use common::ui as ui_support;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use ui_support::{App, shows};

use egui_kittest::kittest::Queryable;
use socket_workbench::app::{Settings, Tab};
use socket_workbench::i18n::Lang;
use socket_workbench::model::check::{Mode, Square};

use common::files;
use files::TempDir;

const CHECK_LIMIT: Duration = Duration::from_secs(40);

fn harness(settings: Settings) -> App {
    ui_support::harness(settings, [1280.0, 800.0])
}

/// Frames until the panel's run has ended (bounded).
fn until_done(h: &mut App) {
    let deadline = Instant::now() + CHECK_LIMIT;
    // One frame first: the start's job may not have been looked at yet.
    h.run();
    while h.state().panels.check.running() {
        assert!(Instant::now() < deadline, "the run did not end");
        h.state_mut()
            .panels
            .check
            .wait_event(Duration::from_millis(100));
        h.run();
    }
    h.run();
    h.run();
}

fn echo_loop(mut c: TcpStream) {
    let mut buf = [0u8; 1024];
    while let Ok(n) = c.read(&mut buf) {
        if n == 0 || c.write_all(&buf[..n]).is_err() {
            break;
        }
    }
}

/// accept() in a loop, a thread per client: passes.
fn threaded_server() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for c in l.incoming().flatten() {
            std::thread::spawn(move || echo_loop(c));
        }
    });
    a
}

/// The lesson's own server: one accept(), that client's loop, then nothing.
fn one_client_server() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = l.local_addr().unwrap();
    std::thread::spawn(move || {
        if let Ok((c, _)) = l.accept() {
            echo_loop(c);
        }
        std::thread::sleep(Duration::from_secs(60));
        drop(l);
    });
    a
}

fn check_settings(mode: Mode) -> Settings {
    let mut s = Settings {
        tab: Tab::Check,
        ..Settings::default()
    };
    s.check.mode = mode;
    s.check.target = String::new();
    s.check.clients = 8;
    s.check.messages = 3;
    s.check.timeout_s = 0.8;
    s
}

fn type_target(h: &mut App, label: &str, addr: &str) {
    let field = h.get_by_label(label);
    field.focus();
    field.type_text(addr);
    h.run();
}

#[test]
fn a_correct_server_passes_on_the_board_and_the_report_exports() {
    let addr = threaded_server();
    let out = TempDir::new("ui-check-export");
    let mut settings = check_settings(Mode::Server);
    settings.check.export_path = out.0.join("report.txt").display().to_string();
    let mut h = harness(settings);
    h.run();
    type_target(&mut h, "Server (host:port)", &addr.to_string());
    h.get_by_label("Start checking").click();
    until_done(&mut h);
    let check = h.state().panels.check.server_check().expect("a check ran");
    assert_eq!(check.counts()[Square::ALL.len() - 2], 8, "all eight done");
    assert_eq!(check.passed(), 6);
    assert!(shows(&h, "6 of 6 checks passed"));
    assert!(shows(&h, "all answered 8"));

    // Export (behind its menu on the folded line): the same words, in a file.
    h.get_by_label("Export report ▼").click();
    h.run();
    h.get_by_label("Export report").click();
    let deadline = Instant::now() + CHECK_LIMIT;
    let path = out.0.join("report.txt");
    while !shows(&h, "Saved") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        h.run();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(&addr.to_string()), "{text}");
    assert!(text.contains("6 of 6 checks passed"), "{text}");
    assert!(text.contains("8 clients × 3 messages"), "{text}");
}

#[test]
fn the_one_client_server_gets_its_hint_in_chinese() {
    let addr = one_client_server();
    let mut settings = check_settings(Mode::Server);
    settings.lang = Lang::Zh;
    // Only the class check, so the test stays short.
    settings.check.skip = ["connect-close", "slow", "big", "half-close", "reconnect"]
        .map(String::from)
        .to_vec();
    let mut h = harness(settings);
    h.run();
    type_target(&mut h, "服务器（主机:端口）", &addr.to_string());
    h.get_by_label("开始检查").click();
    until_done(&mut h);
    assert!(shows(&h, "循环中调用 accept()"));
    assert!(shows(&h, "1 项检查中通过 0 项"));
    let check = h.state().panels.check.server_check().unwrap();
    // One served, seven fell short.
    assert_eq!(check.counts()[3], 1);
    assert_eq!(check.counts()[4], 7);
    assert!(shows(&h, "（7 个）：3 条中得到 0 条回复"));
}

#[test]
fn stop_ends_a_waiting_check_at_once() {
    let addr = one_client_server();
    let mut settings = check_settings(Mode::Server);
    settings.check.timeout_s = 20.0;
    let mut h = harness(settings);
    h.run();
    type_target(&mut h, "Server (host:port)", &addr.to_string());
    h.get_by_label("Start checking").click();
    // Wait until the first client is done and the rest are waiting for answers.
    let deadline = Instant::now() + CHECK_LIMIT;
    loop {
        h.state_mut()
            .panels
            .check
            .wait_event(Duration::from_millis(50));
        h.run();
        let done = h
            .state()
            .panels
            .check
            .server_check()
            .is_some_and(|c| c.counts()[3] == 1);
        if done {
            break;
        }
        assert!(Instant::now() < deadline, "the first client was not served");
    }
    let asked = Instant::now();
    h.get_by_label("Stop").click();
    until_done(&mut h);
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "{:?}",
        asked.elapsed()
    );
    assert!(shows(&h, "Stopped before the end"));
    assert!(
        h.state()
            .panels
            .check
            .server_check()
            .unwrap()
            .results
            .is_empty()
    );
}

#[test]
fn bad_input_is_said_in_the_panel() {
    let mut h = harness(check_settings(Mode::Server));
    h.run();
    type_target(&mut h, "Server (host:port)", "no port here");
    h.get_by_label("Start checking").click();
    h.run();
    assert!(shows(&h, "Type the server as host:port"));
    assert!(!h.state().panels.check.running());

    // A folder that does not exist, for exercise 2.
    h.state_mut().panels.check.settings.mode = Mode::Files;
    h.state_mut().panels.check.settings.target = "127.0.0.1:9".into();
    h.state_mut().panels.check.settings.local = "/no/such/folder/anywhere".into();
    h.run();
    h.get_by_label("Start checking").click();
    until_done(&mut h);
    assert!(shows(&h, "does not exist"));

    // A UDP load needs a rate.
    h.state_mut().panels.check.settings.mode = Mode::Load;
    h.state_mut().panels.check.settings.load_udp = true;
    h.state_mut().panels.check.settings.load_rate = 0.0;
    h.run();
    h.get_by_label("Start load").click();
    h.run();
    assert!(shows(&h, "A UDP stream needs a rate"));
}

/// A lesson-style file server: the name, then the file's bytes, then close; nothing for a
/// name it does not have.
fn file_server(dir: PathBuf) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut c in l.incoming().flatten() {
            let dir = dir.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 1024];
                let n = c.read(&mut buf).unwrap_or(0);
                let name = String::from_utf8_lossy(&buf[..n]).trim().to_owned();
                if let Ok(data) = std::fs::read(dir.join(&name)) {
                    let _ = c.write_all(&data);
                }
            });
        }
    });
    a
}

#[test]
fn a_file_server_is_checked_against_a_typed_folder() {
    let shared = TempDir::new("ui-check-shared");
    std::fs::write(shared.0.join("hello.py"), b"print('hello')\n").unwrap();
    std::fs::write(shared.0.join("data.bin"), vec![7u8; 200_000]).unwrap();
    let addr = file_server(shared.0.clone());
    let mut h = harness(check_settings(Mode::Files));
    h.run();
    type_target(&mut h, "Server (host:port)", &addr.to_string());
    type_target(
        &mut h,
        "Local folder (the same files)",
        &shared.0.display().to_string(),
    );
    h.get_by_label("Start checking").click();
    until_done(&mut h);
    let run = h
        .state()
        .panels
        .check
        .files_check()
        .expect("a files check ran");
    assert_eq!(run.results.len(), 5, "{:?}", run.results);
    assert!(shows(&h, "2 file(s)"));
    assert!(shows(&h, "closed without sending anything"));
}

#[test]
fn a_load_run_draws_its_report() {
    let addr = threaded_server();
    let mut settings = check_settings(Mode::Load);
    settings.check.load_clients = 20;
    settings.check.load_secs = 1.5;
    let mut h = harness(settings);
    h.run();
    type_target(&mut h, "Server (host:port)", &addr.to_string());
    h.get_by_label("Start load").click();
    until_done(&mut h);
    let state = h.state().panels.check.load_state().expect("a load ran");
    let report = state.report.as_ref().unwrap();
    assert_eq!(report.clients_connected, 20);
    assert!(report.messages > 0);
    assert!(!state.samples.is_empty(), "samples for the plots");
    assert!(shows(&h, "Clients: 20 of 20 connected"));
    assert!(shows(&h, "Round trip: p50"));
}
