//! Residence-time figures for one benchmark phase from two snapshots of Meridian's status.
//!
//! `meridian status --json` carries a top-level `"residence"` object: the Delay_Resp TX stamp
//! minus its receiveTimestamp (the Delay_Req's RX stamp), accumulated since start:
//!
//! ```json
//! "residence": {"count": 123, "p50_ns": 900, "p99_ns": 2100, "p999_ns": 4000,
//!               "max_ns": 9000, "buckets": [[upper_bound_ns, count], ...]}
//! ```
//!
//! with only non-empty buckets, sorted by bound. The phase's distribution is the per-bucket
//! difference of the snapshot taken after the phase and the one taken before; its
//! percentiles are bucket upper bounds (as precise as Meridian's buckets).

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

/// Percentiles of the residence times recorded between two snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhaseResidence {
    /// Delay_Resp stamped in the phase.
    pub count: u64,
    /// Median: upper bound of its bucket, ns.
    pub p50_ns: u64,
    /// 99th percentile, ns (bucket upper bound).
    pub p99_ns: u64,
    /// 99.9th percentile, ns (bucket upper bound).
    pub p999_ns: u64,
    /// Upper bound of the highest non-empty bucket of the phase, ns.
    pub max_bucket_ns: u64,
}

/// Why two snapshots could not be compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResidenceError {
    /// The text is not JSON.
    NotJson(String),
    /// The status has no `residence` histogram (a Meridian without it).
    Missing,
    /// `residence.buckets` is not a list of `[bound, count]` pairs of integers.
    BadBuckets(String),
    /// A bucket's count went down: the snapshots come from different runs.
    Decreased {
        /// The bucket's bound, ns.
        bound_ns: u64,
    },
}

impl fmt::Display for ResidenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResidenceError::NotJson(e) => write!(f, "not JSON: {e}"),
            ResidenceError::Missing => f.write_str("no \"residence\" histogram in the status"),
            ResidenceError::BadBuckets(e) => write!(f, "residence.buckets: {e}"),
            ResidenceError::Decreased { bound_ns } => write!(
                f,
                "bucket ≤ {bound_ns} ns shrank between the snapshots (different Meridian runs?)"
            ),
        }
    }
}

impl std::error::Error for ResidenceError {}

/// The cumulative `(upper_bound_ns → count)` buckets of a status JSON text, or `None` if it
/// has no `residence` object.
pub fn buckets(status_json: &str) -> Result<Option<BTreeMap<u64, u64>>, ResidenceError> {
    let v: Value =
        serde_json::from_str(status_json).map_err(|e| ResidenceError::NotJson(e.to_string()))?;
    let Some(r) = v.get("residence").filter(|r| !r.is_null()) else {
        return Ok(None);
    };
    let list = r
        .get("buckets")
        .and_then(Value::as_array)
        .ok_or_else(|| ResidenceError::BadBuckets("missing or not a list".into()))?;
    let mut out = BTreeMap::new();
    for (i, b) in list.iter().enumerate() {
        let pair = b.as_array().filter(|p| p.len() == 2);
        let (Some(bound), Some(count)) = (
            pair.and_then(|p| p[0].as_u64()),
            pair.and_then(|p| p[1].as_u64()),
        ) else {
            return Err(ResidenceError::BadBuckets(format!(
                "entry {i} is not [bound_ns, count]: {b}"
            )));
        };
        *out.entry(bound).or_insert(0) += count;
    }
    Ok(Some(out))
}

/// The residence figures of the phase between `before` and `after` (status JSON texts).
/// A `before` without a histogram counts as empty (e.g. taken before the first request);
/// an `after` without one is [`ResidenceError::Missing`].
pub fn phase(before: &str, after: &str) -> Result<PhaseResidence, ResidenceError> {
    let b = buckets(before)?.unwrap_or_default();
    let a = buckets(after)?.ok_or(ResidenceError::Missing)?;
    let mut diff: Vec<(u64, u64)> = Vec::with_capacity(a.len());
    for (&bound, &count) in &a {
        let old = b.get(&bound).copied().unwrap_or(0);
        if count < old {
            return Err(ResidenceError::Decreased { bound_ns: bound });
        }
        if count > old {
            diff.push((bound, count - old));
        }
    }
    if let Some((&bound, _)) = b.iter().find(|(k, &c)| c > 0 && !a.contains_key(k)) {
        return Err(ResidenceError::Decreased { bound_ns: bound });
    }
    Ok(from_buckets(&diff))
}

/// Percentiles of a (non-cumulative) bucket list sorted by bound.
pub fn from_buckets(diff: &[(u64, u64)]) -> PhaseResidence {
    let count: u64 = diff.iter().map(|&(_, c)| c).sum();
    let at = |q: f64| {
        if count == 0 {
            return 0;
        }
        let rank = crate::hist::rank(q, count);
        let mut seen = 0;
        for &(bound, c) in diff {
            seen += c;
            if seen >= rank {
                return bound;
            }
        }
        diff.last().map_or(0, |&(b, _)| b)
    };
    PhaseResidence {
        count,
        p50_ns: at(0.5),
        p99_ns: at(0.99),
        p999_ns: at(0.999),
        max_bucket_ns: diff.last().map_or(0, |&(b, _)| b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(buckets: &str) -> String {
        format!(
            r#"{{"version":"0.1.0","uptime_s":5,"residence":{{"count":0,"p50_ns":0,"p99_ns":0,
               "p999_ns":0,"max_ns":0,"buckets":{buckets}}},"stats":{{}}}}"#
        )
    }

    #[test]
    fn difference_of_two_snapshots() {
        let before = status("[[1000,10],[2000,5]]");
        let after = status("[[500,100],[1000,1010],[2000,15],[8000,1]]");
        let r = phase(&before, &after).unwrap();
        // Phase: 100 at ≤500, 1000 at ≤1000, 10 at ≤2000, 1 at ≤8000 = 1111.
        assert_eq!(r.count, 1111);
        assert_eq!(r.p50_ns, 1000);
        // p99 is the 1100th value (⌈0.99 · 1111⌉): the last one at ≤1000; p99.9 the 1110th.
        assert_eq!(r.p99_ns, 1000);
        assert_eq!(r.p999_ns, 2000);
        assert_eq!(r.max_bucket_ns, 8000);
    }

    #[test]
    fn p99_rank_boundary() {
        // 99 values at ≤1000 and 1 at ≤5000: p99 is the 99th value.
        let r = from_buckets(&[(1000, 99), (5000, 1)]);
        assert_eq!(r.p99_ns, 1000);
        assert_eq!(r.p999_ns, 5000);
        let r = from_buckets(&[]);
        assert_eq!(r.count, 0);
        assert_eq!(r.p50_ns, 0);
    }

    #[test]
    fn missing_and_bad_inputs() {
        let plain = r#"{"version":"0.1.0","stats":{}}"#;
        assert_eq!(buckets(plain).unwrap(), None);
        assert_eq!(phase(plain, plain), Err(ResidenceError::Missing));
        // No histogram before (the first snapshot): everything after is the phase.
        let r = phase(plain, &status("[[1000,3]]")).unwrap();
        assert_eq!(r.count, 3);
        assert!(matches!(
            phase("nope", plain),
            Err(ResidenceError::NotJson(_))
        ));
        assert!(matches!(
            phase(plain, &status("[[1000]]")),
            Err(ResidenceError::BadBuckets(_))
        ));
        assert_eq!(
            phase(&status("[[1000,3]]"), &status("[[1000,2]]")),
            Err(ResidenceError::Decreased { bound_ns: 1000 })
        );
        assert_eq!(
            phase(&status("[[1000,3]]"), &status("[[2000,2]]")),
            Err(ResidenceError::Decreased { bound_ns: 1000 })
        );
    }
}
