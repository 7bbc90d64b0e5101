//! Bytes per second over time, for the throughput plot of a connection or a download, with
//! the kernel's RTT and congestion window where it tells them. Pure: fed with events.

use std::collections::VecDeque;
use std::time::SystemTime;

/// Seconds of history kept.
pub const HISTORY_SECS: u64 = 600;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Throughput {
    /// Seconds of history kept; 0 means [`HISTORY_SECS`].
    history: u64,
    start: Option<SystemTime>,
    /// (second since start, bytes received in it), oldest first.
    rx: VecDeque<(u64, u64)>,
    tx: VecDeque<(u64, u64)>,
    /// (seconds since start, RTT in ms) and (seconds since start, cwnd in segments).
    rtt: VecDeque<[f64; 2]>,
    cwnd: VecDeque<[f64; 2]>,
}

impl Throughput {
    /// Keeps only `secs` of history (a server keeps one per client, so less each).
    pub fn with_history(secs: u64) -> Self {
        Self {
            history: secs.max(1),
            ..Self::default()
        }
    }

    fn history(&self) -> u64 {
        if self.history == 0 {
            HISTORY_SECS
        } else {
            self.history
        }
    }

    fn secs(&mut self, at: SystemTime) -> f64 {
        let start = *self.start.get_or_insert(at);
        at.duration_since(start).map_or(0.0, |d| d.as_secs_f64())
    }

    fn add(buckets: &mut VecDeque<(u64, u64)>, sec: u64, n: u64, history: u64) {
        match buckets.back_mut() {
            Some((s, b)) if *s == sec => *b += n,
            // A late event (the clock went back): count it in the newest bucket.
            Some((s, b)) if *s > sec => *b += n,
            _ => buckets.push_back((sec, n)),
        }
        while buckets
            .front()
            .is_some_and(|(s, _)| sec.saturating_sub(*s) > history)
        {
            buckets.pop_front();
        }
    }

    pub fn received(&mut self, at: SystemTime, n: u64) {
        let sec = self.secs(at) as u64;
        let history = self.history();
        Self::add(&mut self.rx, sec, n, history);
    }

    pub fn sent(&mut self, at: SystemTime, n: u64) {
        let sec = self.secs(at) as u64;
        let history = self.history();
        Self::add(&mut self.tx, sec, n, history);
    }

    pub fn kernel(&mut self, at: SystemTime, rtt_us: u32, cwnd: u32) {
        let t = self.secs(at);
        let history = self.history() as f64;
        for (series, v) in [
            (&mut self.rtt, f64::from(rtt_us) / 1000.0),
            (&mut self.cwnd, f64::from(cwnd)),
        ] {
            series.push_back([t, v]);
            while series.front().is_some_and(|p| t - p[0] > history) {
                series.pop_front();
            }
        }
    }

    /// Bytes per second received, one point per second (seconds without data are 0).
    pub fn rx_series(&self) -> Vec<[f64; 2]> {
        Self::series(&self.rx)
    }

    pub fn tx_series(&self) -> Vec<[f64; 2]> {
        Self::series(&self.tx)
    }

    pub fn rtt_series(&self) -> Vec<[f64; 2]> {
        self.rtt.iter().copied().collect()
    }

    pub fn cwnd_series(&self) -> Vec<[f64; 2]> {
        self.cwnd.iter().copied().collect()
    }

    pub fn is_empty(&self) -> bool {
        self.rx.is_empty() && self.tx.is_empty() && self.rtt.is_empty()
    }

    fn series(buckets: &VecDeque<(u64, u64)>) -> Vec<[f64; 2]> {
        let mut out = Vec::with_capacity(buckets.len() * 2);
        let mut next = None;
        for &(sec, bytes) in buckets {
            // Quiet seconds are zero, drawn as such (one point at each end of a gap).
            if let Some(n) = next
                && sec > n
            {
                out.push([n as f64, 0.0]);
                if sec > n + 1 {
                    out.push([(sec - 1) as f64, 0.0]);
                }
            }
            out.push([sec as f64, bytes as f64]);
            next = Some(sec + 1);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn buckets_per_second_with_quiet_seconds_at_zero() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let mut t = Throughput::default();
        t.received(t0, 100);
        t.received(t0 + Duration::from_millis(500), 50);
        t.received(t0 + Duration::from_millis(1_200), 10);
        t.received(t0 + Duration::from_secs(5), 7);
        assert_eq!(
            t.rx_series(),
            vec![
                [0.0, 150.0],
                [1.0, 10.0],
                [2.0, 0.0],
                [4.0, 0.0],
                [5.0, 7.0]
            ]
        );
        assert!(t.tx_series().is_empty());
        t.kernel(t0 + Duration::from_secs(2), 1500, 10);
        assert_eq!(t.rtt_series(), vec![[2.0, 1.5]]);
        assert_eq!(t.cwnd_series(), vec![[2.0, 10.0]]);
    }

    #[test]
    fn history_is_bounded() {
        let t0 = SystemTime::UNIX_EPOCH;
        let mut t = Throughput::default();
        for s in 0..2 * HISTORY_SECS {
            t.sent(t0 + Duration::from_secs(s), 1);
        }
        assert!(t.tx_series().len() as u64 <= HISTORY_SECS + 1);
        let mut short = Throughput::with_history(10);
        for s in 0..100 {
            short.received(t0 + Duration::from_secs(s), 1);
        }
        assert!(short.rx_series().len() <= 11, "{:?}", short.rx_series());
    }
}
