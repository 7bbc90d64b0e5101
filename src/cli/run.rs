//! `run`: a scripted conversation against a TCP server or a UDP peer (see `proto::script`).

use super::*;
use crate::proto::script::{Driver, Env, Failure, Next, Outcome, Report, Script};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The script: a TOML file of [[step]] tables (see the README), or the name of a script
    /// saved in the --payloads library.
    pub script: PathBuf,
    /// Where to run it: HOST:PORT of a TCP server (or of a UDP peer with --udp).
    #[arg(long, value_name = "HOST:PORT")]
    pub target: String,
    /// Talk UDP: every send is one datagram to the target, every datagram back a message.
    #[arg(long)]
    pub udp: bool,
    /// A payload library: for the script's send_payload steps, and its saved scripts.
    #[arg(long, value_name = "FILE")]
    pub payloads: Option<PathBuf>,
    /// One JSON object per step as it ends, then the result.
    #[arg(long)]
    pub json: bool,
    /// Seconds to wait for the connection to be set up.
    #[arg(long, default_value_t = 5.0, value_name = "SECS", value_parser = parse_secs)]
    pub timeout: f64,
    /// Print every socket call to stderr as it happens.
    #[arg(long)]
    pub trace: bool,
}

/// What the engine under the conversation said, in one shape for TCP and UDP.
enum Heard {
    Up,
    Data(std::sync::Arc<[u8]>),
    Closed(Option<NetError>),
    Call(crate::net::trace::SocketCall),
    Warning(NetError),
    Nothing,
}

pub(super) fn run_script(args: RunArgs, lang: Lang, io: &mut Io) -> ExitCode {
    let path = args.script.display().to_string();
    let lib = match (LibraryArgs {
        payloads: args.payloads.clone(),
        send_name: Vec::new(),
    })
    .read(lang, io)
    {
        Ok(lib) => lib,
        Err(code) => return code,
    };
    // A script file, or a script saved by that name in the payload library.
    let saved = lib
        .as_ref()
        .filter(|_| !args.script.exists())
        .and_then(|l| l.script(&args.script.to_string_lossy()))
        .map(|s| s.text.clone());
    let script = match saved {
        Some(text) => Ok(text),
        None => std::fs::read_to_string(&args.script)
            .map_err(|e| describe_error(lang, &NetError::file_read(&args.script, &e))),
    }
    .and_then(|text| {
        Script::parse(&text, lib.as_ref()).map_err(|e| {
            let error = e.to_string();
            lang.fmt(Msg::RunScriptBad, &[("path", &path), ("error", &error)])
        })
    });
    let script = match script {
        Ok(s) => s,
        Err(words) => {
            errln!(io, "socket-workbench: {words}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let (host, port) = match split_host_port(&args.target) {
        Ok(hp) => hp,
        Err(err) => {
            errln!(io, "socket-workbench: {}", describe_error(lang, &err));
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let encoding = script.encoding;
    let mut driver = Driver::new(script);
    let mut out = RunPrinter {
        lang,
        encoding,
        json: args.json,
        rtts: hdrhistogram::Histogram::new_with_bounds(1, 3_600_000_000, 3).ok(),
    };
    let start = Instant::now();
    let now_us = || u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
    let mut random = crate::proto::vars::weak_random();
    let (stop_tx, stop_rx) = flume::bounded::<()>(1);
    io.stop.on_stop(move || {
        let _ = stop_tx.try_send(());
    });

    // The engine: a TCP client, or a UDP socket sending to the target.
    let (tcp, udp) = if args.udp {
        use crate::net::udp::{UdpConfig, spawn_udp};
        let bind = if host.contains(':') {
            "[::]:0"
        } else {
            "0.0.0.0:0"
        };
        let Ok(bind) = parse_listen_addr(bind) else {
            return ExitCode::from(EXIT_USAGE);
        };
        let mut config = UdpConfig::new(bind);
        let unread = config.unread.clone();
        config.unread_limit = Some(CLI_UNREAD_LIMIT);
        let (tx, rx) = flume::bounded(CLI_EVENTS);
        match started(spawn_udp(config, tx, Waker::noop()), lang, io) {
            Ok(h) => (None, Some((h, rx, unread))),
            Err(code) => return code,
        }
    } else {
        let mut config = ClientConfig::new(host, port);
        config.connect_timeout = Duration::from_secs_f64(args.timeout.clamp(0.01, 3600.0));
        let unread = config.unread.clone();
        config.unread_limit = Some(CLI_UNREAD_LIMIT);
        let (tx, rx) = flume::bounded(CLI_EVENTS);
        match started(spawn_client(config, tx, Waker::noop()), lang, io) {
            Ok(h) => (Some((h, rx, unread)), None),
            Err(code) => return code,
        }
    };
    let send = |bytes: Vec<u8>| {
        if let Some((h, _, _)) = &tcp {
            h.command(ClientCommand::Send(bytes));
        } else if let Some((h, _, _)) = &udp {
            h.command(crate::net::udp::UdpCommand::SendTo {
                to: args.target.clone(),
                bytes,
            });
        }
    };
    let hear = |wait: Duration| -> Heard {
        use crate::net::udp::UdpEvent;
        if let Some((_, rx, unread)) = &tcp {
            match rx.recv_timeout(wait) {
                Ok(msg) => match msg.event {
                    ClientEvent::Connected { .. } => Heard::Up,
                    ClientEvent::Received { data } => {
                        unread.taken(data.len());
                        Heard::Data(data)
                    }
                    ClientEvent::Closed { reason } => Heard::Closed(match reason {
                        CloseReason::Failed(err) => Some(err),
                        _ => None,
                    }),
                    ClientEvent::Call(call) => Heard::Call(call),
                    ClientEvent::Warning(err) => Heard::Warning(err),
                    _ => Heard::Nothing,
                },
                Err(flume::RecvTimeoutError::Timeout) => Heard::Nothing,
                Err(flume::RecvTimeoutError::Disconnected) => Heard::Closed(None),
            }
        } else if let Some((_, rx, unread)) = &udp {
            match rx.recv_timeout(wait) {
                Ok(msg) => match msg.event {
                    UdpEvent::Bound { .. } => Heard::Up,
                    UdpEvent::Received { data, .. } => {
                        unread.taken(data.len());
                        Heard::Data(data)
                    }
                    UdpEvent::Closed { reason } => Heard::Closed(match reason {
                        CloseReason::Failed(err) => Some(err),
                        _ => None,
                    }),
                    UdpEvent::Call(call) => Heard::Call(call),
                    UdpEvent::Warning(err) => Heard::Warning(err),
                    _ => Heard::Nothing,
                },
                Err(flume::RecvTimeoutError::Timeout) => Heard::Nothing,
                Err(flume::RecvTimeoutError::Disconnected) => Heard::Closed(None),
            }
        } else {
            Heard::Closed(None)
        }
    };

    let mut up = false;
    let mut closed = false;
    let mut network_error = false;
    loop {
        if stop_rx.try_recv().is_ok() {
            // Ctrl+C: what has not run counts as not held.
            break;
        }
        let mut wait = Duration::from_millis(100);
        if up {
            let mut env = Env {
                now: chrono::Local::now().naive_local(),
                unix_ms: u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0),
                random: &mut random,
            };
            let next = driver.poll(now_us(), &mut env);
            for report in driver.conversation.take_reports() {
                out.report(io, &report);
            }
            match next {
                Next::Send(bytes) => {
                    send(bytes);
                    continue;
                }
                Next::Until(t) => {
                    wait = Duration::from_micros(t.saturating_sub(now_us())).min(wait);
                }
                Next::Done => break,
                Next::Paused => driver.conversation.step_once(),
            }
        }
        if closed {
            continue;
        }
        match hear(wait) {
            Heard::Up => up = true,
            Heard::Data(data) => driver.data(&data, now_us()),
            Heard::Closed(err) => {
                closed = true;
                if let Some(err) = err {
                    network_error = true;
                    errln!(io, "socket-workbench: {}", describe_error(lang, &err));
                }
                if !up {
                    break;
                }
                driver.closed(now_us());
            }
            Heard::Call(call) if args.trace => print_trace(io, lang, &call),
            Heard::Warning(err) => {
                errln!(io, "socket-workbench: {}", describe_error(lang, &err));
            }
            Heard::Call(_) | Heard::Nothing => {}
        }
    }
    // Close politely and let the engine end.
    if let Some((h, rx, _)) = tcp {
        h.command(ClientCommand::Disconnect);
        drop(rx);
        h.join();
    } else if let Some((h, rx, _)) = udp {
        h.command(crate::net::udp::UdpCommand::Close);
        drop(rx);
        h.join();
    }
    let conv = &driver.conversation;
    let finished = conv.finished();
    let (held, failed) = conv.tally();
    out.summary(io, conv, finished);
    if network_error && !up {
        return ExitCode::from(EXIT_NETWORK);
    }
    if finished && failed == 0 && held as usize >= 1.min(conv.script().expects()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_NETWORK)
    }
}

/// Prints the steps as they end, in words or as JSON lines.
struct RunPrinter {
    lang: Lang,
    encoding: TextEncoding,
    json: bool,
    rtts: Option<hdrhistogram::Histogram<u64>>,
}

/// At most this much of a message is shown in the evidence.
const SHOW_BYTES: usize = 256;

fn ms(us: u64) -> String {
    format!("{:.3} ms", us as f64 / 1000.0)
}

impl RunPrinter {
    fn expected(&self, r: &Report) -> String {
        r.expected
            .as_ref()
            .map(|x| crate::i18n::describe_expect(self.lang, x, self.encoding))
            .unwrap_or_default()
    }

    /// A message as text and hex, or (binary) as hex alone.
    fn show(&self, bytes: &[u8]) -> String {
        let cut = &bytes[..bytes.len().min(SHOW_BYTES)];
        let more = if bytes.len() > SHOW_BYTES { " …" } else { "" };
        let hex = crate::proto::format_hex(cut);
        if crate::proto::script::as_text(bytes, self.encoding).is_some() {
            format!("\"{}\"{more} [{hex}{more}]", one_line(self.encoding, cut))
        } else {
            format!("[{hex}{more}]")
        }
    }

    fn report(&mut self, io: &mut Io, r: &Report) {
        if let (Some(rtt), Some(h)) = (r.rtt_us, &mut self.rtts) {
            let _ = h.record(rtt.max(1));
        }
        if self.json {
            self.json_line(io, r);
            return;
        }
        let lang = self.lang;
        let round = r
            .round
            .map(|n| lang.fmt(Msg::RunRound, &[("n", &n)]))
            .unwrap_or_default();
        let head = lang.fmt(
            Msg::RunStep,
            &[
                ("step", &(r.step + 1)),
                ("line", &r.line),
                ("round", &round),
            ],
        );
        let what = match &r.outcome {
            Outcome::Sent => {
                let sent = r.sent.as_deref().unwrap_or_default();
                lang.fmt(
                    Msg::RunSent,
                    &[("n", &sent.len()), ("bytes", &self.show(sent))],
                )
            }
            Outcome::Waited { ms } => lang.fmt(Msg::RunWaited, &[("ms", ms)]),
            Outcome::Matched => {
                let expected = self.expected(r);
                let mut line = lang.fmt(Msg::RunMatched, &[("expected", &expected)]);
                if let Some(rtt) = r.rtt_us {
                    line.push_str(&lang.fmt(Msg::RunReplyIn, &[("rtt", &ms(rtt))]));
                }
                line
            }
            Outcome::Failed(f) => match f {
                Failure::Timeout { ms } => lang.fmt(Msg::RunFailTimeout, &[("ms", ms)]),
                Failure::Mismatch => lang.t(Msg::RunFailMismatch).to_owned(),
                Failure::Closed => lang.t(Msg::RunFailClosed).to_owned(),
                Failure::Variable(e) => lang.fmt(Msg::RunFailVariable, &[("error", e)]),
            },
        };
        outln!(io, "{head}{}{what}", crate::i18n::colon(lang));
        if matches!(r.outcome, Outcome::Matched) {
            if let Some(got) = &r.got {
                outln!(
                    io,
                    "    {}",
                    lang.fmt(Msg::RunGot, &[("what", &self.show(got))])
                );
            }
            for (name, value) in &r.captured {
                outln!(
                    io,
                    "    {}",
                    lang.fmt(
                        Msg::RunCaptured,
                        &[("name", name), ("value", &self.show(value))]
                    )
                );
            }
        }
        if let Outcome::Failed(Failure::Timeout { .. } | Failure::Mismatch | Failure::Closed) =
            &r.outcome
        {
            if r.expected.is_some() {
                let expected = self.expected(r);
                outln!(
                    io,
                    "    {}",
                    lang.fmt(Msg::RunExpected, &[("what", &expected)])
                );
            }
            match &r.got {
                Some(got) => {
                    let mut line = lang.fmt(Msg::RunGot, &[("what", &self.show(got))]);
                    if let Some(v) = &r.verdict {
                        line.push_str(&format!(" [{}]", verdict_words(lang, r, v)));
                    }
                    outln!(io, "    {line}");
                }
                None => outln!(io, "    {}", lang.t(Msg::RunGotNothing)),
            }
        }
        if r.passed_over_count > 0 {
            outln!(
                io,
                "    {}",
                lang.fmt(Msg::RunPassedOver, &[("n", &r.passed_over_count)])
            );
        }
    }

    fn json_line(&self, io: &mut Io, r: &Report) {
        use crate::lab::report::json_string;
        let (outcome, failure) = match &r.outcome {
            Outcome::Sent => ("sent", None),
            Outcome::Waited { .. } => ("waited", None),
            Outcome::Matched => ("matched", None),
            Outcome::Failed(f) => (
                "failed",
                Some(match f {
                    Failure::Timeout { .. } => "timeout",
                    Failure::Mismatch => "mismatch",
                    Failure::Closed => "closed",
                    Failure::Variable(_) => "variable",
                }),
            ),
        };
        let mut fields = vec![
            format!("\"step\":{}", r.step + 1),
            format!("\"line\":{}", r.line),
            format!("\"outcome\":\"{outcome}\""),
        ];
        if let Some(n) = r.round {
            fields.push(format!("\"round\":{n}"));
        }
        if let Some(f) = failure {
            fields.push(format!("\"failure\":\"{f}\""));
        }
        if let Outcome::Failed(Failure::Variable(e)) = &r.outcome {
            fields.push(format!("\"error\":{}", json_string(e)));
        }
        if let Some(s) = &r.sent {
            fields.push(format!("\"sent_hex\":\"{}\"", crate::proto::format_hex(s)));
        }
        if let Some(x) = &r.expected {
            let words = crate::i18n::describe_expect(Lang::En, x, self.encoding);
            fields.push(format!("\"expected\":{}", json_string(&words)));
        }
        if let Some(g) = &r.got {
            fields.push(format!("\"got_hex\":\"{}\"", crate::proto::format_hex(g)));
            fields.push(format!(
                "\"got_text\":{}",
                json_string(&self.encoding.decode_display(g))
            ));
        }
        if let Some(v) = &r.verdict {
            fields.push(format!(
                "\"checksum\":{}",
                json_string(&verdict_words(Lang::En, r, v))
            ));
        }
        if let Some(rtt) = r.rtt_us {
            fields.push(format!("\"rtt_ms\":{:.3}", rtt as f64 / 1000.0));
        }
        if !r.captured.is_empty() {
            let caps: Vec<String> = r
                .captured
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}:{}",
                        json_string(k),
                        json_string(&self.encoding.decode_display(v))
                    )
                })
                .collect();
            fields.push(format!("\"captured\":{{{}}}", caps.join(",")));
        }
        if r.passed_over_count > 0 {
            fields.push(format!("\"passed_over\":{}", r.passed_over_count));
        }
        outln!(io, "{{{}}}", fields.join(","));
    }

    fn summary(&self, io: &mut Io, conv: &crate::proto::script::Conversation, finished: bool) {
        let lang = self.lang;
        let (held, failed) = conv.tally();
        let rtt = self.rtts.as_ref().filter(|h| !h.is_empty());
        if self.json {
            let mut fields = vec![
                format!("\"passed\":{}", finished && failed == 0),
                format!("\"finished\":{finished}"),
                format!("\"expects_held\":{held}"),
                format!("\"expects_failed\":{failed}"),
            ];
            if let Some(h) = rtt {
                fields.push(format!(
                    "\"rtt_ms\":{{\"p50\":{:.3},\"p99\":{:.3},\"max\":{:.3},\"n\":{}}}",
                    h.value_at_quantile(0.5) as f64 / 1000.0,
                    h.value_at_quantile(0.99) as f64 / 1000.0,
                    h.max() as f64 / 1000.0,
                    h.len()
                ));
            }
            if conv.dropped > 0 {
                fields.push(format!("\"dropped\":{}", conv.dropped));
            }
            outln!(io, "{{\"result\":{{{}}}}}", fields.join(","));
            return;
        }
        if failed == 0 && finished {
            outln!(io, "{}", lang.fmt(Msg::RunAllHeld, &[("n", &held)]));
        } else {
            outln!(
                io,
                "{}",
                lang.fmt(
                    Msg::RunSomeFailed,
                    &[("failed", &failed), ("total", &(held + failed))]
                )
            );
        }
        if let Some(step) = conv.stopped_at().or(conv.current()).filter(|_| !finished) {
            outln!(
                io,
                "{}",
                lang.fmt(Msg::RunStopped, &[("step", &(step + 1))])
            );
        }
        if let Some(h) = rtt {
            outln!(
                io,
                "{}",
                lang.fmt(
                    Msg::RunRtt,
                    &[
                        ("p50", &ms(h.value_at_quantile(0.5))),
                        ("p99", &ms(h.value_at_quantile(0.99))),
                        ("max", &ms(h.max())),
                        ("n", &h.len()),
                    ]
                )
            );
        }
        if conv.dropped > 0 {
            outln!(io, "{}", lang.fmt(Msg::RunDropped, &[("n", &conv.dropped)]));
        }
    }
}

fn verdict_words(lang: Lang, r: &Report, v: &crate::proto::checksum::Verdict) -> String {
    let algo = r.checksum.as_ref().map_or("checksum", |c| c.algo.label());
    crate::model::describe::describe_verdict(lang, algo, v)
}
