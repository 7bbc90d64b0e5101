//! `load`: many clients against a server, with percentiles.

use super::*;

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// The server (HOST:PORT).
    pub target: String,
    /// Clients connected at once (UDP: sockets sending).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub clients: u32,
    /// Seconds to run; 0 runs until Ctrl+C (default 10, or until --messages are done).
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub duration: Option<f64>,
    /// Messages each client sends, then it closes.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub messages: Option<u64>,
    /// Messages a second, all clients together (default: flat out; UDP: 1000).
    #[arg(long, value_name = "MSGS_PER_S", value_parser = parse_rate)]
    pub rate: Option<f64>,
    /// Bytes per message (TCP: the last is a newline; UDP: at least 24).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=1_048_576))]
    pub size: u32,
    /// A UDP stream instead of TCP clients.
    #[arg(long)]
    pub udp: bool,
    /// When an answer is complete: echo (the same bytes back) or any (the first bytes).
    #[arg(long, default_value = "echo", value_parser = parse_reply)]
    pub reply: crate::net::load::Reply,
    /// Seconds a connect or an answer may take before it counts as an error.
    #[arg(long, default_value_t = 5.0, value_name = "SECS", value_parser = parse_secs)]
    pub timeout: f64,
    /// One JSON object per sample, the report last.
    #[arg(long)]
    pub json: bool,
}

/// A rate in messages a second: more than 0, at most 10,000,000.
pub fn parse_rate(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 10_000_000.0 => Ok(v),
        _ => Err(format!(
            "'{s}' is not a rate (use messages a second, more than 0, e.g. 1000)"
        )),
    }
}

pub(super) fn parse_reply(s: &str) -> Result<crate::net::load::Reply, String> {
    match s {
        "echo" => Ok(crate::net::load::Reply::Echo),
        "any" => Ok(crate::net::load::Reply::Any),
        _ => Err(format!("'{s}' is not a reply kind (use echo or any)")),
    }
}

pub(super) fn load(args: LoadArgs, lang: Lang, io: &mut Io) -> ExitCode {
    use crate::i18n::{describe_file_limit, describe_load_report, describe_load_sample};
    use crate::net::load::{LoadConfig, LoadEvent, run};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let addr = match check_target(&args.target, lang) {
        Ok(a) => a,
        Err(text) => {
            errln!(io, "socket-workbench: {text}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let duration = match (args.duration, args.messages) {
        (Some(d), _) if d > 0.0 => Some(Duration::from_secs_f64(d.min(86_400.0 * 365.0))),
        (Some(_), _) | (None, Some(_)) => None,
        (None, None) => Some(Duration::from_secs(10)),
    };
    let config = LoadConfig {
        addr,
        clients: args.clients as usize,
        duration,
        messages: args.messages,
        rate: args.rate.or(args.udp.then_some(1000.0)),
        size: args.size as usize,
        udp: args.udp,
        reply: args.reply,
        timeout: Duration::from_secs_f64(args.timeout.clamp(0.01, 3600.0)),
    };
    if let Some(problem) = config.problem() {
        errln!(io, "socket-workbench: {problem}");
        return ExitCode::from(EXIT_USAGE);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let stopper = stop.clone();
    io.stop
        .on_stop(move || stopper.store(true, Ordering::Relaxed));
    let mut samples = 0u64;
    let json = args.json;
    let report = run(&config, &stop, &mut |event| {
        let line = match &event {
            LoadEvent::Started { limit, clients } => {
                if json {
                    None
                } else {
                    let what = lang.t(if config.udp {
                        Msg::LoadUdpSockets
                    } else {
                        Msg::LoadTcpClients
                    });
                    Some(lang.fmt(
                        Msg::LoadStarted,
                        &[
                            ("addr", &addr),
                            ("clients", clients),
                            ("what", &what),
                            ("limit", &describe_file_limit(lang, limit, *clients)),
                        ],
                    ))
                }
            }
            LoadEvent::Sample(s) => {
                samples += 1;
                if json {
                    Some(load_sample_json(s))
                } else if samples.is_multiple_of(2) {
                    Some(describe_load_sample(lang, s))
                } else {
                    None
                }
            }
            LoadEvent::Done(_) => None,
        };
        if let Some(line) = line {
            let _ = writeln!(io.out, "{line}");
            let _ = io.out.flush();
        }
    });
    if json {
        let _ = writeln!(io.out, "{}", load_report_json(&report));
    } else {
        for line in describe_load_report(lang, &report) {
            let _ = writeln!(io.out, "{line}");
        }
    }
    let _ = io.out.flush();
    if report.clients_connected == 0 {
        ExitCode::from(EXIT_NETWORK)
    } else {
        ExitCode::SUCCESS
    }
}

pub(super) fn load_sample_json(s: &crate::net::load::Sample) -> String {
    format!(
        "{{\"t_s\":{:.3},\"connected\":{},\"messages_per_s\":{:.1},\"sent_bytes_per_s\":{:.0},\"received_bytes_per_s\":{:.0},\"p50_ms\":{:.3},\"p99_ms\":{:.3},\"errors\":{}}}",
        s.at.as_secs_f64(),
        s.connected,
        s.messages_per_s,
        s.sent_per_s,
        s.received_per_s,
        s.rtt.p50_ms,
        s.rtt.p99_ms,
        s.errors
    )
}

/// The report as one JSON object (the last line of `load --json`).
pub fn load_report_json(r: &crate::net::load::Report) -> String {
    let opt = |v: Option<u64>| v.map_or("null".to_owned(), |v| v.to_string());
    let kinds: Vec<String> = r
        .errors
        .iter()
        .map(|(k, n)| format!("\"{}\":{n}", k.name()))
        .collect();
    format!(
        "{{\"clients\":{},\"clients_connected\":{},\"peak_connected\":{},\"duration_s\":{:.3},\"messages\":{},\"sent_messages\":{},\"bytes_sent\":{},\"bytes_received\":{},\"messages_per_s\":{:.1},\"bytes_per_s\":{:.0},\"connect_p50_ms\":{:.3},\"connect_p95_ms\":{:.3},\"connect_p99_ms\":{:.3},\"connect_max_ms\":{:.3},\"p50_ms\":{:.3},\"p95_ms\":{:.3},\"p99_ms\":{:.3},\"max_ms\":{:.3},\"errors\":{},\"errors_by_kind\":{{{}}},\"stopped\":{},\"udp\":{},\"file_limit\":{{\"before\":{},\"now\":{},\"hard\":{}}}}}",
        r.clients,
        r.clients_connected,
        r.peak_connected,
        r.elapsed.as_secs_f64(),
        r.messages,
        r.sent_messages,
        r.bytes_sent,
        r.bytes_received,
        r.messages_per_s,
        r.bytes_per_s,
        r.connect.p50_ms,
        r.connect.p95_ms,
        r.connect.p99_ms,
        r.connect.max_ms,
        r.rtt.p50_ms,
        r.rtt.p95_ms,
        r.rtt.p99_ms,
        r.rtt.max_ms,
        r.error_count(),
        kinds.join(","),
        r.stopped,
        r.udp,
        opt(r.limit.before),
        opt(r.limit.now),
        opt(r.limit.hard),
    )
}
