//! The "Check a server" panel's state: one exercise-1 check, exercise-2 check or load run,
//! reduced from its engine's events, and its report as text (what the panel shows and what
//! "Export report" writes). Pure: tests feed it events without a window or a socket.

use std::collections::VecDeque;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::i18n::{
    Lang, Msg, colon, describe_check, describe_ending, describe_file_limit, describe_files_check,
    describe_files_verdict, describe_load_report, describe_verdict,
};
use crate::net::check::{CheckConfig, CheckEvent, CheckKind, CheckResult, Ending, Expect, Live};
use crate::net::check_files::{FilesCheck, FilesConfig, FilesEvent, FilesResult};
use crate::net::load::{LoadConfig, LoadEvent, Report, Sample};
use crate::net::sys::FileLimit;

/// What the panel checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Mode {
    /// Exercise 1: a server of many clients.
    #[default]
    Server,
    /// Exercise 2: a file server.
    Files,
    /// Many clients, flat out or at a rate, measured.
    Load,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::Server, Mode::Files, Mode::Load];

    pub fn title(self) -> Msg {
        match self {
            Mode::Server => Msg::CheckModeServer,
            Mode::Files => Msg::CheckModeFiles,
            Mode::Load => Msg::CheckModeLoad,
        }
    }
}

/// One client's square on the board.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Square {
    Waiting,
    Connecting,
    Talking,
    Done,
    Failed,
}

impl Square {
    pub const ALL: [Square; 5] = [
        Square::Waiting,
        Square::Connecting,
        Square::Talking,
        Square::Done,
        Square::Failed,
    ];

    pub fn title(self) -> Msg {
        match self {
            Square::Waiting => Msg::CheckLegendWaiting,
            Square::Connecting => Msg::CheckLegendConnecting,
            Square::Talking => Msg::CheckLegendTalking,
            Square::Done => Msg::CheckLegendDone,
            Square::Failed => Msg::CheckLegendFailed,
        }
    }
}

fn header(lang: Lang, title: String, at: SystemTime) -> Vec<String> {
    let local: chrono::DateTime<chrono::Local> = at.into();
    vec![
        format!("Socket Workbench — {title}"),
        lang.fmt(
            Msg::CheckReportWhen,
            &[("when", &local.format("%Y-%m-%d %H:%M:%S"))],
        ),
    ]
}

/// Client numbers (ascending) as ranges: "1–3, 5, 7–9".
pub fn ranges(numbers: &[usize]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut k = 0;
    while k < numbers.len() {
        let start = numbers[k];
        let mut end = start;
        while k + 1 < numbers.len() && numbers[k + 1] == end + 1 {
            k += 1;
            end = numbers[k];
        }
        out.push(if end == start {
            start.to_string()
        } else {
            format!("{start}–{end}")
        });
        k += 1;
    }
    out.join(", ")
}

fn mark(lang: Lang, passed: bool) -> &'static str {
    lang.t(if passed {
        Msg::CheckPassed
    } else {
        Msg::CheckFailed
    })
}

/// An exercise-1 check, as it goes.
#[derive(Debug, Clone)]
pub struct ServerCheck {
    pub config: CheckConfig,
    pub began: SystemTime,
    pub planned: Vec<CheckKind>,
    /// The check under way.
    pub current: Option<CheckKind>,
    /// The class's clients: where each is, and how many answers it has.
    pub clients: Vec<(Square, usize)>,
    pub results: Vec<CheckResult>,
    /// `Some(stopped)` once the run has ended.
    pub finished: Option<bool>,
}

impl ServerCheck {
    pub fn new(config: CheckConfig) -> Self {
        Self {
            planned: config.checks(),
            clients: vec![(Square::Waiting, 0); config.clients.max(1)],
            config,
            began: SystemTime::now(),
            current: None,
            results: Vec::new(),
            finished: None,
        }
    }

    pub fn apply(&mut self, event: CheckEvent) {
        match event {
            CheckEvent::Begin(kind) => self.current = Some(kind),
            CheckEvent::Client { i, live } => {
                if let Some(c) = self.clients.get_mut(i) {
                    *c = match live {
                        Live::Connecting => (Square::Connecting, 0),
                        Live::Talking { answered } => (Square::Talking, answered),
                        Live::Done => (Square::Done, self.config.messages),
                        Live::Failed { answered } => (Square::Failed, answered),
                    };
                }
            }
            CheckEvent::Result(r) => {
                self.current = None;
                self.results.push(r);
            }
            CheckEvent::Finished { stopped } => {
                self.current = None;
                self.finished = Some(stopped);
            }
        }
    }

    pub fn running(&self) -> bool {
        self.finished.is_none()
    }

    /// 0 to 1: checks done, and the class check by its answers as they come.
    pub fn progress(&self) -> f32 {
        if self.finished.is_some() {
            return 1.0;
        }
        let total = self.planned.len().max(1) as f32;
        let part = match self.current {
            Some(CheckKind::Class) => {
                let m = self.config.messages.max(1);
                let want = (self.clients.len() * m) as f32;
                let got: usize = self
                    .clients
                    .iter()
                    .map(|(sq, n)| match sq {
                        Square::Done | Square::Failed => m,
                        _ => *n,
                    })
                    .sum();
                got as f32 / want.max(1.0)
            }
            Some(_) => 0.5,
            None => 0.0,
        };
        ((self.results.len() as f32 + part) / total).min(1.0)
    }

    pub fn passed(&self) -> usize {
        self.results.iter().filter(|r| r.verdict.passed()).count()
    }

    /// How many clients are in each state, in [`Square::ALL`]'s order.
    pub fn counts(&self) -> [usize; 5] {
        let mut out = [0; 5];
        for (sq, _) in &self.clients {
            if let Some(k) = Square::ALL.iter().position(|s| s == sq) {
                out[k] += 1;
            }
        }
        out
    }

    /// The report, a line each.
    pub fn report(&self, lang: Lang) -> Vec<String> {
        let c = &self.config;
        let title = lang.fmt(Msg::CheckReportServer, &[("addr", &c.addr)]);
        let mut lines = header(lang, title, self.began);
        let expect = match &c.expect {
            Expect::Echo => lang.t(Msg::ExpectEcho).to_owned(),
            Expect::Any => lang.t(Msg::ExpectAny).to_owned(),
            Expect::Text(t) => format!("{} “{t}”", lang.t(Msg::ExpectText)),
            Expect::Bytes(b) => format!(
                "{} “{}”",
                lang.t(Msg::ExpectText),
                crate::proto::hex::format_hex(b)
            ),
            Expect::Regex(r) => format!("{} /{}/", lang.t(Msg::ExpectRegex), r.as_str()),
        };
        lines.push(lang.fmt(
            Msg::CheckReportSettings,
            &[
                ("n", &c.clients),
                ("m", &c.messages),
                ("expect", &expect),
                ("enc", &if c.hex { "hex" } else { c.encoding.label() }),
                ("t", &format!("{:.1}", c.timeout.as_secs_f64())),
            ],
        ));
        lines.push(String::new());
        for r in &self.results {
            lines.push(format!(
                "[{}] {}{}{}",
                mark(lang, r.verdict.passed()),
                describe_check(lang, r.kind, c),
                colon(lang),
                describe_verdict(lang, &r.verdict)
            ));
            // Clients that ended the same way share a line: "clients 2–30: …".
            let mut groups: Vec<((usize, String), Vec<usize>)> = Vec::new();
            for (i, run) in r.clients.iter().enumerate() {
                if run.ending == Ending::Done {
                    continue;
                }
                let key = (run.answered, describe_ending(lang, &run.ending));
                match groups.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, members)) => members.push(i + 1),
                    None => groups.push((key, vec![i + 1])),
                }
            }
            if !groups.is_empty() {
                lines.push(format!("    {}", lang.t(Msg::CheckReportShort)));
            }
            for ((answered, how), members) in groups {
                let msg = if members.len() == 1 {
                    Msg::CheckReportClient
                } else {
                    Msg::CheckReportClients
                };
                lines.push(format!(
                    "      {}",
                    lang.fmt(
                        msg,
                        &[
                            ("c", &ranges(&members)),
                            ("n", &members.len()),
                            ("answered", &answered),
                            ("m", &c.messages),
                            ("how", &how),
                        ],
                    )
                ));
            }
        }
        if let Some(stopped) = self.finished {
            lines.push(String::new());
            if stopped {
                lines.push(lang.t(Msg::CheckReportStopped).to_owned());
            }
            lines.push(lang.fmt(
                Msg::CheckSummary,
                &[("passed", &self.passed()), ("total", &self.planned.len())],
            ));
        }
        lines
    }
}

/// An exercise-2 check, as it goes.
#[derive(Debug, Clone)]
pub struct FilesRunState {
    pub config: FilesConfig,
    pub began: SystemTime,
    pub current: Option<FilesCheck>,
    pub results: Vec<FilesResult>,
    pub finished: Option<bool>,
}

impl FilesRunState {
    pub fn new(config: FilesConfig) -> Self {
        Self {
            config,
            began: SystemTime::now(),
            current: None,
            results: Vec::new(),
            finished: None,
        }
    }

    pub fn apply(&mut self, event: FilesEvent) {
        match event {
            FilesEvent::Begin(check) => self.current = Some(check),
            FilesEvent::Result(r) => {
                self.current = None;
                self.results.push(r);
            }
            FilesEvent::Finished { stopped } => {
                self.current = None;
                self.finished = Some(stopped);
            }
        }
    }

    pub fn running(&self) -> bool {
        self.finished.is_none()
    }

    pub fn progress(&self) -> f32 {
        if self.finished.is_some() {
            return 1.0;
        }
        let part = if self.current.is_some() { 0.5 } else { 0.0 };
        (self.results.len() as f32 + part) / FilesCheck::ALL.len() as f32
    }

    pub fn passed(&self) -> usize {
        self.results.iter().filter(|r| r.verdict.passed()).count()
    }

    pub fn report(&self, lang: Lang) -> Vec<String> {
        let c = &self.config;
        let title = lang.fmt(
            Msg::CheckReportFiles,
            &[("addr", &c.addr), ("dir", &c.local.display())],
        );
        let mut lines = header(lang, title, self.began);
        lines.push(String::new());
        for r in &self.results {
            lines.push(format!(
                "[{}] {}{}{}",
                mark(lang, r.verdict.passed()),
                describe_files_check(lang, r.check),
                colon(lang),
                describe_files_verdict(lang, r.check, &r.verdict)
            ));
        }
        if let Some(stopped) = self.finished {
            lines.push(String::new());
            if stopped {
                lines.push(lang.t(Msg::CheckReportStopped).to_owned());
            }
            lines.push(lang.fmt(
                Msg::CheckSummary,
                &[
                    ("passed", &self.passed()),
                    ("total", &FilesCheck::ALL.len()),
                ],
            ));
        }
        lines
    }
}

/// Samples kept for the plots: an hour at two a second (older ones are dropped).
pub const MAX_SAMPLES: usize = 7200;

/// A load run, as it goes.
#[derive(Debug, Clone)]
pub struct LoadState {
    pub config: LoadConfig,
    pub began: SystemTime,
    pub limit: Option<FileLimit>,
    pub samples: VecDeque<Sample>,
    pub report: Option<Report>,
}

impl LoadState {
    pub fn new(config: LoadConfig) -> Self {
        Self {
            config,
            began: SystemTime::now(),
            limit: None,
            samples: VecDeque::new(),
            report: None,
        }
    }

    pub fn apply(&mut self, event: LoadEvent) {
        match event {
            LoadEvent::Started { limit, .. } => self.limit = Some(limit),
            LoadEvent::Sample(s) => {
                if self.samples.len() == MAX_SAMPLES {
                    self.samples.pop_front();
                }
                self.samples.push_back(s);
            }
            LoadEvent::Done(r) => self.report = Some(r),
        }
    }

    pub fn running(&self) -> bool {
        self.report.is_none()
    }

    /// 0 to 1 by time, for a run of set length; `None` when it runs until stopped.
    pub fn progress(&self) -> Option<f32> {
        if self.report.is_some() {
            return Some(1.0);
        }
        let d = self.config.duration?;
        let at = self.samples.back().map(|s| s.at).unwrap_or_default();
        Some((at.as_secs_f64() / d.as_secs_f64().max(0.001)).min(1.0) as f32)
    }

    /// A series for the plots: (seconds, value) per sample.
    pub fn series(&self, value: impl Fn(&Sample) -> f64) -> Vec<[f64; 2]> {
        self.samples
            .iter()
            .map(|s| [s.at.as_secs_f64(), value(s)])
            .collect()
    }

    pub fn report(&self, lang: Lang) -> Vec<String> {
        let c = &self.config;
        let what = lang.t(if c.udp {
            Msg::LoadUdpSockets
        } else {
            Msg::LoadTcpClients
        });
        let title = lang.fmt(Msg::CheckReportLoad, &[("addr", &c.addr)]);
        let mut lines = header(lang, title, self.began);
        let rate = match c.rate {
            Some(r) => lang.fmt(Msg::CheckReportRate, &[("rate", &format!("{r:.0}"))]),
            None => lang.t(Msg::CheckReportFlatOut).to_owned(),
        };
        lines.push(lang.fmt(
            Msg::CheckReportLoadSettings,
            &[
                ("clients", &c.clients),
                ("what", &what),
                ("size", &c.size),
                ("rate", &rate),
            ],
        ));
        if let Some(limit) = &self.limit {
            lines.push(describe_file_limit(lang, limit, c.clients));
        }
        lines.push(String::new());
        if let Some(r) = &self.report {
            lines.extend(describe_load_report(lang, r));
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::check::{ClientRun, Verdict};
    use crate::proto::encoding::TextEncoding;
    use std::time::Duration;

    fn config() -> CheckConfig {
        CheckConfig {
            addr: "127.0.0.1:9".parse().unwrap(),
            clients: 3,
            messages: 4,
            expect: Expect::Echo,
            encoding: TextEncoding::Gbk,
            hex: false,
            timeout: Duration::from_secs(2),
            skip: vec![CheckKind::Slow],
        }
    }

    /// The board follows its clients, progress grows with the answers, and the report says
    /// which clients fell short, in either language.
    #[test]
    fn the_board_and_the_report_follow_the_events() {
        let mut s = ServerCheck::new(config());
        assert_eq!(s.planned.len(), 5);
        assert_eq!(s.progress(), 0.0);
        s.apply(CheckEvent::Begin(CheckKind::Class));
        s.apply(CheckEvent::Client {
            i: 0,
            live: Live::Connecting,
        });
        s.apply(CheckEvent::Client {
            i: 1,
            live: Live::Talking { answered: 2 },
        });
        s.apply(CheckEvent::Client {
            i: 2,
            live: Live::Done,
        });
        // Out of range: ignored, not a panic.
        s.apply(CheckEvent::Client {
            i: 99,
            live: Live::Done,
        });
        assert_eq!(s.counts(), [0, 1, 1, 1, 0]);
        let p = s.progress();
        assert!((p - (6.0 / 12.0) / 5.0).abs() < 1e-6, "{p}");
        s.apply(CheckEvent::Client {
            i: 1,
            live: Live::Failed { answered: 1 },
        });
        s.apply(CheckEvent::Result(CheckResult {
            kind: CheckKind::Class,
            verdict: Verdict::Partial {
                answered: 9,
                expected: 12,
            },
            clients: vec![
                ClientRun {
                    answered: 4,
                    ending: Ending::Done,
                },
                ClientRun {
                    answered: 1,
                    ending: Ending::Timeout { at: 1 },
                },
                ClientRun {
                    answered: 4,
                    ending: Ending::Done,
                },
            ],
            took: Duration::from_secs(2),
        }));
        assert!((s.progress() - 0.2).abs() < 1e-6);
        s.apply(CheckEvent::Finished { stopped: true });
        assert!(!s.running());
        assert_eq!(s.progress(), 1.0);
        let en = s.report(Lang::En).join("\n");
        assert!(en.contains("127.0.0.1:9"), "{en}");
        assert!(en.contains("GBK"), "{en}");
        assert!(en.contains("client 2: 1 of 4 answered"), "{en}");
        assert!(en.contains("0 of 5 checks passed"), "{en}");
        assert!(en.contains("Stopped"), "{en}");
        let zh = s.report(Lang::Zh).join("\n");
        assert!(zh.contains("客户端 2"), "{zh}");
        assert!(zh.contains("5 项检查中通过 0 项"), "{zh}");
    }

    #[test]
    fn client_numbers_read_as_ranges() {
        assert_eq!(ranges(&[1, 2, 3, 5, 7, 8, 9]), "1–3, 5, 7–9");
        assert_eq!(ranges(&[4]), "4");
        assert_eq!(ranges(&[]), "");
    }

    #[test]
    fn load_samples_are_bounded() {
        let mut l = LoadState::new(LoadConfig {
            addr: "127.0.0.1:9".parse().unwrap(),
            clients: 10,
            duration: Some(Duration::from_secs(10)),
            messages: None,
            rate: None,
            size: 64,
            udp: false,
            reply: crate::net::load::Reply::Echo,
            timeout: Duration::from_secs(5),
        });
        for k in 0..MAX_SAMPLES + 10 {
            l.apply(LoadEvent::Sample(Sample {
                at: Duration::from_millis(k as u64 * 500),
                connected: 10,
                messages_per_s: 1.0,
                sent_per_s: 1.0,
                received_per_s: 1.0,
                rtt: Default::default(),
                errors: 0,
            }));
        }
        assert_eq!(l.samples.len(), MAX_SAMPLES);
        assert_eq!(l.progress(), Some(1.0));
        assert_eq!(l.series(|s| s.connected as f64).len(), MAX_SAMPLES);
    }
}
