//! `tcp-client`: connect, send payloads in order, print what comes back.

use super::*;

#[derive(Debug, Args)]
pub struct TcpClientArgs {
    /// Server address: HOST:PORT, e.g. 127.0.0.1:7890, localhost:7890 or [::1]:7890.
    pub target: String,
    /// Text to send (encoded with --encoding, --eol appended). Repeatable; payloads are
    /// sent in the order given, mixed freely with --send-hex.
    #[arg(long = "send", value_name = "TEXT")]
    pub send: Vec<String>,
    /// Bytes to send, in hex: "48 65 6c", "48656c" or "0x48,0x65". Repeatable.
    #[arg(long = "send-hex", value_name = "HEX")]
    pub send_hex: Vec<String>,
    /// Text encoding for --send and for printing what is received.
    #[arg(long, default_value = "utf-8", value_parser = parse_encoding)]
    pub encoding: TextEncoding,
    /// Line ending appended to each --send payload: none, lf, crlf or cr.
    #[arg(long, default_value = "none", value_parser = parse_eol)]
    pub eol: LineEnding,
    /// Print received bytes as a hex dump instead of text.
    #[arg(long)]
    pub hex: bool,
    /// Seconds of silence after which to close and exit 0.
    #[arg(long, default_value_t = 2.0, value_name = "SECS", value_parser = parse_secs)]
    pub wait: f64,
    /// Seconds to wait for the connection to be set up.
    #[arg(long, default_value_t = 5.0, value_name = "SECS", value_parser = parse_secs)]
    pub timeout: f64,
    #[command(flatten)]
    pub protocol: ProtocolArgs,
    #[command(flatten)]
    pub library: LibraryArgs,
    /// Write the conversation to FILE as a script for `run`: what was sent becomes send
    /// steps, each message received (cut by --frame) an exact expect, to loosen by hand.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Print every socket call to stderr as it happens.
    #[arg(long)]
    pub trace: bool,
}

pub(super) fn tcp_client(
    args: TcpClientArgs,
    lang: Lang,
    matches: Option<&clap::ArgMatches>,
    io: &mut Io,
) -> ExitCode {
    let (host, port) = match split_host_port(&args.target) {
        Ok(hp) => hp,
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

    let mut config = ClientConfig::new(host, port);
    config.connect_timeout = Duration::from_secs_f64(args.timeout.clamp(0.01, 3600.0));
    let unread = config.unread.clone();
    config.unread_limit = Some(CLI_UNREAD_LIMIT);
    let (tx, rx) = flume::bounded(CLI_EVENTS);
    let handle = match started(spawn_client(config, tx, Waker::noop()), lang, io) {
        Ok(h) => h,
        Err(code) => return code,
    };
    let wait = Duration::from_secs_f64(args.wait.clamp(0.0, 86_400.0));
    let mut printer = Printer::new(args.encoding, args.hex);
    let mut framed = args
        .protocol
        .frame
        .clone()
        .map(|f| FramedPrinter::new(f, args.encoding, args.hex, check, lang));
    let mut recorder = args
        .record
        .as_ref()
        .map(|_| Recorder::new(args.protocol.frame.clone().unwrap_or_default()));
    let mut last_activity = Instant::now();
    let mut connected = false;
    let code = loop {
        // Before the connection is up the connect timeout governs; after, the silence timer.
        let timeout = if connected {
            wait.saturating_sub(last_activity.elapsed())
        } else {
            Duration::from_secs(3600)
        };
        // A pause that ends a message comes before the silence that ends the run.
        let due = framed.as_ref().and_then(FramedPrinter::due_in);
        if let Some(due) = due
            && due < timeout
        {
            if rx.is_empty() {
                std::thread::sleep(due.min(Duration::from_millis(50)));
            }
            if let Some(f) = &mut framed {
                f.tick(&mut *io.out, "");
            }
            if rx.is_empty() {
                continue;
            }
        }
        match rx.recv_timeout(timeout) {
            Ok(msg) => match msg.event {
                ClientEvent::Call(call) if args.trace => {
                    print_trace(io, lang, &call);
                }
                ClientEvent::Connected { .. } => {
                    connected = true;
                    last_activity = Instant::now();
                    for bytes in payloads.drain(..) {
                        if let Some(r) = &mut recorder {
                            r.sent(&bytes);
                        }
                        handle.command(ClientCommand::Send(bytes));
                    }
                }
                ClientEvent::Sent { .. } => last_activity = Instant::now(),
                ClientEvent::Received { data } => {
                    last_activity = Instant::now();
                    if let Some(r) = &mut recorder {
                        r.received(&data);
                    }
                    match &mut framed {
                        Some(f) => f.push(&mut *io.out, "", &data),
                        None => printer.print(&mut *io.out, &data),
                    }
                    unread.taken(data.len());
                }
                ClientEvent::Warning(err) => {
                    errln!(io, "socket-workbench: {}", describe_error(lang, &err));
                }
                ClientEvent::Closed { reason } => {
                    printer.finish(&mut *io.out);
                    if let Some(f) = &mut framed {
                        f.finish(&mut *io.out, "");
                    }
                    if args.trace {
                        // What the kernel does after close (FIN_WAIT2, TIME_WAIT) comes just
                        // after; show the first of it.
                        let until = Instant::now() + Duration::from_millis(300);
                        while let Ok(msg) =
                            rx.recv_timeout(until.saturating_duration_since(Instant::now()))
                        {
                            if let ClientEvent::Call(call) = msg.event {
                                print_trace(io, lang, &call);
                            }
                        }
                    }
                    break match reason {
                        CloseReason::Local | CloseReason::Peer => ExitCode::SUCCESS,
                        CloseReason::Failed(err) => {
                            errln!(io, "socket-workbench: {}", describe_error(lang, &err));
                            ExitCode::from(EXIT_NETWORK)
                        }
                    };
                }
                _ => {}
            },
            Err(flume::RecvTimeoutError::Timeout) => {
                // Silence: close politely and let the Closed event end the loop.
                handle.command(ClientCommand::Disconnect);
                last_activity = Instant::now() + Duration::from_secs(3600);
            }
            Err(flume::RecvTimeoutError::Disconnected) => {
                printer.finish(&mut *io.out);
                break ExitCode::SUCCESS;
            }
        }
    };
    // The engine may be waiting for room in the full channel: let its sends fail instead.
    drop(rx);
    handle.join();
    if let (Some(recorder), Some(path)) = (recorder, &args.record) {
        let header = [format!(
            "Recorded by socket-workbench tcp-client from {} on {}.",
            args.target,
            chrono::Local::now().format("%Y-%m-%d %H:%M")
        )];
        if let Err(e) = std::fs::write(path, recorder.script(args.encoding, &header)) {
            let err = NetError::file_write(path, &e);
            errln!(io, "socket-workbench: {}", describe_error(lang, &err));
            return ExitCode::from(EXIT_NETWORK);
        }
    }
    code
}

/// What a conversation sent and received, for `--record`: the messages cut by the framing.
struct Recorder {
    framer: crate::proto::frame::Framer,
    items: Vec<crate::proto::script::Recorded>,
    start: Instant,
}

impl Recorder {
    fn new(framing: crate::proto::frame::Framing) -> Self {
        Recorder {
            framer: crate::proto::frame::Framer::new(framing, crate::proto::frame::DEFAULT_CAP),
            items: Vec::new(),
            start: Instant::now(),
        }
    }

    fn sent(&mut self, bytes: &[u8]) {
        self.items
            .push(crate::proto::script::Recorded::Sent(bytes.to_vec()));
    }

    fn received(&mut self, data: &[u8]) {
        let now = u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX);
        // A pause since the last bytes ended a message (the pause rule).
        if let Some(frame) = self.framer.tick(now) {
            self.keep(&frame);
        }
        for frame in self.framer.push(data, now) {
            self.keep(&frame);
        }
    }

    fn keep(&mut self, frame: &crate::proto::frame::Frame) {
        let body = frame.body(self.framer.framing()).to_vec();
        self.items
            .push(crate::proto::script::Recorded::Received(body));
    }

    fn script(mut self, encoding: TextEncoding, header: &[String]) -> String {
        // What the framing still held when the connection ended is a message too.
        if let Some(frame) = self.framer.finish() {
            self.keep(&frame);
        }
        crate::proto::script::record(&self.items, self.framer.framing(), encoding, header)
    }
}
