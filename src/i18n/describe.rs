//! Engine states, errors and results in plain words, in the chosen language.

use super::{Lang, Msg};
use crate::net::check::{CheckConfig, CheckKind, Ending, Verdict};
use crate::net::check_files::{Fetch, FilesCheck, FilesVerdict};
use crate::net::load::{LoadError, Report as LoadReport, Sample as LoadSample};
use crate::net::sys::FileLimit;
use crate::net::tcp_server::{ClientEnd, KickHow};
use crate::net::{CallKind, CallOutcome, NetError, NetErrorKind};
use crate::proto::{PayloadError, hex::HexErrorKind};

/// Plain words for an error, with the OS's own message after it.
/// A moment as the log shows it: local time of day to the millisecond.
pub fn format_time(at: std::time::SystemTime) -> String {
    let local: chrono::DateTime<chrono::Local> = at.into();
    local.format("%H:%M:%S%.3f").to_string()
}

pub fn describe_error(lang: Lang, err: &NetError) -> String {
    let plain = lang.t(error_msg(err.kind));
    if err.detail.is_empty() {
        plain.to_owned()
    } else {
        format!("{plain} ({})", err.detail)
    }
}

pub fn error_msg(kind: NetErrorKind) -> Msg {
    match kind {
        NetErrorKind::Refused => Msg::ErrKindRefused,
        NetErrorKind::TimedOut => Msg::ErrKindTimedOut,
        NetErrorKind::NoRoute => Msg::ErrKindNoRoute,
        NetErrorKind::NetworkUnreachable => Msg::ErrKindNetUnreachable,
        NetErrorKind::NameNotResolved => Msg::ErrKindNameNotResolved,
        NetErrorKind::Reset => Msg::ErrKindReset,
        NetErrorKind::BrokenPipe => Msg::ErrKindBrokenPipe,
        NetErrorKind::InvalidPort => Msg::ErrKindInvalidPort,
        NetErrorKind::EmptyHost => Msg::ErrKindEmptyHost,
        NetErrorKind::AddrInUse => Msg::ErrKindAddrInUse,
        NetErrorKind::AddrNotAvailable => Msg::ErrKindAddrNotAvailable,
        NetErrorKind::PermissionDenied => Msg::ErrKindPermission,
        NetErrorKind::TooManyOpenFiles => Msg::ErrKindTooManyFiles,
        NetErrorKind::FileRead => Msg::ErrKindFileRead,
        NetErrorKind::FileWrite => Msg::ErrKindFileWrite,
        NetErrorKind::DatagramTooLarge => Msg::ErrKindDatagramTooLarge,
        NetErrorKind::BroadcastNotEnabled => Msg::ErrKindBroadcastNotEnabled,
        NetErrorKind::NobodyListening => Msg::ErrKindNobodyListening,
        NetErrorKind::NotMulticast => Msg::ErrKindNotMulticast,
        NetErrorKind::DiskFull => Msg::ErrKindDiskFull,
        NetErrorKind::RemoteNotFound => Msg::ErrKindRemoteNotFound,
        NetErrorKind::RemoteRefused => Msg::ErrKindRemoteRefused,
        NetErrorKind::NothingReceived => Msg::ErrKindNothingReceived,
        NetErrorKind::Incomplete => Msg::ErrKindIncomplete,
        NetErrorKind::DigestMismatch => Msg::ErrKindDigestMismatch,
        NetErrorKind::BadReply => Msg::ErrKindBadReply,
        NetErrorKind::DestinationExists => Msg::ErrKindDestinationExists,
        NetErrorKind::PartInUse => Msg::ErrKindPartInUse,
        NetErrorKind::Stalled => Msg::ErrKindStalled,
        NetErrorKind::EchoLimited => Msg::ErrKindEchoLimited,
        NetErrorKind::Cancelled => Msg::ErrKindCancelled,
        NetErrorKind::Other => Msg::ErrKindOther,
    }
}

/// Why the file server would not serve a name.
pub fn describe_refusal(lang: Lang, r: crate::proto::download::Refusal) -> &'static str {
    use crate::proto::download::Refusal as R;
    lang.t(match r {
        R::Empty => Msg::RefEmpty,
        R::TooLong => Msg::RefTooLong,
        R::BadEncoding => Msg::RefBadEncoding,
        R::Nul => Msg::RefNul,
        R::ParentDir => Msg::RefParentDir,
        R::Absolute => Msg::RefAbsolute,
        R::Backslash => Msg::RefBackslash,
        R::DriveLetter => Msg::RefDriveLetter,
        R::OutsideFolder => Msg::RefOutsideFolder,
        R::NotRegularFile => Msg::RefNotRegular,
        R::Malformed => Msg::RefMalformed,
        R::Busy => Msg::RefBusy,
        R::Reserved => Msg::RefReserved,
        R::ControlChar => Msg::RefControlChar,
        R::HardLink => Msg::RefHardLink,
    })
}

fn describe_fetch(lang: Lang, how: &Fetch) -> String {
    match how {
        Fetch::Same => lang.t(Msg::VerdictPassed).to_owned(),
        Fetch::NoConnection(kind) => lang.fmt(
            Msg::FetchNoConnection,
            &[("err", &lang.t(error_msg(*kind)))],
        ),
        Fetch::Truncated { got, expected } => {
            lang.fmt(Msg::FetchTruncated, &[("got", got), ("expected", expected)])
        }
        Fetch::TooLong { expected } => lang.fmt(Msg::FetchTooLong, &[("expected", expected)]),
        Fetch::Differs => lang.t(Msg::FetchDiffers).to_owned(),
        Fetch::Stalled { got, secs } => lang.fmt(
            Msg::FetchStalled,
            &[("got", got), ("t", &format!("{secs:.1}"))],
        ),
    }
}

/// A file check's title.
pub fn describe_files_check(lang: Lang, check: FilesCheck) -> &'static str {
    lang.t(match check {
        FilesCheck::EachFile => Msg::FilesCheckEach,
        FilesCheck::Missing => Msg::FilesCheckMissing,
        FilesCheck::TwoAtOnce => Msg::FilesCheckTwo,
        FilesCheck::ChineseName => Msg::FilesCheckChinese,
        FilesCheck::BigFile => Msg::FilesCheckBig,
    })
}

/// A file check's verdict with its evidence.
/// A load error kind, in words.
pub fn describe_load_error(lang: Lang, e: LoadError) -> &'static str {
    lang.t(match e {
        LoadError::Refused => Msg::LoadErrRefused,
        LoadError::ConnectTimeout => Msg::LoadErrConnectTimeout,
        LoadError::Reset => Msg::LoadErrReset,
        LoadError::Closed => Msg::LoadErrClosed,
        LoadError::ReplyTimeout => Msg::LoadErrReplyTimeout,
        LoadError::WrongReply => Msg::LoadErrWrongReply,
        LoadError::TooManyOpenFiles => Msg::LoadErrTooManyOpenFiles,
        LoadError::NoLocalPort => Msg::LoadErrNoLocalPort,
        LoadError::Lost => Msg::LoadErrLost,
        LoadError::Other => Msg::LoadErrOther,
    })
}

/// What the open-file limit allowed for a run of `clients`.
pub fn describe_file_limit(lang: Lang, limit: &FileLimit, clients: usize) -> String {
    match (limit.before, limit.now, limit.hard) {
        (Some(before), Some(now), Some(hard)) => {
            let mut t = if now > before {
                lang.fmt(
                    Msg::LoadLimitRaised,
                    &[("before", &before), ("now", &now), ("hard", &hard)],
                )
            } else {
                lang.fmt(Msg::LoadLimitKept, &[("now", &now), ("hard", &hard)])
            };
            let fit = now.saturating_sub(16);
            if fit < clients as u64 {
                t.push_str(if lang == Lang::Zh { "；" } else { "; " });
                t.push_str(&lang.fmt(Msg::LoadLimitShort, &[("now", &now), ("fit", &fit)]));
            }
            t
        }
        (None, None, None) if crate::net::sys::OS == crate::net::sys::Os::Windows => {
            lang.t(Msg::LoadLimitNone).to_owned()
        }
        _ => lang.t(Msg::LoadLimitUnknown).to_owned(),
    }
}

fn ms(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// One live sample, as a line.
pub fn describe_load_sample(lang: Lang, s: &LoadSample) -> String {
    lang.fmt(
        Msg::LoadSample,
        &[
            ("t", &format!("{:.1}", s.at.as_secs_f64())),
            ("connected", &s.connected),
            ("rate", &format!("{:.0}", s.messages_per_s)),
            ("p50", &ms(s.rtt.p50_ms)),
            ("p99", &ms(s.rtt.p99_ms)),
            ("errors", &s.errors),
        ],
    )
}

/// The report of a load run, as lines.
pub fn describe_load_report(lang: Lang, r: &LoadReport) -> Vec<String> {
    let mut lines = vec![
        lang.fmt(
            Msg::LoadSumClients,
            &[
                ("connected", &r.clients_connected),
                ("clients", &r.clients),
                ("peak", &r.peak_connected),
            ],
        ),
        lang.fmt(
            Msg::LoadSumMessages,
            &[
                ("answered", &r.messages),
                ("sent", &r.sent_messages),
                ("secs", &format!("{:.1}", r.elapsed.as_secs_f64())),
                ("rate", &format!("{:.0}", r.messages_per_s)),
                (
                    "bytes",
                    &crate::proto::format::human_bytes(r.bytes_per_s as u64),
                ),
            ],
        ),
    ];
    let pct = |msg: Msg, p: &crate::net::load::Percentiles| {
        lang.fmt(
            msg,
            &[
                ("p50", &ms(p.p50_ms)),
                ("p95", &ms(p.p95_ms)),
                ("p99", &ms(p.p99_ms)),
                ("max", &ms(p.max_ms)),
            ],
        )
    };
    if !r.udp {
        lines.push(pct(Msg::LoadSumConnect, &r.connect));
    }
    if r.messages > 0 {
        lines.push(pct(Msg::LoadSumRtt, &r.rtt));
    } else if r.sent_messages > 0 {
        lines.push(lang.t(Msg::LoadSumNoAnswers).to_owned());
    }
    if r.errors.is_empty() {
        lines.push(lang.t(Msg::LoadSumNoErrors).to_owned());
    } else {
        let sep = if lang == Lang::Zh { "，" } else { ", " };
        let list: Vec<String> = r
            .errors
            .iter()
            .map(|(k, n)| format!("{} {n}", describe_load_error(lang, *k)))
            .collect();
        lines.push(lang.fmt(Msg::LoadSumErrors, &[("list", &list.join(sep))]));
    }
    if r.stopped {
        lines.push(lang.t(Msg::LoadSumStopped).to_owned());
    }
    lines
}

pub fn describe_files_verdict(lang: Lang, check: FilesCheck, v: &FilesVerdict) -> String {
    match v {
        FilesVerdict::Passed { .. } if check == FilesCheck::Missing => {
            lang.t(Msg::FilesPassedMissing).to_owned()
        }
        FilesVerdict::Passed { files, bytes } => lang.fmt(
            Msg::FilesPassed,
            &[
                ("n", files),
                ("bytes", &crate::proto::format::human_bytes(*bytes)),
            ],
        ),
        FilesVerdict::NoLocalFiles => lang.t(Msg::FilesNoLocal).to_owned(),
        FilesVerdict::Skipped => lang.t(Msg::FilesSkipped).to_owned(),
        FilesVerdict::Failed { name, how } => lang.fmt(
            Msg::FilesFailed,
            &[("name", name), ("how", &describe_fetch(lang, how))],
        ),
        FilesVerdict::SentForMissing { bytes, text } => lang.fmt(
            Msg::FilesSentForMissing,
            &[("n", bytes), ("text", &text.trim_end())],
        ),
        FilesVerdict::NoCloseForMissing { secs } => {
            lang.fmt(Msg::FilesNoClose, &[("t", &format!("{secs:.1}"))])
        }
        FilesVerdict::ChineseName {
            name, utf8, gbk, ..
        } => {
            let word = |ok: &bool| {
                lang.t(if *ok {
                    Msg::FilesWorks
                } else {
                    Msg::FilesNotServed
                })
            };
            lang.fmt(
                Msg::FilesChinese,
                &[("name", name), ("utf8", &word(utf8)), ("gbk", &word(gbk))],
            )
        }
    }
}

/// The colon between a title and its text: full-width in Chinese.
pub fn colon(lang: Lang) -> &'static str {
    match lang {
        Lang::En => ": ",
        Lang::Zh => "：",
    }
}

pub fn comma(lang: Lang) -> &'static str {
    match lang {
        Lang::En => ", ",
        Lang::Zh => "，",
    }
}

/// A further check's short name, for its on/off box.
pub fn describe_further(lang: Lang, kind: CheckKind) -> &'static str {
    lang.t(match kind {
        CheckKind::Class => Msg::CheckModeServer,
        CheckKind::ConnectClose => Msg::FurtherConnectClose,
        CheckKind::Slow => Msg::FurtherSlow,
        CheckKind::Big => Msg::FurtherBig,
        CheckKind::HalfClose => Msg::FurtherHalfClose,
        CheckKind::Reconnect => Msg::FurtherReconnect,
    })
}

/// A check's title.
pub fn describe_check(lang: Lang, kind: CheckKind, config: &CheckConfig) -> String {
    match kind {
        CheckKind::Class => lang.fmt(
            Msg::CheckClass,
            &[("n", &config.clients), ("m", &config.messages)],
        ),
        CheckKind::ConnectClose => lang.t(Msg::CheckConnectClose).to_owned(),
        CheckKind::Slow => lang.t(Msg::CheckSlow).to_owned(),
        CheckKind::Big => lang.t(Msg::CheckBig).to_owned(),
        CheckKind::HalfClose => lang.t(Msg::CheckHalfClose).to_owned(),
        CheckKind::Reconnect => lang.t(Msg::CheckReconnect).to_owned(),
    }
}

/// A check's verdict with its evidence, in plain words.
pub fn describe_verdict(lang: Lang, v: &Verdict) -> String {
    let secs = |t: &f64| format!("{t:.1}");
    match v {
        Verdict::Passed => lang.t(Msg::VerdictPassed).to_owned(),
        Verdict::NotListening(kind) => lang.fmt(
            Msg::VerdictNotListening,
            &[("err", &lang.t(error_msg(*kind)))],
        ),
        Verdict::OnlyFirstServed {
            served,
            waiting,
            unconnected,
            timeout_s,
        } => {
            let mut text = lang.fmt(
                Msg::VerdictOnlyFirst,
                &[
                    ("served", served),
                    ("waiting", waiting),
                    ("t", &secs(timeout_s)),
                ],
            );
            if *unconnected > 0 {
                text.push(' ');
                text.push_str(&lang.fmt(Msg::VerdictBacklogFull, &[("n", unconnected)]));
            }
            text
        }
        Verdict::NoConnection(kind) => lang.fmt(
            Msg::EndingNoConnection,
            &[("err", &lang.t(error_msg(*kind)))],
        ),
        Verdict::NoReply { clients, timeout_s } => lang.fmt(
            Msg::VerdictNoReply,
            &[("n", clients), ("t", &secs(timeout_s))],
        ),
        Verdict::FirstAnswerOnly { clients } => lang.fmt(Msg::VerdictFirstOnly, &[("n", clients)]),
        Verdict::WrongReply {
            client,
            message,
            sent,
            got,
        } => lang.fmt(
            Msg::VerdictWrong,
            &[
                ("c", client),
                ("m", message),
                ("sent", &sent.trim_end()),
                ("got", &got.trim_end()),
            ],
        ),
        Verdict::ClosedEarly { client, message } => {
            lang.fmt(Msg::VerdictClosedEarly, &[("c", client), ("m", message)])
        }
        Verdict::Partial { answered, expected } => lang.fmt(
            Msg::VerdictPartial,
            &[("answered", answered), ("expected", expected)],
        ),
        Verdict::NoCloseAfterFin { timeout_s } => {
            lang.fmt(Msg::VerdictNoClose, &[("t", &secs(timeout_s))])
        }
        Verdict::StuckAfter { ending } => lang.fmt(
            Msg::VerdictStuck,
            &[("how", &describe_ending(lang, ending))],
        ),
    }
}

/// How one checking client's conversation ended, in a few words.
pub fn describe_ending(lang: Lang, ending: &Ending) -> String {
    match ending {
        Ending::Done => lang.t(Msg::VerdictPassed).to_owned(),
        Ending::Timeout { .. } => lang.t(Msg::EndingTimeout).to_owned(),
        Ending::Closed { .. } => lang.t(Msg::EndingClosed).to_owned(),
        Ending::Wrong { .. } => lang.t(Msg::EndingWrong).to_owned(),
        Ending::NoConnection(kind) => lang.fmt(
            Msg::EndingNoConnection,
            &[("err", &lang.t(error_msg(*kind)))],
        ),
    }
}

/// How one of the server's clients went away.
pub fn describe_client_end(lang: Lang, end: &ClientEnd) -> String {
    match end {
        ClientEnd::PeerClosed => lang.t(Msg::EndPeerClosed).to_owned(),
        ClientEnd::Kicked(KickHow::Graceful) => lang.t(Msg::EndKickedGraceful).to_owned(),
        ClientEnd::Kicked(KickHow::Abortive) => lang.t(Msg::EndKickedAbortive).to_owned(),
        ClientEnd::Failed(err) => {
            lang.fmt(Msg::EndFailed, &[("error", &describe_error(lang, err))])
        }
        ClientEnd::ServerStopped => lang.t(Msg::EndServerStopped).to_owned(),
    }
}

/// What a socket call returned, in words.
pub fn describe_outcome(lang: Lang, kind: &CallKind, outcome: &CallOutcome) -> String {
    match outcome {
        CallOutcome::Done => match kind {
            CallKind::KernelState(_) => lang.t(Msg::OutcomeKernel).to_owned(),
            CallKind::Close
            | CallKind::Shutdown(_)
            | CallKind::SetOption { .. }
            | CallKind::Bind { .. }
            | CallKind::Listen { .. } => "0".to_owned(),
            _ => lang.t(Msg::OutcomeOk).to_owned(),
        },
        CallOutcome::Bytes(0) if matches!(kind, CallKind::Recv { .. }) => {
            lang.t(Msg::OutcomePeerClosed).to_owned()
        }
        CallOutcome::Bytes(n) => lang.fmt(Msg::OutcomeBytes, &[("n", n)]),
        CallOutcome::Addrs(addrs) => addrs
            .iter()
            .map(|a| a.ip().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        CallOutcome::Descriptor(fd) => lang.fmt(Msg::OutcomeDescriptor, &[("n", fd)]),
        CallOutcome::Connected { local } => lang.fmt(Msg::OutcomeConnected, &[("local", local)]),
        CallOutcome::Bound { local } => lang.fmt(Msg::OutcomeBound, &[("local", local)]),
        CallOutcome::Datagram { n, from } => {
            lang.fmt(Msg::OutcomeDatagram, &[("n", n), ("from", from)])
        }
        CallOutcome::Accepted { fd, peer } => {
            lang.fmt(Msg::OutcomeAccepted, &[("fd", fd), ("peer", peer)])
        }
        CallOutcome::Failed(err) => {
            lang.fmt(Msg::OutcomeFailed, &[("error", &describe_error(lang, err))])
        }
    }
}

pub fn describe_payload_error(lang: Lang, err: &PayloadError) -> String {
    match err {
        PayloadError::Hex(e) => {
            let pos = e.char_index + 1;
            match e.kind {
                HexErrorKind::InvalidChar(ch) => {
                    lang.fmt(Msg::ErrHexInvalidChar, &[("ch", &ch), ("pos", &pos)])
                }
                HexErrorKind::OddDigits => lang.fmt(Msg::ErrHexOddDigits, &[("pos", &pos)]),
                HexErrorKind::EmptyPrefix => lang.fmt(Msg::ErrHexEmptyPrefix, &[("pos", &pos)]),
            }
        }
        PayloadError::Encode(crate::proto::EncodeError::Unmappable {
            ch,
            char_index,
            encoding,
        }) => lang.fmt(
            Msg::ErrUnmappable,
            &[
                ("ch", ch),
                ("pos", &(char_index + 1)),
                ("encoding", encoding),
            ],
        ),
    }
}

/// What a conversation's expect wants, in words: "contains \"OK\", CRC-16/MODBUS right".
pub fn describe_expect(
    lang: Lang,
    x: &crate::proto::script::Expect,
    encoding: crate::proto::TextEncoding,
) -> String {
    use crate::proto::script::{Matcher, as_text};
    let base = match &x.matcher {
        Matcher::Contains(b) => lang.fmt(
            Msg::ScriptExpectContains,
            &[("text", &encoding.decode_display(b))],
        ),
        Matcher::Exact(b) => {
            let what = match as_text(b, encoding) {
                Some(t) => format!(
                    "\"{}\"",
                    t.replace('\\', "\\\\")
                        .replace('\n', "\\n")
                        .replace('\r', "\\r")
                        .replace('\t', "\\t")
                ),
                None => crate::proto::format_hex(b),
            };
            lang.fmt(Msg::ScriptExpectExact, &[("what", &what)])
        }
        Matcher::Regex(re) => lang.fmt(Msg::ScriptExpectRegex, &[("re", &re.as_str())]),
        Matcher::Any => lang.t(Msg::ScriptExpectAny).to_owned(),
    };
    match &x.checksum {
        Some(c) => format!(
            "{base}{}{}",
            comma(lang),
            lang.fmt(Msg::ChecksumOk, &[("algo", &c.algo.label())])
        ),
        None => base,
    }
}

/// Why a payload with variables and a checksum could not be built.
pub fn describe_template_error(lang: Lang, err: &crate::proto::payload::TemplateError) -> String {
    use crate::proto::payload::TemplateError;
    use crate::proto::vars::VarErrorKind;
    match err {
        TemplateError::Payload(e) => describe_payload_error(lang, e),
        TemplateError::Var(e) => match &e.kind {
            VarErrorKind::Unknown(name) => lang.fmt(Msg::ErrVarUnknown, &[("name", name)]),
            VarErrorKind::BadArgs { name, why } => {
                lang.fmt(Msg::ErrVarArgs, &[("name", name), ("why", why)])
            }
            VarErrorKind::Literal(why) => why.clone(),
        },
    }
}
