//! Admission of received messages, after their cheap validation (parse, domain, sdoId, not
//! our own) and before any work: per-source token buckets in a fixed-size table, then a
//! per-millisecond budget for each class of traffic, so junk from one sender spends its own
//! allowance and not that of the good slaves, and no class can starve another.
//!
//! The source table has a fixed number of slots, allocated once. A source is looked up in
//! two slots chosen by a keyed hash (the key comes from the configuration, so a sender
//! cannot aim at a good slave's slots); a new source takes an empty or idle one of the two,
//! else the one idle longest — a flood of spoofed addresses evicts only other idle or
//! flooding entries first, and a good slave sending steadily keeps its slot.

use super::io::PeerAddress;
use super::time::Time;

/// The classes of traffic with their own budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Delay_Req and Pdelay_Req.
    Event = 0,
    /// Announce and other general messages.
    General = 1,
    /// Signaling (unicast negotiation).
    Signaling = 2,
    /// Management.
    Management = 3,
}

/// Admission settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdmitConfig {
    /// Budget per millisecond of each [`Class`], all sources together.
    pub per_ms: [u32; 4],
    /// Messages per second one source may send (its bucket's rate).
    pub per_source_per_s: u32,
    /// … and in a burst (its bucket's depth).
    pub per_source_burst: u32,
    /// Slots of the source table (rounded up to a power of two).
    pub sources: u32,
    /// The hash key.
    pub key: u64,
}

impl AdmitConfig {
    /// `requests_per_ms` for event messages; a quarter of it (at least 1) for signaling and
    /// for general messages, a tenth for management; `per_source_per_s` messages/s per
    /// source (default 512: a G.8275.2 slave at 128 Delay_Req/s with its Announce,
    /// Signaling and management to spare), bursts of an eighth of a second's worth (64 at
    /// the default, at least 1); 4 096 sources.
    pub fn from_requests_per_ms(requests_per_ms: u32, per_source_per_s: u32, key: u64) -> Self {
        let r = requests_per_ms.max(1);
        let s = per_source_per_s.max(1);
        AdmitConfig {
            per_ms: [r, (r / 4).max(1), (r / 4).max(1), (r / 10).max(1)],
            per_source_per_s: s,
            per_source_burst: (s / 8).max(1),
            sources: 4_096,
            key,
        }
    }
}

/// Why a message was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Its source is over its own rate.
    Source,
    /// Its class is over its budget for this millisecond.
    Class,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    source: Option<PeerAddress>,
    /// Tokens, in thousandths of a message.
    tokens_milli: u64,
    /// When it was last refilled (and used).
    last: Time,
}

/// The admission state.
#[derive(Debug)]
pub struct Admission {
    cfg: AdmitConfig,
    slots: Vec<Slot>,
    window: Time,
    counts: [u32; 4],
}

/// A source idle this long loses its slot to a newcomer first (ns).
const IDLE_NS: u64 = 2_000_000_000;

impl Admission {
    /// Admission as `cfg` says; its table allocated now, once.
    pub fn new(cfg: AdmitConfig) -> Self {
        // A power of two, so a slot is the hash's bits under a mask.
        let n = (cfg.sources.max(2) as usize).next_power_of_two();
        Admission {
            cfg,
            slots: vec![
                Slot {
                    source: None,
                    tokens_milli: 0,
                    last: Time::ZERO,
                };
                n
            ],
            window: Time::ZERO,
            counts: [0; 4],
        }
    }

    /// The source's two candidate slots, from one keyed hash (SplitMix64 over the key and
    /// the address's two halves): its low and high bits pick one slot each.
    fn slots_of(&self, source: &PeerAddress) -> (usize, usize) {
        let (w0, w1, len) = match source {
            PeerAddress::Mac(m) => {
                let mut b = [0u8; 8];
                b[..6].copy_from_slice(m);
                (u64::from_le_bytes(b), 0, 6u64)
            }
            PeerAddress::Ipv4(a) => (u64::from(u32::from_le_bytes(*a)), 0, 4),
            PeerAddress::Ipv6(a) => {
                let (x, y) = a.split_at(8);
                (
                    u64::from_le_bytes(x.try_into().unwrap_or_default()),
                    u64::from_le_bytes(y.try_into().unwrap_or_default()),
                    16,
                )
            }
        };
        let mix = |h: u64| {
            let mut z = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        let h = mix(mix(self.cfg.key ^ w0 ^ (len << 56)) ^ w1);
        let mask = self.slots.len() - 1;
        (h as usize & mask, (h >> 32) as usize & mask)
    }

    /// Moves its times by `delta` ns (a clock step).
    pub fn shift(&mut self, delta: i64) {
        self.window = self.window.shifted(delta);
        for s in &mut self.slots {
            s.last = s.last.shifted(delta);
        }
    }

    /// Whether a message of `class` from `source` at `now` is admitted; charges it if so.
    pub fn admit(&mut self, now: Time, source: &PeerAddress, class: Class) -> Result<(), Refusal> {
        self.charge_source(now, source)?;
        if now.saturating_since(self.window) >= 1_000_000 {
            self.window = now;
            self.counts = [0; 4];
        }
        let c = &mut self.counts[class as usize];
        *c = c.saturating_add(1);
        if *c > self.cfg.per_ms[class as usize] {
            return Err(Refusal::Class);
        }
        Ok(())
    }

    fn charge_source(&mut self, now: Time, source: &PeerAddress) -> Result<(), Refusal> {
        let (a, b) = self.slots_of(source);
        let burst = u64::from(self.cfg.per_source_burst.max(1)) * 1000;
        let i = if self.slots[a].source == Some(*source) {
            a
        } else if self.slots[b].source == Some(*source) {
            b
        } else {
            // A newcomer: an empty or idle slot of its two, else the one idle longest.
            let free = |s: &Slot| s.source.is_none() || now.saturating_since(s.last) > IDLE_NS;
            let i = if free(&self.slots[a]) {
                a
            } else if free(&self.slots[b]) || self.slots[b].last < self.slots[a].last {
                b
            } else {
                a
            };
            self.slots[i] = Slot {
                source: Some(*source),
                tokens_milli: burst,
                last: now,
            };
            i
        };
        let rate = u64::from(self.cfg.per_source_per_s);
        let s = &mut self.slots[i];
        let elapsed = now.saturating_since(s.last);
        // rate per s = rate·1000 milli-tokens per 10⁹ ns.
        let refill = (u128::from(elapsed) * u128::from(rate) / 1_000_000) as u64;
        s.tokens_milli = s.tokens_milli.saturating_add(refill).min(burst);
        s.last = now.max(s.last);
        if s.tokens_milli < 1000 {
            return Err(Refusal::Source);
        }
        s.tokens_milli -= 1000;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> AdmitConfig {
        AdmitConfig {
            per_ms: [100, 100, 100, 100],
            per_source_per_s: 100,
            per_source_burst: 10,
            sources: 64,
            key: 42,
        }
    }

    #[test]
    fn one_source_gets_its_rate_and_burst() {
        let mut a = Admission::new(cfg());
        let src = PeerAddress::Ipv4([10, 0, 0, 1]);
        let t0 = Time(1_000_000_000);
        let ok = (0..50)
            .filter(|_| a.admit(t0, &src, Class::Event).is_ok())
            .count();
        assert_eq!(ok, 10, "the burst");
        assert_eq!(a.admit(t0, &src, Class::Event), Err(Refusal::Source));
        // 100/s: 10 ms later one more.
        assert!(a.admit(Time(1_010_000_000), &src, Class::Event).is_ok());
        assert_eq!(
            a.admit(Time(1_010_000_000), &src, Class::Event),
            Err(Refusal::Source)
        );
        // Another source is untouched.
        let other = PeerAddress::Ipv4([10, 0, 0, 2]);
        assert!(a.admit(Time(1_010_000_000), &other, Class::Event).is_ok());
    }

    #[test]
    fn classes_have_their_own_budgets() {
        let mut c = cfg();
        c.per_ms = [3, 1, 1, 1];
        c.per_source_burst = 1_000;
        let mut a = Admission::new(c);
        let t = Time(5_000_000);
        let src = |k: u8| PeerAddress::Ipv4([10, 0, 1, k]);
        for k in 0..3 {
            assert!(a.admit(t, &src(k), Class::Event).is_ok());
        }
        assert_eq!(a.admit(t, &src(9), Class::Event), Err(Refusal::Class));
        assert!(a.admit(t, &src(9), Class::Signaling).is_ok());
        assert!(a.admit(t, &src(9), Class::Management).is_ok());
        assert!(
            a.admit(Time(6_000_000), &src(9), Class::Event).is_ok(),
            "next ms"
        );
    }

    /// Thousands of spoofed addresses cycling through a small table do not take the slot of
    /// a good source that sends steadily: it keeps being admitted at its rate.
    #[test]
    fn a_spoofed_address_flood_does_not_evict_a_steady_source() {
        let mut c = cfg();
        c.per_ms = [u32::MAX; 4];
        let mut a = Admission::new(c);
        let good = PeerAddress::Ipv4([192, 168, 0, 1]);
        let mut admitted = 0;
        let mut t = Time(1_000_000_000);
        for k in 0..20_000u32 {
            t = t.plus_nanos(50_000); // 20 000 spoofed messages a second
            let b = k.to_be_bytes();
            let _ = a.admit(t, &PeerAddress::Ipv4([10, b[1], b[2], b[3]]), Class::Event);
            if k % 200 == 0 {
                // the good source: 100/s, its full rate
                admitted += usize::from(a.admit(t, &good, Class::Event).is_ok());
            }
        }
        assert!(admitted >= 99, "{admitted} of 100");
    }
}
