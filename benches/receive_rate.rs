//! Receive rate of the real TCP client engine under a flood of small messages.
//!
//! Run with `cargo bench --bench receive_rate`. A plain binary (`harness = false`): it
//! measures and prints, it never asserts on timing.
//!
//! A peer thread on 127.0.0.1 (port 0, read back) writes 1,000,000 16-byte lines, one
//! `write()` each, as fast as it can, then closes. The client is the real engine
//! (`spawn_client` with `Waker::noop()`); the main thread applies its events to a
//! `ClientModel` exactly as the UI does (`begin` with the handle's session, then `apply` for
//! each event) until `Closed`. Two passes: draining as events arrive, and draining once every
//! 16 ms like a 60 fps UI that drains once per frame.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use socket_workbench::model::ClientModel;
use socket_workbench::model::log::{MAX_BYTES, MAX_ENTRIES};
use socket_workbench::net::Waker;
use socket_workbench::net::tcp_client::{ClientConfig, ClientEvent, ClientMsg, spawn_client};

mod common;
use common::{mib, print_columns, reset_hwm, status_kib};

const MESSAGES: u64 = 1_000_000;
const MSG_LEN: usize = 16;
/// Messages of the extra pass that goes past the log's 64 MiB byte cap.
const BIG_MESSAGES: u64 = 8_000_000;
/// No pass may take longer than this (the loops are bounded by it).
const DEADLINE: Duration = Duration::from_secs(25);
const FRAME: Duration = Duration::from_millis(16);

/// The `i`th message: `msg 00000000042\n` (16 bytes).
fn message(i: u64) -> [u8; MSG_LEN] {
    let mut m = *b"msg 00000000000\n";
    let mut n = i;
    for b in m[4..15].iter_mut().rev() {
        *b = b'0' + (n % 10) as u8;
        n /= 10;
    }
    m
}

/// Bytes `from..to` of the whole stream the peer sends.
fn expected_stream(from: u64, to: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity((to - from) as usize);
    let mut pos = from;
    while pos < to {
        let i = pos / MSG_LEN as u64;
        let off = (pos % MSG_LEN as u64) as usize;
        let m = message(i);
        let take = (MSG_LEN - off).min((to - pos) as usize);
        out.extend_from_slice(&m[off..off + take]);
        pos += take as u64;
    }
    out
}

struct PeerReport {
    bytes: u64,
    write_time: Duration,
}

/// Binds 127.0.0.1:0, accepts one connection (waiting at most `DEADLINE`), floods it and
/// closes. Returns the port and the thread.
/// With `batched`, the messages go through a 64 KiB `BufWriter` (few large writes), which
/// shows the engine's own ceiling rather than the sender's syscall rate.
fn spawn_peer(
    batched: bool,
    messages: u64,
) -> std::io::Result<(u16, JoinHandle<std::io::Result<PeerReport>>)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    listener.set_nonblocking(true)?;
    let join = std::thread::Builder::new()
        .name("flood-peer".into())
        .spawn(move || {
            let start = Instant::now();
            let mut stream: TcpStream = loop {
                match listener.accept() {
                    Ok((s, _)) => break s,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        if start.elapsed() > DEADLINE {
                            return Err(std::io::Error::new(
                                std::io::ErrorKind::TimedOut,
                                "nobody connected",
                            ));
                        }
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    Err(e) => return Err(e),
                }
            };
            stream.set_nonblocking(false)?;
            stream.set_nodelay(true)?;
            stream.set_write_timeout(Some(DEADLINE))?;
            let start = Instant::now();
            let mut bytes = 0u64;
            if batched {
                let mut out = std::io::BufWriter::with_capacity(64 * 1024, &mut stream);
                for i in 0..messages {
                    out.write_all(&message(i))?;
                    bytes += MSG_LEN as u64;
                }
                out.flush()?;
            } else {
                for i in 0..messages {
                    stream.write_all(&message(i))?;
                    bytes += MSG_LEN as u64;
                }
            }
            let write_time = start.elapsed();
            drop(stream);
            Ok(PeerReport { bytes, write_time })
        })?;
    Ok((port, join))
}

#[derive(Default)]
struct PassReport {
    messages: u64,
    total: Duration,
    sent: u64,
    peer_write_time: Duration,
    events: u64,
    received_events: u64,
    closed: bool,
    close_reason: String,
    rx_bytes: u64,
    rx_msgs: u64,
    log_entries: usize,
    log_dropped: u64,
    log_bytes: usize,
    trace_held: usize,
    trace_dropped: u64,
    tail_ok: bool,
    hwm_before_kib: u64,
    hwm_after_kib: u64,
    rss_after_kib: u64,
    hwm_reset: bool,
    drains: u64,
    max_pending: usize,
    max_drain: Duration,
}

/// Applies one event; returns true when it was the session's last.
fn apply(model: &mut ClientModel, msg: ClientMsg, report: &mut PassReport) -> bool {
    report.events += 1;
    let closed = match &msg.event {
        ClientEvent::Received { .. } => {
            report.received_events += 1;
            false
        }
        ClientEvent::Closed { reason } => {
            report.close_reason = format!("{reason:?}");
            true
        }
        _ => false,
    };
    model.apply(msg);
    closed
}

fn run_pass(per_frame: bool, batched: bool, messages: u64) -> std::io::Result<PassReport> {
    let mut report = PassReport {
        messages,
        hwm_reset: reset_hwm(),
        ..PassReport::default()
    };
    report.hwm_before_kib = status_kib("VmHWM:");

    let (port, peer) = spawn_peer(batched, messages)?;
    let (tx, rx) = flume::unbounded();
    let start = Instant::now();
    let handle = spawn_client(ClientConfig::new("127.0.0.1", port), tx, Waker::noop())?;
    let mut model = ClientModel::default();
    model.begin(handle.session(), format!("127.0.0.1:{port}"));

    if per_frame {
        let mut next = Instant::now();
        while start.elapsed() < DEADLINE && !report.closed {
            next += FRAME;
            if let Some(wait) = next.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            report.drains += 1;
            report.max_pending = report.max_pending.max(rx.len());
            let drain_start = Instant::now();
            for msg in rx.try_iter() {
                if apply(&mut model, msg, &mut report) {
                    report.closed = true;
                    break;
                }
            }
            report.max_drain = report.max_drain.max(drain_start.elapsed());
        }
    } else {
        while !report.closed {
            let Some(left) = DEADLINE.checked_sub(start.elapsed()) else {
                break;
            };
            if report.events.is_multiple_of(64) {
                report.max_pending = report.max_pending.max(rx.len());
            }
            match rx.recv_timeout(left) {
                Ok(msg) => report.closed = apply(&mut model, msg, &mut report),
                Err(_) => break,
            }
        }
    }
    report.total = start.elapsed();
    handle.join();

    match peer.join() {
        Ok(Ok(p)) => {
            report.sent = p.bytes;
            report.peer_write_time = p.write_time;
        }
        Ok(Err(e)) => eprintln!("peer failed: {e}"),
        Err(_) => eprintln!("peer thread panicked"),
    }

    let log = &model.log;
    report.rx_bytes = log.counters.rx_bytes;
    report.rx_msgs = log.counters.rx_msgs;
    report.log_entries = log.len();
    report.log_dropped = log.dropped;
    report.log_bytes = log.bytes_held();
    report.trace_held = model.trace.calls().len();
    report.trace_dropped = model.trace.dropped;
    // Memory first: the check below must not add to the figures.
    report.hwm_after_kib = status_kib("VmHWM:");
    report.rss_after_kib = status_kib("VmRSS:");
    // The bytes the log still holds must be exactly the tail of what was sent. Compared
    // entry by entry, so the check allocates at most one recv()'s worth.
    let rx_entries = || {
        log.entries()
            .iter()
            .filter(|e| e.dir == socket_workbench::model::Direction::Rx)
    };
    let held: u64 = rx_entries().map(|e| e.data.len() as u64).sum();
    let total = report.rx_bytes;
    report.tail_ok = held <= total && total == report.sent && {
        let mut pos = total - held;
        rx_entries().all(|e| {
            let end = pos + e.data.len() as u64;
            let ok = *e.data == *expected_stream(pos, end);
            pos = end;
            ok
        })
    };
    drop(model);
    Ok(report)
}

/// The table's rows for one pass: (row name, cell).
fn cells(r: &PassReport) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let mut row = |name: &'static str, f: &dyn Fn(&PassReport) -> String| {
        out.push((name, f(r)));
    };
    row("total time (spawn → Closed)", &|r| {
        format!("{:.3} s", r.total.as_secs_f64())
    });
    row("peer write time", &|r| {
        format!("{:.3} s", r.peer_write_time.as_secs_f64())
    });
    row("messages", &|r| r.messages.to_string());
    row("messages/s", &|r| {
        format!(
            "{:.0}",
            (r.sent / MSG_LEN as u64) as f64 / r.total.as_secs_f64()
        )
    });
    row("MB/s (10^6 B)", &|r| {
        format!("{:.2}", r.rx_bytes as f64 / 1e6 / r.total.as_secs_f64())
    });
    row("events applied", &|r| r.events.to_string());
    row("recv() calls (Received events)", &|r| {
        r.received_events.to_string()
    });
    row("mean bytes per recv()", &|r| {
        format!("{:.0}", r.rx_bytes as f64 / r.received_events.max(1) as f64)
    });
    row("closed / reason", &|r| {
        if r.closed {
            r.close_reason.clone()
        } else {
            "NOT CLOSED".into()
        }
    });
    row("bytes sent by peer", &|r| r.sent.to_string());
    row("rx byte counter", &|r| r.rx_bytes.to_string());
    row("rx counter == sent", &|r| {
        if r.rx_bytes == r.sent && r.sent == r.messages * MSG_LEN as u64 {
            "OK".into()
        } else {
            "MISMATCH".into()
        }
    });
    row("held log bytes == tail of stream", &|r| {
        if r.tail_ok { "OK" } else { "MISMATCH" }.into()
    });
    row("rx_msgs counter", &|r| r.rx_msgs.to_string());
    row("log entries held (cap)", &|r| {
        format!("{} ({MAX_ENTRIES})", r.log_entries)
    });
    row("log entries dropped", &|r| r.log_dropped.to_string());
    row("log bytes held (cap 64 MiB)", &|r| {
        format!(
            "{} ({:.1}%)",
            r.log_bytes,
            r.log_bytes as f64 * 100.0 / MAX_BYTES as f64
        )
    });
    row("trace calls held / dropped", &|r| {
        format!("{} / {}", r.trace_held, r.trace_dropped)
    });
    row("VmHWM before pass", &|r| mib(r.hwm_before_kib));
    row("VmHWM after pass (peak)", &|r| mib(r.hwm_after_kib));
    row("VmRSS after pass (model alive)", &|r| mib(r.rss_after_kib));
    row("drains (16 ms frames)", &|r| {
        if r.drains == 0 {
            "-".into()
        } else {
            r.drains.to_string()
        }
    });
    row("max events pending at a drain", &|r| {
        r.max_pending.to_string()
    });
    row("longest drain", &|r| {
        if r.drains == 0 {
            "-".into()
        } else {
            format!("{:.3} ms", r.max_drain.as_secs_f64() * 1e3)
        }
    });
    out
}

/// Runs one pass in this process and prints its cells as `CELL\t<name>\t<value>` lines.
fn child(pass: &str) -> std::io::Result<()> {
    let report = match pass {
        "1" => run_pass(false, false, MESSAGES)?,
        "2" => run_pass(true, false, MESSAGES)?,
        "3" => run_pass(false, true, MESSAGES)?,
        _ => run_pass(true, true, BIG_MESSAGES)?,
    };
    if !report.hwm_reset {
        eprintln!("note: /proc/self/clear_refs could not be written; VmHWM is the process peak");
    }
    for (name, value) in cells(&report) {
        println!("CELL\t{name}\t{value}");
    }
    Ok(())
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--pass") {
        return child(args.get(i + 1).map_or("1", String::as_str));
    }
    println!(
        "receive_rate bench: {MESSAGES} messages of {MSG_LEN} B ({} B) over 127.0.0.1; \
         real engine, events applied to a ClientModel",
        MESSAGES * MSG_LEN as u64
    );
    println!(
        "sizes: LogEntry {} B, ClientMsg {} B (plus each Arc<[u8]>: data + 16 B header + malloc)",
        std::mem::size_of::<socket_workbench::model::LogEntry>(),
        std::mem::size_of::<ClientMsg>()
    );
    // Each pass runs in a fresh process so its memory figures are its own.
    let exe = std::env::current_exe()?;
    let passes = [
        ("1", "drain as events come"),
        ("2", "drain every 16 ms"),
        ("3", "batched peer, as come"),
        ("4", "batched 8M, 16 ms"),
    ];
    let mut columns: Vec<(&str, Vec<(String, String)>)> = Vec::new();
    for (arg, title) in passes {
        let out = std::process::Command::new(&exe)
            .args(["--pass", arg])
            .stderr(std::process::Stdio::inherit())
            .output()?;
        if !out.status.success() {
            println!("pass {arg} ({title}) failed: {}", out.status);
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let cells = text
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
            .collect();
        columns.push((title, cells));
    }

    print_columns(&columns, 34, 22);
    println!("(columns 1-2: one write() per message; column 3: the peer batches writes in a");
    println!(" 64 KiB BufWriter, to show the engine's ceiling; column 4: batched, {BIG_MESSAGES}");
    println!(
        " messages ({} MB, past the 64 MiB byte cap), drained every 16 ms; 'max pending' in",
        BIG_MESSAGES * MSG_LEN as u64 / 1_000_000
    );
    println!(" columns 1 and 3 is sampled every 64 events, in 2 and 4 at every 16 ms drain)");
    println!("(each pass runs in its own process; VmHWM is also reset via /proc/self/clear_refs)");
    Ok(())
}
