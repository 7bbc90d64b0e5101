//! `tcp-server`: listen and serve every client (exercise 1), from a terminal.

use super::*;

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

pub(super) fn tcp_server(args: TcpServerArgs, lang: Lang, io: &mut Io) -> ExitCode {
    use crate::net::tcp_server::{AutoReply, ServerConfig, ServerEvent, spawn_server};
    let bind = match parse_listen_addr(&args.listen) {
        Ok(addr) => addr,
        Err(err) => {
            errln!(io, "socket-workbench: {}", describe_error(lang, &err));
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let reply = match (&args.reply, args.echo) {
        (_, true) => AutoReply::Echo,
        (Some(text), false) => match args.encoding.encode(text) {
            Ok(bytes) => AutoReply::Fixed(bytes),
            Err(err) => {
                let err = PayloadError::Encode(err);
                errln!(
                    io,
                    "socket-workbench: {}",
                    describe_payload_error(lang, &err)
                );
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
    let handle = match started(spawn_server(config, tx, Waker::noop()), lang, io) {
        Ok(h) => h,
        Err(code) => return code,
    };
    let stopper = handle.stopper();
    io.stop.on_stop(move || stopper.stop());
    let mut peers = std::collections::HashMap::new();
    let code = loop {
        let Ok(msg) = rx.recv() else {
            break ExitCode::SUCCESS;
        };
        let line = match msg.event {
            ServerEvent::Call { call, .. } => {
                if args.trace {
                    print_trace(io, lang, &call);
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
                errln!(io, "socket-workbench: {}", describe_error(lang, &err));
                None
            }
            ServerEvent::Stopped { end } => break server_ended(end, lang, io),
            _ => None,
        };
        if let Some(line) = line {
            outln!(io, "{line}");
        }
    };
    // The engine may be waiting for room in the full channel: let its sends fail instead.
    drop(rx);
    handle.join();
    code
}
