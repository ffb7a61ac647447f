//! Search for the highest rate a system sustains: ramp up geometrically until a trial fails,
//! then bisect between the highest pass and the lowest fail.

/// How to search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SearchPlan {
    /// First rate tried.
    pub start: f64,
    /// Ramp factor (> 1) while trials pass.
    pub factor: f64,
    /// Never try above this.
    pub ceiling: f64,
    /// Stop bisecting once the lowest fail is within this fraction above the highest pass.
    pub precision: f64,
    /// At most this many trials in all.
    pub max_trials: usize,
}

/// What a search found.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchResult {
    /// The highest rate that passed (`None`: none did).
    pub max_pass: Option<f64>,
    /// The lowest rate that failed (`None`: none did, the ceiling passed).
    pub min_fail: Option<f64>,
    /// Every trial in order: (rate, passed).
    pub trials: Vec<(f64, bool)>,
}

/// Runs `trial(rate) -> passed` as planned. Ramp: start, start·factor, … (capped at the
/// ceiling) until a failure; then bisection. If the very first trial fails, the bisection
/// runs between 0 and it (halving until something passes).
pub fn find_max(plan: SearchPlan, mut trial: impl FnMut(f64) -> bool) -> SearchResult {
    let mut trials = Vec::new();
    let mut lo: Option<f64> = None;
    let mut hi: Option<f64> = None;
    let mut rate = plan.start.min(plan.ceiling);
    let factor = plan.factor.max(1.01);
    // Ramp.
    while trials.len() < plan.max_trials {
        let ok = trial(rate);
        trials.push((rate, ok));
        if !ok {
            hi = Some(rate);
            break;
        }
        lo = Some(rate);
        if rate >= plan.ceiling {
            break;
        }
        rate = (rate * factor).min(plan.ceiling);
    }
    // Bisect.
    while let Some(h) = hi {
        let l = lo.unwrap_or(0.0);
        if trials.len() >= plan.max_trials || (l > 0.0 && h <= l * (1.0 + plan.precision)) {
            break;
        }
        let mid = (l + h) / 2.0;
        let ok = trial(mid);
        trials.push((mid, ok));
        if ok {
            lo = Some(mid);
        } else {
            hi = Some(mid);
        }
    }
    SearchResult {
        max_pass: lo,
        min_fail: hi,
        trials,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> SearchPlan {
        SearchPlan {
            start: 100_000.0,
            factor: 2.0,
            ceiling: 10_000_000.0,
            precision: 0.03,
            max_trials: 30,
        }
    }

    #[test]
    fn converges_on_the_capacity() {
        let cap = 1_234_567.0;
        let r = find_max(plan(), |x| x <= cap);
        let lo = r.max_pass.unwrap();
        let hi = r.min_fail.unwrap();
        assert!(lo <= cap && hi > cap);
        assert!(hi <= lo * 1.03, "{lo} {hi}");
        // Ramp 0.1, 0.2, 0.4, 0.8, 1.6 M, then a handful of bisections.
        assert_eq!(
            &r.trials[..5].iter().map(|t| t.1).collect::<Vec<_>>(),
            &[true, true, true, true, false]
        );
        assert!(r.trials.len() <= 12, "{}", r.trials.len());
    }

    #[test]
    fn ceiling_and_floor() {
        let r = find_max(plan(), |_| true);
        assert_eq!(r.max_pass, Some(10_000_000.0));
        assert_eq!(r.min_fail, None);
        let r = find_max(plan(), |x| x <= 30_000.0);
        assert!(r.max_pass.unwrap() <= 30_000.0 && r.max_pass.unwrap() > 28_000.0);
        let mut p = plan();
        p.max_trials = 3;
        let r = find_max(p, |_| false);
        assert_eq!(r.max_pass, None);
        assert_eq!(r.trials.len(), 3);
    }
}
