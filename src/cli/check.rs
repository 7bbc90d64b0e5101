//! `check-server` and `check-files`: grade an exercise-1 or exercise-2 server.

use super::*;

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

pub(super) fn parse_further_check(s: &str) -> Result<crate::net::check::CheckKind, String> {
    use crate::net::check::CheckKind;
    CheckKind::from_name(s.trim())
        .filter(|k| CheckKind::FURTHER.contains(k))
        .ok_or_else(|| {
            let names: Vec<&str> = CheckKind::FURTHER.iter().map(|k| k.name()).collect();
            format!("'{s}' is not a further check (use {})", names.join(", "))
        })
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

/// The checkers' output: a line per check as it ends (text, or one JSON object), then the
/// summary; exit 0 when every check passed, 1 otherwise.
pub(super) struct CheckReport<'a> {
    lang: Lang,
    json: bool,
    out: &'a mut (dyn Write + Send),
}

impl<'a> CheckReport<'a> {
    fn new(lang: Lang, json: bool, out: &'a mut (dyn Write + Send)) -> Self {
        Self { lang, json, out }
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

    fn finish(self, passed: usize, total: usize) -> ExitCode {
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

pub(super) fn check_files(args: CheckFilesArgs, lang: Lang, io: &mut Io) -> ExitCode {
    use crate::i18n::{describe_files_check, describe_files_verdict};
    use crate::net::check_files::{FilesCheck, FilesConfig, run_all};
    let addr = match check_target(&args.target, lang) {
        Ok(a) => a,
        Err(text) => {
            errln!(io, "socket-workbench: {text}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if !args.local.is_dir() {
        let err = std::io::Error::new(std::io::ErrorKind::NotFound, "not a folder");
        errln!(
            io,
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
    let mut report = CheckReport::new(lang, args.json, &mut *io.out);
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

pub(super) fn check_server(args: CheckServerArgs, lang: Lang, io: &mut Io) -> ExitCode {
    use crate::i18n::{describe_check, describe_verdict};
    use crate::net::check::{CheckConfig, run_all};
    let timeout = std::time::Duration::from_secs_f64(args.timeout.max(0.05));
    let addr = match check_target(&args.target, lang) {
        Ok(a) => a,
        Err(text) => {
            errln!(io, "socket-workbench: {text}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let expect = if args.hex {
        match args.expect.in_hex() {
            Ok(e) => e,
            Err(text) => {
                errln!(io, "socket-workbench: --expect: {text}");
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
    let mut report = CheckReport::new(lang, args.json, &mut *io.out);
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
