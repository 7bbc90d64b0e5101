//! `lab`: a glass-box lab scenario, as text or JSON lines.

use super::*;

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

pub(super) fn parse_percent(s: &str) -> Result<f64, String> {
    match s.trim().trim_end_matches('%').parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=100.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "'{s}' is not a percentage (use a number from 0 to 100, e.g. 5)"
        )),
    }
}

pub(super) fn parse_rate_kbit(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(v) if v <= 10_000_000 => Ok(v),
        _ => Err(format!(
            "'{s}' is not a rate in kbit/s (use a whole number from 0 to 10000000, e.g. 2000)"
        )),
    }
}

pub(super) fn parse_queue(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(v) if (1..=100_000).contains(&v) => Ok(v),
        _ => Err(format!(
            "'{s}' is not a queue length (use a whole number of packets from 1 to 100000)"
        )),
    }
}

pub(super) fn parse_congestion(s: &str) -> Result<crate::lab::Congestion, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "reno" => Ok(crate::lab::Congestion::Reno),
        "cubic" => Ok(crate::lab::Congestion::Cubic),
        _ => Err(format!(
            "'{s}' is not a congestion control (use reno or cubic)"
        )),
    }
}

pub(super) fn lab(args: LabArgs, lang: Lang, io: &mut Io) -> ExitCode {
    use crate::lab::report::{Rel, event_json};
    use crate::lab::scenario::{Options, Scenario, run_with};
    use crate::model::lab::{finding_text, text_line};
    let Some(scenario) = Scenario::from_name(&args.scenario) else {
        let names: Vec<&str> = Scenario::ALL.iter().map(|s| s.name()).collect();
        errln!(
            io,
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
        errln!(
            io,
            "socket-workbench: {}",
            describe_error(lang, &NetError::file_write(path, &e))
        );
        return ExitCode::from(EXIT_NETWORK);
    }
    let rel = Rel::of(lab);
    let mut out = std::io::BufWriter::new(&mut *io.out);
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
