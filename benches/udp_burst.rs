//! A burst of small datagrams into the real UDP engine: what arrives, what the kernel drops.
//!
//! Run with `cargo bench --bench udp_burst`. A plain binary (`harness = false`): it measures
//! and prints, it never asserts on timing.
//!
//! A std `UdpSocket` thread on 127.0.0.1 (port 0) sends 32-byte datagrams (each starts with
//! its sequence number) to the engine (`spawn_udp` on 127.0.0.1:0, port read back from
//! `Bound`, `Waker::noop()`): 1,000,000 as fast as it can, or 500,000 paced by a token bucket
//! (at most 32 back to back). The main thread drains the engine's events into a `UdpModel`
//! every 16 ms, like a 60 fps UI (`try_iter` + `apply`), until no datagram has arrived for 1 s
//! after the sender finished. Then it reads the kernel's drop counter for the socket
//! (`kernel_drops(local)`, before closing) and checks received + dropped == sent. Passes:
//! default and 8 MiB SO_RCVBUF, flat out and paced; each in its own process, so its memory
//! peak is its own. Before them, a probe measures how many 32-byte datagrams each buffer
//! holds when nobody reads.
//!
//! A last pass drives the real `UdpPanel` on a headless `egui::Context` (1280x800): every
//! 16 ms a drain (`drain_events`, as the app's `logic` does) and a frame (`run_ui` +
//! `tessellate`) during a flat-out burst, then 100 frames back to back with the log at its cap.

use std::hint::black_box;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use egui::{Pos2, RawInput, Rect, vec2};
use socket_workbench::i18n::Lang;
use socket_workbench::model::UdpModel;
use socket_workbench::model::log::{MAX_BYTES, MAX_ENTRIES};
use socket_workbench::net::udp::{UdpConfig, UdpEvent, UdpMsg, kernel_drops, spawn_udp};
use socket_workbench::net::{CallKind, CallOutcome, Waker};
use socket_workbench::ui::UdpPanel;
use socket2::{Domain, Protocol, Socket, Type};

mod common;
use common::{mib, percentile, print_columns, reset_hwm, status_kib};

const DATAGRAMS: u64 = 1_000_000;
const DGRAM_LEN: usize = 32;
/// The larger receive buffer asked for (Linux caps it at net.core.rmem_max, then doubles it).
const BIG_RCVBUF: usize = 8 * 1024 * 1024;
/// Datagrams of each paced pass (fewer than the burst, to keep the run short).
const PACED_DATAGRAMS: u64 = 500_000;
/// A paced sender sends at most this many datagrams back to back after falling behind (a
/// token bucket), so pacing means no bursts, not just the right average.
const PACED_BURST: f64 = 32.0;
/// A pass ends once nothing has arrived for this long after the sender finished.
const IDLE: Duration = Duration::from_secs(1);
/// No pass runs longer than this (the loops are bounded by it).
const DEADLINE: Duration = Duration::from_secs(25);
const FRAME: Duration = Duration::from_millis(16);
const FRAME_DT: f64 = 1.0 / 60.0;
/// Frames measured back to back after the burst in the panel pass.
const UI_FRAMES: usize = 100;
const LOOPBACK: &str = "127.0.0.1:0";

// ---------------------------------------------------------------------------------------
// /proc readers (Linux; each returns None or 0 elsewhere)

fn read_u64(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The `Udp:` counters of /proc/net/snmp (system-wide, this network namespace).
fn udp_snmp() -> Vec<(String, u64)> {
    let Ok(text) = std::fs::read_to_string("/proc/net/snmp") else {
        return Vec::new();
    };
    let mut lines = text.lines().filter(|l| l.starts_with("Udp:"));
    let (Some(names), Some(values)) = (lines.next(), lines.next()) else {
        return Vec::new();
    };
    names
        .split_whitespace()
        .skip(1)
        .zip(values.split_whitespace().skip(1))
        .filter_map(|(n, v)| Some((n.to_owned(), v.parse().ok()?)))
        .collect()
}

fn snmp_delta(before: &[(String, u64)], after: &[(String, u64)], name: &str) -> String {
    let get = |v: &[(String, u64)]| v.iter().find(|(n, _)| n == name).map(|(_, x)| *x);
    match (get(before), get(after)) {
        (Some(b), Some(a)) => a.saturating_sub(b).to_string(),
        _ => "-".into(),
    }
}

/// Packets dropped because a CPU's input backlog was full (column 2 of
/// /proc/net/softnet_stat, summed over CPUs): where loopback can lose a datagram before it
/// reaches any socket.
fn softnet_drops() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/net/softnet_stat").ok()?;
    text.lines()
        .map(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|v| u64::from_str_radix(v, 16).ok())
        })
        .sum()
}

/// Bytes waiting in the receive queue of the UDP socket bound to `local` (/proc/net/udp).
fn rx_queue_bytes(local: SocketAddr) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/net/udp").ok()?;
    let port = format!(":{:04X}", local.port());
    text.lines().skip(1).find_map(|line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if !cols.get(1)?.ends_with(&port) {
            return None;
        }
        let (_, rx) = cols.get(4)?.split_once(':')?;
        u64::from_str_radix(rx, 16).ok()
    })
}

/// CPU time of one thread of this process, from its schedstat (ns on CPU).
fn thread_cpu(tid_path: &str) -> Option<Duration> {
    let text = std::fs::read_to_string(format!("{tid_path}/schedstat")).ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// CPU time of this process's threads whose name ends with `suffix` (summed).
fn named_threads_cpu(suffix: &str) -> Option<Duration> {
    let mut total = None;
    for entry in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let path = entry.path();
        let Ok(comm) = std::fs::read_to_string(path.join("comm")) else {
            continue;
        };
        if comm.trim_end().ends_with(suffix)
            && let Some(cpu) = thread_cpu(&path.to_string_lossy())
        {
            total = Some(total.unwrap_or(Duration::ZERO) + cpu);
        }
    }
    total
}

/// SO_RCVBUF as the kernel reports it (getsockopt, so doubled) on a fresh probe socket that
/// asked for `want` (or nothing): what the engine's socket gets for the same request.
fn effective_rcvbuf(want: Option<usize>) -> Option<usize> {
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).ok()?;
    if let Some(size) = want {
        socket.set_recv_buffer_size(size).ok()?;
    }
    socket.recv_buffer_size().ok()
}

/// How many `DGRAM_LEN`-byte datagrams a socket that nobody reads holds before the kernel
/// drops: sends `count` and reads back what was queued. (datagrams held, rx_queue bytes when
/// full, kernel drops)
fn buffer_capacity(want: Option<usize>, count: u64) -> std::io::Result<(u64, u64, u64)> {
    let rx = UdpSocket::bind(LOOPBACK)?;
    if let Some(size) = want {
        socket2::SockRef::from(&rx).set_recv_buffer_size(size)?;
    }
    let local = rx.local_addr()?;
    let tx = UdpSocket::bind(LOOPBACK)?;
    for i in 0..count {
        tx.send_to(&datagram(i), local)?;
    }
    std::thread::sleep(Duration::from_millis(20));
    let queued = rx_queue_bytes(local).unwrap_or(0);
    let drops = kernel_drops(local).unwrap_or(0);
    rx.set_nonblocking(true)?;
    let mut buf = [0u8; 64];
    let mut held = 0;
    while held < count && rx.recv_from(&mut buf).is_ok() {
        held += 1;
    }
    Ok((held, queued, drops))
}

// ---------------------------------------------------------------------------------------
// The sender

struct SendReport {
    sent: u64,
    errors: u64,
    first_error: Option<String>,
    start: Instant,
    time: Duration,
    cpu: Option<Duration>,
}

/// The `i`th datagram: the sequence number (little endian) and a fixed filler.
fn datagram(i: u64) -> [u8; DGRAM_LEN] {
    let mut d = *b"SEQNUMBR udp_burst datagram ....";
    d[..8].copy_from_slice(&i.to_le_bytes());
    d
}

fn spawn_sender(
    to: SocketAddr,
    count: u64,
    rate: Option<u64>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<std::io::Result<SendReport>>> {
    let socket = UdpSocket::bind(LOOPBACK)?;
    socket.set_write_timeout(Some(Duration::from_secs(1)))?;
    std::thread::Builder::new()
        .name("burst-send".into())
        .spawn(move || {
            let start = Instant::now();
            let mut report = SendReport {
                sent: 0,
                errors: 0,
                first_error: None,
                start,
                time: Duration::ZERO,
                cpu: None,
            };
            let mut i = 0u64;
            let (mut tokens, mut last) = (1.0f64, start);
            while i < count {
                if i.is_multiple_of(1024) && stop.load(Ordering::Relaxed) {
                    break;
                }
                if let Some(rate) = rate {
                    let now = Instant::now();
                    tokens = (tokens + now.duration_since(last).as_secs_f64() * rate as f64)
                        .min(PACED_BURST);
                    last = now;
                    if tokens < 1.0 {
                        std::thread::sleep(Duration::from_micros(50));
                        continue;
                    }
                    tokens -= 1.0;
                }
                match socket.send_to(&datagram(i), to) {
                    Ok(_) => report.sent += 1,
                    Err(e) => {
                        report.errors += 1;
                        report.first_error.get_or_insert_with(|| e.to_string());
                        if report.errors > 1000 {
                            break;
                        }
                    }
                }
                i += 1;
            }
            report.time = start.elapsed();
            report.cpu = thread_cpu("/proc/thread-self");
            Ok(report)
        })
}

// ---------------------------------------------------------------------------------------
// What the datagrams that arrived say

/// Which sequence numbers arrived, in what order.
struct Arrivals {
    seen: Vec<u64>,
    received: u64,
    unique: u64,
    duplicates: u64,
    out_of_order: u64,
    malformed: u64,
    last: Option<u64>,
}

impl Arrivals {
    fn new() -> Self {
        Self {
            seen: vec![0; DATAGRAMS.div_ceil(64) as usize],
            received: 0,
            unique: 0,
            duplicates: 0,
            out_of_order: 0,
            malformed: 0,
            last: None,
        }
    }

    fn note(&mut self, data: &[u8]) {
        self.received += 1;
        let seq = data
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
            .filter(|&s| s < DATAGRAMS && data.len() == DGRAM_LEN);
        let Some(seq) = seq else {
            self.malformed += 1;
            return;
        };
        let (word, bit) = ((seq / 64) as usize, seq % 64);
        if self.seen[word] & (1 << bit) != 0 {
            self.duplicates += 1;
        } else {
            self.seen[word] |= 1 << bit;
            self.unique += 1;
        }
        if self.last.is_some_and(|l| seq < l) {
            self.out_of_order += 1;
        }
        self.last = Some(seq);
    }

    /// Runs of missing sequence numbers among the first `sent`: (count, longest).
    fn gaps(&self, sent: u64) -> (u64, u64) {
        let (mut runs, mut longest, mut current) = (0, 0, 0u64);
        for seq in 0..sent {
            if self.seen[(seq / 64) as usize] & (1 << (seq % 64)) == 0 {
                if current == 0 {
                    runs += 1;
                }
                current += 1;
                longest = longest.max(current);
            } else {
                current = 0;
            }
        }
        (runs, longest)
    }
}

// ---------------------------------------------------------------------------------------
// One engine + model pass

#[derive(Default)]
struct PassReport {
    rcvbuf_trace: String,
    rcvbuf_effective: String,
    pace: Option<u64>,
    sent: u64,
    send_errors: String,
    send_time: Duration,
    send_cpu: Option<Duration>,
    received: u64,
    unique: u64,
    duplicates: u64,
    out_of_order: u64,
    malformed: u64,
    gaps: (u64, u64),
    rx_window: Duration,
    kernel_drops: Option<u64>,
    drops_events: u64,
    drops_last_event: Option<u64>,
    model_drops: u64,
    rx_queue_end: Option<u64>,
    softnet: Option<u64>,
    snmp_in: String,
    snmp_rcvbuf: String,
    snmp_in_errors: String,
    snmp_mem: String,
    log_entries: usize,
    log_dropped: u64,
    log_bytes: usize,
    rx_msgs: u64,
    trace_held: usize,
    trace_dropped: u64,
    hwm_before_kib: u64,
    hwm_after_kib: u64,
    rss_after_kib: u64,
    drains: u64,
    max_pending: usize,
    max_drain: Duration,
    /// CPU the main thread spent in the longest drain (less than its wall time: preempted).
    max_drain_cpu: Option<Duration>,
    max_gap: Duration,
    drain_total: Duration,
    events: u64,
    reader_cpu: Option<Duration>,
    main_cpu: Option<Duration>,
    total: Duration,
    timed_out: bool,
}

/// Applies one event to the model, noting what it says first.
fn apply(model: &mut UdpModel, msg: UdpMsg, arrivals: &mut Arrivals, r: &mut PassReport) {
    r.events += 1;
    match &msg.event {
        UdpEvent::Received { data, .. } => arrivals.note(data),
        UdpEvent::Drops(total) => {
            r.drops_events += 1;
            r.drops_last_event = Some(*total);
        }
        UdpEvent::Call(call) => {
            if let CallKind::SetOption { name, value } = &call.kind
                && *name == "SO_RCVBUF"
            {
                let outcome = match &call.outcome {
                    CallOutcome::Done => "ok".to_owned(),
                    other => format!("{other:?}"),
                };
                r.rcvbuf_trace = format!("{value} {outcome}");
            }
        }
        _ => {}
    }
    model.apply(msg);
}

fn run_pass(rcvbuf: Option<usize>, pace: Option<u64>, count: u64) -> std::io::Result<PassReport> {
    let mut r = PassReport {
        pace,
        rcvbuf_trace: "(not set)".into(),
        rcvbuf_effective: effective_rcvbuf(rcvbuf).map_or("-".into(), |v| v.to_string()),
        ..PassReport::default()
    };
    if !reset_hwm() {
        eprintln!("note: /proc/self/clear_refs could not be written; VmHWM is the process peak");
    }
    r.hwm_before_kib = status_kib("VmHWM:");
    let main_cpu_before = thread_cpu("/proc/thread-self");

    let bind: SocketAddr = LOOPBACK.parse().expect("a literal address");
    let mut config = UdpConfig::new(bind);
    config.recv_buffer = rcvbuf;
    let (tx, rx) = flume::unbounded();
    let start = Instant::now();
    let handle = spawn_udp(config, tx, Waker::noop())?;
    let mut model = UdpModel::default();
    model.begin(handle.session(), bind, false);
    let mut arrivals = Arrivals::new();

    // Until Bound (or Closed).
    let local = loop {
        if let Some(local) = model.status.bound() {
            break local;
        }
        let Some(left) = Duration::from_secs(5).checked_sub(start.elapsed()) else {
            return Err(std::io::Error::other("no Bound within 5 s"));
        };
        match rx.recv_timeout(left) {
            Ok(msg) => apply(&mut model, msg, &mut arrivals, &mut r),
            Err(_) => return Err(std::io::Error::other("engine ended before Bound")),
        }
        if !model.status.active() {
            return Err(std::io::Error::other(format!("{:?}", model.status)));
        }
    };

    let snmp_before = udp_snmp();
    let softnet_before = softnet_drops();
    let stop = Arc::new(AtomicBool::new(false));
    let sender = spawn_sender(local, count, pace, stop.clone())?;
    let send_start = Instant::now();
    let mut last_rx = send_start;
    let mut sender_done: Option<Instant> = None;
    let mut next = Instant::now();
    let mut last_drain = Instant::now();
    loop {
        next += FRAME;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        r.drains += 1;
        r.max_pending = r.max_pending.max(rx.len());
        let before = arrivals.received;
        let cpu_start = thread_cpu("/proc/thread-self");
        let drain_start = Instant::now();
        r.max_gap = r.max_gap.max(drain_start.duration_since(last_drain));
        last_drain = drain_start;
        for msg in rx.try_iter() {
            apply(&mut model, msg, &mut arrivals, &mut r);
        }
        let drain = drain_start.elapsed();
        r.drain_total += drain;
        if drain > r.max_drain {
            r.max_drain = drain;
            r.max_drain_cpu = cpu_start
                .zip(thread_cpu("/proc/thread-self"))
                .map(|(b, a)| a.saturating_sub(b));
        }
        let now = Instant::now();
        if arrivals.received != before {
            last_rx = now;
        }
        if sender_done.is_none() && sender.is_finished() {
            sender_done = Some(now);
        }
        if let Some(done) = sender_done
            && now.duration_since(done.max(last_rx)) >= IDLE
        {
            break;
        }
        if start.elapsed() > DEADLINE {
            r.timed_out = true;
            stop.store(true, Ordering::Relaxed);
            break;
        }
    }
    r.rx_window = last_rx.saturating_duration_since(send_start);
    // Before closing: the socket leaves /proc/net/udp with it.
    r.kernel_drops = kernel_drops(local);
    r.rx_queue_end = rx_queue_bytes(local);
    r.reader_cpu = named_threads_cpu("-rx");
    r.softnet = softnet_before
        .zip(softnet_drops())
        .map(|(b, a)| a.saturating_sub(b));
    let snmp_after = udp_snmp();
    r.snmp_in = snmp_delta(&snmp_before, &snmp_after, "InDatagrams");
    r.snmp_rcvbuf = snmp_delta(&snmp_before, &snmp_after, "RcvbufErrors");
    r.snmp_in_errors = snmp_delta(&snmp_before, &snmp_after, "InErrors");
    r.snmp_mem = snmp_delta(&snmp_before, &snmp_after, "MemErrors");

    handle.join();
    // What the engine said while closing (its last Drops, the close() call, Closed).
    for msg in rx.try_iter() {
        apply(&mut model, msg, &mut arrivals, &mut r);
    }
    r.total = start.elapsed();
    r.main_cpu = main_cpu_before
        .zip(thread_cpu("/proc/thread-self"))
        .map(|(b, a)| a.saturating_sub(b));

    match sender.join() {
        Ok(Ok(s)) => {
            r.sent = s.sent;
            r.send_time = s.time;
            r.send_cpu = s.cpu;
            r.send_errors = match s.first_error {
                Some(e) => format!("{} ({e})", s.errors),
                None => "0".into(),
            };
            // From the sender's own first send, not from spawning its thread.
            r.rx_window = last_rx.saturating_duration_since(s.start);
        }
        Ok(Err(e)) => eprintln!("sender failed: {e}"),
        Err(_) => eprintln!("sender thread panicked"),
    }

    r.received = arrivals.received;
    r.unique = arrivals.unique;
    r.duplicates = arrivals.duplicates;
    r.out_of_order = arrivals.out_of_order;
    r.malformed = arrivals.malformed;
    r.gaps = arrivals.gaps(r.sent);
    r.model_drops = model.drops;
    r.log_entries = model.log.len();
    r.log_dropped = model.log.dropped;
    r.log_bytes = model.log.bytes_held();
    r.rx_msgs = model.log.counters.rx_msgs;
    r.trace_held = model.trace.calls().len();
    r.trace_dropped = model.trace.dropped;
    r.hwm_after_kib = status_kib("VmHWM:");
    r.rss_after_kib = status_kib("VmRSS:");
    drop(model);
    Ok(r)
}

// ---------------------------------------------------------------------------------------
// Formatting

fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn rate(n: u64, d: Duration) -> String {
    if d.is_zero() {
        "-".into()
    } else {
        format!("{:.0}", n as f64 / d.as_secs_f64())
    }
}

fn per_item(cpu: Option<Duration>, n: u64) -> String {
    match cpu {
        Some(cpu) if n > 0 => format!(
            "{:.2} s, {:.2} µs/dgram",
            cpu.as_secs_f64(),
            cpu.as_secs_f64() * 1e6 / n as f64
        ),
        Some(cpu) => format!("{:.2} s", cpu.as_secs_f64()),
        None => "-".into(),
    }
}

fn cells(r: &PassReport) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = Vec::new();
    let mut row = |name: &'static str, value: String| out.push((name, value));
    row("SO_RCVBUF asked (engine trace)", r.rcvbuf_trace.clone());
    row("SO_RCVBUF effective (probe)", r.rcvbuf_effective.clone());
    row(
        "sender pace (dgram/s)",
        r.pace.map_or("flat out".into(), |p| p.to_string()),
    );
    row("datagrams sent", r.sent.to_string());
    row("send errors", r.send_errors.clone());
    row("send time", secs(r.send_time));
    row("send rate (dgram/s)", rate(r.sent, r.send_time));
    row("sender CPU", per_item(r.send_cpu, r.sent));
    row("datagrams received", r.received.to_string());
    row("received %", {
        format!("{:.1}%", r.received as f64 * 100.0 / r.sent.max(1) as f64)
    });
    row("receive window (send start→last)", secs(r.rx_window));
    row("receive rate (dgram/s)", rate(r.received, r.rx_window));
    row(
        "engine reader thread CPU",
        per_item(r.reader_cpu, r.received),
    );
    row(
        "unique / dup / out of order / bad",
        format!(
            "{} / {} / {} / {}",
            r.unique, r.duplicates, r.out_of_order, r.malformed
        ),
    );
    row(
        "missing runs / longest run",
        format!("{} / {}", r.gaps.0, r.gaps.1),
    );
    row(
        "kernel drops (kernel_drops, end)",
        r.kernel_drops.map_or("-".into(), |d| d.to_string()),
    );
    row(
        "Drops events: count / last",
        format!(
            "{} / {}",
            r.drops_events,
            r.drops_last_event.map_or("-".into(), |d| d.to_string())
        ),
    );
    row("model.drops (what the UI shows)", r.model_drops.to_string());
    row("received + dropped == sent", {
        match r.kernel_drops {
            Some(d) => {
                let diff = r.sent as i128 - (r.received + d) as i128;
                if diff == 0 {
                    "OK".into()
                } else {
                    format!("DIFF {diff:+} (sent − rcvd − drops)")
                }
            }
            None => "- (no drop counter)".into(),
        }
    });
    row(
        "rx queue bytes left at end",
        r.rx_queue_end.map_or("-".into(), |b| b.to_string()),
    );
    row(
        "softnet backlog drops (sys)",
        r.softnet.map_or("-".into(), |d| d.to_string()),
    );
    row(
        "snmp Udp In / RcvbufErr (sys)",
        format!("{} / {}", r.snmp_in, r.snmp_rcvbuf),
    );
    row(
        "snmp Udp InErrors / MemErr (sys)",
        format!("{} / {}", r.snmp_in_errors, r.snmp_mem),
    );
    row("events applied", r.events.to_string());
    row("log rx_msgs counter", r.rx_msgs.to_string());
    row(
        "log entries held (cap)",
        format!("{} ({MAX_ENTRIES})", r.log_entries),
    );
    row("log entries dropped", r.log_dropped.to_string());
    row(
        "log bytes held (cap 64 MiB)",
        format!(
            "{} ({:.2}%)",
            r.log_bytes,
            r.log_bytes as f64 * 100.0 / MAX_BYTES as f64
        ),
    );
    row(
        "trace calls held / dropped",
        format!("{} / {}", r.trace_held, r.trace_dropped),
    );
    row("VmHWM before pass", mib(r.hwm_before_kib));
    row("VmHWM peak (vs 64 MiB log cap)", mib(r.hwm_after_kib));
    row("VmRSS after (model alive)", mib(r.rss_after_kib));
    row("drains (16 ms frames)", r.drains.to_string());
    row("max events pending at a drain", r.max_pending.to_string());
    row(
        "longest drain (its CPU time)",
        format!(
            "{} ({})",
            ms(r.max_drain),
            r.max_drain_cpu.map_or("-".into(), ms)
        ),
    );
    row("longest gap between drains", ms(r.max_gap));
    row("all drains (sum)", ms(r.drain_total));
    row("main thread CPU", per_item(r.main_cpu, r.received));
    row(
        "total (spawn → closed)",
        format!(
            "{}{}",
            secs(r.total),
            if r.timed_out { " TIMED OUT" } else { "" }
        ),
    );
    out
}

// ---------------------------------------------------------------------------------------
// The real panel

struct Screen {
    ctx: egui::Context,
    time: f64,
}

impl Screen {
    /// One frame: the panel in a CentralPanel (as the app has it), plus tessellation.
    fn frame(&mut self, panel: &mut UdpPanel) -> Duration {
        self.time += FRAME_DT;
        let input = RawInput {
            screen_rect: Some(Rect::from_min_size(Pos2::ZERO, vec2(1280.0, 800.0))),
            time: Some(self.time),
            ..RawInput::default()
        };
        let start = Instant::now();
        let out = self.ctx.run_ui(input, |ui| {
            egui::CentralPanel::default().show(ui, |ui| panel.ui(ui, Lang::En, false));
        });
        black_box(self.ctx.tessellate(out.shapes, out.pixels_per_point));
        start.elapsed()
    }
}

fn frame_stats(times: &mut [Duration]) -> String {
    times.sort();
    format!(
        "{} frames: median {}, p99 {}, max {}",
        times.len(),
        ms(percentile(times, 50.0)),
        ms(percentile(times, 99.0)),
        ms(times.last().copied().unwrap_or_default())
    )
}

fn ui_pass() -> std::io::Result<Vec<(&'static str, String)>> {
    reset_hwm();
    let mut out: Vec<(&'static str, String)> = Vec::new();
    let ctx = egui::Context::default();
    socket_workbench::fonts::install(&ctx);
    let mut screen = Screen { ctx, time: 0.0 };
    let mut panel = UdpPanel::new(Default::default());
    panel.settings.bind_ip = "127.0.0.1".into();
    panel.settings.port = "0".into();
    // Fonts are built lazily: the first frames are the context's, not the panel's.
    let empty = screen.frame(&mut panel);
    screen.frame(&mut panel);
    out.push(("first frame (fonts, empty panel)", ms(empty)));

    let ctx = screen.ctx.clone();
    panel.bind(&ctx);
    let start = Instant::now();
    let local = loop {
        screen.frame(&mut panel);
        if let Some(local) = panel.model.status.bound() {
            break local;
        }
        if start.elapsed() > Duration::from_secs(5) || !panel.model.status.active() {
            return Err(std::io::Error::other(format!(
                "panel not bound: {:?}",
                panel.model.status
            )));
        }
        std::thread::sleep(FRAME);
    };

    let stop = Arc::new(AtomicBool::new(false));
    let sender = spawn_sender(local, DATAGRAMS, None, stop.clone())?;
    let send_start = Instant::now();
    let mut during = Vec::new();
    let mut drains = Vec::new();
    let mut worst: (Duration, Option<Duration>) = (Duration::ZERO, None);
    let mut last_rx = send_start;
    let mut last_count = 0;
    let mut sender_done: Option<Instant> = None;
    let mut next = Instant::now();
    loop {
        next += FRAME;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        // As the app does: `logic` drains the events, then `ui` draws (and drains again).
        let cpu_start = thread_cpu("/proc/thread-self");
        let drain_start = Instant::now();
        panel.drain_events();
        let drain = drain_start.elapsed();
        let frame = screen.frame(&mut panel);
        if drain + frame > worst.0 {
            worst = (
                drain + frame,
                cpu_start
                    .zip(thread_cpu("/proc/thread-self"))
                    .map(|(b, a)| a.saturating_sub(b)),
            );
        }
        drains.push(drain);
        during.push(frame);
        let now = Instant::now();
        let count = panel.model.log.counters.rx_msgs;
        if count != last_count {
            last_count = count;
            last_rx = now;
        }
        if sender_done.is_none() && sender.is_finished() {
            sender_done = Some(now);
        }
        if let Some(done) = sender_done
            && now.duration_since(done.max(last_rx)) >= IDLE
        {
            break;
        }
        if start.elapsed() > DEADLINE {
            stop.store(true, Ordering::Relaxed);
            out.push(("TIMED OUT", String::new()));
            break;
        }
    }
    let drops = kernel_drops(local);
    let sent = match sender.join() {
        Ok(Ok(s)) => s.sent,
        _ => 0,
    };
    out.push(("datagrams sent (flat out)", sent.to_string()));
    out.push(("received (log rx_msgs)", last_count.to_string()));
    out.push((
        "receive rate (dgram/s)",
        rate(last_count, last_rx.duration_since(send_start)),
    ));
    out.push((
        "kernel drops / model.drops",
        format!(
            "{} / {}",
            drops.map_or("-".into(), |d| d.to_string()),
            panel.model.drops
        ),
    ));
    out.push((
        "received + dropped == sent",
        match drops {
            Some(d) if last_count + d == sent => "OK".into(),
            Some(d) => format!("DIFF {:+}", sent as i128 - (last_count + d) as i128),
            None => "-".into(),
        },
    ));
    out.push(("drains during burst (16 ms tick)", frame_stats(&mut drains)));
    out.push((
        "frames during burst (after drain)",
        frame_stats(&mut during),
    ));
    out.push((
        "worst drain + frame (its CPU time)",
        format!("{} ({})", ms(worst.0), worst.1.map_or("-".into(), ms)),
    ));
    out.push((
        "log entries held / dropped",
        format!(
            "{} / {} (cap {MAX_ENTRIES})",
            panel.model.log.len(),
            panel.model.log.dropped
        ),
    ));

    let mut after: Vec<Duration> = (0..UI_FRAMES).map(|_| screen.frame(&mut panel)).collect();
    out.push(("frames after burst, log at cap", frame_stats(&mut after)));
    out.push(("VmHWM peak", mib(status_kib("VmHWM:"))));
    panel.close();
    let closing = Instant::now();
    while panel.model.status.active() && closing.elapsed() < Duration::from_secs(3) {
        panel.wait_event(Duration::from_millis(200));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------

fn child(pass: &str) -> std::io::Result<()> {
    let cells: Vec<(&'static str, String)> = match pass {
        "1" => cells(&run_pass(None, None, DATAGRAMS)?),
        "2" => cells(&run_pass(Some(BIG_RCVBUF), None, DATAGRAMS)?),
        "3" => cells(&run_pass(None, Some(50_000), PACED_DATAGRAMS)?),
        "4" => cells(&run_pass(None, Some(100_000), PACED_DATAGRAMS)?),
        "5" => cells(&run_pass(Some(BIG_RCVBUF), Some(100_000), PACED_DATAGRAMS)?),
        _ => ui_pass()?,
    };
    for (name, value) in cells {
        println!("CELL\t{name}\t{value}");
    }
    Ok(())
}

fn run_child(exe: &std::path::Path, arg: &str) -> std::io::Result<Vec<(String, String)>> {
    let out = std::process::Command::new(exe)
        .args(["--pass", arg])
        .stderr(std::process::Stdio::inherit())
        .output()?;
    if !out.status.success() {
        println!("pass {arg} failed: {}", out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, '\t');
            match (parts.next(), parts.next(), parts.next()) {
                (Some("CELL"), Some(name), Some(value)) => {
                    Some((name.to_owned(), value.to_owned()))
                }
                _ => None,
            }
        })
        .collect())
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--pass") {
        return child(args.get(i + 1).map_or("1", String::as_str));
    }
    println!(
        "udp_burst bench: {DATAGRAMS} datagrams of {DGRAM_LEN} B over 127.0.0.1 into the real \
         UDP engine; events drained into a UdpModel every 16 ms until {} s idle",
        IDLE.as_secs()
    );
    let sysctl = |name: &str| {
        read_u64(&format!("/proc/sys/net/core/{name}")).map_or("-".into(), |v| v.to_string())
    };
    println!(
        "net.core.rmem_default {}, rmem_max {}, netdev_max_backlog {}; SO_RCVBUF read back: \
         default {}, asking {BIG_RCVBUF} gives {} (Linux: min(asked, rmem_max) × 2)",
        sysctl("rmem_default"),
        sysctl("rmem_max"),
        sysctl("netdev_max_backlog"),
        effective_rcvbuf(None).map_or("-".into(), |v| v.to_string()),
        effective_rcvbuf(Some(BIG_RCVBUF)).map_or("-".into(), |v| v.to_string()),
    );
    println!(
        "sizes: UdpMsg {} B, LogEntry {} B (plus each Arc<[u8]>: data + 16 B header + malloc); \
         {} CPUs",
        std::mem::size_of::<UdpMsg>(),
        std::mem::size_of::<socket_workbench::model::LogEntry>(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for (name, want, count) in [
        ("default", None, 5_000),
        ("8 MiB", Some(BIG_RCVBUF), 60_000),
    ] {
        match buffer_capacity(want, count) {
            Ok((held, queued, drops)) => println!(
                "an unread socket, {name} buffer: holds {held} datagrams of {DGRAM_LEN} B of \
                 {count} sent ({drops} dropped), rx_queue {queued} B = {:.0} B charged per \
                 datagram",
                queued as f64 / held.max(1) as f64
            ),
            Err(e) => println!("buffer probe ({name}) failed: {e}"),
        }
    }
    let exe = std::env::current_exe()?;
    let passes = [
        ("1", "default buf, flat out"),
        ("2", "8 MiB buf, flat out"),
        ("3", "default, paced 50k/s"),
        ("4", "default, paced 100k/s"),
        ("5", "8 MiB, paced 100k/s"),
    ];
    let mut columns = Vec::new();
    for (arg, title) in passes {
        columns.push((title, run_child(&exe, arg)?));
    }

    print_columns(&columns, 34, 24);
    println!("(sys = system-wide counters of this network namespace, deltas over the burst;");
    println!(" other traffic on the machine adds to them. CPU from /proc/<tid>/schedstat.");
    println!(" 'received + dropped == sent' uses the final kernel_drops(local) read, taken");
    println!(" before close; the engine itself polls that counter at most once a second)");

    println!();
    println!(
        "real UdpPanel (default settings, bound to 127.0.0.1:0), headless 1280x800; frame = \
         run_ui + tessellate; flat-out burst while the panel drains once per 16 ms frame, then \
         {UI_FRAMES} frames back to back:"
    );
    for (name, value) in run_child(&exe, "ui")? {
        println!("  {name:<34} {value}");
    }
    Ok(())
}
