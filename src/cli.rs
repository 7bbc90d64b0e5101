//! Headless commands: the same engines as the panels, driven from a terminal. This is how
//! scripts, teachers' shortcuts and the end-to-end tests use the program.

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
    #[arg(long, value_name = "PANEL", value_parser = parse_tab)]
    pub tab: Option<crate::model::Tab>,

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
}

#[derive(Debug, Args)]
pub struct CheckServerArgs {
    /// The server to check (HOST:PORT).
    pub target: String,
    /// Clients that connect at once.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub clients: u16,
    /// Messages each client sends.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub messages: u16,
    /// What an answer must be: echo, any, text:STR or regex:RE.
    #[arg(long, default_value = "echo", value_parser = crate::net::check::Expect::parse)]
    pub expect: crate::net::check::Expect,
    /// Text encoding of the messages (e.g. gbk or utf-8).
    #[arg(long, default_value = "utf-8", value_parser = parse_encoding)]
    pub encoding: TextEncoding,
    /// Seconds an answer (or a connection) may take.
    #[arg(long, default_value_t = 2.0, value_name = "SECS", value_parser = parse_secs)]
    pub timeout: f64,
    /// Messages as bytes, not text: every byte value from 00 to FF, evidence in hex (and
    /// `--expect text:` given as hex digits, e.g. text:4F4B0A).
    #[arg(long)]
    pub hex: bool,
    /// Further checks to leave out, comma-separated: connect-close, slow, big, half-close,
    /// reconnect.
    #[arg(long, value_name = "CHECKS", value_delimiter = ',', value_parser = parse_further_check)]
    pub skip: Vec<crate::net::check::CheckKind>,
    /// One JSON object per check, and a summary last.
    #[arg(long)]
    pub json: bool,
}

fn parse_further_check(s: &str) -> Result<crate::net::check::CheckKind, String> {
    use crate::net::check::CheckKind;
    CheckKind::from_name(s.trim())
        .filter(|k| CheckKind::FURTHER.contains(k))
        .ok_or_else(|| {
            let names: Vec<&str> = CheckKind::FURTHER.iter().map(|k| k.name()).collect();
            format!("'{s}' is not a further check (use {})", names.join(", "))
        })
}

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

fn parse_reply(s: &str) -> Result<crate::net::load::Reply, String> {
    match s {
        "echo" => Ok(crate::net::load::Reply::Echo),
        "any" => Ok(crate::net::load::Reply::Any),
        _ => Err(format!("'{s}' is not a reply kind (use echo or any)")),
    }
}

#[derive(Debug, Args)]
pub struct CheckFilesArgs {
    /// The file server to check (HOST:PORT).
    pub target: String,
    /// The local folder with the same files.
    #[arg(long, value_name = "DIR")]
    pub local: PathBuf,
    /// How file names are sent (gbk or utf-8).
    #[arg(long, default_value = "utf-8", value_parser = parse_encoding)]
    pub encoding: TextEncoding,
    /// Seconds the server may stay silent.
    #[arg(long, default_value_t = 5.0, value_name = "SECS", value_parser = parse_secs)]
    pub timeout: f64,
    /// One JSON object per check, and a summary last.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LabArgs {
    /// handshake, old-duplicate-syn, acks, timeout-retransmit, fast-retransmit, checksum,
    /// flow-control, congestion, close, reorder or udp-loss.
    pub scenario: String,
    /// The seed of the lab's random choices: the same seed and settings, the same run.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Chance of losing each packet on the wire, in percent (default: the scenario's own).
    #[arg(long, value_name = "PCT", value_parser = parse_percent)]
    pub loss: Option<f64>,
    /// One-way delay of the wire, in milliseconds (default: the scenario's own, mostly 20).
    #[arg(long, value_name = "MS", value_parser = parse_delay_ms)]
    pub delay: Option<f64>,
    /// The bottleneck's rate in kbit/s; 0 for none (default: the scenario's own).
    #[arg(long, value_name = "KBIT", value_parser = parse_rate_kbit)]
    pub rate: Option<u64>,
    /// Packets the bottleneck's queue holds (default: the scenario's own).
    #[arg(long, value_name = "PKTS", value_parser = parse_queue)]
    pub queue: Option<usize>,
    /// Congestion control of both hosts: reno or cubic (default reno).
    #[arg(long, value_name = "ALGO", value_parser = parse_congestion)]
    pub congestion: Option<crate::lab::Congestion>,
    /// One JSON object per line instead of text.
    #[arg(long)]
    pub json: bool,
    /// Also write the packets as pcapng, for Wireshark (each with a comment naming its fate).
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<PathBuf>,
}

fn parse_percent(s: &str) -> Result<f64, String> {
    match s.trim().trim_end_matches('%').parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=100.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "'{s}' is not a percentage (use a number from 0 to 100, e.g. 5)"
        )),
    }
}

fn parse_rate_kbit(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(v) if v <= 10_000_000 => Ok(v),
        _ => Err(format!(
            "'{s}' is not a rate in kbit/s (use a whole number from 0 to 10000000, e.g. 2000)"
        )),
    }
}

fn parse_queue(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(v) if (1..=100_000).contains(&v) => Ok(v),
        _ => Err(format!(
            "'{s}' is not a queue length (use a whole number of packets from 1 to 100000)"
        )),
    }
}

fn parse_congestion(s: &str) -> Result<crate::lab::Congestion, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "reno" => Ok(crate::lab::Congestion::Reno),
        "cubic" => Ok(crate::lab::Congestion::Cubic),
        _ => Err(format!(
            "'{s}' is not a congestion control (use reno or cubic)"
        )),
    }
}

#[derive(Debug, Args)]
pub struct ServeFilesArgs {
    /// The folder to share. Only regular files inside it are served; nothing in it is changed.
    pub dir: PathBuf,
    /// Address and port to listen on (default 0.0.0.0 with a port the system chooses).
    #[arg(long, value_name = "ADDR:PORT", default_value = "0.0.0.0:0")]
    pub listen: String,
    /// Seconds a client may take to send its request before it is dropped.
    #[arg(long, default_value_t = 10.0, value_name = "SECS", value_parser = parse_secs)]
    pub timeout: f64,
    /// Transfers at once (default 256); later requests wait their turn.
    #[arg(long, value_name = "N")]
    pub max_transfers: Option<usize>,
    /// Requests that may wait for a place; the next is refused as busy (a lesson client sees
    /// the connection closed).
    #[arg(long, default_value_t = 64, value_name = "N")]
    pub max_queued: usize,
    /// Seconds a transfer may go without sending a byte (the client reads nothing) before it
    /// is ended and its place freed.
    #[arg(long, default_value_t = 15.0, value_name = "SECS", value_parser = parse_secs)]
    pub stall_timeout: f64,
    /// How lesson clients' file names are decoded: auto (UTF-8, else GBK), utf-8 or gbk.
    #[arg(long, default_value = "auto", value_parser = parse_name_encoding)]
    pub name_encoding: crate::proto::download::NameEncoding,
}

#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// The file server: HOST:PORT.
    pub server: String,
    /// The file name to ask for.
    pub name: String,
    /// Where to save it (default: the name, in the current folder; never overwritten silently).
    #[arg(short = 'o', long = "output", value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Use the verified protocol: size and BLAKE3 digest are checked before the file is kept.
    #[arg(long)]
    pub verify: bool,
    /// With --verify: continue an interrupted download from its .part file.
    #[arg(long, requires = "verify")]
    pub resume: bool,
    /// Replace the destination if it already exists.
    #[arg(long)]
    pub overwrite: bool,
    /// Encoding of the file name in lesson mode (gbk for a Windows lesson server).
    #[arg(long, default_value = "utf-8", value_parser = parse_encoding)]
    pub encoding: TextEncoding,
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
    /// Print every socket call to stderr as it happens.
    #[arg(long)]
    pub trace: bool,
}

#[derive(Debug, Args)]
pub struct TcpServerArgs {
    /// Address and port to listen on: 0.0.0.0:7890, [::]:7890, 127.0.0.1:0, or just a port.
    pub listen: String,
    /// Send every chunk received back to its client unchanged.
    #[arg(long, conflicts_with = "reply")]
    pub echo: bool,
    /// Answer every chunk received with this text (encoded with --encoding).
    #[arg(long, value_name = "TEXT")]
    pub reply: Option<String>,
    /// Text encoding for --reply and for printing what is received.
    #[arg(long, default_value = "utf-8", value_parser = parse_encoding)]
    pub encoding: TextEncoding,
    /// listen() backlog: how many connections may wait to be accepted.
    #[arg(long, default_value_t = 128)]
    pub backlog: i32,
    /// Accept at most this many clients at once; later ones are closed at once.
    #[arg(long, value_name = "N")]
    pub max_clients: Option<usize>,
    /// Print every socket call to stderr as it happens.
    #[arg(long)]
    pub trace: bool,
}

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
    /// Print every socket call to stderr as it happens.
    #[arg(long)]
    pub trace: bool,
}

fn parse_tab(s: &str) -> Result<crate::model::Tab, String> {
    use crate::model::Tab;
    Tab::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = Tab::ALL.iter().map(|t| t.name()).collect();
        format!("unknown panel '{s}' ({})", names.join(", "))
    })
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

fn parse_eol(s: &str) -> Result<LineEnding, String> {
    LineEnding::from_label(s)
        .ok_or_else(|| format!("unknown line ending '{s}' (none, lf, crlf, cr)"))
}

pub use crate::net::{parse_listen_addr, split_host_port};

/// Runs a headless command and returns the process exit code.
pub fn run(command: Command, lang: Lang, matches: &clap::ArgMatches) -> ExitCode {
    match command {
        Command::TcpClient(args) => {
            let sub = matches.subcommand_matches("tcp-client");
            tcp_client(args, lang, sub)
        }
        Command::TcpServer(args) => tcp_server(args, lang),
        Command::ServeFiles(args) => serve_files(args, lang),
        Command::Lab(args) => lab(args, lang),
        Command::Download(args) => download(args, lang),
        Command::CheckServer(args) => check_server(args, lang),
        Command::CheckFiles(args) => check_files(args, lang),
        Command::Load(args) => load(args, lang),
        Command::Udp(args) => {
            let sub = matches.subcommand_matches("udp");
            udp(args, lang, sub)
        }
    }
}

fn serve_files(args: ServeFilesArgs, lang: Lang) -> ExitCode {
    use crate::net::file_server::{
        Asked, FileServerConfig, FileServerEvent, NotServed, spawn_file_server,
    };
    use crate::net::tcp_server::ServerEnd;
    let bind = match parse_listen_addr(&args.listen) {
        Ok(a) => a,
        Err(err) => {
            eprintln!("socket-workbench: {}", describe_error(lang, &err));
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let mut config = FileServerConfig::new(args.dir.clone(), bind);
    config.request_timeout = Duration::from_secs_f64(args.timeout.clamp(0.1, 3600.0));
    config.max_transfers = args.max_transfers;
    config.max_queued = args.max_queued;
    config.stall_timeout = Duration::from_secs_f64(args.stall_timeout.clamp(0.1, 86_400.0));
    config.name_encoding = args.name_encoding;
    let (tx, rx) = flume::bounded(CLI_EVENTS);
    let handle = match spawn_file_server(config, tx, Waker::noop()) {
        Ok(h) => h,
        Err(e) => {
            eprintln!(
                "socket-workbench: {}",
                describe_error(lang, &NetError::from_io(&e))
            );
            return ExitCode::from(EXIT_NETWORK);
        }
    };
    let stop = handle.stopper();
    if let Err(e) = ctrlc::set_handler(stop) {
        eprintln!("socket-workbench: cannot catch Ctrl+C: {e}");
    }
    let mut peers = std::collections::HashMap::new();
    let mut names = std::collections::HashMap::new();
    let mut out = std::io::stdout();
    let code = loop {
        let Ok(msg) = rx.recv() else {
            break ExitCode::SUCCESS;
        };
        let who = |id: &u64, peers: &std::collections::HashMap<u64, SocketAddr>| {
            format!(
                "#{id} {}",
                peers.get(id).map(ToString::to_string).unwrap_or_default()
            )
        };
        // The connection's last event: its address is forgotten after this line.
        let ended = match &msg.event {
            FileServerEvent::Served { id, .. }
            | FileServerEvent::Listed { id, .. }
            | FileServerEvent::NotServed { id, .. }
            | FileServerEvent::Failed { id, .. } => Some(*id),
            _ => None,
        };
        let line = match msg.event {
            FileServerEvent::Listening { local, root } => {
                Some(format!("listening on {local}\nserving {}", root.display()))
            }
            FileServerEvent::Connected { id, peer } => {
                peers.insert(id, peer);
                None
            }
            FileServerEvent::Requested { id, asked } => {
                let name = match asked {
                    Asked::Lesson(n) => n,
                    Asked::Verified { name, offset: 0 } => format!("{name} (verified)"),
                    Asked::Verified { name, offset } => {
                        format!("{name} (verified, from byte {offset})")
                    }
                    Asked::List => "(list)".to_owned(),
                };
                names.insert(id, name);
                None
            }
            FileServerEvent::Served { id, sent, took } => Some(format!(
                "{} {} served {sent} bytes in {:.3} s",
                who(&id, &peers),
                names.remove(&id).unwrap_or_default(),
                took.as_secs_f64()
            )),
            FileServerEvent::Listed { id, count } => {
                names.remove(&id);
                Some(format!("{} listed {count} names", who(&id, &peers)))
            }
            FileServerEvent::NotServed { id, why } => {
                let name = names.remove(&id).unwrap_or_default();
                let why = match why {
                    NotServed::Refused(r) => format!("refused: {r}"),
                    NotServed::NotFound => {
                        "not found (closed without sending anything, as the lesson server does)"
                            .to_owned()
                    }
                    NotServed::Silent => "sent no request in time; dropped".to_owned(),
                    NotServed::Stopped => "not served: the server stopped".to_owned(),
                    NotServed::Crowded => {
                        "dropped: too many clients were still to send a request".to_owned()
                    }
                };
                Some(format!("{} {name} {why}", who(&id, &peers)))
            }
            FileServerEvent::Failed { id, sent, error } => Some(format!(
                "{} {} failed after {sent} bytes: {}",
                who(&id, &peers),
                names.remove(&id).unwrap_or_default(),
                describe_error(lang, &error)
            )),
            FileServerEvent::Warning(err) => {
                eprintln!("socket-workbench: {}", describe_error(lang, &err));
                None
            }
            FileServerEvent::Stopped { end } => match end {
                ServerEnd::Stopped => break ExitCode::SUCCESS,
                ServerEnd::Failed(err) => {
                    eprintln!("socket-workbench: {}", describe_error(lang, &err));
                    break ExitCode::from(EXIT_NETWORK);
                }
            },
            _ => None,
        };
        if let Some(line) = line {
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
        if let Some(id) = ended {
            peers.remove(&id);
        }
    };
    // The engine may be waiting for room in the full channel: let its sends fail instead.
    drop(rx);
    handle.join();
    code
}

fn download(args: DownloadArgs, lang: Lang) -> ExitCode {
    use crate::net::download::{
        DownloadConfig, DownloadEvent, free_name, part_path, spawn_download,
    };
    let (host, port) = match split_host_port(&args.server) {
        Ok(hp) => hp,
        Err(err) => {
            eprintln!("socket-workbench: {}", describe_error(lang, &err));
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let dest = match &args.output {
        Some(path) => path.clone(),
        None => {
            // Only the last component, made safe: a remote name never leaves this folder.
            let base = crate::proto::download::local_file_name(&args.name);
            let base = std::path::Path::new(&base);
            if args.resume && part_path(base).is_file() {
                // Resuming: carry on with the part an earlier run left, not a fresh name.
                base.to_path_buf()
            } else {
                free_name(base)
            }
        }
    };
    let mut config = DownloadConfig::new(host, port, args.name.clone(), dest.clone());
    config.verified = args.verify;
    config.resume = args.resume;
    config.overwrite = args.overwrite;
    config.name_encoding = args.encoding;
    let (tx, rx) = flume::bounded(CLI_EVENTS);
    let handle = match spawn_download(config, tx, Waker::noop()) {
        Ok(h) => h,
        Err(e) => {
            eprintln!(
                "socket-workbench: {}",
                describe_error(lang, &NetError::from_io(&e))
            );
            return ExitCode::from(EXIT_NETWORK);
        }
    };
    let code = loop {
        let Ok(msg) = rx.recv() else {
            break ExitCode::from(EXIT_NETWORK);
        };
        match msg.event {
            DownloadEvent::Progress { have, total, rate } => {
                let pct = total
                    .filter(|t| *t > 0)
                    .map(|t| format!(" {:5.1}%", have as f64 * 100.0 / t as f64))
                    .unwrap_or_default();
                eprintln!(
                    "{}{pct} {}/s",
                    crate::proto::format::human_bytes(have),
                    crate::proto::format::human_bytes(rate as u64)
                );
            }
            DownloadEvent::Done {
                path,
                bytes,
                took,
                verified,
            } => {
                let check = if verified {
                    ", size and BLAKE3 verified"
                } else {
                    ""
                };
                eprintln!(
                    "saved {} ({bytes} bytes in {:.3} s{check})",
                    path.display(),
                    took.as_secs_f64()
                );
                break ExitCode::SUCCESS;
            }
            DownloadEvent::Failed { error, kept } => {
                eprintln!("socket-workbench: {}", describe_error(lang, &error));
                match kept {
                    // Complete, but the name was taken while it downloaded.
                    Some(part) if error.kind == NetErrorKind::DestinationExists => eprintln!(
                        "socket-workbench: {}",
                        lang.fmt(Msg::KeptAs, &[("path", &part.display())])
                    ),
                    Some(part) => eprintln!(
                        "socket-workbench: the partial file is {} (run again with --resume)",
                        part.display()
                    ),
                    None => {}
                }
                break match error.kind {
                    NetErrorKind::DestinationExists => ExitCode::from(EXIT_USAGE),
                    _ => ExitCode::from(EXIT_NETWORK),
                };
            }
            _ => {}
        }
    };
    // The engine may be waiting for room in the full channel: let its sends fail instead.
    drop(rx);
    handle.join();
    code
}

fn print_trace(lang: Lang, call: &crate::net::SocketCall) {
    let conn = call.conn.map(|c| format!("#{c} ")).unwrap_or_default();
    eprintln!(
        "[trace] {} {conn}{} → {}",
        crate::i18n::format_time(call.at),
        call.call_text(),
        describe_outcome(lang, &call.kind, &call.outcome)
    );
}

fn udp(args: UdpArgs, lang: Lang, matches: Option<&clap::ArgMatches>) -> ExitCode {
    use crate::net::udp::{UdpCommand, UdpConfig, UdpEvent, spawn_udp};
    let bind = match parse_listen_addr(&args.bind) {
        Ok(addr) => addr,
        Err(err) => {
            eprintln!("socket-workbench: {}", describe_error(lang, &err));
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let mut payloads = Vec::new();
    for (mode, text) in ordered_payloads(&args.send, &args.send_hex, matches) {
        let eol = match mode {
            PayloadMode::Text => args.eol,
            PayloadMode::Hex => LineEnding::None,
        };
        match build_payload(&text, mode, args.encoding, eol) {
            Ok(bytes) => payloads.push(bytes),
            Err(err) => {
                eprintln!("socket-workbench: {}", describe_payload_error(lang, &err));
                eprintln!("socket-workbench: {}", lang.t(Msg::NothingSent));
                return ExitCode::from(EXIT_USAGE);
            }
        }
    }
    if !payloads.is_empty() && args.to.is_none() {
        eprintln!("socket-workbench: {}", lang.t(Msg::ErrSendNeedsTo));
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
    let handle = match spawn_udp(config, tx, Waker::noop()) {
        Ok(h) => h,
        Err(e) => {
            eprintln!(
                "socket-workbench: {}",
                describe_error(lang, &NetError::from_io(&e))
            );
            return ExitCode::from(EXIT_NETWORK);
        }
    };
    let (stop_tx, stop_rx) = flume::bounded::<()>(1);
    if args.wait.is_none()
        && payloads.is_empty()
        && let Err(e) = ctrlc::set_handler(move || {
            let _ = stop_tx.try_send(());
        })
    {
        eprintln!("socket-workbench: cannot catch Ctrl+C: {e}");
    }
    let wait = Duration::from_secs_f64(args.wait.unwrap_or(2.0).clamp(0.0, 86_400.0));
    let run_forever = args.wait.is_none() && payloads.is_empty();
    let mut deadline: Option<Instant> = None;
    let mut failed = false;
    let mut out = std::io::stdout();
    let code = loop {
        if stop_rx.try_recv().is_ok() {
            handle.command(UdpCommand::Close);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            deadline = None;
            handle.command(UdpCommand::Close);
        }
        let Ok(msg) = rx.recv_timeout(Duration::from_millis(100)) else {
            continue;
        };
        match msg.event {
            UdpEvent::Call(call) if args.trace => print_trace(lang, &call),
            UdpEvent::Bound { local, .. } => {
                let _ = writeln!(out, "bound to {local}");
                let _ = out.flush();
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
                let _ = writeln!(
                    out,
                    "from {from} {} bytes: {}",
                    data.len(),
                    one_line(args.encoding, &data)
                );
                let _ = out.flush();
            }
            UdpEvent::Warning(err) => {
                failed = true;
                eprintln!("socket-workbench: {}", describe_error(lang, &err));
            }
            UdpEvent::Drops(n) => {
                eprintln!(
                    "socket-workbench: {}",
                    lang.fmt(Msg::NoteDrops, &[("n", &n)])
                );
            }
            UdpEvent::Closed { reason } => match reason {
                CloseReason::Failed(err) => {
                    eprintln!("socket-workbench: {}", describe_error(lang, &err));
                    break ExitCode::from(EXIT_NETWORK);
                }
                _ if failed => break ExitCode::from(EXIT_NETWORK),
                _ => break ExitCode::SUCCESS,
            },
            _ => {}
        }
    };
    // The engine may be waiting for room in the full channel: let its sends fail instead.
    drop(rx);
    handle.join();
    code
}

/// Decoded text on one line: control characters and undecodable bytes escaped.
fn one_line(encoding: TextEncoding, data: &[u8]) -> String {
    let mut out = String::new();
    for segment in encoding.decode_segments(data) {
        match segment {
            Segment::Text(text) => {
                for c in text.chars() {
                    match c {
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        '\t' => out.push_str("\\t"),
                        '\\' => out.push_str("\\\\"),
                        c if c.is_control() => out.push_str(&format!("\\x{:02X}", c as u32)),
                        c => out.push(c),
                    }
                }
            }
            Segment::Invalid(bytes) => {
                for b in bytes {
                    out.push_str(&format!("\\x{b:02X}"));
                }
            }
        }
    }
    out
}

fn tcp_server(args: TcpServerArgs, lang: Lang) -> ExitCode {
    use crate::net::tcp_server::{AutoReply, ServerConfig, ServerEnd, ServerEvent, spawn_server};
    let bind = match parse_listen_addr(&args.listen) {
        Ok(addr) => addr,
        Err(err) => {
            eprintln!("socket-workbench: {}", describe_error(lang, &err));
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let reply = match (&args.reply, args.echo) {
        (_, true) => AutoReply::Echo,
        (Some(text), false) => match args.encoding.encode(text) {
            Ok(bytes) => AutoReply::Fixed(bytes),
            Err(err) => {
                let err = PayloadError::Encode(err);
                eprintln!("socket-workbench: {}", describe_payload_error(lang, &err));
                return ExitCode::from(EXIT_USAGE);
            }
        },
        (None, false) => AutoReply::Off,
    };
    let mut config = ServerConfig::new(bind);
    config.backlog = args.backlog;
    config.max_clients = args.max_clients;
    config.reply = reply;
    let unread = config.unread.clone();
    config.unread_limit = Some(CLI_UNREAD_LIMIT);
    let (tx, rx) = flume::bounded(CLI_EVENTS);
    let handle = match spawn_server(config, tx, Waker::noop()) {
        Ok(h) => h,
        Err(e) => {
            eprintln!(
                "socket-workbench: {}",
                describe_error(lang, &NetError::from_io(&e))
            );
            return ExitCode::from(EXIT_NETWORK);
        }
    };
    let stopper = handle.stopper();
    if let Err(e) = ctrlc::set_handler(move || stopper.stop()) {
        eprintln!("socket-workbench: cannot catch Ctrl+C: {e}");
    }
    let mut peers = std::collections::HashMap::new();
    let mut out = std::io::stdout();
    let code = loop {
        let Ok(msg) = rx.recv() else {
            break ExitCode::SUCCESS;
        };
        let line = match msg.event {
            ServerEvent::Call { call, .. } => {
                if args.trace {
                    print_trace(lang, &call);
                }
                None
            }
            ServerEvent::Listening { local } => Some(format!("listening on {local}")),
            ServerEvent::Accepted { client, peer } => {
                peers.insert(client, peer);
                Some(format!("client #{client} {peer} connected"))
            }
            ServerEvent::Refused { peer, limit } => Some(format!(
                "client {peer} refused: {}",
                lang.fmt(Msg::NoteRefused, &[("peer", &peer), ("limit", &limit)])
            )),
            ServerEvent::Received { client, data } => {
                unread.taken(data.len());
                let peer = peers
                    .get(&client)
                    .map(ToString::to_string)
                    .unwrap_or_default();
                Some(format!(
                    "#{client} {peer} received {} bytes: {}",
                    data.len(),
                    one_line(args.encoding, &data)
                ))
            }
            ServerEvent::ClientClosed { client, end } => {
                let peer = peers
                    .remove(&client)
                    .map(|p| p.to_string())
                    .unwrap_or_default();
                Some(format!(
                    "client #{client} {peer} disconnected: {}",
                    crate::i18n::describe_client_end(lang, &end)
                ))
            }
            ServerEvent::Warning(err) => {
                eprintln!("socket-workbench: {}", describe_error(lang, &err));
                None
            }
            ServerEvent::Stopped { end } => match end {
                ServerEnd::Stopped => break ExitCode::SUCCESS,
                ServerEnd::Failed(err) => {
                    eprintln!("socket-workbench: {}", describe_error(lang, &err));
                    break ExitCode::from(EXIT_NETWORK);
                }
            },
            _ => None,
        };
        if let Some(line) = line {
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
    };
    // The engine may be waiting for room in the full channel: let its sends fail instead.
    drop(rx);
    handle.join();
    code
}

/// The payloads of `--send` and `--send-hex`, in the order they were given.
fn ordered_payloads(
    send: &[String],
    send_hex: &[String],
    matches: Option<&clap::ArgMatches>,
) -> Vec<(PayloadMode, String)> {
    let mut items: Vec<(usize, PayloadMode, String)> = Vec::new();
    let indices = |id: &str| -> Vec<usize> {
        matches
            .and_then(|m| m.indices_of(id))
            .map(|i| i.collect())
            .unwrap_or_default()
    };
    let send_idx = indices("send");
    let hex_idx = indices("send_hex");
    for (i, text) in send.iter().enumerate() {
        items.push((
            send_idx.get(i).copied().unwrap_or(i),
            PayloadMode::Text,
            text.clone(),
        ));
    }
    for (i, text) in send_hex.iter().enumerate() {
        let at = hex_idx.get(i).copied().unwrap_or(usize::MAX / 2 + i);
        items.push((at, PayloadMode::Hex, text.clone()));
    }
    items.sort_by_key(|(at, _, _)| *at);
    items
        .into_iter()
        .map(|(_, mode, text)| (mode, text))
        .collect()
}

fn tcp_client(args: TcpClientArgs, lang: Lang, matches: Option<&clap::ArgMatches>) -> ExitCode {
    let (host, port) = match split_host_port(&args.target) {
        Ok(hp) => hp,
        Err(err) => {
            eprintln!("socket-workbench: {}", describe_error(lang, &err));
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let mut payloads = Vec::new();
    for (mode, text) in ordered_payloads(&args.send, &args.send_hex, matches) {
        let eol = match mode {
            PayloadMode::Text => args.eol,
            PayloadMode::Hex => LineEnding::None,
        };
        match build_payload(&text, mode, args.encoding, eol) {
            Ok(bytes) => payloads.push(bytes),
            Err(err) => {
                eprintln!("socket-workbench: {}", describe_payload_error(lang, &err));
                eprintln!("socket-workbench: {}", lang.t(Msg::NothingSent));
                return ExitCode::from(EXIT_USAGE);
            }
        }
    }

    let mut config = ClientConfig::new(host, port);
    config.connect_timeout = Duration::from_secs_f64(args.timeout.clamp(0.01, 3600.0));
    let unread = config.unread.clone();
    config.unread_limit = Some(CLI_UNREAD_LIMIT);
    let (tx, rx) = flume::bounded(CLI_EVENTS);
    let handle = match spawn_client(config, tx, Waker::noop()) {
        Ok(h) => h,
        Err(e) => {
            eprintln!(
                "socket-workbench: {}",
                describe_error(lang, &NetError::from_io(&e))
            );
            return ExitCode::from(EXIT_NETWORK);
        }
    };
    let wait = Duration::from_secs_f64(args.wait.clamp(0.0, 86_400.0));
    let mut printer = Printer::new(args.encoding, args.hex);
    let mut last_activity = Instant::now();
    let mut connected = false;
    let code = loop {
        // Before the connection is up the connect timeout governs; after, the silence timer.
        let timeout = if connected {
            wait.saturating_sub(last_activity.elapsed())
        } else {
            Duration::from_secs(3600)
        };
        match rx.recv_timeout(timeout) {
            Ok(msg) => match msg.event {
                ClientEvent::Call(call) if args.trace => {
                    eprintln!(
                        "[trace] {} {} → {}",
                        crate::i18n::format_time(call.at),
                        call.call_text(),
                        describe_outcome(lang, &call.kind, &call.outcome)
                    );
                }
                ClientEvent::Connected { .. } => {
                    connected = true;
                    last_activity = Instant::now();
                    for bytes in payloads.drain(..) {
                        handle.command(ClientCommand::Send(bytes));
                    }
                }
                ClientEvent::Sent { .. } => last_activity = Instant::now(),
                ClientEvent::Received { data } => {
                    last_activity = Instant::now();
                    printer.print(&data);
                    unread.taken(data.len());
                }
                ClientEvent::Warning(err) => {
                    eprintln!("socket-workbench: {}", describe_error(lang, &err));
                }
                ClientEvent::Closed { reason } => {
                    printer.finish();
                    if args.trace {
                        // What the kernel does after close (FIN_WAIT2, TIME_WAIT) comes just
                        // after; show the first of it.
                        let until = Instant::now() + Duration::from_millis(300);
                        while let Ok(msg) =
                            rx.recv_timeout(until.saturating_duration_since(Instant::now()))
                        {
                            if let ClientEvent::Call(call) = msg.event {
                                eprintln!(
                                    "[trace] {} {} → {}",
                                    crate::i18n::format_time(call.at),
                                    call.call_text(),
                                    describe_outcome(lang, &call.kind, &call.outcome)
                                );
                            }
                        }
                    }
                    break match reason {
                        CloseReason::Local | CloseReason::Peer => ExitCode::SUCCESS,
                        CloseReason::Failed(err) => {
                            eprintln!("socket-workbench: {}", describe_error(lang, &err));
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
                printer.finish();
                break ExitCode::SUCCESS;
            }
        }
    };
    // The engine may be waiting for room in the full channel: let its sends fail instead.
    drop(rx);
    handle.join();
    code
}

/// Prints received bytes as text (decoded across chunk boundaries) or as a hex dump.
struct Printer {
    decoder: StreamDecoder,
    hex: bool,
    offset: usize,
}

impl Printer {
    fn new(encoding: TextEncoding, hex: bool) -> Self {
        Self {
            decoder: StreamDecoder::new(encoding),
            hex,
            offset: 0,
        }
    }

    fn print(&mut self, data: &[u8]) {
        let mut out = std::io::stdout().lock();
        if self.hex {
            for line in crate::proto::hex_dump_lines(data, self.offset) {
                let _ = writeln!(out, "{:08X}  {}  {}", line.offset, line.hex, line.ascii);
            }
            self.offset += data.len();
        } else {
            let segments = self.decoder.push(data);
            write_segments(&mut out, &segments);
        }
        let _ = out.flush();
    }

    fn finish(&mut self) {
        if !self.hex {
            let segments = self.decoder.finish();
            let mut out = std::io::stdout().lock();
            write_segments(&mut out, &segments);
            let _ = out.flush();
        }
    }
}

fn write_segments(out: &mut impl Write, segments: &[Segment]) {
    for segment in segments {
        let _ = match segment {
            Segment::Text(text) => out.write_all(text.as_bytes()),
            Segment::Invalid(bytes) => bytes.iter().try_for_each(|b| write!(out, "\\x{b:02X}")),
        };
    }
}

/// The checkers' output: a line per check as it ends (text, or one JSON object), then the
/// summary; exit 0 when every check passed, 1 otherwise.
struct CheckReport {
    lang: Lang,
    json: bool,
    out: std::io::StdoutLock<'static>,
}

impl CheckReport {
    fn new(lang: Lang, json: bool) -> Self {
        Self {
            lang,
            json,
            out: std::io::stdout().lock(),
        }
    }

    fn line(
        &mut self,
        name: &str,
        title: &str,
        passed: bool,
        verdict: &str,
        took: std::time::Duration,
    ) {
        use crate::lab::report::json_string;
        let line = if self.json {
            format!(
                "{{\"check\":\"{name}\",\"title\":{},\"passed\":{passed},\"verdict\":{},\"took_ms\":{}}}",
                json_string(title),
                json_string(verdict),
                took.as_millis()
            )
        } else {
            let mark = self.lang.t(if passed {
                Msg::CheckPassed
            } else {
                Msg::CheckFailed
            });
            format!("[{mark}] {title}{}{verdict}", crate::i18n::colon(self.lang))
        };
        let _ = writeln!(self.out, "{line}");
        let _ = self.out.flush();
    }

    fn finish(mut self, passed: usize, total: usize) -> ExitCode {
        let _ = if self.json {
            writeln!(self.out, "{{\"passed\":{passed},\"checks\":{total}}}")
        } else {
            let summary = self
                .lang
                .fmt(Msg::CheckSummary, &[("passed", &passed), ("total", &total)]);
            writeln!(self.out, "{summary}")
        };
        if passed == total {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(EXIT_NETWORK)
        }
    }
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

fn check_files(args: CheckFilesArgs, lang: Lang) -> ExitCode {
    use crate::i18n::{describe_files_check, describe_files_verdict};
    use crate::net::check_files::{FilesCheck, FilesConfig, run_all};
    let addr = match check_target(&args.target, lang) {
        Ok(a) => a,
        Err(text) => {
            eprintln!("socket-workbench: {text}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if !args.local.is_dir() {
        let err = std::io::Error::new(std::io::ErrorKind::NotFound, "not a folder");
        eprintln!(
            "socket-workbench: --local: {}",
            describe_error(lang, &NetError::file_read(&args.local, &err))
        );
        return ExitCode::from(EXIT_USAGE);
    }
    let config = FilesConfig {
        addr,
        local: args.local.clone(),
        encoding: args.encoding,
        timeout: std::time::Duration::from_secs_f64(args.timeout.max(0.05)),
    };
    let mut report = CheckReport::new(lang, args.json);
    let results = run_all(&config, |r| {
        report.line(
            r.check.name(),
            describe_files_check(lang, r.check),
            r.verdict.passed(),
            &describe_files_verdict(lang, r.check, &r.verdict),
            r.took,
        );
    });
    let passed = results.iter().filter(|r| r.verdict.passed()).count();
    report.finish(passed, FilesCheck::ALL.len())
}

fn check_server(args: CheckServerArgs, lang: Lang) -> ExitCode {
    use crate::i18n::{describe_check, describe_verdict};
    use crate::net::check::{CheckConfig, run_all};
    let timeout = std::time::Duration::from_secs_f64(args.timeout.max(0.05));
    let addr = match check_target(&args.target, lang) {
        Ok(a) => a,
        Err(text) => {
            eprintln!("socket-workbench: {text}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let expect = if args.hex {
        match args.expect.in_hex() {
            Ok(e) => e,
            Err(text) => {
                eprintln!("socket-workbench: --expect: {text}");
                return ExitCode::from(EXIT_USAGE);
            }
        }
    } else {
        args.expect
    };
    let config = CheckConfig {
        addr,
        clients: usize::from(args.clients),
        messages: usize::from(args.messages),
        expect,
        encoding: args.encoding,
        hex: args.hex,
        timeout,
        skip: args.skip,
    };
    let mut report = CheckReport::new(lang, args.json);
    let results = run_all(&config, |r| {
        report.line(
            r.kind.name(),
            &describe_check(lang, r.kind, &config),
            r.verdict.passed(),
            &describe_verdict(lang, &r.verdict),
            r.took,
        );
    });
    let passed = results.iter().filter(|r| r.verdict.passed()).count();
    report.finish(passed, config.checks().len())
}

fn load(args: LoadArgs, lang: Lang) -> ExitCode {
    use crate::i18n::{describe_file_limit, describe_load_report, describe_load_sample};
    use crate::net::load::{LoadConfig, LoadEvent, run};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let addr = match check_target(&args.target, lang) {
        Ok(a) => a,
        Err(text) => {
            eprintln!("socket-workbench: {text}");
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
        eprintln!("socket-workbench: {problem}");
        return ExitCode::from(EXIT_USAGE);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let stopper = stop.clone();
    if let Err(e) = ctrlc::set_handler(move || stopper.store(true, Ordering::Relaxed)) {
        eprintln!("socket-workbench: cannot catch Ctrl+C: {e}");
    }
    let mut out = std::io::stdout().lock();
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
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
    });
    if json {
        let _ = writeln!(out, "{}", load_report_json(&report));
    } else {
        for line in describe_load_report(lang, &report) {
            let _ = writeln!(out, "{line}");
        }
    }
    let _ = out.flush();
    if report.clients_connected == 0 {
        ExitCode::from(EXIT_NETWORK)
    } else {
        ExitCode::SUCCESS
    }
}

fn load_sample_json(s: &crate::net::load::Sample) -> String {
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

fn lab(args: LabArgs, lang: Lang) -> ExitCode {
    use crate::lab::report::{Rel, event_json};
    use crate::lab::scenario::{Options, Scenario, run_with};
    use crate::model::lab::{finding_text, text_line};
    let Some(scenario) = Scenario::from_name(&args.scenario) else {
        let names: Vec<&str> = Scenario::ALL.iter().map(|s| s.name()).collect();
        eprintln!(
            "socket-workbench: {}",
            lang.fmt(
                Msg::LabUnknownScenario,
                &[("name", &args.scenario), ("names", &names.join(", "))]
            )
        );
        return ExitCode::from(EXIT_USAGE);
    };
    let options = Options {
        seed: args.seed,
        delay_us: args.delay.map(|d| (d * 1000.0) as u64),
        loss_pct: args.loss,
        rate_bps: args.rate.map(|r| r * 1000),
        queue_pkts: args.queue,
        congestion: args.congestion,
    };
    let outcome = run_with(scenario, &options);
    let lab = &outcome.lab;
    if let Some(path) = &args.pcap
        && let Err(e) = std::fs::write(path, crate::lab::pcap::to_pcapng(lab.packets()))
    {
        eprintln!(
            "socket-workbench: {}",
            describe_error(lang, &NetError::file_write(path, &e))
        );
        return ExitCode::from(EXIT_NETWORK);
    }
    let rel = Rel::of(lab);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for event in &lab.record {
        let line = if args.json {
            Some(event_json(event, &rel))
        } else {
            text_line(lang, event, &rel)
        };
        if let Some(line) = line
            && writeln!(out, "{line}").is_err()
        {
            // The reader went away (a pipe into head): nothing more to say.
            return ExitCode::SUCCESS;
        }
    }
    let texts: Vec<String> = outcome
        .findings
        .iter()
        .map(|f| finding_text(lang, f))
        .collect();
    if args.json {
        let quoted: Vec<String> = texts
            .iter()
            .map(|t| crate::lab::report::json_string(t))
            .collect();
        let _ = writeln!(out, "{{\"findings\":[{}]}}", quoted.join(","));
    } else {
        let _ = writeln!(out);
        for t in &texts {
            let _ = writeln!(out, "* {t}");
        }
    }
    let _ = out.flush();
    ExitCode::SUCCESS
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
