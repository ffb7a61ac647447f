//! Unicast negotiation service (IEEE 1588-2019 16.1) for thousands of slaves.
//!
//! * Slaves live in a slab addressed by `u32` handles; an address map finds them.
//! * Each (message type, interval) pair has one **rate bucket** holding the slaves granted
//!   that rate. A bucket spreads its members evenly across the interval (member `i` of `n`
//!   is due at `cycle_start + i·period/n`), so 10 000 slaves at 16 Hz are a steady stream, not
//!   a burst each 62.5 ms. The engine wakes for the earliest due bucket only. A slave that
//!   leaves vacates its slot and the next to join takes it, so departures do not move anyone
//!   else's phase (a slave's Sync interval stays its grant's, within period/n); a bucket is
//!   compacted only when more than half of it is vacant.
//! * Grants expire; a sweep once a second drops expired grants and slaves left with none.
//! * Limits (slaves, rates, durations, total message rate) turn requests into DENY (a grant
//!   of duration 0) and are counted by reason.

use std::collections::HashMap;

use super::config::UnicastLimits;
use super::io::PeerAddress;
use super::{log_interval_nanos, Time};
use crate::wire::{MessageType, PortIdentity};

/// The message types a slave can be granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantType {
    /// Announce.
    Announce = 0,
    /// Sync (and Follow_Up when two-step).
    Sync = 1,
    /// Delay_Resp.
    DelayResp = 2,
    /// Pdelay_Resp.
    PdelayResp = 3,
}

impl GrantType {
    /// All four, in index order.
    pub const ALL: [GrantType; 4] = [
        GrantType::Announce,
        GrantType::Sync,
        GrantType::DelayResp,
        GrantType::PdelayResp,
    ];

    /// The grant type for a REQUEST's messageType, if it can be granted.
    pub fn from_message_type(mt: MessageType) -> Option<Self> {
        match mt {
            MessageType::Announce => Some(GrantType::Announce),
            MessageType::Sync => Some(GrantType::Sync),
            MessageType::DelayResp => Some(GrantType::DelayResp),
            MessageType::PdelayResp => Some(GrantType::PdelayResp),
            _ => None,
        }
    }

    /// The message type.
    pub fn message_type(self) -> MessageType {
        match self {
            GrantType::Announce => MessageType::Announce,
            GrantType::Sync => MessageType::Sync,
            GrantType::DelayResp => MessageType::DelayResp,
            GrantType::PdelayResp => MessageType::PdelayResp,
        }
    }

    /// Whether the master sends it on a schedule (Announce, Sync) rather than in response.
    fn scheduled(self) -> bool {
        matches!(self, GrantType::Announce | GrantType::Sync)
    }
}

/// Why a request was denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DenyReason {
    /// The port is not in a state that serves (not MASTER).
    NotServing,
    /// The message type cannot be granted.
    MessageType,
    /// Faster than the port's minimum interval for that type.
    Rate,
    /// Shorter than the minimum duration (including 0).
    Duration,
    /// The port serves its maximum number of slaves.
    Slaves,
    /// The port's total message rate would exceed its limit.
    TotalRate,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Grant {
    active: bool,
    log_period: i8,
    bucket: u16,
    pos: u32,
    expires: Time,
}

/// One unicast slave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slave {
    /// Its address.
    pub address: PeerAddress,
    /// Its port identity (from its last Signaling message).
    pub identity: PortIdentity,
    grants: [Grant; 4],
    /// Next Announce sequenceId.
    pub announce_seq: u16,
    /// Next Sync sequenceId.
    pub sync_seq: u16,
    /// The last stamped Sync: (sequenceId, TX time), for the interval error.
    pub(crate) last_sync: Option<(u16, Time)>,
    /// What was sent to and granted it since it was first granted.
    pub counters: SlaveCounters,
}

/// Per-slave counts, since the slave was first granted (they start again if it loses every
/// grant and comes back).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SlaveCounters {
    /// Grants given (first grants and renewals).
    pub grants: u64,
    /// Announce messages sent to it.
    pub announces: u64,
    /// Sync messages sent to it.
    pub syncs: u64,
    /// Delay_Resp messages sent to it (answers to its unicast Delay_Req).
    pub delay_resps: u64,
}

impl Slave {
    /// The granted log interval of `t`, if granted.
    pub fn granted(&self, t: GrantType) -> Option<i8> {
        let g = &self.grants[t as usize];
        g.active.then_some(g.log_period)
    }

    /// When the grant of `t` expires, if granted.
    pub fn grant_expires(&self, t: GrantType) -> Option<Time> {
        let g = &self.grants[t as usize];
        g.active.then_some(g.expires)
    }
}

#[derive(Debug)]
struct Bucket {
    kind: GrantType,
    log_period: i8,
    period: u64,
    /// Slave handles by position; [`VACANT`] where a slave left.
    members: Vec<u32>,
    /// Vacant positions, filled by the next slaves to join.
    holes: Vec<u32>,
    cursor: usize,
    cycle_start: Time,
}

/// A bucket position whose slave left.
const VACANT: u32 = u32::MAX;

impl Bucket {
    /// Drops the vacant positions, keeping the order, and records the members' new positions.
    fn compact(&mut self, slaves: &mut [Option<Slave>]) {
        self.members.retain(|&m| m != VACANT);
        self.holes.clear();
        self.cursor = self.cursor.min(self.members.len());
        for (i, &m) in self.members.iter().enumerate() {
            if let Some(s) = slaves.get_mut(m as usize).and_then(|s| s.as_mut()) {
                s.grants[self.kind as usize].pos = i as u32;
            }
        }
    }

    fn next_due(&self) -> Time {
        let n = self.members.len() as u64;
        if n == 0 {
            return Time::NEVER;
        }
        let c = (self.cursor as u64).min(n);
        self.cycle_start
            .plus_nanos((self.period as u128 * c as u128 / n as u128) as u64)
    }
}

/// What a sweep or a request changed, for counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepResult {
    /// Grants that expired.
    pub grants_expired: u64,
    /// Slaves removed for having no grant left.
    pub slaves_removed: u64,
}

/// The unicast service of one port.
#[derive(Debug)]
pub struct UnicastService {
    slaves: Vec<Option<Slave>>,
    free: Vec<u32>,
    by_address: HashMap<PeerAddress, u32>,
    buckets: Vec<Bucket>,
    /// Sum of granted rates in milli-messages per second.
    total_rate_milli: u64,
    next_sweep: Time,
    live: u32,
    /// Slaves holding an active grant, by [`GrantType`] index.
    granted: [u32; 4],
}

const SWEEP_INTERVAL_NS: u64 = 1_000_000_000;

fn rate_milli(log: i8) -> u64 {
    1_000_000_000_000 / log_interval_nanos(log)
}

impl UnicastService {
    /// An empty service with room for `max_slaves` reserved up front.
    pub fn new(max_slaves: u32) -> Self {
        let reserve = (max_slaves as usize).min(1 << 20);
        UnicastService {
            slaves: Vec::with_capacity(reserve),
            free: Vec::new(),
            by_address: HashMap::with_capacity(reserve),
            buckets: Vec::new(),
            total_rate_milli: 0,
            next_sweep: Time::NEVER,
            live: 0,
            granted: [0; 4],
        }
    }

    /// Slaves holding an active grant of `t`.
    pub fn granted_count(&self, t: GrantType) -> usize {
        self.granted[t as usize] as usize
    }

    /// Slaves served.
    pub fn len(&self) -> usize {
        self.live as usize
    }

    /// Whether no slave is served.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Granted message rate, messages per second.
    pub fn total_rate(&self) -> f64 {
        self.total_rate_milli as f64 / 1000.0
    }

    /// The slave at a handle.
    pub fn slave(&self, handle: u32) -> Option<&Slave> {
        self.slaves.get(handle as usize).and_then(|s| s.as_ref())
    }

    /// The slave with an address.
    pub fn find(&self, address: &PeerAddress) -> Option<(u32, &Slave)> {
        let h = *self.by_address.get(address)?;
        self.slave(h).map(|s| (h, s))
    }

    /// The slave with an address, to update.
    pub(crate) fn find_mut(&mut self, address: &PeerAddress) -> Option<&mut Slave> {
        let h = *self.by_address.get(address)?;
        self.slaves.get_mut(h as usize).and_then(|s| s.as_mut())
    }

    /// Iterates live slaves.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &Slave)> {
        self.slaves
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|s| (i as u32, s)))
    }

    /// Number of rate buckets in use.
    pub fn bucket_count(&self) -> usize {
        self.buckets
            .iter()
            .filter(|b| !b.members.is_empty())
            .count()
    }

    /// Handles one REQUEST_UNICAST_TRANSMISSION. Returns the granted (logInterMessagePeriod,
    /// duration) or why it is denied.
    #[allow(clippy::too_many_arguments)]
    pub fn request(
        &mut self,
        now: Time,
        address: PeerAddress,
        identity: PortIdentity,
        message_type: MessageType,
        log_period: i8,
        duration: u32,
        limits: &UnicastLimits,
        serving: bool,
    ) -> Result<(i8, u32), DenyReason> {
        if !serving {
            return Err(DenyReason::NotServing);
        }
        let gt = GrantType::from_message_type(message_type).ok_or(DenyReason::MessageType)?;
        let min_log = match gt {
            GrantType::Announce => limits.min_log_announce_interval,
            GrantType::Sync => limits.min_log_sync_interval,
            GrantType::DelayResp | GrantType::PdelayResp => limits.min_log_delay_resp_interval,
        };
        if log_period < min_log || log_period > 15 {
            return Err(DenyReason::Rate);
        }
        if duration < limits.min_duration.max(1) {
            return Err(DenyReason::Duration);
        }
        let duration = duration.min(limits.max_duration);
        let existing = self.by_address.get(&address).copied();
        let old_rate = existing
            .and_then(|h| self.slave(h))
            .and_then(|s| s.granted(gt))
            .map_or(0, rate_milli);
        let new_total = self.total_rate_milli - old_rate + rate_milli(log_period);
        if new_total > limits.max_total_rate as u64 * 1000 {
            return Err(DenyReason::TotalRate);
        }
        let handle = match existing {
            Some(h) => h,
            None => {
                if self.live >= limits.max_slaves {
                    return Err(DenyReason::Slaves);
                }
                self.add_slave(address, identity)
            }
        };
        self.total_rate_milli = new_total;
        let expires = now.plus_nanos(duration as u64 * 1_000_000_000);
        let Some(slave) = self.slaves[handle as usize].as_mut() else {
            return Err(DenyReason::Slaves);
        };
        slave.identity = identity;
        slave.counters.grants += 1;
        let g = slave.grants[gt as usize];
        if !g.active {
            self.granted[gt as usize] += 1;
        }
        if g.active && g.log_period == log_period {
            slave.grants[gt as usize].expires = expires;
        } else {
            // Delay_Resp and Pdelay_Resp grants never joined a bucket: their (bucket 0,
            // position 0) would name another grant's slot.
            if g.active && gt.scheduled() {
                self.leave_bucket(handle, gt);
            }
            let mut ng = Grant {
                active: true,
                log_period,
                bucket: 0,
                pos: 0,
                expires,
            };
            if gt.scheduled() {
                let (b, pos) = self.join_bucket(now, handle, gt, log_period);
                ng.bucket = b;
                ng.pos = pos;
            }
            if let Some(s) = self.slaves[handle as usize].as_mut() {
                s.grants[gt as usize] = ng;
            }
        }
        if self.next_sweep == Time::NEVER {
            self.next_sweep = now.plus_nanos(SWEEP_INTERVAL_NS);
        }
        Ok((log_period, duration))
    }

    /// Handles CANCEL_UNICAST_TRANSMISSION; returns whether a grant was cancelled.
    pub fn cancel(&mut self, address: &PeerAddress, message_type: MessageType) -> bool {
        let Some(gt) = GrantType::from_message_type(message_type) else {
            return false;
        };
        let Some(&h) = self.by_address.get(address) else {
            return false;
        };
        let removed = self.end_grant(h, gt);
        self.remove_if_idle(h);
        removed
    }

    /// Ends every grant of the port (e.g. when it stops being MASTER).
    pub fn clear(&mut self) -> u64 {
        let n = self.live as u64;
        self.slaves.clear();
        self.free.clear();
        self.by_address.clear();
        self.buckets.iter_mut().for_each(|b| {
            b.members.clear();
            b.holes.clear();
            b.cursor = 0;
        });
        self.total_rate_milli = 0;
        self.live = 0;
        self.granted = [0; 4];
        self.next_sweep = Time::NEVER;
        n
    }

    /// Drops expired grants and idle slaves, if the sweep is due.
    pub fn sweep(&mut self, now: Time) -> SweepResult {
        let mut r = SweepResult::default();
        if now < self.next_sweep {
            return r;
        }
        for h in 0..self.slaves.len() as u32 {
            let Some(s) = self.slaves[h as usize].as_ref() else {
                continue;
            };
            let expired: Vec<GrantType> = GrantType::ALL
                .into_iter()
                .filter(|&t| {
                    let g = &s.grants[t as usize];
                    g.active && g.expires <= now
                })
                .collect();
            for t in expired {
                self.end_grant(h, t);
                r.grants_expired += 1;
            }
            if self.remove_if_idle(h) {
                r.slaves_removed += 1;
            }
        }
        self.next_sweep = if self.live == 0 {
            Time::NEVER
        } else {
            now.plus_nanos(SWEEP_INTERVAL_NS)
        };
        r
    }

    /// Calls `send(handle, slave, type, due)` for every scheduled message due by `now` (at
    /// `due`), in due order within each bucket.
    pub fn run_due(&mut self, now: Time, mut send: impl FnMut(u32, &mut Slave, GrantType, Time)) {
        let slaves = &mut self.slaves;
        for b in &mut self.buckets {
            loop {
                let n = b.members.len();
                if n == 0 {
                    break;
                }
                if b.cursor >= n {
                    b.cursor = 0;
                    b.cycle_start = b.cycle_start.plus_nanos(b.period);
                    if b.cycle_start.plus_nanos(b.period) <= now {
                        // Fell more than a period behind: resynchronise rather than burst.
                        b.cycle_start = now;
                    }
                    if b.holes.len() * 2 > n {
                        b.compact(slaves);
                        continue;
                    }
                }
                let due = b.next_due();
                if due > now {
                    break;
                }
                let h = b.members[b.cursor];
                if h != VACANT {
                    if let Some(s) = slaves.get_mut(h as usize).and_then(|s| s.as_mut()) {
                        send(h, s, b.kind, due);
                    }
                }
                b.cursor += 1;
            }
        }
    }

    /// Moves every schedule, expiry and departure by `delta` ns (a clock step): grants keep
    /// their remaining time, rates their phase.
    pub fn shift(&mut self, delta: i64) {
        for b in &mut self.buckets {
            b.cycle_start = b.cycle_start.shifted(delta);
        }
        for s in self.slaves.iter_mut().flatten() {
            for g in &mut s.grants {
                g.expires = g.expires.shifted(delta);
            }
            s.last_sync = s.last_sync.map(|(q, t)| (q, t.shifted(delta)));
        }
        self.next_sweep = self.next_sweep.shifted(delta);
    }

    /// When the service next needs `run_due` or `sweep`.
    pub fn next_wake(&self) -> Time {
        let due = self
            .buckets
            .iter()
            .map(Bucket::next_due)
            .min()
            .unwrap_or(Time::NEVER);
        due.min(self.next_sweep)
    }

    fn add_slave(&mut self, address: PeerAddress, identity: PortIdentity) -> u32 {
        let s = Slave {
            address,
            identity,
            grants: [Grant::default(); 4],
            announce_seq: 0,
            sync_seq: 0,
            last_sync: None,
            counters: SlaveCounters::default(),
        };
        let h = match self.free.pop() {
            Some(h) => {
                self.slaves[h as usize] = Some(s);
                h
            }
            None => {
                self.slaves.push(Some(s));
                (self.slaves.len() - 1) as u32
            }
        };
        self.by_address.insert(address, h);
        self.live += 1;
        h
    }

    fn remove_if_idle(&mut self, h: u32) -> bool {
        let idle = self.slaves[h as usize]
            .as_ref()
            .is_some_and(|s| s.grants.iter().all(|g| !g.active));
        if idle {
            if let Some(s) = self.slaves[h as usize].take() {
                self.by_address.remove(&s.address);
            }
            self.free.push(h);
            self.live -= 1;
        }
        idle
    }

    fn end_grant(&mut self, h: u32, gt: GrantType) -> bool {
        let Some(g) = self.slaves[h as usize]
            .as_ref()
            .map(|s| s.grants[gt as usize])
        else {
            return false;
        };
        if !g.active {
            return false;
        }
        if gt.scheduled() {
            self.leave_bucket(h, gt);
        }
        self.total_rate_milli = self
            .total_rate_milli
            .saturating_sub(rate_milli(g.log_period));
        if let Some(s) = self.slaves[h as usize].as_mut() {
            s.grants[gt as usize].active = false;
        }
        self.granted[gt as usize] -= 1;
        true
    }

    fn join_bucket(&mut self, now: Time, h: u32, gt: GrantType, log: i8) -> (u16, u32) {
        let bi = match self
            .buckets
            .iter()
            .position(|b| b.kind == gt && b.log_period == log)
        {
            Some(i) => i,
            None => {
                self.buckets.push(Bucket {
                    kind: gt,
                    log_period: log,
                    period: log_interval_nanos(log),
                    members: Vec::new(),
                    holes: Vec::new(),
                    cursor: 0,
                    cycle_start: now,
                });
                self.buckets.len() - 1
            }
        };
        let b = &mut self.buckets[bi];
        if b.members.is_empty() {
            b.cursor = 0;
            b.cycle_start = now;
        }
        let pos = match b.holes.pop() {
            Some(p) => {
                b.members[p as usize] = h;
                p
            }
            None => {
                b.members.push(h);
                (b.members.len() - 1) as u32
            }
        };
        (bi as u16, pos)
    }

    fn leave_bucket(&mut self, h: u32, gt: GrantType) {
        let Some(g) = self.slaves[h as usize]
            .as_ref()
            .map(|s| s.grants[gt as usize])
        else {
            return;
        };
        let Some(b) = self.buckets.get_mut(g.bucket as usize) else {
            return;
        };
        let pos = g.pos as usize;
        if b.members.get(pos) != Some(&h) {
            return;
        }
        // The slot stays, vacant, so nobody else's phase moves; the next to join takes it.
        b.members[pos] = VACANT;
        b.holes.push(pos as u32);
        if b.holes.len() == b.members.len() {
            b.members.clear();
            b.holes.clear();
            b.cursor = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ClockIdentity;

    fn id(n: u32) -> (PeerAddress, PortIdentity) {
        let b = n.to_be_bytes();
        (
            PeerAddress::Ipv4([10, b[1], b[2], b[3]]),
            PortIdentity {
                clock_identity: ClockIdentity([b[0], b[1], b[2], b[3], 0, 0, 0, 1]),
                port_number: 1,
            },
        )
    }

    /// Slaves per grant type follow grants, renewals, rate changes, cancels, expiry and
    /// clear; each slave counts its grants.
    #[test]
    fn granted_counts_follow_every_change() {
        let mut u = UnicastService::new(10);
        let l = UnicastLimits::default();
        let t0 = Time(0);
        let count = |u: &UnicastService| GrantType::ALL.map(|t| u.granted_count(t));
        for k in 0..3 {
            let (a, i) = id(k);
            u.request(t0, a, i, MessageType::Sync, -4, 10, &l, true)
                .unwrap();
            u.request(t0, a, i, MessageType::DelayResp, -4, 10 + k, &l, true)
                .unwrap();
        }
        let (a0, i0) = id(0);
        // A renewal and a rate change are still one slave granted.
        u.request(t0, a0, i0, MessageType::Sync, -4, 10, &l, true)
            .unwrap();
        u.request(t0, a0, i0, MessageType::Sync, -3, 10, &l, true)
            .unwrap();
        u.request(t0, a0, i0, MessageType::Announce, 0, 10, &l, true)
            .unwrap();
        assert_eq!(count(&u), [1, 3, 3, 0]);
        assert_eq!(u.find(&a0).unwrap().1.counters.grants, 5);
        assert!(u.cancel(&a0, MessageType::Sync));
        assert!(!u.cancel(&a0, MessageType::Sync), "already cancelled");
        assert_eq!(count(&u), [1, 2, 3, 0]);
        // At 10.5 s the grants of 10 s have expired (slave 0: Announce, Delay_Resp; slaves 1
        // and 2: Sync); slaves 1 and 2 keep their Delay_Resp grants of 11 s and 12 s.
        let r = u.sweep(Time(10_500_000_000));
        assert_eq!(r.grants_expired, 4);
        assert_eq!(count(&u), [0, 0, 2, 0]);
        assert_eq!(u.clear(), 2);
        assert_eq!(count(&u), [0, 0, 0, 0]);
    }

    /// The per-source cap is structural: slaves are keyed by address, so one source holds
    /// one slave and at most one grant per message type, whatever identities it claims —
    /// a source cycling through port identities replaces its entry, it does not add any.
    #[test]
    fn one_source_holds_one_slave_whatever_identities_it_claims() {
        let mut u = UnicastService::new(8);
        let l = UnicastLimits::default();
        let (a, _) = id(7);
        for n in 0..100 {
            let (_, identity) = id(1000 + n);
            for mt in [
                MessageType::Announce,
                MessageType::Sync,
                MessageType::DelayResp,
            ] {
                u.request(Time(0), a, identity, mt, 0, 60, &l, true)
                    .unwrap();
            }
        }
        assert_eq!(u.len(), 1);
        assert_eq!(
            GrantType::ALL.map(|t| u.granted_count(t)),
            [1, 1, 1, 0],
            "one grant per type"
        );
        assert_eq!(u.find(&a).unwrap().1.identity, id(1099).1, "the last claim");
    }

    #[test]
    fn grant_limits_deny_by_reason() {
        let mut u = UnicastService::new(2);
        let l = UnicastLimits {
            max_slaves: 2,
            ..UnicastLimits::default()
        };
        let (a, i) = id(1);
        let t0 = Time(0);
        assert_eq!(
            u.request(t0, a, i, MessageType::Sync, -4, 60, &l, true),
            Ok((-4, 60))
        );
        assert_eq!(
            u.request(t0, a, i, MessageType::Sync, -8, 60, &l, true),
            Err(DenyReason::Rate)
        );
        assert_eq!(
            u.request(t0, a, i, MessageType::Sync, 0, 0, &l, true),
            Err(DenyReason::Duration)
        );
        assert_eq!(
            u.request(t0, a, i, MessageType::Sync, 0, 1000, &l, true),
            Ok((0, 300)),
            "duration capped"
        );
        assert_eq!(
            u.request(t0, a, i, MessageType::FollowUp, 0, 60, &l, true),
            Err(DenyReason::MessageType)
        );
        assert_eq!(
            u.request(t0, a, i, MessageType::Sync, 0, 60, &l, false),
            Err(DenyReason::NotServing)
        );
        let (b, j) = id(2);
        let (c, k) = id(3);
        assert!(u
            .request(t0, b, j, MessageType::Announce, 0, 60, &l, true)
            .is_ok());
        assert_eq!(
            u.request(t0, c, k, MessageType::Announce, 0, 60, &l, true),
            Err(DenyReason::Slaves)
        );
        let tight = UnicastLimits {
            max_total_rate: 3,
            ..l
        };
        // a: Sync 1/s, b: Announce 1/s; b asking Sync at 2/s makes 4/s > 3/s.
        assert_eq!(
            u.request(t0, b, j, MessageType::Sync, -1, 60, &tight, true),
            Err(DenyReason::TotalRate)
        );
        assert_eq!(
            u.request(t0, b, j, MessageType::Sync, 0, 60, &tight, true),
            Ok((0, 60))
        );
        assert_eq!(u.total_rate(), 3.0);
    }

    #[test]
    fn buckets_spread_and_expire() {
        let mut u = UnicastService::new(100);
        let l = UnicastLimits::default();
        for n in 0..4 {
            let (a, i) = id(n);
            u.request(Time(0), a, i, MessageType::Sync, 0, 10, &l, true)
                .unwrap();
        }
        let mut sent = Vec::new();
        let mut t = Time(0);
        while t < Time(2_000_000_000) {
            u.run_due(t, |h, _, _, _| sent.push((t.0, h)));
            assert_eq!(u.sweep(t), SweepResult::default());
            t = u.next_wake().min(Time(2_000_000_000));
        }
        let times: Vec<u64> = sent.iter().map(|s| s.0).collect();
        assert_eq!(
            times,
            vec![
                0,
                250_000_000,
                500_000_000,
                750_000_000,
                1_000_000_000,
                1_250_000_000,
                1_500_000_000,
                1_750_000_000
            ]
        );
        // Expiry at 10 s.
        let r = u.sweep(Time(9_999_999_999));
        assert_eq!(r.grants_expired, 0);
        let r = u.sweep(Time(11_000_000_000));
        assert_eq!(
            r,
            SweepResult {
                grants_expired: 4,
                slaves_removed: 4
            }
        );
        assert!(u.is_empty());
        assert_eq!(u.total_rate(), 0.0);
        assert_eq!(u.next_wake(), Time::NEVER);
    }

    #[test]
    fn cancel_and_removal_keep_positions_consistent() {
        let mut u = UnicastService::new(100);
        let l = UnicastLimits::default();
        for n in 0..10 {
            let (a, i) = id(n);
            u.request(Time(0), a, i, MessageType::Announce, 0, 60, &l, true)
                .unwrap();
        }
        // Serve half a cycle, then cancel members on both sides of the cursor.
        u.run_due(Time(450_000_000), |_, _, _, _| {});
        for n in [1u32, 8, 3] {
            assert!(u.cancel(&id(n).0, MessageType::Announce));
        }
        assert_eq!(u.len(), 7);
        // Every remaining slave's recorded position matches its bucket slot.
        for (h, s) in u.iter() {
            let g = s.grants[GrantType::Announce as usize];
            assert_eq!(u.buckets[g.bucket as usize].members[g.pos as usize], h);
        }
        // Over the next two seconds each remaining slave gets 2 Announces (±1).
        let mut count: HashMap<u32, u32> = HashMap::new();
        let mut t = Time(450_000_001);
        while t < Time(2_450_000_000) {
            u.run_due(t, |h, _, _, _| *count.entry(h).or_default() += 1);
            u.sweep(t);
            t = u.next_wake();
        }
        assert_eq!(count.len(), 7);
        assert!(count.values().all(|&c| (1..=3).contains(&c)), "{count:?}");
    }

    /// Departures and arrivals in a bucket move no one else's phase (issue 16: the swarm saw
    /// Sync intervals of 0.13 s in a 1 s grant while other slaves cancelled — the last member
    /// was moved into the hole). 100 slaves at 1 Hz; after 1.5 s, 30 cancel and 10 new ones
    /// come; every remaining slave's Sync intervals stay within 1 s ± period/n.
    #[test]
    fn churn_keeps_every_other_slaves_sync_interval() {
        let mut u = UnicastService::new(1000);
        let l = UnicastLimits::default();
        for n in 0..100 {
            let (a, i) = id(n);
            u.request(Time(0), a, i, MessageType::Sync, 0, 60, &l, true)
                .unwrap();
        }
        let mut sent: HashMap<u32, Vec<u64>> = HashMap::new();
        let mut t = Time(0);
        let mut churned = false;
        while t < Time(5_000_000_000) {
            u.run_due(t, |h, _, _, due| sent.entry(h).or_default().push(due.0));
            u.sweep(t);
            if !churned && t >= Time(1_500_000_000) {
                churned = true;
                for n in (0..100).step_by(3).take(30) {
                    assert!(u.cancel(&id(n).0, MessageType::Sync));
                }
                for n in 100..110 {
                    let (a, i) = id(n);
                    u.request(t, a, i, MessageType::Sync, 0, 60, &l, true)
                        .unwrap();
                }
            }
            t = u.next_wake().min(Time(5_000_000_000));
            if t == Time(5_000_000_000) {
                break;
            }
        }
        let stayed: Vec<u32> = (0..100u32)
            .filter(|n| n % 3 != 0 || *n >= 90)
            .filter_map(|n| u.find(&id(n).0).map(|(h, _)| h))
            .collect();
        assert_eq!(stayed.len(), 70);
        for h in stayed {
            let times = &sent[&h];
            assert!(times.len() >= 4, "{h}: {times:?}");
            for w in times.windows(2) {
                let iv = w[1] - w[0];
                assert!(
                    iv.abs_diff(1_000_000_000) <= 1_000_000_000 / 100,
                    "slave {h}: interval {iv} ns in {times:?}"
                );
            }
        }
        // Positions stay consistent with the buckets.
        for (h, s) in u.iter() {
            let g = s.grants[GrantType::Sync as usize];
            assert_eq!(u.buckets[g.bucket as usize].members[g.pos as usize], h);
        }
    }

    /// Finding 5 of the hardening issue: renewing a Delay_Resp grant at another interval
    /// must not touch the buckets (it never joined one); it used to remove whatever sat at
    /// bucket 0, position 0 — here the same slave's Sync membership, so its Syncs stopped.
    #[test]
    fn renewing_delay_resp_at_another_rate_keeps_the_buckets() {
        let mut u = UnicastService::new(100);
        let l = UnicastLimits::default();
        let (a, i) = id(1);
        u.request(Time(0), a, i, MessageType::Sync, 0, 60, &l, true)
            .unwrap();
        u.request(Time(0), a, i, MessageType::DelayResp, 0, 60, &l, true)
            .unwrap();
        u.request(Time(1), a, i, MessageType::DelayResp, -2, 60, &l, true)
            .unwrap();
        let (h, slave) = u.find(&a).unwrap();
        let g = slave.grants[GrantType::Sync as usize];
        assert_eq!(
            u.buckets[g.bucket as usize].members.get(g.pos as usize),
            Some(&h)
        );
        let mut syncs = 0;
        let mut t = Time(1);
        for _ in 0..100 {
            if t >= Time(3_000_000_000) {
                break;
            }
            u.run_due(t, |_, _, _, _| syncs += 1);
            u.sweep(t);
            t = u.next_wake().max(Time(t.0 + 1));
        }
        assert!((2..=4).contains(&syncs), "{syncs} Syncs in 3 s at 1/s");
    }
}
