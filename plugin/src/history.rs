//! The last seconds of one side at 16 kHz (what the analysis window and
//! the checks read: up to 31.2 s), as a circular buffer, so that appending
//! never moves memory and never allocates.

use cocola::contract::WINDOW_SAMPLES;

pub struct History {
    ring: Vec<f32>,
    /// Next write position in `ring`.
    head: usize,
    /// Samples appended since the last clear.
    total: u64,
}

impl Default for History {
    /// One window long.
    fn default() -> Self {
        Self::with_len(WINDOW_SAMPLES)
    }
}

impl History {
    /// Keeps the last `len` samples.
    pub fn with_len(len: usize) -> Self {
        Self {
            ring: vec![0.0; len],
            head: 0,
            total: 0,
        }
    }

    pub fn clear(&mut self) {
        self.ring.fill(0.0);
        self.head = 0;
        self.total = 0;
    }

    /// Samples appended since the last clear.
    pub fn total(&self) -> u64 {
        self.total
    }

    pub fn push(&mut self, samples: &[f32]) {
        let n = self.ring.len();
        // Only the last window's worth of a long input can survive.
        let samples = &samples[samples.len().saturating_sub(n)..];
        let first = samples.len().min(n - self.head);
        self.ring[self.head..self.head + first].copy_from_slice(&samples[..first]);
        self.ring[..samples.len() - first].copy_from_slice(&samples[first..]);
        self.head = (self.head + samples.len()) % n;
        self.total += samples.len() as u64;
    }

    /// Copies the last `out.len()` samples (at most the length kept),
    /// oldest first, into `out`. Before that many have been heard, the
    /// missing start is zeros.
    pub fn copy_last(&self, out: &mut [f32]) {
        let (n, len) = (self.ring.len(), out.len());
        assert!(len <= n, "asked for more than is kept");
        // The oldest sample wanted sits `len` before the write position.
        let from = (self.head + n - len) % n;
        let first = len.min(n - from);
        out[..first].copy_from_slice(&self.ring[from..from + first]);
        out[first..].copy_from_slice(&self.ring[..len - first]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_window_in_order() {
        let mut h = History::default();
        let signal: Vec<f32> = (0..WINDOW_SAMPLES * 2 + 123).map(|i| i as f32).collect();
        for chunk in signal.chunks(7_001) {
            h.push(chunk);
        }
        let mut out = vec![0.0; WINDOW_SAMPLES];
        h.copy_last(&mut out);
        assert_eq!(out, &signal[signal.len() - WINDOW_SAMPLES..]);
        assert_eq!(h.total(), signal.len() as u64);
        h.push(&signal);
        h.copy_last(&mut out);
        assert_eq!(out, &signal[signal.len() - WINDOW_SAMPLES..]);
        h.clear();
        h.copy_last(&mut out);
        assert!(out.iter().all(|&x| x == 0.0));
    }

    #[test]
    fn a_longer_history_gives_any_tail_and_zeros_before_the_start() {
        let mut h = History::with_len(10);
        h.push(&[1.0, 2.0, 3.0]);
        let mut out = [9.0; 5];
        h.copy_last(&mut out);
        assert_eq!(out, [0.0, 0.0, 1.0, 2.0, 3.0]);
        let signal: Vec<f32> = (0..27).map(|i| i as f32).collect();
        for chunk in signal.chunks(4) {
            h.push(chunk);
        }
        let mut out = [0.0; 7];
        h.copy_last(&mut out);
        assert_eq!(out, [20.0, 21.0, 22.0, 23.0, 24.0, 25.0, 26.0]);
        let mut all = [0.0; 10];
        h.copy_last(&mut all);
        assert_eq!(&all[..], &signal[17..]);
    }
}
