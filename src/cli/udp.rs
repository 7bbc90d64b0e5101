//! `udp`: bind, send datagrams and print those that arrive.

use super::*;

#[derive(Debug, Args)]
pub struct UdpArgs {
    /// Local address and port to bind: 0.0.0.0:0, 127.0.0.1:9999, [::1]:0, or just a port.
    pub bind: String,
    /// Where --send and --send-hex datagrams go: HOST:PORT.
    #[arg(long, value_name = "HOST:PORT")]
    pub to: Option<String>,
    /// Text of one datagram (encoded with --encoding, --eol appended). Repeatable, in order.
    #[arg(long = "send", value_name = "TEXT")]
    pub send: Vec<String>,
    /// Bytes of one datagram, in hex. Repeatable.
    #[arg(long = "send-hex", value_name = "HEX")]
    pub send_hex: Vec<String>,
    /// Text encoding for --send and for printing what is received.
    #[arg(long, default_value = "utf-8", value_parser = parse_encoding)]
    pub encoding: TextEncoding,
    /// Line ending appended to each --send datagram: none, lf, crlf or cr.
    #[arg(long, default_value = "none", value_parser = parse_eol)]
    pub eol: LineEnding,
    /// Send every datagram received back to its sender unchanged.
    #[arg(long)]
    pub echo: bool,
    /// Allow sending to broadcast addresses (SO_BROADCAST).
    #[arg(long)]
    pub broadcast: bool,
    /// Join this multicast group (repeatable).
    #[arg(long, value_name = "GROUP")]
    pub join: Vec<std::net::IpAddr>,
    /// Interface address for --join and for sending multicast (default: the system's choice).
    #[arg(long, value_name = "ADDR")]
    pub iface: Option<std::net::Ipv4Addr>,
    /// Seconds to wait for replies after sending (default 2), or to run at all without --send.
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub wait: Option<f64>,
    #[command(flatten)]
    pub protocol: ProtocolArgs,
    /// Print what is received in hex.
    #[arg(long)]
    pub hex: bool,
    #[command(flatten)]
    pub library: LibraryArgs,
    /// Print every socket call to stderr as it happens.
    #[arg(long)]
    pub trace: bool,
}

/// Senders whose messages are framed at once (past this many, what the framers hold is
/// printed and they start afresh).
const MAX_FRAMED_PEERS: usize = 1024;

pub(super) fn udp(
    args: UdpArgs,
    lang: Lang,
    matches: Option<&clap::ArgMatches>,
    io: &mut Io,
) -> ExitCode {
    use crate::net::udp::{UdpCommand, UdpConfig, UdpEvent, spawn_udp};
    let bind = match parse_listen_addr(&args.bind) {
        Ok(addr) => addr,
        Err(err) => {
            errln!(io, "socket-workbench: {}", describe_error(lang, &err));
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let mut payloads = match payloads_of(
        (&args.send, &args.send_hex),
        (&args.library, &args.protocol),
        matches,
        args.encoding,
        args.eol,
        lang,
        io,
    ) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let check = args.protocol.check();
    // One framer per sender: a device may spread a message over datagrams.
    let mut framed: std::collections::HashMap<std::net::SocketAddr, FramedPrinter> =
        std::collections::HashMap::new();
    if !payloads.is_empty() && args.to.is_none() {
        errln!(io, "socket-workbench: {}", lang.t(Msg::ErrSendNeedsTo));
        return ExitCode::from(EXIT_USAGE);
    }
    let mut config = UdpConfig::new(bind);
    config.echo = args.echo;
    config.broadcast = args.broadcast;
    config.multicast_if = args.iface;
    // A terminal slower than the network holds the engine back, not memory.
    let unread = config.unread.clone();
    config.unread_limit = Some(CLI_UNREAD_LIMIT);
    let (tx, rx) = flume::bounded(CLI_EVENTS);
    let handle = match started(spawn_udp(config, tx, Waker::noop()), lang, io) {
        Ok(h) => h,
        Err(code) => return code,
    };
    let (stop_tx, stop_rx) = flume::bounded::<()>(1);
    if args.wait.is_none() && payloads.is_empty() {
        io.stop.on_stop(move || {
            let _ = stop_tx.try_send(());
        });
    }
    let wait = Duration::from_secs_f64(args.wait.unwrap_or(2.0).clamp(0.0, 86_400.0));
    let run_forever = args.wait.is_none() && payloads.is_empty();
    let mut deadline: Option<Instant> = None;
    let mut failed = false;
    let code = loop {
        if stop_rx.try_recv().is_ok() {
            handle.command(UdpCommand::Close);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            deadline = None;
            handle.command(UdpCommand::Close);
        }
        for (from, f) in &mut framed {
            f.tick(&mut *io.out, &format!("from {from}: "));
        }
        let Ok(msg) = rx.recv_timeout(Duration::from_millis(100)) else {
            continue;
        };
        match msg.event {
            UdpEvent::Call(call) if args.trace => print_trace(io, lang, &call),
            UdpEvent::Bound { local, .. } => {
                let _ = writeln!(io.out, "bound to {local}");
                let _ = io.out.flush();
                let iface = args
                    .iface
                    .map_or(std::net::IpAddr::from([0, 0, 0, 0]), std::net::IpAddr::from);
                for group in &args.join {
                    handle.command(UdpCommand::Join {
                        group: *group,
                        iface,
                    });
                }
                if let Some(to) = &args.to {
                    for bytes in payloads.drain(..) {
                        handle.command(UdpCommand::SendTo {
                            to: to.clone(),
                            bytes,
                        });
                    }
                }
                if !run_forever {
                    deadline = Some(Instant::now() + wait);
                }
            }
            UdpEvent::Received { from, data } => {
                unread.taken(data.len());
                if let Some(framing) = &args.protocol.frame {
                    // Bounded like the engine's peer table: a flood of senders cannot grow it.
                    if framed.len() >= MAX_FRAMED_PEERS && !framed.contains_key(&from) {
                        // What each sender's framer holds is printed (marked), not lost.
                        for (from, mut f) in framed.drain() {
                            f.finish(&mut *io.out, &format!("from {from}: "));
                        }
                    }
                    let printer = framed.entry(from).or_insert_with(|| {
                        FramedPrinter::new(framing.clone(), args.encoding, args.hex, check, lang)
                    });
                    printer.push(&mut *io.out, &format!("from {from}: "), &data);
                } else {
                    let text = if args.hex {
                        crate::proto::format_hex(&data)
                    } else {
                        one_line(args.encoding, &data)
                    };
                    let _ = writeln!(io.out, "from {from} {} bytes: {text}", data.len());
                    let _ = io.out.flush();
                }
            }
            UdpEvent::Warning(err) => {
                failed = true;
                errln!(io, "socket-workbench: {}", describe_error(lang, &err));
            }
            UdpEvent::Drops(n) => {
                errln!(
                    io,
                    "socket-workbench: {}",
                    lang.fmt(Msg::NoteDrops, &[("n", &n)])
                );
            }
            UdpEvent::Closed { reason } => {
                for (from, f) in &mut framed {
                    f.finish(&mut *io.out, &format!("from {from}: "));
                }
                match reason {
                    CloseReason::Failed(err) => {
                        errln!(io, "socket-workbench: {}", describe_error(lang, &err));
                        break ExitCode::from(EXIT_NETWORK);
                    }
                    _ if failed => break ExitCode::from(EXIT_NETWORK),
                    _ => break ExitCode::SUCCESS,
                }
            }
            _ => {}
        }
    };
    // The engine may be waiting for room in the full channel: let its sends fail instead.
    drop(rx);
    handle.join();
    code
}
