//! A GNSS reference: the receiver's PPS edge says *when* a second begins, its NMEA sentence
//! says *which* second it was (as linuxptp's `ts2phc` pairs them). Sans-IO: the caller stamps
//! each PPS edge and each sentence's arrival with the disciplined clock and hands them in;
//! out come labelled edges, from which the servo's offsets follow.
//!
//! Pairing: a sentence whose time has no fraction of a second, arriving within
//! [`GnssConfig::label_window_ns`] after an edge, labels that edge (receivers send the time of
//! the edge just passed). Consecutive labelled edges must agree with each other — n seconds
//! apart on the clock, n seconds apart in their labels — or the pair is dropped and counted:
//! a receiver that resets or jumps its time of day never moves the clock by a second.

use super::nmea::Sentence;

/// Pairing settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GnssConfig {
    /// A sentence labels the last edge if it arrives within this after it, ns.
    pub label_window_ns: u64,
}

impl Default for GnssConfig {
    /// 900 ms: receivers send the time 50–500 ms after the edge.
    fn default() -> Self {
        GnssConfig {
            label_window_ns: 900_000_000,
        }
    }
}

/// One labelled PPS edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    /// When the disciplined clock saw the edge (its own time, ns).
    pub local_ns: i128,
    /// The UTC second the edge begins (POSIX seconds).
    pub utc_seconds: i64,
    /// Whether the receiver reported a valid fix (RMC status A; ZDA follows the last RMC).
    pub valid: bool,
}

impl Edge {
    /// The clock's offset from the reference at the edge, ns, for a clock on the PTP
    /// timescale: its reading minus the edge's TAI (UTC + `tai_minus_utc`).
    pub fn offset_ns(&self, tai_minus_utc: i16) -> i128 {
        let tai = (i128::from(self.utc_seconds) + i128::from(tai_minus_utc)) * 1_000_000_000;
        self.local_ns - tai
    }
}

/// What the pairing met.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GnssCounters {
    /// PPS edges.
    pub edges: u64,
    /// Edges labelled and handed out.
    pub labelled: u64,
    /// Edges no sentence labelled (lost, late, or the serial line is quiet).
    pub unlabelled: u64,
    /// Labels that disagreed with the previous edge (receiver reset, jump), dropped.
    pub inconsistent: u64,
    /// Labelled edges without a valid fix.
    pub no_fix: u64,
}

/// Pairs PPS edges with sentences.
#[derive(Debug, Clone, Default)]
pub struct GnssPairing {
    cfg: GnssConfig,
    /// The last edge, not yet labelled.
    pending: Option<i128>,
    /// The last labelled edge: (local ns, UTC seconds).
    last: Option<(i128, i64)>,
    /// The last RMC's fix validity.
    fix: Option<bool>,
    /// GPS − UTC from the receiver, and whether from the almanac.
    leap: Option<(i16, bool)>,
    counters: GnssCounters,
}

impl GnssPairing {
    /// A pairing with `cfg`.
    pub fn new(cfg: GnssConfig) -> Self {
        GnssPairing {
            cfg,
            ..Self::default()
        }
    }

    /// What it met.
    pub fn counters(&self) -> GnssCounters {
        self.counters
    }

    /// TAI − UTC as the receiver knows it (GPS − UTC + 19), and whether from the almanac.
    pub fn tai_minus_utc_hint(&self) -> Option<(i16, bool)> {
        self.leap.map(|(g, a)| (g.saturating_add(19), a))
    }

    /// A PPS edge seen at `local_ns`.
    pub fn on_pps(&mut self, local_ns: i128) {
        self.counters.edges += 1;
        if self.pending.replace(local_ns).is_some() {
            self.counters.unlabelled += 1;
        }
    }

    /// A sentence that arrived at `local_ns`; a labelled edge if it labels one.
    pub fn on_sentence(&mut self, local_ns: i128, s: &Sentence) -> Option<Edge> {
        let (time, valid) = match *s {
            Sentence::Rmc { time, valid } => {
                self.fix = Some(valid);
                (time, valid)
            }
            Sentence::Zda { time } => (time, self.fix.unwrap_or(true)),
            Sentence::PubxTime {
                gps_minus_utc,
                from_almanac,
                ..
            } => {
                self.leap = Some((gps_minus_utc, from_almanac));
                return None;
            }
            Sentence::Other => return None,
        };
        if time.nanos != 0 {
            return None;
        }
        let edge = self.pending?;
        let after = local_ns - edge;
        if after < 0 || after > i128::from(self.cfg.label_window_ns) {
            return None;
        }
        self.pending = None;
        let utc = time.unix_seconds();
        if let Some((prev_local, prev_utc)) = self.last {
            let apart = ((edge - prev_local) as f64 / 1e9).round() as i64;
            if apart <= 0 || utc - prev_utc != apart {
                self.counters.inconsistent += 1;
                // The new numbering is judged by the next edge.
                self.last = Some((edge, utc));
                return None;
            }
        }
        self.last = Some((edge, utc));
        self.counters.labelled += 1;
        if !valid {
            self.counters.no_fix += 1;
        }
        Some(Edge {
            local_ns: edge,
            utc_seconds: utc,
            valid,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::servo::nmea::UtcTime;

    const S: i128 = 1_000_000_000;

    fn zda(unix: i64) -> Sentence {
        // 2024-01-01T00:00:00Z is 1 704 067 200.
        let s = unix - 1_704_067_200;
        Sentence::Zda {
            time: UtcTime {
                year: 2024,
                month: 1,
                day: 1,
                hour: (s / 3600) as u8,
                minute: (s / 60 % 60) as u8,
                second: (s % 60) as u8,
                nanos: 0,
            },
        }
    }

    /// Edges labelled by the sentence after them; a lost sentence leaves its edge
    /// unlabelled; a receiver reset that jumps the time is dropped, and the new numbering
    /// is taken once it is consistent; the offset is the clock's reading minus TAI.
    #[test]
    fn edges_are_labelled_consistently() {
        let t0 = 1_704_067_200i64;
        let mut p = GnssPairing::new(GnssConfig::default());
        // The clock reads TAI + 250 ns at each edge.
        let local = |k: i64| (i128::from(t0 + k) + 37) * S + 250;
        let mut edges = Vec::new();
        for k in 0..10i64 {
            p.on_pps(local(k));
            if k == 4 {
                continue; // the sentence is lost
            }
            // The reset at edge 6 reports a time an hour off; then correct again.
            let label = if k == 6 { t0 + k + 3600 } else { t0 + k };
            if let Some(e) = p.on_sentence(local(k) + 120 * 1_000_000, &zda(label)) {
                edges.push(e);
            }
        }
        let ks: Vec<i64> = edges.iter().map(|e| e.utc_seconds - t0).collect();
        // 6 is inconsistent; 7 is judged against 6's (wrong) numbering and dropped too.
        assert_eq!(ks, [0, 1, 2, 3, 5, 8, 9]);
        let c = p.counters();
        assert_eq!(
            (c.edges, c.labelled, c.unlabelled, c.inconsistent),
            (10, 7, 1, 2)
        );
        assert!(edges.iter().all(|e| e.offset_ns(37) == 250 && e.valid));
    }

    #[test]
    fn fix_validity_and_leap_hint() {
        let mut p = GnssPairing::new(GnssConfig::default());
        let time = |second| UtcTime {
            year: 2024,
            month: 1,
            day: 1,
            hour: 0,
            minute: 0,
            second,
            nanos: 0,
        };
        p.on_pps(S);
        let e = p.on_sentence(
            S + 100_000_000,
            &Sentence::Rmc {
                time: time(0),
                valid: false,
            },
        );
        assert_eq!(e.map(|e| e.valid), Some(false));
        // ZDA follows the last RMC's validity; a sentence 1.2 s late labels nothing.
        p.on_pps(2 * S);
        assert_eq!(
            p.on_sentence(3 * S + 200_000_000, &zda(1_704_067_201)),
            None
        );
        p.on_pps(3 * S);
        let e = p.on_sentence(3 * S + 1, &zda(1_704_067_202)).unwrap();
        assert!(!e.valid);
        assert_eq!(p.counters().no_fix, 2);
        assert_eq!(p.tai_minus_utc_hint(), None);
        p.on_sentence(
            0,
            &Sentence::PubxTime {
                time: time(3),
                gps_minus_utc: 18,
                from_almanac: true,
            },
        );
        assert_eq!(p.tai_minus_utc_hint(), Some((37, true)));
    }
}
