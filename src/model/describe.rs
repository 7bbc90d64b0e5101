//! The model's states and notes in the user's language: the connection status line and the
//! log's notes. (Here rather than in `i18n`, which knows nothing of the model: the layers
//! point one way.)

use crate::i18n::{Lang, Msg, describe_client_end, describe_error};
use crate::model::{ClientStatus, LogNote};
use crate::net::tcp_client::CloseReason;
use crate::net::tcp_server::ServerEnd;

pub fn describe_status(lang: Lang, status: &ClientStatus) -> String {
    match status {
        ClientStatus::Disconnected => lang.t(Msg::StatusDisconnected).to_owned(),
        ClientStatus::Connecting { target, addr: None } => {
            lang.fmt(Msg::StatusConnecting, &[("target", target)])
        }
        ClientStatus::Connecting {
            target,
            addr: Some(addr),
        } => lang.fmt(
            Msg::StatusConnectingAddr,
            &[("target", target), ("addr", addr)],
        ),
        ClientStatus::Connected {
            local,
            peer,
            write_shut,
            peer_closed,
        } => {
            let mut s = lang.fmt(Msg::StatusConnected, &[("peer", peer), ("local", local)]);
            let sep = match lang {
                Lang::En => "; ",
                Lang::Zh => "；",
            };
            if *write_shut {
                s.push_str(sep);
                s.push_str(lang.t(Msg::StatusWriteShut));
            }
            if *peer_closed {
                s.push_str(sep);
                s.push_str(lang.t(Msg::StatusPeerShut));
            }
            s
        }
        ClientStatus::Closing => lang.t(Msg::StatusClosing).to_owned(),
        ClientStatus::Closed(CloseReason::Local) => lang.t(Msg::StatusClosedLocal).to_owned(),
        ClientStatus::Closed(CloseReason::Peer) => lang.t(Msg::StatusClosedPeer).to_owned(),
        ClientStatus::Closed(CloseReason::Failed(err)) => {
            lang.fmt(Msg::StatusError, &[("error", &describe_error(lang, err))])
        }
    }
}

pub fn describe_note(lang: Lang, note: &LogNote) -> String {
    match note {
        LogNote::Connecting { addr } => lang.fmt(Msg::NoteConnecting, &[("addr", addr)]),
        LogNote::Connected { local, peer } => {
            lang.fmt(Msg::NoteConnected, &[("peer", peer), ("local", local)])
        }
        LogNote::PeerClosed => lang.t(Msg::NotePeerClosed).to_owned(),
        LogNote::WriteShut => lang.t(Msg::NoteWriteShut).to_owned(),
        LogNote::Closed(CloseReason::Local) => lang.t(Msg::NoteClosedLocal).to_owned(),
        LogNote::Closed(CloseReason::Peer) => lang.t(Msg::NoteClosedPeer).to_owned(),
        LogNote::Closed(CloseReason::Failed(err)) => lang.fmt(
            Msg::NoteClosedFailed,
            &[("error", &describe_error(lang, err))],
        ),
        LogNote::Warning(err) => describe_error(lang, err),
        LogNote::Repeat { n, of: Some(of) } => lang.fmt(Msg::NoteRepeat, &[("n", n), ("of", of)]),
        LogNote::Repeat { n, of: None } => lang.fmt(Msg::NoteRepeatForever, &[("n", n)]),
        LogNote::File { path, complete } => {
            let msg = if *complete {
                Msg::NoteFileComplete
            } else {
                Msg::NoteFilePartial
            };
            lang.fmt(msg, &[("path", &path.display())])
        }
        LogNote::CaptureStarted(path) => {
            lang.fmt(Msg::NoteCaptureStarted, &[("path", &path.display())])
        }
        LogNote::CaptureStopped { written } => lang.fmt(
            Msg::NoteCaptureStopped,
            &[("bytes", &crate::proto::format::human_bytes(*written))],
        ),
        LogNote::Listening { local } => lang.fmt(Msg::NoteListening, &[("local", local)]),
        LogNote::Accepted => lang.t(Msg::NoteAccepted).to_owned(),
        LogNote::Refused { peer, limit } => {
            lang.fmt(Msg::NoteRefused, &[("peer", peer), ("limit", limit)])
        }
        LogNote::ClientEnd(end) => describe_client_end(lang, end),
        LogNote::SendDropped => lang.t(Msg::NoteSendDropped).to_owned(),
        LogNote::ServerEnd(ServerEnd::Stopped) => lang.t(Msg::NoteServerStopped).to_owned(),
        LogNote::ServerEnd(ServerEnd::Failed(err)) => lang.fmt(
            Msg::NoteServerFailed,
            &[("error", &describe_error(lang, err))],
        ),
        LogNote::AutoReply => lang.t(Msg::NoteAutoReply).to_owned(),
        LogNote::Rx(rx) => describe_rx(lang, rx),
        LogNote::UdpBound { local, auto: false } => {
            lang.fmt(Msg::NoteUdpBound, &[("local", local)])
        }
        LogNote::UdpBound { local, auto: true } => {
            lang.fmt(Msg::NoteUdpAutoBound, &[("local", local)])
        }
        LogNote::Broadcast(true) => lang.t(Msg::NoteBroadcastOn).to_owned(),
        LogNote::Broadcast(false) => lang.t(Msg::NoteBroadcastOff).to_owned(),
        LogNote::Joined { group, iface } => {
            lang.fmt(Msg::NoteJoined, &[("group", group), ("iface", iface)])
        }
        LogNote::Left { group, iface } => {
            lang.fmt(Msg::NoteLeft, &[("group", group), ("iface", iface)])
        }
        LogNote::Drops(n) => lang.fmt(Msg::NoteDrops, &[("n", n)]),
        LogNote::Echo => lang.t(Msg::NoteEcho).to_owned(),
    }
}

/// The kernel's view of the connection in one line: live (TCP_INFO) or after close.
pub fn kernel_line(lang: Lang, model: &crate::model::ClientModel) -> Option<String> {
    if let Some(state) = model.after_close
        && !model.status.active()
    {
        return Some(lang.fmt(Msg::KernelAfterClose, &[("state", &state.name())]));
    }
    if !model.status.active() {
        return None;
    }
    match model.kernel {
        Some(k) => Some(describe_kernel(lang, &k)),
        // Say so where the kernel does not tell, rather than show nothing or guess.
        // The engine said so; the UI thread asks no system call of its own.
        None if model.kernel_unavailable
            && matches!(model.status, crate::model::ClientStatus::Connected { .. }) =>
        {
            Some(lang.t(Msg::KernelUnavailable).to_owned())
        }
        None => None,
    }
}

/// State, RTT, window and counters of a live connection.
pub fn describe_kernel(lang: Lang, k: &crate::net::kernel::TcpInfo) -> String {
    lang.fmt(
        Msg::KernelLine,
        &[
            ("state", &k.state.name()),
            ("rtt", &format!("{:.2}", f64::from(k.rtt_us) / 1000.0)),
            ("cwnd", &k.snd_cwnd),
            ("unacked", &k.unacked),
            ("retrans", &k.total_retrans),
            (
                "acked",
                &k.bytes_acked
                    .map_or_else(|| "—".to_owned(), |b| b.to_string()),
            ),
        ],
    )
}

/// A received message's marks: its framing, its reply time, its checksum ("message split
/// over 2 recv() · reply after 12.3 ms · CRC-16/MODBUS ok").
pub fn describe_rx(lang: Lang, rx: &crate::model::log::RxNote) -> String {
    let mut parts = Vec::new();
    match rx.frame {
        Some((_, false)) => parts.push(lang.t(Msg::NoteFrameIncomplete).to_owned()),
        Some((recvs, true)) if recvs > 1 => {
            parts.push(lang.fmt(Msg::NoteFrameSplit, &[("n", &recvs)]))
        }
        Some(_) => parts.push(lang.t(Msg::NoteFrameWhole).to_owned()),
        None => {}
    }
    if !rx.recvs.is_empty() {
        let list: Vec<String> = rx
            .recvs
            .iter()
            .map(|(no, len)| format!("#{no} {len} B"))
            .collect();
        parts.push(lang.fmt(Msg::NoteRecvPieces, &[("list", &list.join(" + "))]));
    }
    if let Some(us) = rx.reply_us {
        parts.push(lang.fmt(Msg::NoteReplyAfter, &[("t", &human_us(us))]));
    }
    if let Some((algo, verdict)) = &rx.check {
        parts.push(describe_verdict(lang, algo.label(), verdict));
    }
    parts.join(" · ")
}

/// A checksum's verdict on a message: "CRC-32 ok", or wrong with the expected and found bytes.
pub fn describe_verdict(
    lang: Lang,
    algo: &str,
    verdict: &crate::proto::checksum::Verdict,
) -> String {
    use crate::proto::checksum::Verdict;
    match verdict {
        Verdict::Ok => lang.fmt(Msg::ChecksumOk, &[("algo", &algo)]),
        Verdict::Wrong { expected, found } => lang.fmt(
            Msg::ChecksumWrong,
            &[
                ("algo", &algo),
                ("expected", &crate::proto::format_hex(expected)),
                ("found", &crate::proto::format_hex(found)),
            ],
        ),
        Verdict::TooShort { .. } => lang.fmt(Msg::ChecksumTooShort, &[("algo", &algo)]),
    }
}

/// A short time: "850 µs", "12.3 ms", "1.52 s".
pub fn human_us(us: u64) -> String {
    if us < 1000 {
        format!("{us} µs")
    } else if us < 1_000_000 {
        format!("{:.1} ms", us as f64 / 1000.0)
    } else {
        format!("{:.2} s", us as f64 / 1_000_000.0)
    }
}
