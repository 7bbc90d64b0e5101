//! Echo round trips through the real TCP server engine, with and without the GUI's logging,
//! against a minimal thread-per-client echo server as a yardstick.
//!
//! Run with `cargo bench --bench echo`. A plain binary (`harness = false`): it measures and
//! prints, it never asserts on timing.
//!
//! 200 clients, each a std thread with a blocking `TcpStream` (TCP_NODELAY), do 50 round
//! trips of a 16-byte message in lockstep (`write_all`, then `read_exact` of the echo, checked
//! byte for byte). All clients connect first and start together from a barrier; the wall
//! time runs from the barrier to the last client's last echo. Three servers, all on
//! 127.0.0.1 with port 0 read back, measured in the same run and interleaved:
//!
//! - `engine + model`: `spawn_server` with `AutoReply::Echo`; a drain thread applies every
//!   event to a `ServerModel` exactly as the panel does (log, trace, client rows);
//! - `engine alone`: the same engine; the drain thread receives the events and drops them;
//! - `std threads`: a thread per client doing `read` then `write_all` (no TCP_NODELAY,
//!   like the engine).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Barrier, Mutex};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

use flume::Receiver;
use socket_workbench::model::ServerModel;
use socket_workbench::net::Waker;
use socket_workbench::net::tcp_server::{
    AutoReply, ServerConfig, ServerEvent, ServerMsg, spawn_server,
};
use socket_workbench::net::waker::WAKE_INTERVAL;

mod common;
use common::percentile;

const CLIENTS: usize = 200;
const ROUND_TRIPS: usize = 50;
const MSG_LEN: usize = 16;
/// Runs per server. A run lasts a fraction of a second and this VM's scheduler varies a lot
/// between runs, so the ratio is taken per interleaved pair and its median reported.
const RUNS: usize = 11;
/// The goal, in messages per second, with the GUI's logging on.
const GOAL: f64 = 100_000.0;
/// No wait in this bench lasts longer than this.
const DEADLINE: Duration = Duration::from_secs(30);

const TOTAL_BYTES: u64 = (CLIENTS * ROUND_TRIPS * MSG_LEN) as u64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Server {
    Logged,
    EngineOnly,
    Yardstick,
}

impl Server {
    fn name(self) -> &'static str {
        match self {
            Server::Logged => "engine + model (GUI logging)",
            Server::EngineOnly => "engine alone (events dropped)",
            Server::Yardstick => "std thread per client",
        }
    }
}

/// The `r`th message of client `c`: `c0042 r0007 ...\n`, 16 bytes.
fn message(c: usize, r: usize) -> [u8; MSG_LEN] {
    let mut m = [b'.'; MSG_LEN];
    let text = format!("c{c:04} r{r:04}");
    m[..text.len()].copy_from_slice(text.as_bytes());
    m[MSG_LEN - 1] = b'\n';
    m
}

struct ClientReport {
    finished: Instant,
    rtts: Vec<Duration>,
}

fn client(addr: SocketAddr, c: usize, start: Arc<Barrier>) -> Result<ClientReport, String> {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).and_then(|s| {
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        s.set_write_timeout(Some(Duration::from_secs(10)))?;
        Ok(s)
    });
    // Everyone waits at the barrier, connected or not, so nobody is left hanging.
    start.wait();
    let mut s = stream.map_err(|e| format!("connect: {e}"))?;
    let mut rtts = Vec::with_capacity(ROUND_TRIPS);
    let mut buf = [0u8; MSG_LEN];
    for r in 0..ROUND_TRIPS {
        let m = message(c, r);
        let t = Instant::now();
        s.write_all(&m).map_err(|e| format!("write: {e}"))?;
        s.read_exact(&mut buf).map_err(|e| format!("read: {e}"))?;
        rtts.push(t.elapsed());
        if buf != m {
            return Err(format!("client {c} round {r}: wrong echo {buf:?}"));
        }
    }
    Ok(ClientReport {
        finished: Instant::now(),
        rtts,
    })
}

/// What the drain thread saw.
#[derive(Default)]
struct DrainReport {
    events: u64,
    /// When the received and sent bytes had all been drained (and applied, for the model).
    caught_up: Option<Instant>,
    stopped: bool,
    model_ok: Option<String>,
    log: Option<String>,
}

/// Drains the way the panel does: woken by the engine's `Waker` (at once for the first event,
/// then at most every `WAKE_INTERVAL`, as egui's repaint requests), it takes what has
/// arrived with `try_iter` and never blocks in `recv` (which would make every send of the
/// engine a futex wake-up the GUI never causes).
fn drain(rx: Receiver<ServerMsg>, mut model: Option<ServerModel>) -> DrainReport {
    let mut r = DrainReport::default();
    let (mut rx_bytes, mut tx_bytes) = (0u64, 0u64);
    let deadline = Instant::now() + DEADLINE;
    'frames: loop {
        std::thread::park_timeout(WAKE_INTERVAL);
        if rx.is_disconnected() && rx.is_empty() || Instant::now() > deadline {
            break;
        }
        for msg in rx.try_iter() {
            r.events += 1;
            let stopped = matches!(msg.event, ServerEvent::Stopped { .. });
            match &mut model {
                Some(m) => {
                    m.apply(msg);
                    rx_bytes = m.log.counters.rx_bytes;
                    tx_bytes = m.log.counters.tx_bytes;
                }
                None => match &msg.event {
                    ServerEvent::Received { data, .. } => rx_bytes += data.len() as u64,
                    ServerEvent::Sent { len, .. } => tx_bytes += len,
                    _ => {}
                },
            }
            if r.caught_up.is_none() && rx_bytes >= TOTAL_BYTES && tx_bytes >= TOTAL_BYTES {
                r.caught_up = Some(Instant::now());
            }
            if stopped {
                r.stopped = true;
                break 'frames;
            }
        }
    }
    if let Some(m) = &model {
        let rows_in: u64 = m.clients.values().map(|row| row.bytes_in).sum();
        let rows_out: u64 = m.clients.values().map(|row| row.bytes_out).sum();
        let c = m.log.counters;
        let exact = rows_in == TOTAL_BYTES
            && rows_out == TOTAL_BYTES
            && c.rx_bytes == TOTAL_BYTES
            && c.tx_bytes == TOTAL_BYTES;
        r.model_ok = Some(format!(
            "{} (rows in/out {rows_in}/{rows_out}, log rx/tx {}/{}, expected {TOTAL_BYTES})",
            if exact { "OK" } else { "MISMATCH" },
            c.rx_bytes,
            c.tx_bytes
        ));
        r.log = Some(format!(
            "log entries {} dropped {}, rx msgs {} (recv()s with data), trace calls {} \
             dropped {}, rows {}",
            m.log.len(),
            m.log.dropped,
            c.rx_msgs,
            m.trace.calls().len(),
            m.trace.dropped,
            m.clients.len()
        ));
    }
    r
}

struct RunReport {
    connect: Duration,
    wall: Duration,
    /// Barrier to the drain thread having seen every byte (engines only).
    drained: Option<Duration>,
    rtts: Vec<Duration>,
    errors: Vec<String>,
    events: u64,
    model_ok: Option<String>,
    log: Option<String>,
    /// The engine loops' CPU time and run-queue wait between the barrier and the last echo.
    engine_cpu: Option<(Duration, Duration)>,
    /// The engine loops' context switches over the same span.
    engine_switches: Option<u64>,
}

impl RunReport {
    fn round_trips_per_s(&self) -> f64 {
        (CLIENTS * ROUND_TRIPS) as f64 / self.wall.as_secs_f64()
    }
}

type ClientsRun = (Duration, Duration, Instant, Vec<Duration>, Vec<String>);

/// Runs the clients against `addr`; returns (connect phase, wall, start, rtts, errors).
/// `probe` is called right after the barrier and again once every client has finished.
fn run_clients(addr: SocketAddr, mut probe: impl FnMut()) -> ClientsRun {
    let start = Arc::new(Barrier::new(CLIENTS + 1));
    let t_spawn = Instant::now();
    let joins: Vec<JoinHandle<Result<ClientReport, String>>> = (0..CLIENTS)
        .map(|c| {
            let start = start.clone();
            std::thread::Builder::new()
                .name(format!("echo-client-{c}"))
                .stack_size(256 * 1024)
                .spawn(move || client(addr, c, start))
                .expect("spawn client thread")
        })
        .collect();
    start.wait();
    let t0 = Instant::now();
    probe();
    let connect = t0 - t_spawn;
    let mut rtts = Vec::with_capacity(CLIENTS * ROUND_TRIPS);
    let mut errors = Vec::new();
    let mut last = t0;
    for j in joins {
        match j.join() {
            Ok(Ok(r)) => {
                last = last.max(r.finished);
                rtts.extend(r.rtts);
            }
            Ok(Err(e)) => errors.push(e),
            Err(_) => errors.push("client thread panicked".into()),
        }
    }
    probe();
    (connect, last - t0, t0, rtts, errors)
}

fn run_engine(logged: bool) -> std::io::Result<RunReport> {
    let bind: SocketAddr = "127.0.0.1:0".parse().expect("address");
    let mut config = ServerConfig::new(bind);
    config.reply = AutoReply::Echo;
    let (tx, rx) = flume::unbounded();
    // The GUI's waker asks for a frame; here it unparks the drain thread once it runs.
    let frame: Arc<Mutex<Option<Thread>>> = Arc::default();
    let wake = frame.clone();
    let waker = Waker::new(move |delay| {
        if delay.is_zero()
            && let Ok(slot) = wake.lock()
            && let Some(t) = slot.as_ref()
        {
            t.unpark();
        }
    });
    let handle = spawn_server(config, tx, waker)?;
    // Wait for the real port, applying what comes before it like the panel would.
    let mut model = logged.then(|| {
        let mut m = ServerModel::default();
        m.begin(handle.session(), bind);
        m
    });
    let mut early = 0;
    let local = loop {
        let msg = rx
            .recv_timeout(DEADLINE)
            .map_err(|_| std::io::Error::other("no Listening event"))?;
        early += 1;
        let local = match &msg.event {
            ServerEvent::Listening { local } => Some(*local),
            ServerEvent::Stopped { end } => {
                return Err(std::io::Error::other(format!("server stopped: {end:?}")));
            }
            _ => None,
        };
        if let Some(m) = &mut model {
            m.apply(msg);
        }
        if let Some(local) = local {
            break local;
        }
    };
    let drainer = std::thread::Builder::new()
        .name("drain".into())
        .spawn(move || drain(rx, model))?;
    if let Ok(mut slot) = frame.lock() {
        *slot = Some(drainer.thread().clone());
    }
    // Every readiness loop of the engine: `tcps-N`, and `tcps-N.k` for the loops it starts
    // past 64 clients (summed; a loop started between the two samples counts from zero).
    let engine = format!("tcps-{}", handle.session());
    let mut samples = Vec::new();
    let (connect, wall, t0, rtts, errors) = run_clients(local, || {
        let tids = engine_threads(&engine);
        let cpu = tids
            .iter()
            .map(|t| sched(t))
            .try_fold((Duration::ZERO, Duration::ZERO), |(c, w), s| {
                s.map(|(a, b)| (c + a, w + b))
            });
        let sw = tids.iter().map(|t| switches(t)).sum::<Option<u64>>();
        samples.push((cpu.filter(|_| !tids.is_empty()), sw));
    });
    let engine_cpu = match samples.as_slice() {
        [(Some(a), _), (Some(b), _)] => Some((b.0.saturating_sub(a.0), b.1.saturating_sub(a.1))),
        _ => None,
    };
    let engine_switches = match samples.as_slice() {
        [(_, Some(a)), (_, Some(b))] => Some(b.saturating_sub(*a)),
        _ => None,
    };
    handle.join();
    let d = drainer
        .join()
        .map_err(|_| std::io::Error::other("drain thread panicked"))?;
    let mut errors = errors;
    if !d.stopped {
        errors.push("drain never saw Stopped".into());
    }
    Ok(RunReport {
        connect,
        wall,
        drained: d.caught_up.map(|t| t.saturating_duration_since(t0)),
        rtts,
        errors,
        events: d.events + early,
        model_ok: d.model_ok,
        log: d.log,
        engine_cpu,
        engine_switches,
    })
}

fn run_yardstick() -> std::io::Result<RunReport> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let local = listener.local_addr()?;
    listener.set_nonblocking(true)?;
    let acceptor = std::thread::Builder::new()
        .name("yardstick-accept".into())
        .spawn(move || {
            let deadline = Instant::now() + DEADLINE;
            let mut workers = Vec::with_capacity(CLIENTS);
            while workers.len() < CLIENTS && Instant::now() < deadline {
                match listener.accept() {
                    Ok((mut s, _)) => {
                        let _ = s.set_nonblocking(false);
                        let _ = s.set_read_timeout(Some(DEADLINE));
                        let w =
                            std::thread::Builder::new()
                                .stack_size(256 * 1024)
                                .spawn(move || {
                                    let mut buf = [0u8; 4096];
                                    loop {
                                        match s.read(&mut buf) {
                                            Ok(0) | Err(_) => break,
                                            Ok(n) => {
                                                if s.write_all(&buf[..n]).is_err() {
                                                    break;
                                                }
                                            }
                                        }
                                    }
                                });
                        match w {
                            Ok(w) => workers.push(w),
                            Err(_) => break,
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_micros(200));
                    }
                    Err(_) => break,
                }
            }
            for w in workers {
                let _ = w.join();
            }
        })?;
    let (connect, wall, _, rtts, errors) = run_clients(local, || {});
    let mut errors = errors;
    if acceptor.join().is_err() {
        errors.push("acceptor panicked".into());
    }
    Ok(RunReport {
        connect,
        wall,
        drained: None,
        rtts,
        errors,
        events: 0,
        model_ok: None,
        log: None,
        engine_cpu: None,
        engine_switches: None,
    })
}

/// The thread ids of this process named `name` or `name.k` (an engine's loops).
fn engine_threads(name: &str) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    let loops = format!("{name}.");
    dir.filter_map(Result::ok)
        .filter(|e| {
            std::fs::read_to_string(e.path().join("comm")).is_ok_and(|c| {
                let c = c.trim_end();
                c == name || c.starts_with(&loops)
            })
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// (time on a CPU, time waiting for one) of a thread of this process, from
/// `/proc/self/task/<tid>/schedstat` (nanoseconds).
fn sched(tid: &str) -> Option<(Duration, Duration)> {
    let text = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")).ok()?;
    let mut f = text.split_whitespace().map(|v| v.parse::<u64>().ok());
    Some((
        Duration::from_nanos(f.next()??),
        Duration::from_nanos(f.next()??),
    ))
}

/// Voluntary plus involuntary context switches of a thread of this process.
fn switches(tid: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/self/task/{tid}/status")).ok()?;
    let sum = text
        .lines()
        .filter(|l| l.contains("ctxt_switches:"))
        .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum();
    Some(sum)
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1e3)
}

fn median_f64(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> std::io::Result<()> {
    let started = Instant::now();
    println!(
        "echo bench: {CLIENTS} clients × {ROUND_TRIPS} round trips of {MSG_LEN} B, lockstep, \
         127.0.0.1; {RUNS} runs per server, interleaved"
    );
    let servers = [Server::Logged, Server::EngineOnly, Server::Yardstick];
    let mut results: Vec<(Server, Vec<RunReport>)> =
        servers.iter().map(|s| (*s, Vec::new())).collect();
    for run in 0..RUNS {
        for (server, reports) in &mut results {
            let report = match server {
                Server::Logged => run_engine(true)?,
                Server::EngineOnly => run_engine(false)?,
                Server::Yardstick => run_yardstick()?,
            };
            println!(
                "  run {} {:<30} {:>7.0} round trips/s  (wall {} ms, connect phase {} ms, \
                 errors {}{})",
                run + 1,
                server.name(),
                report.round_trips_per_s(),
                ms(report.wall),
                ms(report.connect),
                report.errors.len(),
                report
                    .engine_cpu
                    .map_or(String::new(), |(cpu, wait)| format!(
                        "; engine loops: on CPU {} ms = {:.1} µs/round trip, runnable but \
                     waiting {} ms, {} context switches",
                        ms(cpu),
                        cpu.as_secs_f64() * 1e6 / (CLIENTS * ROUND_TRIPS) as f64,
                        ms(wait),
                        report.engine_switches.unwrap_or(0)
                    ))
            );
            for e in report.errors.iter().take(3) {
                println!("      error: {e}");
            }
            reports.push(report);
        }
    }

    println!();
    let w = 30;
    println!(
        "{:<w$} | {:>13} | {:>15} | {:>13} | {:>9} | {:>9} | {:>9} | {:>14} | {:>9}",
        &format!("server (median of {RUNS} runs)"),
        "round trips/s",
        "runs min–max",
        "messages/s*",
        "wall ms",
        "rtt p50",
        "rtt p99",
        "drained ms**",
        "events"
    );
    println!("{}", "-".repeat(w + 122));
    let mut logged_rate = 0.0;
    let mut yardstick_rate = 0.0;
    for (server, reports) in &results {
        let rate = median_f64(reports.iter().map(RunReport::round_trips_per_s).collect());
        // The run whose rate is the median, for its other columns.
        let mid = reports
            .iter()
            .min_by(|a, b| {
                (a.round_trips_per_s() - rate)
                    .abs()
                    .total_cmp(&(b.round_trips_per_s() - rate).abs())
            })
            .expect("RUNS > 0");
        let mut rtts = mid.rtts.clone();
        rtts.sort();
        let rates: Vec<f64> = reports.iter().map(RunReport::round_trips_per_s).collect();
        let lo = rates.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = rates.iter().copied().fold(0.0, f64::max);
        println!(
            "{:<w$} | {:>13.0} | {:>15} | {:>13.0} | {:>9} | {:>9} | {:>9} | {:>14} | {:>9}",
            server.name(),
            rate,
            format!("{lo:.0}–{hi:.0}"),
            rate * 2.0,
            ms(mid.wall),
            ms(percentile(&rtts, 50.0)),
            ms(percentile(&rtts, 99.0)),
            mid.drained.map_or("-".into(), ms),
            if mid.events == 0 {
                "-".into()
            } else {
                mid.events.to_string()
            }
        );
        match server {
            Server::Logged => logged_rate = rate,
            Server::Yardstick => yardstick_rate = rate,
            Server::EngineOnly => {}
        }
    }
    println!();
    for (server, reports) in &results {
        for (i, r) in reports.iter().enumerate() {
            if let Some(ok) = &r.model_ok {
                println!("{} run {}: byte counters {ok}", server.name(), i + 1);
            }
            if let Some(log) = &r.log
                && i + 1 == RUNS
            {
                println!("{} run {}: {log}", server.name(), i + 1);
            }
        }
    }
    println!();
    println!(
        "goal: {GOAL:.0} messages/s with GUI logging → {} ({logged_rate:.0} round trips/s, \
         i.e. {logged_rate:.0} messages received and {logged_rate:.0} echoed per second; \
         {:.0}% of the std-thread yardstick)",
        if logged_rate >= GOAL {
            "MET (counting round trips)"
        } else if logged_rate * 2.0 >= GOAL {
            "met only counting both directions (NOT met counting round trips)"
        } else {
            "NOT MET"
        },
        logged_rate * 100.0 / yardstick_rate.max(1.0)
    );
    let ratio = logged_rate / yardstick_rate.max(1.0);
    println!("engine + model / std thread per client, medians: {ratio:.2}×");
    // Each run of ours against the yardstick's run right after it (same moment of the VM).
    let rates = |which: Server| -> Vec<f64> {
        results
            .iter()
            .find(|(s, _)| *s == which)
            .map(|(_, r)| r.iter().map(RunReport::round_trips_per_s).collect())
            .unwrap_or_default()
    };
    let pairs: Vec<f64> = rates(Server::Logged)
        .iter()
        .zip(rates(Server::Yardstick))
        .map(|(ours, std)| ours / std.max(1.0))
        .collect();
    let paired = median_f64(pairs.clone());
    println!(
        "engine + model / std thread per client, median of the {} paired runs: {paired:.2}× \
         (runs {:.2}–{:.2}; goal ≥ 1.0×: {})",
        pairs.len(),
        pairs.iter().copied().fold(f64::INFINITY, f64::min),
        pairs.iter().copied().fold(0.0, f64::max),
        if paired >= 1.0 { "met" } else { "NOT met" }
    );
    println!("(* messages/s = 2 × round trips/s: every round trip is one message each way)");
    println!("(** drained = barrier → the drain thread had seen, or applied, every byte each way)");
    println!(
        "(rtt = one client's write_all → read_exact; wall = barrier → last client's last echo)"
    );
    println!("bench wall time: {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
