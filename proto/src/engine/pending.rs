//! Transmit timestamps awaited for two-step messages: a fixed-capacity slot table with
//! generation counters (so a stale or forged token cannot complete someone else's entry)
//! and a FIFO of deadlines (every entry waits the same timeout, so allocation order is
//! deadline order and expiry is O(1) per entry).

use std::collections::VecDeque;

use super::io::{Destination, PortIndex, TxToken};
use super::Time;
use crate::wire::PortIdentity;

/// What to send once the timestamp arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FollowUpKind {
    /// A Follow_Up for a Sync.
    Sync {
        /// The Sync's logMessageInterval (copied into the Follow_Up).
        log_interval: i8,
        /// Whether it went unicast.
        unicast: bool,
        /// When it was due (the scheduler's tick), for the emission measurement.
        scheduled: Time,
    },
    /// A PTPv1 Follow_Up for a v1 Sync of the port's v1 master `master` (its subdomain).
    V1Sync {
        /// The index of the v1 master (subdomain) on its port.
        master: u8,
    },
    /// A Pdelay_Resp_Follow_Up for a Pdelay_Resp.
    PdelayResp {
        /// The requester.
        requesting_port_identity: PortIdentity,
        /// The Pdelay_Req's correctionField, carried into the follow-up (11.4.2).
        request_correction: i64,
    },
}

/// One awaited timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pending {
    pub port: PortIndex,
    pub destination: Destination,
    pub sequence_id: u16,
    pub kind: FollowUpKind,
}

#[derive(Debug, Clone)]
struct Slot {
    generation: u32,
    entry: Option<Pending>,
}

/// The table.
#[derive(Debug)]
pub(crate) struct PendingTable {
    slots: Vec<Slot>,
    free: Vec<u32>,
    deadlines: VecDeque<(Time, u32, u32)>,
    timeout_ns: u64,
}

impl PendingTable {
    pub fn new(capacity: u32, timeout_ns: u64) -> Self {
        let cap = capacity as usize;
        PendingTable {
            slots: vec![
                Slot {
                    generation: 0,
                    entry: None
                };
                cap
            ],
            free: (0..capacity).rev().collect(),
            deadlines: VecDeque::with_capacity(cap),
            timeout_ns,
        }
    }

    /// Reserves a slot; `None` when full.
    pub fn insert(&mut self, now: Time, p: Pending) -> Option<TxToken> {
        let slot = self.free.pop()?;
        let s = &mut self.slots[slot as usize];
        s.generation = s.generation.wrapping_add(1);
        s.entry = Some(p);
        self.deadlines
            .push_back((now.plus_nanos(self.timeout_ns), slot, s.generation));
        Some(TxToken {
            slot,
            generation: s.generation,
        })
    }

    /// Completes a token; `None` if it expired already or is not ours.
    pub fn take(&mut self, token: TxToken) -> Option<Pending> {
        let s = self.slots.get_mut(token.slot as usize)?;
        if s.generation != token.generation {
            return None;
        }
        let e = s.entry.take()?;
        self.free.push(token.slot);
        Some(e)
    }

    /// Whether `token` still awaits its timestamp (not completed, lost or expired).
    pub fn is_pending(&self, token: &TxToken) -> bool {
        self.slots
            .get(token.slot as usize)
            .is_some_and(|s| s.generation == token.generation && s.entry.is_some())
    }

    /// Drops entries past their deadline; returns how many expired.
    pub fn expire(&mut self, now: Time) -> u64 {
        let mut n = 0;
        while let Some(&(deadline, slot, generation)) = self.deadlines.front() {
            let s = &mut self.slots[slot as usize];
            if s.generation != generation || s.entry.is_none() {
                // Completed already; forget the deadline.
                self.deadlines.pop_front();
                continue;
            }
            if deadline > now {
                break;
            }
            self.deadlines.pop_front();
            s.entry = None;
            self.free.push(slot);
            n += 1;
        }
        n
    }

    /// Moves every deadline and scheduled tick by `delta` ns (a clock step).
    pub fn shift(&mut self, delta: i64) {
        for d in &mut self.deadlines {
            d.0 = d.0.shifted(delta);
        }
        for s in &mut self.slots {
            if let Some(Pending {
                kind: FollowUpKind::Sync { scheduled, .. },
                ..
            }) = &mut s.entry
            {
                *scheduled = scheduled.shifted(delta);
            }
        }
    }

    /// Earliest deadline of a live entry (may be a completed one: harmless early wake).
    pub fn next_deadline(&self) -> Option<Time> {
        self.deadlines.front().map(|d| d.0)
    }

    /// Entries awaiting a timestamp.
    pub fn outstanding(&self) -> usize {
        self.slots.len() - self.free.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(seq: u16) -> Pending {
        Pending {
            port: 0,
            destination: Destination::Multicast,
            sequence_id: seq,
            kind: FollowUpKind::Sync {
                log_interval: 0,
                unicast: false,
                scheduled: Time(0),
            },
        }
    }

    #[test]
    fn insert_take_expire_and_stale_tokens() {
        let mut t = PendingTable::new(2, 100);
        let a = t.insert(Time(0), p(1)).unwrap();
        let b = t.insert(Time(10), p(2)).unwrap();
        assert!(t.insert(Time(10), p(3)).is_none(), "full");
        let a_stale = TxToken {
            slot: a.slot,
            generation: a.generation,
        };
        assert_eq!(t.take(a).unwrap().sequence_id, 1);
        assert!(t.take(a_stale).is_none(), "a token completes once");
        assert_eq!(t.expire(Time(105)), 0);
        assert_eq!(t.expire(Time(110)), 1);
        assert!(!t.is_pending(&b), "expired");
        assert!(t.take(b).is_none(), "expired");
        assert_eq!(t.outstanding(), 0);
        // Reused slot with a new generation.
        let c = t.insert(Time(200), p(4)).unwrap();
        assert_eq!(t.take(c).unwrap().sequence_id, 4);
    }
}
