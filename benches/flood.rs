//! Ten clients flood the real TCP server engine with 64-byte messages for 10 seconds.
//!
//! Run with `cargo bench --bench flood`. A plain binary (`harness = false`): it measures and
//! prints, it never asserts on timing.
//!
//! Ten std threads, each with a blocking `TcpStream` (TCP_NODELAY, so every message is its
//! own segment where the kernel allows), `write_all` 64-byte messages as fast as they can
//! for `FLOOD` (10 s), then close. The server (auto-reply Off, 127.0.0.1, port 0 read back)
//! is, in two passes, each in its own process so its memory peak is its own:
//!
//! 1. `engine + model`: `spawn_server` with a drain loop that, every 16 ms like a 60 fps UI,
//!    takes everything pending (`try_iter`, as `ServerPanel::drain_events` does) and applies
//!    it to a `ServerModel`;
//! 2. `real panel`: the real `ServerPanel` on a headless `egui::Context`, one frame
//!    (`run_ui` + `tessellate`, 1280x800) every 16 ms; the panel drains inside its frame;
//! 3. the same, with the clients in a child process under `nice -n 19` (as if they were on
//!    other machines), so the flooders no longer take CPU time from the server's threads.
//!
//! Both passes end when every client's `ClientClosed` has been applied; then the byte counts
//! the clients wrote are compared with the model's per-client `bytes_in` (matched by peer
//! address) and the log's `rx_bytes` counter, which must be exact.

use std::collections::HashMap;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Barrier};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use egui::{Pos2, RawInput, Rect, vec2};
use socket_workbench::i18n::Lang;
use socket_workbench::model::log::{MAX_BYTES, MAX_ENTRIES};
use socket_workbench::model::{ClientState, Direction, ServerModel};
use socket_workbench::net::Waker;
use socket_workbench::net::tcp_server::{ServerConfig, ServerEvent, spawn_server};
use socket_workbench::proto::TextEncoding;
use socket_workbench::ui::ServerPanel;
use socket_workbench::ui::log_view::text_lines;
use socket_workbench::ui::server_panel::ServerSettings;

mod common;
use common::{mib, percentile, print_columns, reset_hwm, status_kib};

const CLIENTS: usize = 10;
const MSG_LEN: usize = 64;
const FLOOD: Duration = Duration::from_secs(10);
/// A pass ends at the latest this long after the flood.
const GRACE: Duration = Duration::from_secs(30);
const FRAME: Duration = Duration::from_millis(16);
const FRAME_DT: f64 = 1.0 / 60.0;

/// (time on a CPU, time runnable but waiting for one) of the calling thread so far.
fn thread_sched() -> (Duration, Duration) {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let mut f = text
        .split_whitespace()
        .map(|v| Duration::from_nanos(v.parse().unwrap_or(0)));
    (f.next().unwrap_or_default(), f.next().unwrap_or_default())
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

/// The `i`th message of client `c`: 64 bytes, ending in a newline.
fn message(c: usize, i: u64) -> [u8; MSG_LEN] {
    let mut m = [b'.'; MSG_LEN];
    let text = format!("client {c:02} message {i:012} ");
    m[..text.len()].copy_from_slice(text.as_bytes());
    m[MSG_LEN - 1] = b'\n';
    m
}

struct Flooder {
    local: SocketAddr,
    bytes: u64,
    error: Option<String>,
}

/// Starts the flooding clients; they connect, wait for each other, write for `FLOOD` and
/// close.
fn spawn_clients(addr: SocketAddr) -> Vec<JoinHandle<Result<Flooder, String>>> {
    let start = Arc::new(Barrier::new(CLIENTS));
    (0..CLIENTS)
        .map(|c| {
            let start = start.clone();
            std::thread::Builder::new()
                .name(format!("flood-{c}"))
                .spawn(move || {
                    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
                        .and_then(|s| {
                            s.set_nodelay(true)?;
                            s.set_write_timeout(Some(Duration::from_secs(10)))?;
                            Ok(s)
                        });
                    start.wait();
                    let mut s = stream.map_err(|e| format!("connect: {e}"))?;
                    let local = s.local_addr().map_err(|e| e.to_string())?;
                    let t0 = Instant::now();
                    let mut bytes = 0u64;
                    let mut i = 0u64;
                    let mut error = None;
                    while t0.elapsed() < FLOOD {
                        // Several per clock read; the clock is not free.
                        for _ in 0..16 {
                            match s.write_all(&message(c, i)) {
                                Ok(()) => {
                                    bytes += MSG_LEN as u64;
                                    i += 1;
                                }
                                Err(e) => {
                                    error = Some(e.to_string());
                                    break;
                                }
                            }
                        }
                        if error.is_some() {
                            break;
                        }
                    }
                    drop(s);
                    Ok(Flooder {
                        local,
                        bytes,
                        error,
                    })
                })
                .expect("spawn flood thread")
        })
        .collect()
}

/// What both passes report.
#[derive(Default)]
struct Report {
    pass: &'static str,
    flood: Duration,
    total: Duration,
    sent: u64,
    client_errors: Vec<String>,
    per_client: Vec<(u64, Option<u64>)>,
    rows_in: u64,
    rx_counter: u64,
    rx_msgs: u64,
    log_entries: usize,
    log_dropped: u64,
    log_bytes: usize,
    trace: String,
    text_lines: String,
    events: Option<u64>,
    drains: u64,
    max_pending: Option<usize>,
    max_drain: Duration,
    /// Most received bytes applied in one drain (all waiting in the channel until then).
    max_pending_bytes: u64,
    frames: Vec<Duration>,
    /// The UI (main) thread's time on a CPU in each frame (from schedstat, which advances
    /// at scheduler ticks and switches: only sums and means of it are meaningful).
    frame_cpu: Vec<Duration>,
    /// The main thread (drain loop or UI) during the flood: on CPU, runnable but waiting.
    main_sched: (Duration, Duration),
    hwm_before: u64,
    hwm_after: u64,
    rss_after: u64,
    hwm_reset: bool,
    stopped: bool,
    all_closed: bool,
}

fn join_clients(joins: Vec<JoinHandle<Result<Flooder, String>>>, r: &mut Report) -> Vec<Flooder> {
    let mut out = Vec::new();
    for j in joins {
        match j.join() {
            Ok(Ok(f)) => {
                if let Some(e) = &f.error {
                    r.client_errors.push(e.clone());
                }
                r.sent += f.bytes;
                out.push(f);
            }
            Ok(Err(e)) => r.client_errors.push(e),
            Err(_) => r.client_errors.push("client thread panicked".into()),
        }
    }
    out
}

/// The flooding clients in a child process under `nice -n 19`, as if they were on other
/// machines: the server process's threads then get the CPU first.
fn spawn_remote_clients(addr: SocketAddr) -> std::io::Result<std::process::Child> {
    std::process::Command::new("nice")
        .args(["-n", "19"])
        .arg(std::env::current_exe()?)
        .args(["--flood-clients", &addr.to_string()])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
}

fn join_remote_clients(child: std::process::Child, r: &mut Report) -> Vec<Flooder> {
    let out = match child.wait_with_output() {
        Ok(out) => out,
        Err(e) => {
            r.client_errors.push(format!("client process: {e}"));
            return Vec::new();
        }
    };
    let mut flooders = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let w: Vec<&str> = line.splitn(4, ' ').collect();
        match w.as_slice() {
            ["FLOODER", local, bytes, error] => {
                let (Ok(local), Ok(bytes)) = (local.parse(), bytes.parse::<u64>()) else {
                    continue;
                };
                if *error != "-" {
                    r.client_errors.push((*error).to_owned());
                }
                r.sent += bytes;
                flooders.push(Flooder {
                    local,
                    bytes,
                    error: None,
                });
            }
            ["FAILED", rest @ ..] => r.client_errors.push(rest.join(" ")),
            _ => {}
        }
    }
    flooders
}

/// The child process of [`spawn_remote_clients`].
fn remote_clients(addr: &str) -> std::io::Result<()> {
    let addr: SocketAddr = addr
        .parse()
        .map_err(|_| std::io::Error::other("bad address"))?;
    for j in spawn_clients(addr) {
        match j.join() {
            Ok(Ok(f)) => println!(
                "FLOODER {} {} {}",
                f.local,
                f.bytes,
                f.error.as_deref().unwrap_or("-")
            ),
            Ok(Err(e)) => println!("FAILED {e}"),
            Err(_) => println!("FAILED client thread panicked"),
        }
    }
    Ok(())
}

fn check_model(model: &ServerModel, flooders: &[Flooder], r: &mut Report) {
    let by_peer: HashMap<SocketAddr, u64> = model
        .clients
        .values()
        .map(|row| (row.peer, row.bytes_in))
        .collect();
    r.per_client = flooders
        .iter()
        .map(|f| (f.bytes, by_peer.get(&f.local).copied()))
        .collect();
    r.rows_in = model.clients.values().map(|row| row.bytes_in).sum();
    r.rx_counter = model.log.counters.rx_bytes;
    r.rx_msgs = model.log.counters.rx_msgs;
    r.log_entries = model.log.len();
    r.log_dropped = model.log.dropped;
    r.log_bytes = model.log.bytes_held();
    r.trace = format!("{} / {}", model.trace.calls().len(), model.trace.dropped);
    // What the log view's line index pays per byte: it decodes every new entry with
    // `text_lines` to count its display lines.
    let t = Instant::now();
    let mut decoded = 0usize;
    let mut lines = 0usize;
    for e in model
        .log
        .entries()
        .iter()
        .filter(|e| e.dir == Direction::Rx)
        .take(200)
    {
        decoded += e.data.len();
        lines += std::hint::black_box(text_lines(&e.data, TextEncoding::Utf8)).len();
    }
    let took = t.elapsed();
    r.text_lines = format!(
        "{:.0} MB/s, {:.0} ns/line",
        decoded as f64 / 1e6 / took.as_secs_f64().max(1e-9),
        took.as_nanos() as f64 / lines.max(1) as f64
    );
    r.all_closed = model.clients.len() == CLIENTS
        && model
            .clients
            .values()
            .all(|row| matches!(row.state, ClientState::Closed(_)));
}

/// Pass 1: the engine, and a 16 ms drain loop applying into a `ServerModel`.
fn pass_model() -> std::io::Result<Report> {
    let mut r = Report {
        pass: "engine + model",
        hwm_reset: reset_hwm(),
        ..Report::default()
    };
    r.hwm_before = status_kib("VmHWM:");
    let bind: SocketAddr = "127.0.0.1:0".parse().expect("address");
    let (tx, rx) = flume::unbounded();
    let handle = spawn_server(ServerConfig::new(bind), tx, Waker::noop())?;
    let mut model = ServerModel::default();
    model.begin(handle.session(), bind);
    let mut events = 0u64;
    let local = loop {
        let Ok(msg) = rx.recv_timeout(Duration::from_secs(5)) else {
            return Err(std::io::Error::other("no Listening event"));
        };
        events += 1;
        model.apply(msg);
        if let Some(local) = model.status.listening() {
            break local;
        }
        if !model.status.active() {
            return Err(std::io::Error::other(format!("{:?}", model.status)));
        }
    };

    let start = Instant::now();
    let sched0 = thread_sched();
    let joins = spawn_clients(local);
    let mut closed = 0;
    let mut max_pending = 0;
    let mut next = Instant::now();
    while closed < CLIENTS && start.elapsed() < FLOOD + GRACE {
        next += FRAME;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        r.drains += 1;
        max_pending = max_pending.max(rx.len());
        let t = Instant::now();
        let bytes0 = model.log.counters.rx_bytes;
        for msg in rx.try_iter() {
            events += 1;
            if matches!(msg.event, ServerEvent::ClientClosed { .. }) {
                closed += 1;
            }
            model.apply(msg);
        }
        r.max_drain = r.max_drain.max(t.elapsed());
        r.max_pending_bytes = r
            .max_pending_bytes
            .max(model.log.counters.rx_bytes - bytes0);
    }
    r.total = start.elapsed();
    let sched1 = thread_sched();
    r.main_sched = (sched1.0 - sched0.0, sched1.1 - sched0.1);
    let flooders = join_clients(joins, &mut r);
    r.flood = FLOOD;
    handle.join();
    for msg in rx.try_iter() {
        events += 1;
        r.stopped |= matches!(msg.event, ServerEvent::Stopped { .. });
        model.apply(msg);
    }
    r.events = Some(events);
    r.max_pending = Some(max_pending);
    r.hwm_after = status_kib("VmHWM:");
    r.rss_after = status_kib("VmRSS:");
    check_model(&model, &flooders, &mut r);
    Ok(r)
}

/// Passes 2 and 3: the real panel, a frame every 16 ms; `remote` puts the clients in a
/// niced child process.
fn pass_panel(remote: bool) -> std::io::Result<Report> {
    let mut r = Report {
        pass: "real panel",
        ..Report::default()
    };
    let ctx = egui::Context::default();
    socket_workbench::fonts::install(&ctx);
    let mut time = 0.0;
    let mut frame = |panel: &mut ServerPanel| {
        time += FRAME_DT;
        let input = RawInput {
            screen_rect: Some(Rect::from_min_size(Pos2::ZERO, vec2(1280.0, 800.0))),
            time: Some(time),
            ..RawInput::default()
        };
        let t = Instant::now();
        let out = ctx.run_ui(input, |ui| {
            egui::CentralPanel::default().show(ui, |ui| panel.ui(ui, Lang::En, false));
        });
        std::hint::black_box(ctx.tessellate(out.shapes, out.pixels_per_point));
        t.elapsed()
    };
    let mut panel = ServerPanel::new(ServerSettings {
        bind_ip: "127.0.0.1".into(),
        port: "0".into(),
        ..ServerSettings::default()
    });
    for _ in 0..3 {
        frame(&mut panel);
    }
    r.hwm_reset = reset_hwm();
    r.hwm_before = status_kib("VmHWM:");
    panel.start(&ctx);
    let deadline = Instant::now() + Duration::from_secs(5);
    while panel.model.status.listening().is_none() && Instant::now() < deadline {
        panel.wait_event(Duration::from_millis(20));
    }
    let Some(local) = panel.model.status.listening() else {
        return Err(std::io::Error::other(format!("{:?}", panel.model.status)));
    };

    let start = Instant::now();
    let sched0 = thread_sched();
    let clients = if remote {
        Err(spawn_remote_clients(local)?)
    } else {
        Ok(spawn_clients(local))
    };
    let mut next = Instant::now();
    let done = |p: &ServerPanel| {
        p.model.clients.len() == CLIENTS
            && p.model
                .clients
                .values()
                .all(|row| matches!(row.state, ClientState::Closed(_)))
    };
    while !done(&panel) && start.elapsed() < FLOOD + GRACE {
        next += FRAME;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let cpu0 = thread_sched().0;
        let bytes0 = panel.model.log.counters.rx_bytes;
        r.frames.push(frame(&mut panel));
        r.frame_cpu.push(thread_sched().0 - cpu0);
        r.max_pending_bytes = r
            .max_pending_bytes
            .max(panel.model.log.counters.rx_bytes - bytes0);
    }
    r.total = start.elapsed();
    let sched1 = thread_sched();
    r.main_sched = (sched1.0 - sched0.0, sched1.1 - sched0.1);
    r.drains = r.frames.len() as u64;
    r.max_drain = r.frames.iter().copied().max().unwrap_or_default();
    let flooders = match clients {
        Ok(joins) => join_clients(joins, &mut r),
        Err(child) => join_remote_clients(child, &mut r),
    };
    r.flood = FLOOD;
    panel.stop();
    let deadline = Instant::now() + Duration::from_secs(10);
    while panel.model.status.active() && Instant::now() < deadline {
        panel.wait_event(Duration::from_millis(20));
    }
    r.stopped = !panel.model.status.active();
    r.hwm_after = status_kib("VmHWM:");
    r.rss_after = status_kib("VmRSS:");
    check_model(&panel.model, &flooders, &mut r);
    Ok(r)
}

fn cells(r: &Report) -> Vec<(&'static str, String)> {
    let ok = |b: bool| if b { "OK" } else { "MISMATCH" }.to_owned();
    let per_client_ok =
        r.per_client.len() == CLIENTS && r.per_client.iter().all(|(sent, got)| Some(*sent) == *got);
    let msgs = r.sent / MSG_LEN as u64;
    let mut frames = r.frames.clone();
    frames.sort();
    vec![
        (
            "flood duration / pass total",
            format!(
                "{:.1} s / {:.2} s",
                r.flood.as_secs_f64(),
                r.total.as_secs_f64()
            ),
        ),
        ("bytes sent by clients", r.sent.to_string()),
        ("messages sent (64 B)", msgs.to_string()),
        (
            "messages/s (client side)",
            format!("{:.0}", msgs as f64 / r.flood.as_secs_f64()),
        ),
        (
            "MB/s (10^6 B)",
            format!("{:.2}", r.sent as f64 / 1e6 / r.flood.as_secs_f64()),
        ),
        (
            "client errors",
            if r.client_errors.is_empty() {
                "0".into()
            } else {
                format!("{}: {}", r.client_errors.len(), r.client_errors[0])
            },
        ),
        ("sum of rows' bytes_in", r.rows_in.to_string()),
        ("log.counters.rx_bytes", r.rx_counter.to_string()),
        ("per-client bytes_in == sent", ok(per_client_ok)),
        ("sum bytes_in == sent", ok(r.rows_in == r.sent)),
        ("rx_bytes counter == sent", ok(r.rx_counter == r.sent)),
        ("every client row Closed", ok(r.all_closed)),
        ("server Stopped", ok(r.stopped)),
        ("rx_msgs (recv()s with data)", r.rx_msgs.to_string()),
        (
            "mean bytes per recv()",
            format!("{:.0}", r.rx_counter as f64 / r.rx_msgs.max(1) as f64),
        ),
        (
            "events applied",
            r.events.map_or("-".into(), |e| e.to_string()),
        ),
        (
            "log entries held (cap)",
            format!("{} ({MAX_ENTRIES})", r.log_entries),
        ),
        ("log entries dropped", r.log_dropped.to_string()),
        (
            "log bytes held (cap 64 MiB)",
            format!(
                "{:.1} MiB ({:.1}%)",
                r.log_bytes as f64 / 1048576.0,
                r.log_bytes as f64 * 100.0 / MAX_BYTES as f64
            ),
        ),
        ("trace calls held / dropped", r.trace.clone()),
        ("text_lines speed (200 held RX)", r.text_lines.clone()),
        ("VmHWM before flood", mib(r.hwm_before)),
        ("VmHWM peak (after)", mib(r.hwm_after)),
        (
            "peak − before, vs log cap 64 MiB",
            format!(
                "{} ({:.2}× cap)",
                mib(r.hwm_after.saturating_sub(r.hwm_before)),
                r.hwm_after.saturating_sub(r.hwm_before) as f64 * 1024.0 / MAX_BYTES as f64
            ),
        ),
        ("VmRSS after (model alive)", mib(r.rss_after)),
        ("drains (16 ms ticks)", r.drains.to_string()),
        (
            "max events pending at a drain",
            r.max_pending.map_or("-".into(), |p| p.to_string()),
        ),
        (
            "max RX bytes pending at a drain",
            format!("{:.1} MiB", r.max_pending_bytes as f64 / 1048576.0),
        ),
        ("longest drain (panel: frame)", ms(r.max_drain)),
        (
            "frame median / p99",
            if frames.is_empty() {
                "-".into()
            } else {
                format!(
                    "{} / {}",
                    ms(percentile(&frames, 50.0)),
                    ms(percentile(&frames, 99.0))
                )
            },
        ),
        (
            "mean frame CPU time (UI thread)",
            if r.frame_cpu.is_empty() {
                "-".into()
            } else {
                let sum: Duration = r.frame_cpu.iter().sum();
                ms(sum / r.frame_cpu.len() as u32)
            },
        ),
        (
            "main thread on CPU / waiting for one",
            format!(
                "{:.2} s / {:.2} s",
                r.main_sched.0.as_secs_f64(),
                r.main_sched.1.as_secs_f64()
            ),
        ),
        (
            "frames over 16 ms",
            if frames.is_empty() {
                "-".into()
            } else {
                format!(
                    "{} of {}",
                    frames.iter().filter(|f| **f > FRAME).count(),
                    frames.len()
                )
            },
        ),
    ]
}

fn child(pass: &str) -> std::io::Result<()> {
    let report = match pass {
        "model" => pass_model()?,
        "panel" => pass_panel(false)?,
        _ => pass_panel(true)?,
    };
    if !report.hwm_reset {
        eprintln!("note: /proc/self/clear_refs could not be written; VmHWM is the process peak");
    }
    println!("CELL\tpass\t{}", report.pass);
    for (name, value) in cells(&report) {
        println!("CELL\t{name}\t{value}");
    }
    Ok(())
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--flood-clients") {
        return remote_clients(args.get(i + 1).map_or("", String::as_str));
    }
    if let Some(i) = args.iter().position(|a| a == "--pass") {
        return child(args.get(i + 1).map_or("model", String::as_str));
    }
    let started = Instant::now();
    println!(
        "flood bench: {CLIENTS} clients × {MSG_LEN} B messages, write_all as fast as they can \
         for {} s, TCP_NODELAY, 127.0.0.1; server auto-reply Off",
        FLOOD.as_secs()
    );
    let exe = std::env::current_exe()?;
    let mut columns: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for (arg, title) in [
        ("model", "engine + model, 16 ms"),
        ("panel", "ServerPanel, 60 fps"),
        ("remote", "ServerPanel, niced clients"),
    ] {
        let out = std::process::Command::new(&exe)
            .args(["--pass", arg])
            .stderr(std::process::Stdio::inherit())
            .output()?;
        if !out.status.success() {
            println!("pass {arg} failed: {}", out.status);
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let cells = text
            .lines()
            .filter_map(|l| {
                let mut parts = l.splitn(3, '\t');
                match (parts.next(), parts.next(), parts.next()) {
                    (Some("CELL"), Some(name), Some(value)) if name != "pass" => {
                        Some((name.to_owned(), value.to_owned()))
                    }
                    _ => None,
                }
            })
            .collect();
        columns.push((title.to_owned(), cells));
    }
    print_columns(&columns, 36, 26);
    println!("(columns 1-2: the clients are threads of the server's process, competing with the");
    println!(" engine and the UI for the 2 cores; column 3: they run in a child process under");
    println!(" `nice -n 19`, as if on other machines, so the server process gets the CPU first)");
    println!("(each pass runs in its own process; VmHWM is reset via /proc/self/clear_refs just");
    println!(" before the flood, so 'peak − before' is what the flood added; 'longest drain' in");
    println!(" the panel pass is the longest whole frame, which includes its drain)");
    println!("bench wall time: {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
