//! Every panel at the sizes projectors have: 1024×768, 1280×800 and 1920×1080, in normal and
//! classroom mode, in English and Chinese, each with realistic content (a conversation, a
//! class of 30 clients, a finished check, …). What is checked is read off the frame egui
//! drew (its accessibility tree and the widgets' clipped rectangles), never a constant:
//!
//! - no two interactive widgets overlap;
//! - no text or widget is cut off at the window's edge (clipping inside a scrolled region is
//!   fine; clipping by the window is not);
//! - the main view shows the rows the panel's job needs: log entries, the class's clients,
//!   the file server's requests, downloads, every verdict of a check.

mod common;
use common::ui as ui_support;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use ui_support::App;

use egui::Rect;
use egui_kittest::kittest::{AccessKitNode, NodeT};
use socket_workbench::app::{Settings, Tab, WorkbenchApp};
use socket_workbench::i18n::{Lang, Msg};

const LIMIT: Duration = Duration::from_secs(20);

/// The sizes of the projectors in classrooms, in pixels.
const SIZES: [(f32, f32); 3] = [(1024.0, 768.0), (1280.0, 800.0), (1920.0, 1080.0)];

#[derive(Debug, Clone, Copy)]
struct Screen {
    px: (f32, f32),
    classroom: bool,
    lang: Lang,
}

fn screens() -> Vec<Screen> {
    let mut out = Vec::new();
    for px in SIZES {
        for classroom in [false, true] {
            for lang in Lang::ALL {
                out.push(Screen {
                    px,
                    classroom,
                    lang,
                });
            }
        }
    }
    out
}

fn harness(settings: Settings) -> App {
    ui_support::stepped(settings, [1024.0, 768.0], 12)
}

fn frames(h: &mut App, n: usize) {
    for _ in 0..n {
        h.step();
    }
}

/// Puts the window on `screen`: the mode and language, then the size in points that the
/// pixels make at the mode's zoom.
fn show_on(h: &mut App, screen: Screen) {
    h.state_mut().classroom = screen.classroom;
    h.state_mut().lang = screen.lang;
    // One frame applies the zoom, the next takes it in.
    frames(h, 2);
    let zoom = h.ctx.zoom_factor();
    h.set_size(egui::vec2(screen.px.0, screen.px.1) / zoom);
    // Panels settle their sizes over a frame or two (content measured, then placed).
    frames(h, 6);
    let shown = h.ctx.content_rect().size() * h.ctx.zoom_factor();
    assert!(
        (shown.x - screen.px.0).abs() < 2.0 && (shown.y - screen.px.1).abs() < 2.0,
        "{screen:?}: the window is {shown:?} pixels"
    );
}

/// A widget as drawn: its role and words from the accessibility tree, its rectangle and
/// the part of it that is not clipped away.
#[derive(Debug, Clone)]
struct Drawn {
    role: egui::accesskit::Role,
    text: String,
    rect: Rect,
    visible: Rect,
}

impl Drawn {
    fn interactive(&self) -> bool {
        use egui::accesskit::Role::*;
        matches!(
            self.role,
            Button
                | CheckBox
                | RadioButton
                | TextInput
                | MultilineTextInput
                | ComboBox
                | SpinButton
                | Slider
                | Link
                | Switch
        )
    }

    /// A row on show: all of its height, and its start (a long line scrolls sideways).
    fn row_shown(&self) -> bool {
        self.visible.height() >= self.rect.height() - 0.5
            && self.visible.min.x <= self.rect.min.x + 0.5
            && self.visible.width() >= self.rect.width().min(120.0)
    }

    /// Wholly on show: nothing of it clipped.
    fn whole(&self) -> bool {
        self.visible.height() >= self.rect.height() - 0.5
            && self.visible.width() >= self.rect.width() - 0.5
    }
}

fn walk<'t>(node: AccessKitNode<'t>, out: &mut Vec<AccessKitNode<'t>>) {
    for child in node.children() {
        out.push(child);
        walk(child, out);
    }
}

/// Everything the last frame drew, in the main layers (no popups or tooltips are open).
fn drawn(h: &App) -> Vec<Drawn> {
    let mut nodes = Vec::new();
    walk(h.root().accesskit_node(), &mut nodes);
    let rects: std::collections::HashMap<u64, (Rect, Rect, bool)> = h.ctx.viewport(|vp| {
        let widgets = if vp.this_pass.widgets.layers().next().is_some() {
            &vp.this_pass.widgets
        } else {
            &vp.prev_pass.widgets
        };
        widgets
            .layers()
            .filter(|(layer, _)| {
                matches!(layer.order, egui::Order::Background | egui::Order::Middle)
            })
            .flat_map(|(_, ws)| ws.iter())
            .map(|w| (w.id.value(), (w.rect, w.interact_rect, w.visible)))
            .collect()
    });
    nodes
        .into_iter()
        .filter_map(|n| {
            let (rect, visible, shown) = *rects.get(&n.locate().0.0)?;
            if !shown || !visible.is_positive() {
                return None;
            }
            let text = n.label().or_else(|| n.value()).unwrap_or_default();
            Some(Drawn {
                role: n.role(),
                text,
                rect,
                visible,
            })
        })
        .collect()
}

/// Failures of the rules every panel keeps, in words.
fn general_faults(h: &App, all: &[Drawn]) -> Vec<String> {
    let screen = h.ctx.content_rect();
    let mut faults = Vec::new();
    let active: Vec<&Drawn> = all.iter().filter(|d| d.interactive()).collect();
    for (i, a) in active.iter().enumerate() {
        for b in &active[i + 1..] {
            let both = a.visible.intersect(b.visible);
            if both.is_positive() && both.area() > 2.0 {
                faults.push(format!(
                    "overlap: {:?} '{}' {:?} and {:?} '{}' {:?}",
                    a.role, a.text, a.visible, b.role, b.text, b.visible
                ));
            }
        }
    }
    for d in all.iter().filter(|d| !d.text.is_empty() || d.interactive()) {
        // Cut off by the window: it reaches past an edge and what shows of it ends there
        // (a widget clipped by a scrolled region inside the window ends before the edge).
        let cut_right = d.rect.max.x > screen.max.x + 0.5 && d.visible.max.x >= screen.max.x - 0.5;
        let cut_bottom = d.rect.max.y > screen.max.y + 0.5 && d.visible.max.y >= screen.max.y - 0.5;
        if cut_right || cut_bottom {
            faults.push(format!(
                "cut at the window's edge: {:?} '{}' {:?}",
                d.role, d.text, d.rect
            ));
        }
    }
    faults
}

/// The top bar is one line: every tab on show, and every widget of the bar (the first pane
/// drawn) at the same height.
fn top_bar_faults(lang: Lang, all: &[Drawn]) -> Vec<String> {
    let mut faults = Vec::new();
    for &tab in Tab::ALL {
        let name = lang.t(tab.title());
        if !all
            .iter()
            .any(|d| d.interactive() && d.text == name && d.whole())
        {
            faults.push(format!("the tab '{name}' is not on show"));
        }
    }
    let Some(bar) = all.iter().find(|d| d.role == egui::accesskit::Role::Pane) else {
        return vec!["no top bar".into()];
    };
    let items: Vec<&Drawn> = all
        .iter()
        .filter(|d| d.interactive() && bar.rect.contains_rect(d.rect))
        .collect();
    if let Some(first) = items.first()
        && let Some(off) = items
            .iter()
            .find(|d| (d.rect.top() - first.rect.top()).abs() > 1.0)
    {
        faults.push(format!(
            "the top bar is not one line: '{}' at {}, '{}' at {}",
            off.text,
            off.rect.top(),
            first.text,
            first.rect.top()
        ));
    }
    faults
}

/// Log rows on show: "12:34:56.789 ← RX …" or, in classroom mode, "12:34:56 ← …".
fn log_rows(all: &[Drawn]) -> usize {
    all.iter()
        .filter(|d| d.row_shown() && is_log_row(&d.text))
        .count()
}

fn is_log_row(text: &str) -> bool {
    let b = text.as_bytes();
    let time = b.len() > 10
        && b[2] == b':'
        && b[5] == b':'
        && b[..8]
            .iter()
            .enumerate()
            .all(|(i, c)| i == 2 || i == 5 || c.is_ascii_digit());
    if !time {
        return false;
    }
    let rest = text[8..].trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    ["→", "←", "·", "!"]
        .iter()
        .any(|arrow| rest.strip_prefix(' ').is_some_and(|r| r.starts_with(arrow)))
}

/// Table rows on show, counted by their "#n" cell.
fn numbered_rows(all: &[Drawn]) -> usize {
    all.iter()
        .filter(|d| {
            d.whole()
                && d.text.len() > 1
                && d.text.starts_with('#')
                && d.text[1..].chars().all(|c| c.is_ascii_digit())
        })
        .count()
}

fn count_whole(all: &[Drawn], text: &str) -> usize {
    all.iter().filter(|d| d.whole() && d.text == text).count()
}

/// Waits for `done`, giving the engines' events to the app.
fn wait_until(h: &mut App, what: &str, done: impl Fn(&WorkbenchApp) -> bool) {
    let deadline = Instant::now() + LIMIT;
    while !done(h.state()) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        {
            let app = h.state_mut();
            app.panels.client.wait_event(Duration::from_millis(5));
            app.panels.server.wait_event(Duration::from_millis(5));
            app.panels.udp.wait_event(Duration::from_millis(5));
            app.panels.files.wait_event(Duration::from_millis(5));
            app.panels.download.wait_event(Duration::from_millis(5));
            app.panels.check.wait_event(Duration::from_millis(5));
            app.drain_events();
        }
        h.step();
    }
    h.step();
}

/// Shows the app on every screen and checks the general rules and `rows` (what the panel
/// needs on show) on each; all faults are reported together.
fn check_every_screen(h: &mut App, rows: impl Fn(&Screen, &[Drawn]) -> Vec<String>) {
    check_every_screen_with(h, |_| {}, rows);
}

/// The same, with `prepare` done on each screen before it is checked (a view to open).
fn check_every_screen_with(
    h: &mut App,
    prepare: impl Fn(&mut WorkbenchApp),
    rows: impl Fn(&Screen, &[Drawn]) -> Vec<String>,
) {
    let mut faults = Vec::new();
    for screen in screens() {
        show_on(h, screen);
        prepare(h.state_mut());
        frames(h, 3);
        let all = drawn(h);
        if std::env::var("LAYOUT_DUMP")
            .is_ok_and(|v| v == format!("{}{}", screen.px.0, screen.classroom))
        {
            for d in &all {
                eprintln!("{:?} {:?} vis {:?} '{}'", d.role, d.rect, d.visible, d.text);
            }
        }
        if std::env::var_os("LAYOUT_REPORT").is_some() {
            // The figures of the closing note: what each screen shows.
            let badges = count_whole(&all, screen.lang.t(Msg::CheckPassed))
                + count_whole(&all, screen.lang.t(Msg::CheckFailed));
            let bars = all
                .iter()
                .filter(|d| d.whole() && d.role == egui::accesskit::Role::ProgressIndicator)
                .count();
            eprintln!(
                "REPORT {:?} {}x{} {} {:?}: log {} numbered {} progress {} verdicts {}",
                h.state().tab,
                screen.px.0,
                screen.px.1,
                if screen.classroom {
                    "classroom"
                } else {
                    "normal"
                },
                screen.lang,
                log_rows(&all),
                numbered_rows(&all),
                bars,
                badges
            );
        }
        let bar = top_bar_faults(screen.lang, &all);
        for fault in general_faults(h, &all)
            .into_iter()
            .chain(bar)
            .chain(rows(&screen, &all))
        {
            faults.push(format!(
                "{}×{} {} {:?}: {fault}",
                screen.px.0,
                screen.px.1,
                if screen.classroom {
                    "classroom"
                } else {
                    "normal"
                },
                screen.lang
            ));
        }
    }
    assert!(
        faults.is_empty(),
        "{} faults:\n{}",
        faults.len(),
        faults.join("\n")
    );
}

fn at_least(what: &str, got: usize, want: usize) -> Vec<String> {
    if got >= want {
        Vec::new()
    } else {
        vec![format!("{got} {what} on show, {want} needed")]
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sw-layout-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn loopback_settings(tab: Tab) -> Settings {
    let mut s = Settings {
        tab,
        ..Settings::default()
    };
    s.server.bind_ip = "127.0.0.1".into();
    s.server.port = "0".into();
    s.udp.bind_ip = "127.0.0.1".into();
    s.udp.port = "0".into();
    s.files.bind_ip = "127.0.0.1".into();
    s.files.port = "0".into();
    s
}

#[test]
fn tcp_client_shows_ten_log_entries_everywhere() {
    // A chatty server: 30 lines, each its own read on the client. The next line goes out
    // only once the panel has the last one, so no two are read together (Wine's sockets
    // merge lines sent 15 ms apart).
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let lines: Vec<String> = (1..=30)
        .map(|i| format!("第 {i} 条消息：hello from the server\n"))
        .collect();
    let (go, next) = flume::unbounded::<()>();
    let sent = lines.clone();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        for line in sent {
            if next.recv_timeout(LIMIT).is_err() {
                break;
            }
            s.write_all(line.as_bytes()).unwrap();
        }
        s
    });
    let mut settings = loopback_settings(Tab::TcpClient);
    settings.client.host = "127.0.0.1".into();
    settings.client.port = addr.port().to_string();
    let mut h = harness(settings);
    let ctx = h.ctx.clone();
    h.state_mut().panels.client.connect(&ctx);
    let mut have = 0;
    for (i, line) in lines.iter().enumerate() {
        have += line.len() as u64;
        go.send(()).unwrap();
        wait_until(&mut h, &format!("message {}", i + 1), |a| {
            a.panels.client.model.log.counters.rx_bytes == have
        });
    }
    check_every_screen(&mut h, |_, all| at_least("log entries", log_rows(all), 10));
    drop(server.join());
}

#[test]
fn tcp_server_shows_a_class_of_thirty() {
    let mut h = harness(loopback_settings(Tab::TcpServer));
    let local = listen(&mut h);
    let mut class: Vec<TcpStream> = (0..30)
        .map(|_| TcpStream::connect(local).unwrap())
        .collect();
    wait_until(&mut h, "30 clients", |a| {
        a.panels.server.model.connected == 30
    });
    for round in 1..=2 {
        for (i, s) in class.iter_mut().enumerate() {
            s.write_all(format!("学生{}：第{round}次发送", i + 1).as_bytes())
                .unwrap();
        }
        wait_until(&mut h, "their messages", |a| {
            a.panels.server.model.log.counters.rx_msgs >= 30 * round
        });
    }
    let address = local.to_string();
    check_every_screen(&mut h, |screen, all| {
        let mut faults = at_least("client rows", numbered_rows(all), 8);
        let log = if screen.classroom { 8 } else { 10 };
        faults.extend(at_least("log entries", log_rows(all), log));
        // The address students type: on show, large in classroom mode.
        let body = 15.0;
        match all.iter().find(|d| d.text == address && d.whole()) {
            Some(d) if screen.classroom && d.rect.height() < 1.4 * body => faults.push(format!(
                "the address to type is {:.0} points tall, not large",
                d.rect.height()
            )),
            Some(_) => {}
            None => faults.push(format!("the address to type ({address}) is not on show")),
        }
        faults
    });
    drop(class);
}

#[test]
fn udp_shows_its_peers_and_ten_datagrams() {
    let mut h = harness(loopback_settings(Tab::Udp));
    let ctx = h.ctx.clone();
    h.state_mut().panels.udp.bind(&ctx);
    wait_until(&mut h, "bound", |a| {
        matches!(
            a.panels.udp.model.status,
            socket_workbench::model::UdpStatus::Bound { .. }
        )
    });
    let local = match h.state().panels.udp.model.status {
        socket_workbench::model::UdpStatus::Bound { local, .. } => local,
        ref other => panic!("not bound: {other:?}"),
    };
    let peers: Vec<UdpSocket> = (0..3)
        .map(|_| UdpSocket::bind("127.0.0.1:0").unwrap())
        .collect();
    for i in 0..10 {
        for (p, s) in peers.iter().enumerate() {
            s.send_to(format!("设备{p}：读数 {i}").as_bytes(), local)
                .unwrap();
        }
    }
    wait_until(&mut h, "30 datagrams", |a| {
        a.panels.udp.model.log.counters.rx_msgs >= 30
    });
    check_every_screen(&mut h, |_, all| {
        let mut faults = at_least("log entries", log_rows(all), 10);
        let shown = peers
            .iter()
            .filter(|p| {
                let addr = p.local_addr().unwrap().to_string();
                all.iter().any(|d| d.whole() && d.text == addr)
            })
            .count();
        faults.extend(at_least("peer rows", shown, 3));
        faults
    });
}

/// Starts the app's TCP server and gives its address.
fn listen(h: &mut App) -> SocketAddr {
    let ctx = h.ctx.clone();
    h.state_mut().panels.server.start(&ctx);
    wait_until(h, "listening", |a| {
        a.panels.server.model.status.listening().is_some()
    });
    h.state().panels.server.model.status.listening().unwrap()
}

/// Starts the app's file server (sharing what its settings say) and gives its address.
fn serve(h: &mut App) -> SocketAddr {
    use socket_workbench::model::files::FileServerStatus;
    let ctx = h.ctx.clone();
    h.state_mut().panels.files.start(&ctx);
    wait_until(h, "serving", |a| {
        matches!(
            a.panels.files.model.status,
            FileServerStatus::Listening { .. }
        )
    });
    match h.state().panels.files.model.status {
        FileServerStatus::Listening { local, .. } => local,
        ref other => panic!("not serving: {other:?}"),
    }
}

/// The lesson's download: a name, then the bytes until close.
fn lesson_request(addr: SocketAddr, name: &str) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(LIMIT)).unwrap();
    s.write_all(name.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

#[test]
fn file_server_shows_its_requests_with_their_outcome() {
    let dir = temp_dir("files");
    std::fs::write(dir.join("hello.py"), b"print('hello')\n").unwrap();
    std::fs::write(dir.join("课程笔记.txt"), "第一课".as_bytes()).unwrap();
    std::fs::write(dir.join("lecture-video.bin"), vec![7u8; 300_000]).unwrap();
    let mut settings = loopback_settings(Tab::FileServer);
    settings.files.folder = dir.display().to_string();
    let mut h = harness(settings);
    let local = serve(&mut h);
    let names = [
        "hello.py",
        "课程笔记.txt",
        "lecture-video.bin",
        "missing.doc",
        "../../etc/passwd",
        "hello.py",
        "lecture-video.bin",
        "nothing-here.txt",
        "hello.py",
        "课程笔记.txt",
    ];
    for name in names {
        lesson_request(local, name);
    }
    wait_until(&mut h, "10 requests", |a| {
        a.panels
            .files
            .model
            .rows
            .values()
            .filter(|r| r.finished())
            .count()
            >= names.len()
    });
    check_every_screen(&mut h, |_, all| {
        at_least("request rows", numbered_rows(all), 8)
    });
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn download_shows_its_rows() {
    let dir = temp_dir("download");
    let share = dir.join("share");
    std::fs::create_dir_all(&share).unwrap();
    for (name, size) in [("a.bin", 200_000), ("b.txt", 10), ("课件.pdf", 50_000)] {
        std::fs::write(share.join(name), vec![1u8; size]).unwrap();
    }
    let mut settings = loopback_settings(Tab::Download);
    settings.files.folder = share.display().to_string();
    settings.download.folder = dir.join("got").display().to_string();
    let mut h = harness(settings);
    let local = serve(&mut h);
    let ctx = h.ctx.clone();
    for name in ["a.bin", "b.txt", "课件.pdf", "missing.doc"] {
        let d = &mut h.state_mut().panels.download;
        d.settings.server = local.to_string();
        d.settings.name = name.into();
        d.start(&ctx, None);
    }
    wait_until(&mut h, "4 downloads", |a| {
        a.panels.download.model.rows.len() == 4
            && a.panels.download.model.rows.iter().all(|r| !r.running())
    });
    check_every_screen(&mut h, |_, all| {
        let bars = all
            .iter()
            .filter(|d| d.whole() && d.role == egui::accesskit::Role::ProgressIndicator)
            .count();
        at_least("download rows", bars, 3)
    });
    let _ = std::fs::remove_dir_all(dir);
}

/// The lesson's first server: one accept(), then that client's recv() loop.
fn one_client_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        if let Ok((mut c, _)) = listener.accept() {
            let mut buf = [0u8; 1024];
            while let Ok(n) = c.read(&mut buf) {
                if n == 0 || c.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
        // Keep the listener (and its backlog) alive for the rest of the test.
        std::thread::sleep(Duration::from_secs(120));
        drop(listener);
    });
    addr
}

#[test]
fn check_shows_every_verdict() {
    let addr = one_client_server();
    let mut settings = loopback_settings(Tab::Check);
    settings.check.target = addr.to_string();
    settings.check.timeout_s = 0.3;
    let mut h = harness(settings);
    let lang = Lang::En;
    let ctx = h.ctx.clone();
    h.state_mut().panels.check.start(&ctx, lang);
    wait_until(&mut h, "the check", |a| {
        !a.panels.check.running() && a.panels.check.server_check().is_some()
    });
    let verdicts = h
        .state()
        .panels
        .check
        .report(lang)
        .unwrap()
        .iter()
        .filter(|l| l.starts_with('['))
        .count();
    assert!(verdicts >= 6, "{verdicts} verdicts");
    check_every_screen(&mut h, |screen, all| {
        let passed = screen.lang.t(Msg::CheckPassed);
        let failed = screen.lang.t(Msg::CheckFailed);
        let shown = count_whole(all, passed) + count_whole(all, failed);
        at_least("verdicts", shown, verdicts)
    });
}

#[test]
fn lesson_fits_every_screen() {
    let mut h = harness(loopback_settings(Tab::Lesson));
    let scenario = socket_workbench::net::scenario::LessonScenario::Handshake;
    let ctx = h.ctx.clone();
    h.state_mut().panels.lesson.run(&ctx, scenario);
    let deadline = Instant::now() + LIMIT;
    while h.state().panels.lesson.running() {
        assert!(Instant::now() < deadline, "the scenario did not end");
        std::thread::sleep(Duration::from_millis(10));
        h.step();
    }
    frames(&mut h, 3);
    check_every_screen(&mut h, |_, _| Vec::new());
}

#[test]
fn lab_fits_every_screen() {
    let mut h = harness(loopback_settings(Tab::Lab));
    h.state_mut()
        .panels
        .lab
        .run(socket_workbench::lab::scenario::Scenario::Congestion);
    h.state_mut().panels.lab.clock.speed = 50.0;
    for _ in 0..4000 {
        if h.state().panels.lab.finished() {
            break;
        }
        h.step();
    }
    assert!(h.state().panels.lab.finished(), "the scenario did not end");
    // Each of the views: the diagram's labels must not cover each other, the table's last
    // column must not run off the window.
    use socket_workbench::ui::lab_panel::LabView;
    for view in [LabView::Diagram, LabView::Table, LabView::Chart] {
        check_every_screen_with(&mut h, |app| app.panels.lab.view = view, |_, _| Vec::new());
    }
}

/// The x where the log's toolbar starts (its "Options" menu): it moves with the splitter
/// between the class's table and the log.
fn log_left(h: &App) -> f32 {
    let all = drawn(h);
    all.iter()
        .find(|d| d.role == egui::accesskit::Role::Button && d.text == "Options ▼")
        .map(|d| d.rect.left())
        .expect("the log's Options menu")
}

/// The splitter between the table and the log (the one standing upright).
fn upright_splitter(h: &App) -> Rect {
    let all = drawn(h);
    let splitters: Vec<&Drawn> = all
        .iter()
        .filter(|d| d.role == egui::accesskit::Role::Splitter && d.rect.height() > d.rect.width())
        .collect();
    assert_eq!(splitters.len(), 1, "{splitters:?}");
    splitters[0].rect
}

/// A splitter the teacher drags keeps its place in that mode, and only there; a
/// double-click gives the size back to the layout.
#[test]
fn a_dragged_splitter_is_remembered_per_mode() {
    let mut h = harness(loopback_settings(Tab::TcpServer));
    let local = listen(&mut h);
    let _class: Vec<TcpStream> = (0..3).map(|_| TcpStream::connect(local).unwrap()).collect();
    wait_until(&mut h, "3 clients", |a| {
        a.panels.server.model.connected == 3
    });
    let classroom = Screen {
        px: (1024.0, 768.0),
        classroom: true,
        lang: Lang::En,
    };
    let normal = Screen {
        classroom: false,
        ..classroom
    };
    show_on(&mut h, classroom);
    let before = log_left(&h);
    let grip = upright_splitter(&h).center();
    h.hover_at(grip);
    h.drag_at(grip);
    for dx in [10.0, 30.0, 60.0] {
        h.hover_at(grip + egui::vec2(dx, 0.0));
    }
    h.drop_at(grip + egui::vec2(60.0, 0.0));
    frames(&mut h, 4);
    let dragged = log_left(&h);
    assert!(
        (dragged - before - 60.0).abs() < 6.0,
        "the log moved from {before} to {dragged}"
    );
    // The other mode has its own layout, and going there and back keeps the teacher's.
    show_on(&mut h, normal);
    show_on(&mut h, classroom);
    assert!((log_left(&h) - dragged).abs() < 1.0, "not kept");
    // A double-click on the splitter: the layout's size again.
    let grip = upright_splitter(&h).center();
    for _ in 0..2 {
        h.hover_at(grip);
        h.drag_at(grip);
        h.drop_at(grip);
    }
    frames(&mut h, 4);
    assert!(
        (log_left(&h) - before).abs() < 1.0,
        "{} after the double-click, {before} before the drag",
        log_left(&h)
    );
}

/// Congestion control in full flow: a window's worth of segments on the wire at once. Their
/// labels must not pile into one strip over the hosts: where a label has no room its packet
/// is a small chip, and no two packets are offered to the mouse at the same place.
#[test]
fn lab_wire_in_full_flow_fits_every_screen() {
    let mut h = harness(loopback_settings(Tab::Lab));
    h.state_mut()
        .panels
        .lab
        .run(socket_workbench::lab::scenario::Scenario::Congestion);
    h.state_mut().panels.lab.clock.speed = 1.0;
    let mut most = 0;
    for _ in 0..3000 {
        let flying = h.state().panels.lab.play.lab.on_the_wire().len();
        most = most.max(flying);
        if flying >= 12 {
            break;
        }
        h.step();
    }
    assert!(
        most >= 12,
        "at most {most} packets were on the wire at once"
    );
    h.state_mut().panels.lab.clock.paused = true;
    check_every_screen(&mut h, |screen, all| {
        // Every packet on the wire is drawn, as a label or a chip; those with a label are
        // named "#id …" for the screen reader, and at least a few keep their words.
        let labelled = all
            .iter()
            .filter(|d| d.role == egui::accesskit::Role::Button && d.text.starts_with('#'))
            .count();
        if labelled == 0 {
            vec![format!(
                "{:?}: no packet on the wire can be picked",
                screen.px
            )]
        } else {
            Vec::new()
        }
    });
}
