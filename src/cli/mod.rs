use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};

use crate::i18n::{Lang, Msg, describe_error, describe_outcome, describe_payload_error};
use crate::net::tcp_client::{ClientCommand, ClientConfig, ClientEvent, CloseReason, spawn_client};
use crate::net::{NetError, NetErrorKind, Waker};
use crate::proto::{
    LineEnding, PayloadError, PayloadMode, Segment, StreamDecoder, TextEncoding, build_payload,
};
use std::net::SocketAddr;
use std::path::PathBuf;

mod check;
mod download;
mod io;
mod lab;
mod load;
mod print;
mod run;
mod serve_files;
mod tcp_client;
mod tcp_server;
mod udp;

pub use check::{CheckFilesArgs, CheckServerArgs};
use check::{check_files, check_server};
pub use download::DownloadArgs;
use download::download;
pub use io::{Captured, Io, SharedBuf, StopSignal};
use io::{errln, outln};
pub use lab::LabArgs;
use lab::lab;
use load::load;
pub use load::{LoadArgs, load_report_json, parse_rate};
use print::*;
pub use run::RunArgs;
use run::run_script;
pub use serve_files::ServeFilesArgs;
use serve_files::serve_files;
pub use tcp_client::TcpClientArgs;
use tcp_client::tcp_client;
pub use tcp_server::TcpServerArgs;
use tcp_server::tcp_server;
pub use udp::UdpArgs;
use udp::udp;

/// Exit code for a network failure (refused, reset, ...).
pub const EXIT_NETWORK: u8 = 1;
/// Exit code for bad input (address, hex, encoding).
pub const EXIT_USAGE: u8 = 2;
/// What the command line may hold received but not yet printed before the engine stops
/// reading (see `net::flow`).
const CLI_UNREAD_LIMIT: usize = 16 * 1024 * 1024;
/// Events the command line may hold unprinted: a terminal slower than the engine makes the
/// engine wait (and, through it, TCP's window), instead of events piling up in memory.
const CLI_EVENTS: usize = 4096;

/// A number of seconds from the command line: finite and not negative (`NaN`, `inf` and
/// `-1` are refused here, so no later `Duration` can panic on them).
pub fn parse_secs(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!(
            "'{s}' is not a number of seconds (use a number from 0 upwards, e.g. 2 or 0.5)"
        )),
    }
}

/// A one-way delay for the lab's wire: 0 to 10,000 ms (refused like a bad SECS, exit 2).
pub fn parse_delay_ms(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=10_000.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "'{s}' is not a delay in milliseconds (use a number from 0 to 10000, e.g. 20)"
        )),
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "socket-workbench",
    version,
    about = "TCP and UDP sockets made point-and-click, for teaching, testing and debugging.",
    long_about = "Socket Workbench. Without a command it opens the window; with a command it runs \
                  that command in the terminal, on the same engines the window uses."
)]
pub struct Cli {
    /// Language of the window and of messages: en or zh.
    #[arg(long, global = true, value_parser = parse_lang)]
    pub lang: Option<Lang>,

    /// Open the window on the TCP client panel and connect to HOST:PORT at once
    /// (for a teacher's desktop shortcut).
    #[arg(long, value_name = "HOST:PORT")]
    pub connect: Option<String>,

    /// Open the window on the TCP server panel, already listening on ADDR:PORT
    /// (0.0.0.0:7890 for every address; port 0 lets the system choose).
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<String>,

    /// Open the window on the UDP panel with a socket bound to ADDR:PORT.
    #[arg(long = "udp", value_name = "ADDR:PORT")]
    pub udp_bind: Option<String>,

    /// With --udp: the target datagrams go to (HOST:PORT).
    #[arg(long = "to", value_name = "HOST:PORT", requires = "udp_bind")]
    pub udp_to: Option<String>,

    /// Open the window on the file server panel, already sharing DIR (with --listen's address
    /// if given, else the remembered one).
    #[arg(long = "serve", value_name = "DIR")]
    pub serve_dir: Option<PathBuf>,

    /// Open the window on this panel: client, server, udp, files, download, lesson, lab or check.
    #[arg(long, value_name = "PANEL")]
    pub tab: Option<String>,

    /// Open the window on the Lesson panel, running this scenario: handshake, half-close,
    /// time-wait, abortive, backlog-full, boundaries, udp-loss or udp-closed-port.
    #[arg(long = "lesson", value_name = "SCENARIO", value_parser = parse_lesson_scenario)]
    pub lesson_scenario: Option<crate::net::scenario::LessonScenario>,

    /// Open the window on the Lab panel, running this scenario (the names `lab` takes).
    #[arg(long = "lab", value_name = "SCENARIO", value_parser = parse_lab_scenario)]
    pub lab_scenario: Option<crate::lab::scenario::Scenario>,

    /// Open the window on the "Check a server" panel, checking an exercise-1 server at
    /// HOST:PORT at once (a teacher's shortcut for grading).
    #[arg(
        long = "check",
        value_name = "HOST:PORT",
        conflicts_with = "load_target"
    )]
    pub check_target: Option<String>,

    /// Open the window on the "Check a server" panel, putting HOST:PORT under load at once.
    #[arg(long = "load", value_name = "HOST:PORT")]
    pub load_target: Option<String>,

    /// With --check or --load: how many clients.
    #[arg(long = "clients", value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub gui_clients: Option<u32>,

    /// Open the window on the Download panel with this file server filled in (with --file:
    /// downloading those files at once).
    #[arg(long = "download", value_name = "HOST:PORT")]
    pub download_from: Option<String>,

    /// With --download: a file to download (the option may be given several times).
    #[arg(long = "file", value_name = "NAME", requires = "download_from")]
    pub download_files: Vec<String>,

    /// Open the window in classroom mode: large text, high contrast, full screen (for a
    /// teacher's desktop shortcut, with --listen, --connect, --udp, --lab, ...).
    #[arg(long)]
    pub classroom: bool,

    /// Open the window with this text encoding for sending and for display (e.g. gbk).
    #[arg(long = "encoding", value_name = "ENCODING", value_parser = parse_encoding)]
    pub gui_encoding: Option<TextEncoding>,

    /// Open the window with received bytes cut into messages by this rule in the client,
    /// server and UDP panels (the words `--frame` takes: line, crlf, len:2be, gap:50, ...).
    #[arg(long = "frame", value_name = "RULE", value_parser = parse_framing)]
    pub gui_frame: Option<crate::proto::frame::Framing>,

    /// Open the window with this payload file's groups in the library (a lab sheet's
    /// payloads; groups of the same name are replaced).
    #[arg(long = "payloads", value_name = "FILE")]
    pub gui_payloads: Option<PathBuf>,

    /// Open the window with this conversation script in the TCP client and UDP panels, shown.
    #[arg(long = "script", value_name = "FILE")]
    pub gui_script: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Connect to a TCP server, send payloads in order, print what comes back.
    ///
    /// Exits 0 when the peer closes the connection or after --wait seconds of silence;
    /// a non-zero exit (1: network error, 2: bad input) comes with a message on stderr.
    TcpClient(TcpClientArgs),
    /// Listen for TCP clients and serve each for as long as it stays (the lesson's exercise 1).
    ///
    /// The first line on stdout is `listening on ADDR:PORT` (the real port when 0 was given);
    /// then one line per event. Runs until Ctrl+C (SIGINT) or SIGTERM, then closes every
    /// connection and exits 0.
    TcpServer(TcpServerArgs),
    /// Bind a UDP socket, send datagrams, print every datagram received with its sender.
    ///
    /// The first line on stdout is `bound to ADDR:PORT` (the real port when 0 was given), then
    /// one line per datagram. With --send it sends in order, waits --wait seconds for replies
    /// and exits; without, it runs until Ctrl+C / SIGTERM (or --wait seconds, if given).
    Udp(UdpArgs),
    /// Serve the files of a folder to download clients (the lesson's exercise 2).
    ///
    /// Answers lesson clients (the first chunk is the file name; the reply is the raw bytes,
    /// then close; an unknown file is a close with nothing sent) and verified clients on the
    /// same port. The first line on stdout is `listening on ADDR:PORT`, then one line per
    /// request. Runs until Ctrl+C / SIGTERM.
    ServeFiles(ServeFilesArgs),
    /// Download a file from a lesson-style (or our own, with --verify) file server.
    ///
    /// Progress goes to stderr. Exits 0 only when the file is complete at the destination;
    /// otherwise a non-zero exit, a clear message, and nothing at the destination.
    Download(DownloadArgs),
    /// Check an exercise-1 server: a class of clients at once, each sending several messages
    /// and checking the answers, then the awkward clients a real class has (one that connects
    /// and leaves, a slow one, 64 KB in one go, a half-close, clients leaving half-way). A
    /// verdict per check with its evidence. Exit 0 when every check passed, 1 when one
    /// failed, 2 for bad input.
    CheckServer(CheckServerArgs),
    /// Check an exercise-2 file server against a local folder holding the same files: each
    /// file downloaded with the lesson's protocol and compared (size and BLAKE3), a name that
    /// does not exist (the lesson's server closes without sending anything), two downloads at
    /// once, a Chinese name as UTF-8 and as GBK, a file over 100 MB. Exit 0 when every check
    /// passed, 1 when one failed, 2 for bad input.
    CheckFiles(CheckFilesArgs),
    /// Put load on a server: N TCP clients at once doing request/response (flat out, or at
    /// --rate messages a second in all), or a UDP stream at --rate. Prints a line a second
    /// and a report: connect time and round trip p50/p95/p99/max, messages and bytes a
    /// second, errors by kind. With --json, one object per sample and the report last.
    /// Ctrl+C stops it early (the report still comes). Exit 0 when it ran, 1 when no client
    /// could connect, 2 for bad input.
    Load(LoadArgs),
    /// Run a scenario of the glass-box lab: two TCP/IP stacks on a simulated wire, in
    /// virtual time (no network is used). Prints the packets, the state changes and the
    /// findings; with --json, one JSON object per line, the findings last.
    ///
    /// Scenarios: handshake, old-duplicate-syn, acks, timeout-retransmit, fast-retransmit,
    /// checksum, flow-control, congestion, close, reorder, udp-loss.
    Lab(LabArgs),
    /// Run a scripted conversation (a TOML file of [[step]]s: send, expect, wait, repeat)
    /// against a TCP server, or a UDP peer with --udp. Prints each step as it ends: what was
    /// sent, what came back and how long it took, and for a failed expect what was expected
    /// and what came instead. Exit 0 when every expect held, 1 when one failed (or the
    /// connection did), 2 for a bad script (with its line and what is wrong).
    Run(RunArgs),
}

fn parse_name_encoding(s: &str) -> Result<crate::proto::download::NameEncoding, String> {
    use crate::proto::download::NameEncoding;
    match s.to_ascii_lowercase().as_str() {
        "auto" => Ok(NameEncoding::Auto),
        "utf-8" | "utf8" => Ok(NameEncoding::Utf8),
        "gbk" => Ok(NameEncoding::Gbk),
        _ => Err(format!("unknown name encoding '{s}' (auto, utf-8, gbk)")),
    }
}

fn parse_lab_scenario(s: &str) -> Result<crate::lab::scenario::Scenario, String> {
    use crate::lab::scenario::Scenario;
    Scenario::from_name(s.trim()).ok_or_else(|| {
        let names: Vec<&str> = Scenario::ALL.iter().map(|s| s.name()).collect();
        format!("unknown lab scenario '{s}' ({})", names.join(", "))
    })
}

fn parse_lesson_scenario(s: &str) -> Result<crate::net::scenario::LessonScenario, String> {
    use crate::net::scenario::LessonScenario;
    LessonScenario::from_name(s.trim()).ok_or_else(|| {
        let names: Vec<&str> = LessonScenario::ALL.iter().map(|s| s.name()).collect();
        format!("unknown lesson scenario '{s}' ({})", names.join(", "))
    })
}

fn parse_lang(s: &str) -> Result<Lang, String> {
    Lang::from_code(s).ok_or_else(|| format!("unknown language '{s}' (use en or zh)"))
}

fn parse_encoding(s: &str) -> Result<TextEncoding, String> {
    TextEncoding::from_label(s).ok_or_else(|| {
        let known: Vec<&str> = TextEncoding::ALL.iter().map(|e| e.label()).collect();
        format!("unknown encoding '{s}' (known: {})", known.join(", "))
    })
}

fn parse_checksum(s: &str) -> Result<crate::proto::checksum::Checksum, String> {
    use crate::proto::checksum::Checksum;
    Checksum::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = Checksum::ALL.iter().map(|c| c.name()).collect();
        format!("unknown checksum '{s}' ({})", names.join(", "))
    })
}

fn parse_framing(s: &str) -> Result<crate::proto::frame::Framing, String> {
    crate::proto::frame::Framing::parse(s)
}

fn parse_eol(s: &str) -> Result<LineEnding, String> {
    LineEnding::from_label(s)
        .ok_or_else(|| format!("unknown line ending '{s}' (none, lf, crlf, cr)"))
}

pub use crate::net::{parse_listen_addr, split_host_port};

/// Runs a headless command and returns the process exit code. It writes to `io` and stops
/// cleanly when `io.stop` is raised (if it runs until stopped).
pub fn run(command: Command, lang: Lang, matches: &clap::ArgMatches, io: &mut Io) -> ExitCode {
    match command {
        Command::TcpClient(args) => {
            let sub = matches.subcommand_matches("tcp-client");
            tcp_client(args, lang, sub, io)
        }
        Command::TcpServer(args) => tcp_server(args, lang, io),
        Command::ServeFiles(args) => serve_files(args, lang, io),
        Command::Lab(args) => lab(args, lang, io),
        Command::Download(args) => download(args, lang, io),
        Command::CheckServer(args) => check_server(args, lang, io),
        Command::CheckFiles(args) => check_files(args, lang, io),
        Command::Load(args) => load(args, lang, io),
        Command::Run(args) => run_script(args, lang, io),
        Command::Udp(args) => {
            let sub = matches.subcommand_matches("udp");
            udp(args, lang, sub, io)
        }
    }
}

/// Runs a command line as the binary would (`args` without the program's name), in this
/// process: for tests and embedding. A usage error is written to `io.err` with exit code 2;
/// `--help` to `io.out` with 0.
pub fn run_args<I, T>(args: I, io: &mut Io) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::{CommandFactory, FromArgMatches};
    let argv = std::iter::once(std::ffi::OsString::from("socket-workbench"))
        .chain(args.into_iter().map(Into::into));
    let parsed = Cli::command()
        .try_get_matches_from(argv)
        .and_then(|m| Cli::from_arg_matches(&m).map(|cli| (cli, m)));
    let (cli, matches) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            let text = e.render().to_string();
            if e.use_stderr() {
                errln!(io, "{}", text.trim_end());
                return ExitCode::from(EXIT_USAGE);
            }
            outln!(io, "{}", text.trim_end());
            return ExitCode::SUCCESS;
        }
    };
    match cli.command {
        Some(command) => run(command, cli.lang.unwrap_or_default(), &matches, io),
        None => {
            errln!(
                io,
                "socket-workbench: no command (the window is opened by main)"
            );
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// The payloads of `--send` and `--send-hex`, in the order they were given.
/// A payload as the command line names it: typed (text or hex), or a library payload's name.
enum Named {
    Typed(PayloadMode, String),
    Library(String),
}

fn ordered_payloads(
    send: &[String],
    send_hex: &[String],
    send_name: &[String],
    matches: Option<&clap::ArgMatches>,
) -> Vec<Named> {
    let mut items: Vec<(usize, Named)> = Vec::new();
    let indices = |id: &str| -> Vec<usize> {
        matches
            .and_then(|m| m.indices_of(id))
            .map(|i| i.collect())
            .unwrap_or_default()
    };
    let send_idx = indices("send");
    let hex_idx = indices("send_hex");
    let name_idx = indices("send_name");
    for (i, text) in send.iter().enumerate() {
        items.push((
            send_idx.get(i).copied().unwrap_or(i),
            Named::Typed(PayloadMode::Text, text.clone()),
        ));
    }
    for (i, text) in send_hex.iter().enumerate() {
        let at = hex_idx.get(i).copied().unwrap_or(usize::MAX / 2 + i);
        items.push((at, Named::Typed(PayloadMode::Hex, text.clone())));
    }
    for (i, name) in send_name.iter().enumerate() {
        let at = name_idx.get(i).copied().unwrap_or(usize::MAX - 1024 + i);
        items.push((at, Named::Library(name.clone())));
    }
    items.sort_by_key(|(at, _)| *at);
    items.into_iter().map(|(_, item)| item).collect()
}

/// The protocol bench's flags of the commands that send and receive (`tcp-client`, `udp`).
#[derive(Debug, Args, Default)]
pub struct ProtocolArgs {
    /// Append a checksum to every --send/--send-hex payload (library payloads carry their
    /// own): crc16-modbus (low byte first, as Modbus RTU sends it), crc16-ccitt-false,
    /// crc16-xmodem, crc16-arc, crc32, crc8, xor, sum8 or lrc. With --frame, every received
    /// message is checked for it too.
    #[arg(long, value_name = "ALGO", value_parser = parse_checksum)]
    pub checksum: Option<crate::proto::checksum::Checksum>,
    /// Print what is received as messages, one per line, cut by a rule: line, crlf,
    /// hex:BYTES (a delimiter), len:2be, len:2le, len:4be, len:4le or len:1 (a length prefix;
    /// add +self when it counts itself, @N when N header bytes come before it), fixed:N,
    /// gap:MS (a pause ends a message). TCP has no message boundaries: this puts them back.
    #[arg(long, value_name = "RULE", value_parser = parse_framing)]
    pub frame: Option<crate::proto::frame::Framing>,
}

impl ProtocolArgs {
    /// The checksum as it is appended and checked.
    fn check(&self) -> Option<crate::proto::checksum::ChecksumSpec> {
        self.checksum.map(crate::proto::checksum::ChecksumSpec::new)
    }
}

/// What `--payloads` and `--send-name` give: the library read from its file.
#[derive(Debug, Args, Default)]
pub struct LibraryArgs {
    /// A payload library file (TOML; see the README): named payloads for --send-name.
    #[arg(long, value_name = "FILE")]
    pub payloads: Option<PathBuf>,
    /// Send the library payload with this name (or GROUP/NAME), with its variables, line
    /// ending and checksum. Repeatable, in order with --send and --send-hex.
    #[arg(long = "send-name", value_name = "NAME", requires = "payloads")]
    pub send_name: Vec<String>,
}

impl LibraryArgs {
    /// The library, or the exit code after saying why it cannot be read (bad input).
    fn read(
        &self,
        lang: Lang,
        io: &mut Io,
    ) -> Result<Option<crate::proto::library::Library>, ExitCode> {
        let Some(path) = &self.payloads else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path).map_err(|e| {
            let err = NetError::file_read(path, &e);
            errln!(io, "socket-workbench: {}", describe_error(lang, &err));
            ExitCode::from(EXIT_USAGE)
        })?;
        crate::proto::library::Library::parse(&text)
            .map(Some)
            .map_err(|e| {
                let path = path.display().to_string();
                let error = e.to_string();
                errln!(
                    io,
                    "socket-workbench: {}",
                    lang.fmt(Msg::LibraryBad, &[("path", &path), ("error", &error)])
                );
                ExitCode::from(EXIT_USAGE)
            })
    }
}

/// Every `--send` (with the line ending) and `--send-hex` payload as bytes, in order; or,
/// after saying what is wrong and that nothing was sent, the usage exit code.
fn payloads_of(
    args: (&[String], &[String]),
    (library, protocol): (&LibraryArgs, &ProtocolArgs),
    matches: Option<&clap::ArgMatches>,
    encoding: TextEncoding,
    eol: LineEnding,
    lang: Lang,
    io: &mut Io,
) -> Result<Vec<Vec<u8>>, ExitCode> {
    let lib = library.read(lang, io)?;
    let mut uses: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    let mut random = crate::proto::vars::weak_random();
    let captures = std::collections::HashMap::new();
    let mut out = Vec::new();
    for item in ordered_payloads(args.0, args.1, &library.send_name, matches) {
        match item {
            Named::Typed(mode, text) => {
                let eol = match mode {
                    PayloadMode::Text => eol,
                    PayloadMode::Hex => LineEnding::None,
                };
                match build_payload(&text, mode, encoding, eol) {
                    Ok(bytes) => out.push(match protocol.check() {
                        Some(check) => check.append(&bytes),
                        None => bytes,
                    }),
                    Err(err) => {
                        errln!(
                            io,
                            "socket-workbench: {}",
                            describe_payload_error(lang, &err)
                        );
                        errln!(io, "socket-workbench: {}", lang.t(Msg::NothingSent));
                        return Err(ExitCode::from(EXIT_USAGE));
                    }
                }
            }
            Named::Library(name) => {
                let built = lib
                    .as_ref()
                    .ok_or_else(|| crate::proto::library::LibraryError {
                        line: None,
                        message: "--send-name needs --payloads FILE".into(),
                    })
                    .and_then(|lib| lib.find(&name))
                    .and_then(|p| {
                        // The nth send of a payload counts from its start by its step.
                        let n = uses.entry(name.clone()).or_insert(0);
                        let now = chrono::Local::now();
                        let mut ctx = crate::proto::vars::Context {
                            counter: p.counter().value(*n),
                            counter_spec: p.counter(),
                            now: now.naive_local(),
                            unix_ms: u64::try_from(now.timestamp_millis()).unwrap_or(0),
                            random: &mut random,
                            captures: &captures,
                        };
                        *n += 1;
                        p.build(encoding, &mut ctx)
                    });
                match built {
                    Ok(bytes) => out.push(bytes),
                    Err(e) => {
                        let error = e.to_string();
                        errln!(
                            io,
                            "socket-workbench: {}",
                            lang.fmt(Msg::LibrarySendName, &[("name", &name), ("error", &error)])
                        );
                        errln!(io, "socket-workbench: {}", lang.t(Msg::NothingSent));
                        return Err(ExitCode::from(EXIT_USAGE));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// How a server command ends: 0 when stopped, the failure in words and 1 when it failed.
fn server_ended(end: crate::net::tcp_server::ServerEnd, lang: Lang, io: &mut Io) -> ExitCode {
    match end {
        crate::net::tcp_server::ServerEnd::Stopped => ExitCode::SUCCESS,
        crate::net::tcp_server::ServerEnd::Failed(err) => {
            errln!(io, "socket-workbench: {}", describe_error(lang, &err));
            ExitCode::from(EXIT_NETWORK)
        }
    }
}

/// An engine that started, or the exit code after saying why it could not (a network
/// failure: out of threads or descriptors).
fn started<T>(spawned: std::io::Result<T>, lang: Lang, io: &mut Io) -> Result<T, ExitCode> {
    spawned.map_err(|e| {
        errln!(
            io,
            "socket-workbench: {}",
            describe_error(lang, &NetError::from_io(&e))
        );
        ExitCode::from(EXIT_NETWORK)
    })
}

/// The first address of a HOST:PORT target, or the message to print (a usage error).
fn check_target(target: &str, lang: Lang) -> Result<std::net::SocketAddr, String> {
    let wait = std::time::Duration::from_secs(5);
    match split_host_port(target)
        .and_then(|(host, port)| crate::net::resolve::lookup(&host, port, wait))
    {
        Ok(addrs) => addrs
            .first()
            .copied()
            .ok_or_else(|| lang.t(Msg::ErrKindNameNotResolved).to_owned()),
        Err(err) => Err(describe_error(lang, &err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_split_into_host_and_port() {
        let ok = [
            ("127.0.0.1:7890", "127.0.0.1", 7890),
            ("localhost:80", "localhost", 80),
            ("[::1]:7890", "::1", 7890),
            (" example.com:65535 ", "example.com", 65535),
        ];
        for (input, host, port) in ok {
            assert_eq!(
                split_host_port(input).unwrap(),
                (host.to_owned(), port),
                "{input}"
            );
        }
        let bad = [
            ("127.0.0.1", NetErrorKind::InvalidPort),
            ("127.0.0.1:0", NetErrorKind::InvalidPort),
            ("127.0.0.1:65536", NetErrorKind::InvalidPort),
            ("127.0.0.1:http", NetErrorKind::InvalidPort),
            (":80", NetErrorKind::EmptyHost),
            ("[::1]7890", NetErrorKind::InvalidPort),
        ];
        for (input, kind) in bad {
            assert_eq!(split_host_port(input).unwrap_err().kind, kind, "{input}");
        }
    }
}
