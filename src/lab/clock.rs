//! The lab's clock for the panel: virtual time advances with real time at a chosen speed
//! (real speed, slow motion down to 0.05×, fast), or not at all while paused. Headless runs
//! do not use it: they jump from event to event as fast as the CPU allows.

use std::time::Duration;

/// Speeds the panel offers, slowest first.
pub const SPEEDS: [f64; 9] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 50.0];

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clock {
    /// Virtual seconds per real second.
    pub speed: f64,
    pub paused: bool,
    /// Virtual microseconds owed but not yet whole.
    carry: f64,
}

impl Default for Clock {
    fn default() -> Self {
        Self {
            speed: 0.1,
            paused: false,
            carry: 0.0,
        }
    }
}

impl Clock {
    pub fn new(speed: f64) -> Self {
        Self {
            speed,
            ..Self::default()
        }
    }

    /// The virtual microseconds to run for `real` elapsed time (none while paused). A long
    /// gap (the window was hidden) counts as at most a quarter of a second, so the lab never
    /// leaps past what the class was watching.
    pub fn advance(&mut self, real: Duration) -> u64 {
        if self.paused || !self.speed.is_finite() || self.speed <= 0.0 {
            return 0;
        }
        let real = real.min(Duration::from_millis(250));
        let want = real.as_secs_f64() * 1e6 * self.speed + self.carry;
        let whole = want.floor();
        self.carry = want - whole;
        whole as u64
    }

    /// The next speed up or down the list from the current one.
    pub fn faster(&mut self) {
        if let Some(s) = SPEEDS.iter().find(|s| **s > self.speed + 1e-9) {
            self.speed = *s;
        }
    }

    pub fn slower(&mut self) {
        if let Some(s) = SPEEDS.iter().rev().find(|s| **s < self.speed - 1e-9) {
            self.speed = *s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_motion_and_pause() {
        let mut c = Clock::new(0.05);
        assert_eq!(c.advance(Duration::from_millis(100)), 5_000);
        c.paused = true;
        assert_eq!(c.advance(Duration::from_millis(100)), 0);
        c.paused = false;
        // A gap of a minute counts as a quarter of a second.
        assert_eq!(c.advance(Duration::from_secs(60)), 12_500);
        // Fractions are carried, not lost: 1,000 frames of 16.667 ms at 0.05×.
        let mut c = Clock::new(0.05);
        let total: u64 = (0..1000)
            .map(|_| c.advance(Duration::from_micros(16_667)))
            .sum();
        assert_eq!(total, 833_350);
        c.faster();
        assert_eq!(c.speed, 0.1);
        c.slower();
        c.slower();
        assert_eq!(c.speed, 0.05);
    }
}
