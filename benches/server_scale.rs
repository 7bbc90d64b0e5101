//! The TCP server panel with 10,000 clients connected at once.
//!
//! Run with `cargo bench --bench server_scale`. A plain binary (`harness = false`): it
//! measures and prints, it never asserts on timing.
//!
//! Each connection costs two descriptors when both ends live in one process, and 10,000
//! clients would need all of the 20,000 this machine allows. So the work is split across two
//! processes, each started through `bash -c 'ulimit -S -n <hard limit>; exec ...'` so that
//! its soft `RLIMIT_NOFILE` is raised to the hard limit without a libc dependency:
//!
//! - the server process (`--server`) runs the real `ServerPanel` (its own engine and event
//!   channel, auto-reply Echo, 127.0.0.1 port 0 read back from the model) on a headless
//!   `egui::Context`, and measures;
//! - the client process (`--clients`) opens plain `std::net::TcpStream`s on command and keeps
//!   them open; it talks to the server process over its stdin/stdout, one line per command.
//!
//! A frame is what the window does: `Context::run_ui` (the panel inside a `CentralPanel`,
//! as `app.rs` places it, on a 1280x800 screen) plus `Context::tessellate`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use egui::{Pos2, RawInput, Rect, vec2};
use socket_workbench::i18n::Lang;
use socket_workbench::model::log::MAX_ENTRIES;
use socket_workbench::model::trace_book::MAX_CALLS;
use socket_workbench::ui::ServerPanel;
use socket_workbench::ui::server_panel::{ReplyMode, ServerSettings};

mod common;
use common::{mib, percentile, status_kib};

/// Counts the heap bytes this process holds, so memory figures can tell live data from
/// what the allocator keeps (`VmRSS` counts both).
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            LIVE.fetch_add(new_size, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Heap bytes held now, in KiB (comparable with `status_kib`).
fn live_kib() -> u64 {
    (LIVE.load(Ordering::Relaxed) / 1024) as u64
}

const CLIENTS: usize = 10_000;
/// Threads of the client process that open the connections (a burst, not a trickle).
const CONNECT_THREADS: usize = 4;
const FRAMES: usize = 100;
const PINGS: usize = 20;
/// Messages each client sends per "chat" round (to fill the log up to its cap).
const CHAT_ROUNDS: usize = 5;
const CHAT_MSG: &[u8; 16] = b"hello server 42\n";
/// No waiting loop runs longer than this.
const DEADLINE: Duration = Duration::from_secs(60);
const FRAME_DT: f64 = 1.0 / 60.0;
const FRAME: Duration = Duration::from_millis(16);

/// Re-runs this executable with `args`, its soft descriptor limit raised to the hard one.
fn raised(args: &[&str]) -> Command {
    let exe = std::env::current_exe().expect("own executable path");
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(r#"ulimit -S -n "$(ulimit -H -n)" || echo "ulimit failed" >&2; exec "$0" "$@""#)
        .arg(exe)
        .args(args);
    cmd
}

fn nofile_limit() -> String {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Max open files"))
                .map(|l| {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    format!("soft {} / hard {}", f[3], f[4])
                })
        })
        .unwrap_or_else(|| "unknown".into())
}

fn nofile_soft() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count)
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

// ---------------------------------------------------------------------------------------
// The client process.

fn clients_role() -> std::io::Result<()> {
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    writeln!(out, "READY {}", nofile_soft())?;
    out.flush()?;
    let mut streams: Vec<TcpStream> = Vec::new();
    for line in stdin.lock().lines() {
        let line = line?;
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["connect", addr, n] => {
                let addr: SocketAddr = addr.parse().expect("address from the server process");
                let n: usize = n.parse().expect("count");
                let start = Instant::now();
                let per = n.div_ceil(CONNECT_THREADS);
                let results: Vec<(Vec<TcpStream>, usize, Option<String>, Duration)> =
                    std::thread::scope(|s| {
                        let joins: Vec<_> = (0..CONNECT_THREADS)
                            .map(|t| {
                                let count = per.min(n.saturating_sub(t * per));
                                s.spawn(move || {
                                    let mut ok = Vec::with_capacity(count);
                                    let mut errors = 0;
                                    let mut first = None;
                                    let mut slowest = Duration::ZERO;
                                    for _ in 0..count {
                                        let t0 = Instant::now();
                                        match TcpStream::connect_timeout(
                                            &addr,
                                            Duration::from_secs(10),
                                        ) {
                                            Ok(s) => ok.push(s),
                                            Err(e) => {
                                                errors += 1;
                                                first.get_or_insert_with(|| e.to_string());
                                            }
                                        }
                                        slowest = slowest.max(t0.elapsed());
                                    }
                                    (ok, errors, first, slowest)
                                })
                            })
                            .collect();
                        joins
                            .into_iter()
                            .map(|j| j.join().expect("connect thread"))
                            .collect()
                    });
                let took = start.elapsed();
                let mut errors = 0;
                let mut first = None;
                let mut slowest = Duration::ZERO;
                for (ok, e, f, s) in results {
                    streams.extend(ok);
                    errors += e;
                    if first.is_none() {
                        first = f;
                    }
                    slowest = slowest.max(s);
                }
                writeln!(
                    out,
                    "CONNECTED {} {} {} {} {}",
                    streams.len(),
                    errors,
                    took.as_micros(),
                    slowest.as_micros(),
                    first.unwrap_or_else(|| "-".into()).replace(' ', "_")
                )?;
            }
            ["chat", rounds] => {
                let rounds: usize = rounds.parse().expect("rounds");
                let mut bytes = 0u64;
                let mut errors = 0u64;
                // Round by round, so one client's messages are 10,000 writes apart and
                // arrive as separate reads (separate log entries).
                for _ in 0..rounds {
                    for s in &mut streams {
                        let _ = s.set_write_timeout(Some(Duration::from_secs(10)));
                        match s.write_all(CHAT_MSG) {
                            Ok(()) => bytes += CHAT_MSG.len() as u64,
                            Err(_) => errors += 1,
                        }
                    }
                }
                writeln!(out, "CHATTED {bytes} {errors}")?;
            }
            ["close"] => {
                let n = streams.len();
                streams.clear();
                writeln!(out, "CLOSED {n}")?;
            }
            ["quit"] => {
                let n = streams.len();
                streams.clear();
                writeln!(out, "BYE {n}")?;
                out.flush()?;
                return Ok(());
            }
            _ => writeln!(out, "UNKNOWN {line}")?,
        }
        out.flush()?;
    }
    Ok(())
}

/// The server process's grip on the client process.
struct Clients {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
}

impl Clients {
    fn spawn() -> std::io::Result<Self> {
        let mut child = raised(&["--clients"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::Builder::new()
            .name("clients-stdout".into())
            .spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            })?;
        Ok(Self {
            child,
            stdin,
            lines,
        })
    }

    fn send(&mut self, line: &str) {
        let _ = writeln!(self.stdin, "{line}");
        let _ = self.stdin.flush();
    }

    /// The next line starting with `word`, split into words.
    fn expect(&self, word: &str, timeout: Duration) -> Option<Vec<String>> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let line = self.lines.recv_timeout(left).ok()?;
            if line.starts_with(word) {
                return Some(line.split_whitespace().map(str::to_owned).collect());
            }
            eprintln!("client process: {line}");
        }
    }

    /// Like [`Self::expect`] without waiting: only lines already read.
    fn try_expect(&self, word: &str) -> Option<Vec<String>> {
        while let Ok(line) = self.lines.try_recv() {
            if line.starts_with(word) {
                return Some(line.split_whitespace().map(str::to_owned).collect());
            }
            eprintln!("client process: {line}");
        }
        None
    }

    fn finish(mut self) {
        self.send("quit");
        let bye = self.expect("BYE", Duration::from_secs(20));
        drop(self.stdin);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    if bye.is_none() || !status.success() {
                        eprintln!("client process ended: {status}, bye {bye:?}");
                    }
                    return;
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                _ => {
                    eprintln!("client process did not exit; killing it");
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return;
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The server process.

struct Screen {
    ctx: egui::Context,
    time: f64,
}

impl Screen {
    fn new() -> Self {
        let ctx = egui::Context::default();
        socket_workbench::fonts::install(&ctx);
        Self { ctx, time: 0.0 }
    }

    fn input(&mut self) -> RawInput {
        self.time += FRAME_DT;
        RawInput {
            screen_rect: Some(Rect::from_min_size(Pos2::ZERO, vec2(1280.0, 800.0))),
            time: Some(self.time),
            ..RawInput::default()
        }
    }

    /// One frame of the real panel; returns its duration and the vertices tessellated.
    fn frame(&mut self, panel: &mut ServerPanel) -> (Duration, usize) {
        let input = self.input();
        let start = Instant::now();
        let out = self.ctx.run_ui(input, |ui| {
            egui::CentralPanel::default().show(ui, |ui| panel.ui(ui, Lang::En, false));
        });
        let primitives = self.ctx.tessellate(out.shapes, out.pixels_per_point);
        let elapsed = start.elapsed();
        let vertices = primitives
            .iter()
            .map(|p| match &p.primitive {
                egui::epaint::Primitive::Mesh(mesh) => mesh.vertices.len(),
                egui::epaint::Primitive::Callback(_) => 0,
            })
            .sum();
        black_box(vertices);
        (elapsed, vertices)
    }
}

struct FrameStats {
    first: Duration,
    median: Duration,
    p99: Duration,
    max: Duration,
    over_16ms: usize,
    vertices: usize,
}

fn measure_frames(screen: &mut Screen, panel: &mut ServerPanel) -> FrameStats {
    let (first, _) = screen.frame(panel);
    let mut times = Vec::with_capacity(FRAMES);
    let mut vertices = 0;
    for _ in 0..FRAMES {
        let (t, v) = screen.frame(panel);
        times.push(t);
        vertices = v;
    }
    times.sort();
    FrameStats {
        first,
        median: percentile(&times, 50.0),
        p99: percentile(&times, 99.0),
        max: *times.last().expect("FRAMES > 0"),
        over_16ms: times.iter().filter(|t| **t > FRAME).count(),
        vertices,
    }
}

struct PingStats {
    connect: Duration,
    echo: Duration,
    total: Duration,
    max_total: Duration,
    failures: usize,
}

/// `PINGS` fresh connections: connect, send "ping", wait for the echo, close.
fn ping_tries(addr: SocketAddr, gap: Duration) -> PingStats {
    let mut connect = Vec::new();
    let mut echo = Vec::new();
    let mut total = Vec::new();
    let mut failures = 0;
    for _ in 0..PINGS {
        let t0 = Instant::now();
        let attempt = (|| -> std::io::Result<(Duration, Duration)> {
            let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
            let connected = t0.elapsed();
            s.set_nodelay(true)?;
            s.set_read_timeout(Some(Duration::from_secs(5)))?;
            let t1 = Instant::now();
            s.write_all(b"ping")?;
            let mut buf = [0u8; 4];
            s.read_exact(&mut buf)?;
            let echoed = t1.elapsed();
            if &buf != b"ping" {
                return Err(std::io::Error::other("wrong echo"));
            }
            Ok((connected, echoed))
        })();
        match attempt {
            Ok((c, e)) => {
                connect.push(c);
                echo.push(e);
                total.push(t0.elapsed());
            }
            Err(e) => {
                eprintln!("ping try failed: {e}");
                failures += 1;
            }
        }
        std::thread::sleep(gap);
    }
    for v in [&mut connect, &mut echo, &mut total] {
        v.sort();
        if v.is_empty() {
            v.push(Duration::ZERO);
        }
    }
    PingStats {
        connect: percentile(&connect, 50.0),
        echo: percentile(&echo, 50.0),
        total: percentile(&total, 50.0),
        max_total: *total.last().expect("not empty"),
        failures,
    }
}

/// Applies events until `done` holds or `timeout` passes; true when it held.
fn pump(panel: &mut ServerPanel, timeout: Duration, done: impl Fn(&ServerPanel) -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while !done(panel) {
        let Some(left) = deadline.checked_duration_since(Instant::now()) else {
            return false;
        };
        panel.wait_event(left.min(Duration::from_millis(20)));
    }
    true
}

#[derive(Default)]
struct Table(Vec<(String, String)>);

impl Table {
    fn row(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push((name.into(), value.into()));
    }

    fn frames(&mut self, what: &str, f: &FrameStats) {
        self.row(format!("{what}: first frame"), ms(f.first));
        self.row(
            format!("{what}: median / p99 / max of {FRAMES}"),
            format!("{} / {} / {}", ms(f.median), ms(f.p99), ms(f.max)),
        );
        self.row(
            format!("{what}: frames over 16 ms; vertices"),
            format!("{} of {FRAMES}; {}", f.over_16ms, f.vertices),
        );
    }

    fn pings(&mut self, what: &str, p: &PingStats) {
        self.row(
            format!("{what}: connect / echo / total (median)"),
            format!("{} / {} / {}", ms(p.connect), ms(p.echo), ms(p.total)),
        );
        self.row(
            format!("{what}: slowest total; failures"),
            format!("{}; {} of {PINGS}", ms(p.max_total), p.failures),
        );
    }

    fn print(&self) {
        let w = self
            .0
            .iter()
            .map(|(n, _)| n.chars().count())
            .max()
            .unwrap_or(0);
        println!("{:<w$} | value", "measure");
        println!("{}", "-".repeat(w + 40));
        for (name, value) in &self.0 {
            println!("{name:<w$} | {value}");
        }
    }
}

/// A TCP counter of the whole machine from `/proc/net/netstat` (`TcpExt:` lines).
fn tcp_ext(name: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/net/netstat").ok()?;
    let mut lines = text.lines().filter(|l| l.starts_with("TcpExt:"));
    let names = lines.next()?;
    let values = lines.next()?;
    let i = names.split_whitespace().position(|n| n == name)?;
    values.split_whitespace().nth(i)?.parse().ok()
}

/// Has the client process open `CLIENTS` connections and applies events until the model
/// shows them all connected. Returns how many were accepted.
fn accept_round(
    panel: &mut ServerPanel,
    clients: &mut Clients,
    local: SocketAddr,
    t: &mut Table,
    label: &str,
) -> usize {
    let overflows = tcp_ext("ListenOverflows");
    let syn_retrans = tcp_ext("TCPSynRetrans");
    clients.send(&format!("connect {local} {CLIENTS}"));
    let t0 = Instant::now();
    let mut target = CLIENTS;
    let mut connected_line = None;
    let mut milestones = Vec::new();
    let deadline = t0 + DEADLINE;
    while panel.model.connected < target && Instant::now() < deadline {
        panel.wait_event(Duration::from_millis(20));
        if connected_line.is_none()
            && let Some(words) = clients.try_expect("CONNECTED")
        {
            target = words[1].parse().unwrap_or(CLIENTS);
            connected_line = Some(words);
        }
        let next = (milestones.len() + 1) * 2_500;
        if next <= CLIENTS && panel.model.connected >= next {
            milestones.push(t0.elapsed());
        }
    }
    let accept_time = t0.elapsed();
    let connected_line = match connected_line {
        Some(w) => Some(w),
        None => clients.expect("CONNECTED", Duration::from_secs(30)),
    };
    let accepted = panel.model.connected;
    let delta = |before: Option<u64>, name: &str| match (before, tcp_ext(name)) {
        (Some(a), Some(b)) => (b - a).to_string(),
        _ => "?".into(),
    };
    t.row(
        format!(
            "accept {CLIENTS}{label} (backlog {}): until Accepted applied",
            panel.settings.backlog
        ),
        format!("{accepted} in {}", ms(accept_time)),
    );
    t.row(
        "  at 2,500 / 5,000 / 7,500 / 10,000",
        milestones
            .iter()
            .map(|d| ms(*d))
            .collect::<Vec<_>>()
            .join(" / "),
    );
    t.row(
        "  accept rate",
        format!(
            "{:.0} clients/s",
            accepted as f64 / accept_time.as_secs_f64()
        ),
    );
    t.row(
        "  kernel ListenOverflows / TCPSynRetrans meanwhile",
        format!(
            "{} / {}",
            delta(overflows, "ListenOverflows"),
            delta(syn_retrans, "TCPSynRetrans")
        ),
    );
    if let Some(w) = &connected_line {
        let us = |i: usize| {
            w.get(i)
                .and_then(|v| v.parse::<u64>().ok())
                .map_or("?".into(), |v| ms(Duration::from_micros(v)))
        };
        t.row(
            format!("  client process: connected / errors ({CONNECT_THREADS} threads)"),
            format!("{} / {} (first error: {})", w[1], w[2], w[5]),
        );
        t.row(
            "  client process: all connects took; slowest connect()",
            format!("{}; {}", us(3), us(4)),
        );
    }
    accepted
}

fn server_role() -> std::io::Result<()> {
    let started = Instant::now();
    let mut t = Table::default();
    t.row("RLIMIT_NOFILE (server process)", nofile_limit());
    let rss_start = status_kib("VmRSS:");

    let mut screen = Screen::new();
    let mut panel = ServerPanel::new(ServerSettings::default());
    panel.settings.bind_ip = "127.0.0.1".into();
    panel.settings.port = "0".into();
    panel.settings.reply_mode = ReplyMode::Echo;
    // Warm up: egui builds its fonts on the first passes.
    for _ in 0..3 {
        screen.frame(&mut panel);
    }
    let rss_before = status_kib("VmRSS:");

    panel.start(&screen.ctx);
    if !pump(&mut panel, Duration::from_secs(5), |p| {
        p.model.status.listening().is_some()
    }) {
        println!("server did not start listening: {:?}", panel.model.status);
        return Ok(());
    }
    let local = panel.model.status.listening().expect("listening");
    screen.frame(&mut panel);
    let rss_listening = status_kib("VmRSS:");
    let live_listening = live_kib();
    let fds_listening = open_fds();

    let mut clients = Clients::spawn()?;
    let Some(ready) = clients.expect("READY", Duration::from_secs(10)) else {
        println!("client process did not start");
        clients.finish();
        return Ok(());
    };
    t.row(
        "RLIMIT_NOFILE soft (client process)",
        ready.get(1).cloned().unwrap_or_default(),
    );

    // --- Accept 10,000 clients.
    let accepted = accept_round(&mut panel, &mut clients, local, &mut t, "");
    let rss_clients = status_kib("VmRSS:");
    let live_clients = live_kib();
    let fds_clients = open_fds();
    t.row(
        "rows / trace calls held / log entries",
        format!(
            "{} / {} (cap {MAX_CALLS}) / {}",
            panel.model.clients.len(),
            panel.model.trace.calls().len(),
            panel.model.log.len()
        ),
    );
    t.row(
        "server process descriptors: listening / 10k clients",
        format!("{fds_listening} / {fds_clients}"),
    );
    t.row("VmRSS at process start", mib(rss_start));
    t.row(
        "VmRSS before listening (egui + panel warm)",
        mib(rss_before),
    );
    t.row("VmRSS listening, 0 clients", mib(rss_listening));
    t.row(
        format!("VmRSS with {accepted} clients (no frame yet)"),
        mib(rss_clients),
    );
    let per_1000 = (rss_clients.saturating_sub(rss_listening)) as f64
        / 1024.0
        / (accepted.max(1) as f64 / 1000.0);
    t.row("  → per 1,000 clients", format!("{per_1000:.2} MiB"));
    t.row(
        "  heap held (live allocations): listening → 10k clients",
        format!(
            "{} → {} ({:.2} MiB per 1,000)",
            mib(live_listening),
            mib(live_clients),
            live_clients.saturating_sub(live_listening) as f64
                / 1024.0
                / (accepted.max(1) as f64 / 1000.0)
        ),
    );

    // --- Frames with 10,000 rows.
    let f_rows = measure_frames(&mut screen, &mut panel);
    t.frames("10k rows", &f_rows);
    t.row("VmRSS after those frames", mib(status_kib("VmRSS:")));

    // --- A new client pings while 10,000 sit connected.
    let idle = ping_tries(local, Duration::from_millis(5));
    t.pings("new client ping, UI draining only", &idle);
    pump(&mut panel, Duration::from_millis(200), |_| false);
    let pinger = std::thread::spawn(move || ping_tries(local, Duration::from_millis(10)));
    let mut next = Instant::now();
    let mut frames_during = Vec::new();
    let ping_deadline = Instant::now() + Duration::from_secs(30);
    while !pinger.is_finished() && Instant::now() < ping_deadline {
        frames_during.push(screen.frame(&mut panel).0);
        next += FRAME;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    match pinger.join() {
        Ok(p) => t.pings("new client ping, UI at 60 fps", &p),
        Err(_) => t.row("new client ping, UI at 60 fps", "pinger panicked"),
    }
    frames_during.sort();
    if !frames_during.is_empty() {
        t.row(
            "  frames meanwhile: median / max",
            format!(
                "{} / {} ({} frames)",
                ms(percentile(&frames_during, 50.0)),
                ms(*frames_during.last().expect("not empty")),
                frames_during.len()
            ),
        );
    }

    // --- Fill the log to its cap with real traffic: every client sends, the server echoes.
    let rss_before_fill = status_kib("VmRSS:");
    let live_before_fill = live_kib();
    let entries_before_fill = panel.model.log.len();
    let fill_start = Instant::now();
    let mut max_lag = Duration::ZERO;
    let mut max_batch = 0;
    let mut chats = 0;
    let mut chat_failed = None;
    while panel.model.log.dropped == 0 && chats < 6 {
        chats += 1;
        let base = panel.model.log.counters.rx_bytes;
        clients.send(&format!("chat {CHAT_ROUNDS}"));
        let Some(words) = clients.expect("CHATTED", DEADLINE) else {
            chat_failed = Some("client process did not answer".to_owned());
            break;
        };
        let sent: u64 = words[1].parse().unwrap_or(0);
        if words[2] != "0" {
            chat_failed = Some(format!("{} write errors", words[2]));
        }
        // Like `pump`, also noting how stale the newest applied event is (the UI's lag).
        let deadline = Instant::now() + DEADLINE;
        while panel.model.log.counters.rx_bytes < base + sent && Instant::now() < deadline {
            let before = panel.model.log.next_seq();
            let asked = std::time::SystemTime::now();
            panel.wait_event(Duration::from_millis(20));
            // The first entry this drain applied: how long it had waited in the channel, and
            // how many entries the drain applied in all (each came with a trace event too).
            if let Some(e) = panel.model.log.get(before) {
                max_lag = max_lag.max(asked.duration_since(e.at).unwrap_or_default());
            }
            max_batch = max_batch.max(panel.model.log.next_seq() - before);
        }
        if panel.model.log.counters.rx_bytes < base + sent {
            chat_failed = Some(format!(
                "only {} of {sent} bytes logged",
                panel.model.log.counters.rx_bytes - base
            ));
            break;
        }
    }
    let log = &panel.model.log;
    t.row(
        format!("log filled: {chats} × {CHAT_ROUNDS} rounds of 16 B from every client"),
        format!(
            "{} (entries {} of cap {MAX_ENTRIES}, dropped {}, {} B held){}",
            ms(fill_start.elapsed()),
            log.len(),
            log.dropped,
            log.bytes_held(),
            chat_failed.map_or(String::new(), |e| format!(" — {e}"))
        ),
    );
    t.row(
        "  while filling: most log entries applied by one drain; oldest wait",
        format!("{max_batch}; {}", ms(max_lag)),
    );
    let rss_cap = status_kib("VmRSS:");
    let live_cap = live_kib();
    let added = panel
        .model
        .log
        .len()
        .saturating_sub(entries_before_fill)
        .max(1) as f64;
    t.row(
        "VmRSS / heap held with 10k clients and log at cap",
        format!("{} / {}", mib(rss_cap), mib(live_cap)),
    );
    t.row(
        "  → per log entry added: VmRSS / heap held",
        format!(
            "{:.0} B / {:.0} B ({} → {} entries; size_of LogEntry {} B, SocketCall {} B, \
             ServerMsg {} B)",
            rss_cap.saturating_sub(rss_before_fill) as f64 * 1024.0 / added,
            live_cap.saturating_sub(live_before_fill) as f64 * 1024.0 / added,
            entries_before_fill,
            panel.model.log.len(),
            std::mem::size_of::<socket_workbench::model::LogEntry>(),
            std::mem::size_of::<socket_workbench::net::SocketCall>(),
            std::mem::size_of::<socket_workbench::net::tcp_server::ServerMsg>(),
        ),
    );
    let f_cap = measure_frames(&mut screen, &mut panel);
    t.frames("10k rows + log at cap", &f_cap);
    panel.settings.show_trace = false;
    let f_notrace = measure_frames(&mut screen, &mut panel);
    panel.settings.show_trace = true;
    t.frames("  same, trace panel hidden", &f_notrace);
    // "Select all": the composer's counts and the log's peer filter now cover 10,000 ids.
    panel.model.selected = panel
        .model
        .clients
        .values()
        .filter(|r| r.open())
        .map(|r| r.id)
        .collect();
    let f_selected = measure_frames(&mut screen, &mut panel);
    t.frames(
        "  same, all 10k selected (log filtered by them)",
        &f_selected,
    );
    panel.model.selected.clear();
    t.row(
        "VmRSS / heap held after all frames",
        format!("{} / {}", mib(status_kib("VmRSS:")), mib(live_kib())),
    );
    t.row("VmHWM (process peak)", mib(status_kib("VmHWM:")));

    // --- Stop with 10,000 clients connected.
    let stop_start = Instant::now();
    panel.stop();
    let stopped = pump(&mut panel, DEADLINE, |p| !p.model.status.active());
    t.row(
        format!("stop with {accepted} clients: until Stopped applied"),
        if stopped {
            ms(stop_start.elapsed())
        } else {
            format!("NOT STOPPED ({:?})", panel.model.status)
        },
    );
    // Where the heap went: drop the log, then the trace, and see what each gave back.
    let live_stopped = live_kib();
    let log_entries = panel.model.log.len();
    panel.model.log = socket_workbench::model::LogBook::default();
    let live_no_log = live_kib();
    panel.model.trace = socket_workbench::model::TraceBook::default();
    let live_no_trace = live_kib();
    t.row(
        "heap after stop: held / freed by dropping the log / the trace",
        format!(
            "{} / {} ({log_entries} entries, {:.0} B each) / {}",
            mib(live_stopped),
            mib(live_stopped.saturating_sub(live_no_log)),
            live_stopped.saturating_sub(live_no_log) as f64 * 1024.0 / log_entries.max(1) as f64,
            mib(live_no_log.saturating_sub(live_no_trace)),
        ),
    );
    t.row(
        "  heap still held above 'listening' (rows, channel, egui, log view)",
        mib(live_no_trace.saturating_sub(live_listening)),
    );

    // --- Again with the backlog raised to the kernel's somaxconn: the only change.
    clients.send("close");
    let _ = clients.expect("CLOSED", Duration::from_secs(30));
    let somaxconn = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|v| v.trim().parse::<i32>().ok())
        .unwrap_or(4096);
    panel.settings.backlog = somaxconn.min(65_535);
    panel.start(&screen.ctx);
    if pump(&mut panel, Duration::from_secs(5), |p| {
        p.model.status.listening().is_some()
    }) {
        let local = panel.model.status.listening().expect("listening");
        let again = accept_round(&mut panel, &mut clients, local, &mut t, ", again");
        let stop_start = Instant::now();
        panel.stop();
        let stopped = pump(&mut panel, DEADLINE, |p| !p.model.status.active());
        t.row(
            format!("stop with {again} clients, again"),
            if stopped {
                ms(stop_start.elapsed())
            } else {
                format!("NOT STOPPED ({:?})", panel.model.status)
            },
        );
    } else {
        t.row("second listen", format!("failed: {:?}", panel.model.status));
    }
    clients.finish();
    t.row(
        "descriptors after stop and client exit",
        open_fds().to_string(),
    );
    t.row("bench wall time", ms(started.elapsed()));

    println!();
    t.print();
    println!();
    println!(
        "(server process = the real ServerPanel, auto-reply Echo, 127.0.0.1, port 0 read back;"
    );
    println!(" the {CLIENTS} clients live in a second process started with a raised ulimit -n;");
    println!(" a frame = run_ui (panel in a CentralPanel, 1280x800) + tessellate, no GPU;");
    println!(" 'per 1,000 clients' = (VmRSS at 10k − VmRSS listening) / 10, user-space only:");
    println!(" kernel socket buffers are not in VmRSS)");
    Ok(())
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--clients") {
        return clients_role();
    }
    if args.iter().any(|a| a == "--server") {
        return server_role();
    }
    println!(
        "server_scale bench: {CLIENTS} clients at once against the real ServerPanel; \
         launcher {}",
        nofile_limit()
    );
    let status = raised(&["--server"])
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .status()?;
    if !status.success() {
        println!("server process failed: {status}");
    }
    Ok(())
}
