//! What the benchmarks share, included by each as `mod common;`: this process's memory from
//! /proc (Linux; 0 elsewhere), resetting its peak, percentiles, and the side-by-side table
//! the multi-pass benches print.

#![allow(dead_code)]

use std::time::Duration;

/// A `/proc/self/status` field in KiB (VmRSS, VmHWM, ...); 0 where there is none.
pub fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Resets VmHWM to the current RSS (Linux: write 5 to clear_refs), so a pass reports its own
/// peak.
pub fn reset_hwm() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// KiB as MiB, one decimal.
pub fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// Milliseconds, three decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

/// The `p`th percentile of sorted durations (nearest rank); zero for none.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Columns of (row name, value) printed side by side: a row per name, a column per pass.
pub fn print_columns<T: std::fmt::Display>(
    columns: &[(T, Vec<(String, String)>)],
    w: usize,
    cw: usize,
) {
    println!();
    let header: Vec<String> = columns.iter().map(|(t, _)| format!("{t:>cw$}")).collect();
    println!("{:<w$} | {}", "", header.join(" | "));
    println!("{}", "-".repeat(w + 1 + columns.len() * (cw + 3)));
    let names: Vec<String> = columns
        .iter()
        .find(|(_, c)| !c.is_empty())
        .map(|(_, c)| c.iter().map(|(n, _)| n.clone()).collect())
        .unwrap_or_default();
    for (i, name) in names.iter().enumerate() {
        let row: Vec<String> = columns
            .iter()
            .map(|(_, c)| format!("{:>cw$}", c.get(i).map_or("?", |(_, v)| v.as_str())))
            .collect();
        println!("{name:<w$} | {}", row.join(" | "));
    }
    println!();
}
