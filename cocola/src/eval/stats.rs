//! Summary statistics of a set of scores: mean, sample standard deviation and
//! a 95 % confidence interval of the mean.
//!
//! Evaluation sets are small (the paper's Table III uses 168 and 236 pairs; a
//! quick check may use ten), so the interval uses Student's t with n - 1
//! degrees of freedom rather than the normal 1.96. The t quantile is computed
//! exactly (inverse of the t CDF through the regularized incomplete beta
//! function) instead of read from a table, so any n works.

use serde::Serialize;

/// Confidence level of every interval this module reports.
pub const CONFIDENCE: f64 = 0.95;

/// n, mean, spread and 95 % confidence interval of some values.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub n: usize,
    pub mean: f64,
    /// Sample standard deviation (n - 1 in the denominator); `None` for n = 1.
    pub std: Option<f64>,
    /// Standard error of the mean, std / sqrt(n); `None` for n = 1.
    pub std_error: Option<f64>,
    /// 95 % confidence interval of the mean (Student t, n - 1 degrees of
    /// freedom); `None` for n = 1.
    pub ci95: Option<Interval>,
}

/// A closed interval [low, high].
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

impl Summary {
    /// Summary of `values`; `None` when there is none. Callers pass finite
    /// values only (non-finite scores are reported as errors upstream).
    pub fn of(values: &[f64]) -> Option<Self> {
        if values.is_empty() {
            return None;
        }
        let n = values.len();
        let mean = values.iter().sum::<f64>() / n as f64;
        if n == 1 {
            return Some(Self {
                n,
                mean,
                std: None,
                std_error: None,
                ci95: None,
            });
        }
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let std = var.sqrt();
        let std_error = std / (n as f64).sqrt();
        let half = student_t_quantile(0.5 + CONFIDENCE / 2.0, (n - 1) as f64) * std_error;
        Some(Self {
            n,
            mean,
            std: Some(std),
            std_error: Some(std_error),
            ci95: Some(Interval {
                low: mean - half,
                high: mean + half,
            }),
        })
    }
}

/// The 0.975 quantile of the standard normal distribution (two-sided 95 %).
const NORMAL_QUANTILE_975: f64 = 1.959_963_984_540_054;

/// How often one thing beat another: wins (ties count one half) out of n
/// comparisons, with the Wilson score interval at 95 %, which unlike the
/// normal approximation stays inside [0, 1] and stays honest near 0 and 1,
/// where a good model's win rates live.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct WinRate {
    pub n: usize,
    pub wins: f64,
    /// wins / n, in 0..=1.
    pub rate: f64,
    pub ci95: Interval,
}

impl WinRate {
    /// The win rate of `outcomes` (each 1 for a win, 0.5 for a tie, 0 for a
    /// loss); `None` when there is none.
    pub fn of(outcomes: &[f64]) -> Option<Self> {
        if outcomes.is_empty() {
            return None;
        }
        let n = outcomes.len();
        let wins: f64 = outcomes.iter().sum();
        let p = wins / n as f64;
        let z = NORMAL_QUANTILE_975;
        let z2n = z * z / n as f64;
        let centre = (p + z2n / 2.0) / (1.0 + z2n);
        let half = z / (1.0 + z2n) * (p * (1.0 - p) / n as f64 + z2n / (4.0 * n as f64)).sqrt();
        Some(Self {
            n,
            wins,
            rate: p,
            ci95: Interval {
                low: (centre - half).max(0.0),
                high: (centre + half).min(1.0),
            },
        })
    }
}

/// 1 when `a` beats `b`, 0.5 for a tie, 0 when it loses; NaN loses to any
/// number (and ties with NaN).
pub fn win(a: f64, b: f64) -> f64 {
    let key = |v: f64| if v.is_nan() { f64::NEG_INFINITY } else { v };
    match key(a).partial_cmp(&key(b)) {
        Some(std::cmp::Ordering::Greater) => 1.0,
        Some(std::cmp::Ordering::Equal) => 0.5,
        _ => 0.0,
    }
}

/// Seconds of audio processed per second of wall time; `None` when nothing
/// was processed or no time passed.
pub fn real_time_factor(audio_seconds: f64, seconds: f64) -> Option<f64> {
    (seconds > 0.0 && audio_seconds > 0.0).then(|| audio_seconds / seconds)
}

/// The p-quantile of Student's t distribution with `df` > 0 degrees of
/// freedom: the t with P(T <= t) = p, for 0 < p < 1.
///
/// Inverts [`student_t_cdf`] by bisection: the CDF is monotonic, so bisection
/// cannot fail, and 200 halvings reach the limit of f64 precision.
pub fn student_t_quantile(p: f64, df: f64) -> f64 {
    assert!(
        p > 0.0 && p < 1.0 && df > 0.0,
        "student_t_quantile({p}, {df}) out of domain"
    );
    if p == 0.5 {
        return 0.0;
    }
    if p < 0.5 {
        return -student_t_quantile(1.0 - p, df);
    }
    // Bracket the quantile: t grows without bound as df -> 0 or p -> 1.
    let mut high = 1.0;
    while student_t_cdf(high, df) < p {
        high *= 2.0;
        if !high.is_finite() {
            return f64::INFINITY;
        }
    }
    let mut low = 0.0;
    for _ in 0..200 {
        let mid = 0.5 * (low + high);
        if mid == low || mid == high {
            break;
        }
        if student_t_cdf(mid, df) < p {
            low = mid;
        } else {
            high = mid;
        }
    }
    0.5 * (low + high)
}

/// Two-sided exact McNemar test: the probability, if two models were equally
/// good, that of the `gained + lost` comparisons they decide differently
/// one would win at least this lopsided a share. Under that hypothesis
/// each such comparison is a fair coin, so this is twice the binomial tail
/// P(X <= min) with X ~ Bin(n, 1/2), which is I_{1/2}(n - min, min + 1).
pub fn mcnemar_exact_p(gained: usize, lost: usize) -> f64 {
    let n = gained + lost;
    let fewer = gained.min(lost);
    // The most even split there is (n/2 each, or one apart for odd n) has
    // a tail of at least one half: p = 1 exactly, not a rounding below it.
    if 2 * fewer + 1 >= n {
        return 1.0;
    }
    let tail = regularized_incomplete_beta(0.5, (n - fewer) as f64, fewer as f64 + 1.0);
    (2.0 * tail).min(1.0)
}

/// P(T <= t) for Student's t with `df` degrees of freedom:
/// for t >= 0 it is 1 - I_x(df/2, 1/2) / 2 with x = df / (df + t^2).
pub fn student_t_cdf(t: f64, df: f64) -> f64 {
    let x = df / (df + t * t);
    let tail = 0.5 * regularized_incomplete_beta(x, 0.5 * df, 0.5);
    if t >= 0.0 {
        1.0 - tail
    } else {
        tail
    }
}

/// I_x(a, b), the regularized incomplete beta function, for 0 <= x <= 1.
/// Continued fraction (modified Lentz), used on the side of the symmetry
/// I_x(a, b) = 1 - I_{1-x}(b, a) where it converges quickly.
fn regularized_incomplete_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front.exp() * beta_continued_fraction(x, a, b) / a
    } else {
        1.0 - ln_front.exp() * beta_continued_fraction(1.0 - x, b, a) / b
    }
}

/// The continued fraction of the incomplete beta function, evaluated with the
/// modified Lentz algorithm.
fn beta_continued_fraction(x: f64, a: f64, b: f64) -> f64 {
    const TINY: f64 = 1e-300;
    const EPS: f64 = 1e-16;
    let mut c = 1.0;
    let mut d = 1.0 - (a + b) * x / (a + 1.0);
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut result = d;
    for m in 1..=10_000 {
        let m = m as f64;
        // Even step: coefficient m(b - m)x / ((a + 2m - 1)(a + 2m)).
        let even = m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m));
        d = 1.0 + even * d;
        d = if d.abs() < TINY { 1.0 / TINY } else { 1.0 / d };
        c = 1.0 + even / c;
        if c.abs() < TINY {
            c = TINY;
        }
        result *= d * c;
        // Odd step: coefficient -(a + m)(a + b + m)x / ((a + 2m)(a + 2m + 1)).
        let odd = -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0));
        d = 1.0 + odd * d;
        d = if d.abs() < TINY { 1.0 / TINY } else { 1.0 / d };
        c = 1.0 + odd / c;
        if c.abs() < TINY {
            c = TINY;
        }
        let step = d * c;
        result *= step;
        if (step - 1.0).abs() < EPS {
            break;
        }
    }
    result
}

/// ln Γ(x) for x > 0 (Lanczos approximation, g = 7, nine terms; relative
/// error around 1e-15), with the reflection formula below 0.5.
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const COEFFICIENTS: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = COEFFICIENTS[0];
    for (i, &c) in COEFFICIENTS.iter().enumerate().skip(1) {
        sum += c / (x + i as f64);
    }
    let t = x + G + 0.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mcnemar_matches_the_binomial_tail() {
        // 0 of 10 discordant comparisons for one side: 2 * 2^-10.
        assert!((mcnemar_exact_p(10, 0) - 2.0 / 1024.0).abs() < 1e-12);
        assert!((mcnemar_exact_p(0, 10) - 2.0 / 1024.0).abs() < 1e-12);
        // 2 of 10: 2 * (1 + 10 + 45) / 1024.
        assert!((mcnemar_exact_p(8, 2) - 112.0 / 1024.0).abs() < 1e-12);
        assert_eq!(mcnemar_exact_p(5, 5), 1.0);
        assert_eq!(mcnemar_exact_p(0, 0), 1.0);
        assert_eq!(mcnemar_exact_p(3, 4), 1.0, "the nearest split to even is no evidence");
        // 30 of 90: 2 * sum of C(90, i) for i <= 30, over 2^90 (summed exactly).
        let p = mcnemar_exact_p(60, 30);
        assert!((p - 0.002_060_265_680_963).abs() < 1e-12, "{p}");
        assert!(mcnemar_exact_p(5_000, 4_000) < 1e-20);
    }

    #[test]
    fn ln_gamma_matches_factorials() {
        for (n, factorial) in [(1.0, 1.0f64), (2.0, 1.0), (5.0, 24.0), (11.0, 3_628_800.0)] {
            assert!((ln_gamma(n) - factorial.ln()).abs() < 1e-12, "ln_gamma({n})");
        }
        // Γ(1/2) = sqrt(pi).
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-12);
    }

    #[test]
    fn t_quantiles_match_published_tables() {
        // Two-sided 95 % critical values (p = 0.975) and a few others, from
        // standard tables (10 significant digits).
        let known = [
            (0.975, 1.0, 12.706_204_74),
            (0.975, 2.0, 4.302_652_730),
            (0.975, 3.0, 3.182_446_305),
            (0.975, 4.0, 2.776_445_105),
            (0.975, 5.0, 2.570_581_836),
            (0.975, 10.0, 2.228_138_852),
            (0.975, 30.0, 2.042_272_456),
            (0.975, 100.0, 1.983_971_519),
            (0.975, 1000.0, 1.962_339_081),
            (0.95, 4.0, 2.131_846_786),
            (0.995, 7.0, 3.499_483_297),
            (0.9, 1.0, 3.077_683_537),
        ];
        for (p, df, expected) in known {
            let t = student_t_quantile(p, df);
            assert!(
                (t - expected).abs() < 1e-7 * expected.max(1.0),
                "t({p}, {df}) = {t}, expected {expected}"
            );
            assert!((student_t_quantile(1.0 - p, df) + expected).abs() < 1e-7 * expected.max(1.0));
        }
        // Large df tends to the normal quantile 1.959963985.
        assert!((student_t_quantile(0.975, 1e7) - 1.959_963_985).abs() < 1e-6);
        assert_eq!(student_t_quantile(0.5, 3.0), 0.0);
    }

    #[test]
    fn cdf_is_symmetric_and_monotonic() {
        for df in [1.0, 2.5, 9.0] {
            let mut last = 0.0;
            for i in -40..=40 {
                let t = i as f64 * 0.25;
                let p = student_t_cdf(t, df);
                assert!(p >= last, "not monotonic at t = {t}, df = {df}");
                assert!((p + student_t_cdf(-t, df) - 1.0).abs() < 1e-12);
                last = p;
            }
        }
        // df = 1 is the Cauchy distribution: P(T <= 1) = 3/4.
        assert!((student_t_cdf(1.0, 1.0) - 0.75).abs() < 1e-12);
    }

    #[test]
    fn summary_uses_sample_std_and_t_interval() {
        let s = Summary::of(&[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!(s.n, 4);
        assert!((s.mean - 2.5).abs() < 1e-12);
        let std = (5.0f64 / 3.0).sqrt();
        assert!((s.std.unwrap() - std).abs() < 1e-12);
        let half = 3.182_446_305 * std / 2.0;
        let ci = s.ci95.unwrap();
        assert!((ci.low - (2.5 - half)).abs() < 1e-7 && (ci.high - (2.5 + half)).abs() < 1e-7);

        let one = Summary::of(&[7.0]).unwrap();
        assert_eq!((one.n, one.mean, one.std, one.ci95), (1, 7.0, None, None));
        assert!(Summary::of(&[]).is_none());
    }

    #[test]
    fn wilson_interval_matches_the_textbook() {
        // 80 wins of 100: Wilson 95 % interval [0.7112, 0.8666].
        let r = WinRate::of(&[vec![1.0; 80], vec![0.0; 20]].concat()).unwrap();
        assert_eq!(r.n, 100);
        assert!((r.rate - 0.8).abs() < 1e-12);
        assert!(
            (r.ci95.low - 0.7112).abs() < 2e-4 && (r.ci95.high - 0.8666).abs() < 2e-4,
            "{r:?}"
        );
        // all wins: the interval still has width, and stays within [0, 1]
        let all = WinRate::of(&[1.0; 30]).unwrap();
        assert!((all.ci95.high - 1.0).abs() < 1e-12);
        assert!(all.ci95.low > 0.85 && all.ci95.low < 0.9, "{all:?}");
        assert_eq!(WinRate::of(&[]), None);
        assert_eq!(WinRate::of(&[0.5, 0.5]).unwrap().rate, 0.5);
    }

    #[test]
    fn wins_ties_and_nan() {
        assert_eq!(win(2.0, 1.0), 1.0);
        assert_eq!(win(1.0, 1.0), 0.5);
        assert_eq!(win(0.0, 1.0), 0.0);
        assert_eq!(win(f64::NAN, -1e30), 0.0);
        assert_eq!(win(-1e30, f64::NAN), 1.0);
    }
}
