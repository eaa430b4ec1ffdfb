//! The last 5 s (one analysis window) of one side at 16 kHz, as a circular
//! buffer, so that appending never moves memory and never allocates.

use cocola::contract::WINDOW_SAMPLES;

pub struct History {
    ring: Vec<f32>,
    /// Next write position in `ring`.
    head: usize,
    /// Samples appended since the last clear.
    total: u64,
}

impl Default for History {
    fn default() -> Self {
        Self {
            ring: vec![0.0; WINDOW_SAMPLES],
            head: 0,
            total: 0,
        }
    }
}

impl History {
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

    /// Copies the window, oldest sample first, into `out` (`WINDOW_SAMPLES`
    /// long). Before a full window has been seen, the missing start is zeros.
    pub fn copy_window(&self, out: &mut [f32]) {
        let (older, newer) = self.ring.split_at(self.head);
        out[..newer.len()].copy_from_slice(newer);
        out[newer.len()..].copy_from_slice(older);
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
        h.copy_window(&mut out);
        assert_eq!(out, &signal[signal.len() - WINDOW_SAMPLES..]);
        assert_eq!(h.total(), signal.len() as u64);
        h.push(&signal);
        h.copy_window(&mut out);
        assert_eq!(out, &signal[signal.len() - WINDOW_SAMPLES..]);
        h.clear();
        h.copy_window(&mut out);
        assert!(out.iter().all(|&x| x == 0.0));
    }
}
