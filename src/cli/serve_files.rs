//! `serve-files`: the lesson's file server (exercise 2), from a terminal.

use super::*;

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

pub(super) fn serve_files(args: ServeFilesArgs, lang: Lang, io: &mut Io) -> ExitCode {
    use crate::net::file_server::{
        Asked, FileServerConfig, FileServerEvent, NotServed, spawn_file_server,
    };

    let bind = match parse_listen_addr(&args.listen) {
        Ok(a) => a,
        Err(err) => {
            errln!(io, "socket-workbench: {}", describe_error(lang, &err));
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
    let handle = match started(spawn_file_server(config, tx, Waker::noop()), lang, io) {
        Ok(h) => h,
        Err(code) => return code,
    };
    let stop = handle.stopper();
    io.stop.on_stop(move || stop.stop());
    let mut peers = std::collections::HashMap::new();
    let mut names = std::collections::HashMap::new();
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
                errln!(io, "socket-workbench: {}", describe_error(lang, &err));
                None
            }
            FileServerEvent::Stopped { end } => break server_ended(end, lang, io),
            _ => None,
        };
        if let Some(line) = line {
            outln!(io, "{line}");
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
