//! The daemon's side of two-step TX stamps: which engine token waits for which of a port's
//! TX-stamp ids.
//!
//! The engine alone decides when a stamp is too late ([`Engine::handle_timeout`] expires
//! the token and counts it in `tx_timestamp_timeouts`). This table never times anything
//! out: it forgets the tokens the engine has already expired, without reporting them again,
//! so each missing stamp is counted once.

use std::collections::{HashMap, VecDeque};

use meridian_proto::engine::{Engine, Time, TxToken};

use crate::metrics::ReplyKind;

/// Tokens by (port, TX-stamp id), with the time the frame was handed to the port.
#[derive(Debug)]
pub struct TokenTable {
    ports: Vec<HashMap<u32, (TxToken, Time)>>,
    /// The engine's `tx_timestamp_timeouts` when the table was last swept.
    seen_timeouts: u64,
}

impl TokenTable {
    /// A table for `ports` ports.
    pub fn new(ports: usize) -> Self {
        TokenTable {
            ports: (0..ports).map(|_| HashMap::with_capacity(1024)).collect(),
            seen_timeouts: 0,
        }
    }

    /// Records that port `port`, given the frame at `sent`, will report `id` for `token`.
    /// Returns a token the same id was still held for (the port restarted its ids): it will
    /// never be stamped.
    #[must_use = "a displaced token must be handed back to the engine as lost"]
    pub fn insert(&mut self, port: usize, id: u32, token: TxToken, sent: Time) -> Option<TxToken> {
        self.ports
            .get_mut(port)?
            .insert(id, (token, sent))
            .map(|o| o.0)
    }

    /// The token waiting for `id` on `port`, and when its frame was sent.
    pub fn take(&mut self, port: usize, id: u32) -> Option<(TxToken, Time)> {
        self.ports.get_mut(port)?.remove(&id)
    }

    /// Whether no stamp is awaited.
    pub fn is_empty(&self) -> bool {
        self.ports.iter().all(HashMap::is_empty)
    }

    /// Tokens held.
    pub fn len(&self) -> usize {
        self.ports.iter().map(HashMap::len).sum()
    }

    /// Forgets the tokens the engine no longer awaits (it expired them). Cheap unless the
    /// engine expired something since the last call.
    pub fn forget_expired(&mut self, engine: &Engine) {
        let timeouts = engine.stats().tx_timestamp_timeouts;
        if timeouts == self.seen_timeouts {
            return;
        }
        self.seen_timeouts = timeouts;
        for p in &mut self.ports {
            p.retain(|_, (t, _)| engine.tx_token_pending(t));
        }
    }
}

/// Replies sent with a TX stamp asked for (socket backend), awaiting it for their residence
/// time: per port, by TX-stamp id in send order, with the request's RX time.
///
/// A port reports its stamps in send order, so a stamp for an id also settles the entries
/// before it: their stamps will not come (counted as missing). Bounded: beyond
/// [`Self::CAPACITY`] entries per port the oldest is dropped (missing too).
#[derive(Debug)]
pub struct ReplyTable {
    ports: Vec<VecDeque<(u32, Time, ReplyKind)>>,
    missing: Vec<u64>,
}

impl ReplyTable {
    /// Entries kept per port.
    pub const CAPACITY: usize = 4_096;

    /// A table for `ports` ports.
    pub fn new(ports: usize) -> Self {
        ReplyTable {
            ports: (0..ports)
                .map(|_| VecDeque::with_capacity(Self::CAPACITY))
                .collect(),
            missing: vec![0; ports],
        }
    }

    /// Port `port` sent a reply of `kind` to a request received at `request_rx`; its stamp
    /// will come under `id`.
    pub fn insert(&mut self, port: usize, id: u32, request_rx: Time, kind: ReplyKind) {
        let Some(q) = self.ports.get_mut(port) else {
            return;
        };
        if q.len() == Self::CAPACITY {
            q.pop_front();
            self.missing[port] += 1;
        }
        q.push_back((id, request_rx, kind));
    }

    /// The reply stamped under `id` on `port`: its request's RX time and kind. `None` if no
    /// reply waits for it (e.g. a two-step Sync's id).
    pub fn take(&mut self, port: usize, id: u32) -> Option<(Time, ReplyKind)> {
        let q = self.ports.get_mut(port)?;
        let at = q.iter().position(|e| e.0 == id)?;
        self.missing[port] += at as u64;
        q.drain(..at);
        q.pop_front().map(|(_, rx, kind)| (rx, kind))
    }

    /// Replies of `port` whose stamp never came.
    pub fn missing(&self, port: usize) -> u64 {
        self.missing.get(port).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meridian_proto::engine::{
        ClockConfig, ClockStatus, EngineConfig, OwnedTransmit, PortConfig, Time, TxStamp,
    };
    use meridian_proto::wire::ClockIdentity;

    /// A lost TX stamp is counted once, as a timeout by the engine: the daemon neither
    /// expires it on its own clock nor hands it back as lost or stale afterwards.
    #[test]
    fn only_the_engine_expires_tokens_and_each_is_counted_once() {
        let mut clock = ClockConfig::new(ClockIdentity([1; 8]));
        clock.tx_timestamp_timeout_ns = 10_000_000;
        let mut port = PortConfig::new([2, 0, 0, 0, 0, 1]);
        port.master_only = true;
        let cfg = EngineConfig {
            clock,
            ports: vec![port],
        };
        let t0 = Time(1_700_000_037_000_000_000);
        let mut engine = Engine::new(cfg, t0, ClockStatus::free_running(37, true)).unwrap();
        let mut out: Vec<OwnedTransmit> = Vec::new();
        let mut now = t0;
        let mut table = TokenTable::new(1);
        let mut id = 0;
        // Two seconds of Syncs; their TX stamps never come.
        while now < t0.plus_nanos(2_000_000_000) {
            engine.handle_timeout(now, &mut out);
            for t in out.drain(..) {
                if let TxStamp::TwoStep(token) = t.stamp {
                    assert!(table.insert(0, id, token, now).is_none());
                    id += 1;
                }
            }
            table.forget_expired(&engine);
            now = now.plus_nanos(1_000_000);
        }
        assert!(id >= 2, "two-step Syncs were sent ({id})");
        let s = engine.stats();
        assert!(s.tx_timestamp_timeouts >= u64::from(id) - 1, "{s:?}");
        assert_eq!(s.tx_timestamp_lost, 0);
        assert_eq!(s.tx_timestamp_stale, 0);
        // Only the newest (not yet expired) tokens remain.
        assert!(table.len() <= 1, "{} tokens left", table.len());
        assert!(table.take(0, 0).is_none(), "the first token was forgotten");
    }

    #[test]
    fn reply_stamps_settle_in_send_order() {
        let mut r = ReplyTable::new(2);
        for id in 10..15 {
            r.insert(0, id, Time(u64::from(id)), ReplyKind::DelayResp);
        }
        r.insert(1, 10, Time(99), ReplyKind::PdelayResp);
        assert_eq!(r.take(0, 7), None, "not a reply's id: nothing settles");
        assert_eq!(r.take(0, 12), Some((Time(12), ReplyKind::DelayResp)));
        assert_eq!(r.missing(0), 2, "10 and 11 will not be stamped now");
        assert_eq!(r.take(0, 11), None);
        assert_eq!(r.take(1, 10), Some((Time(99), ReplyKind::PdelayResp)));
        assert_eq!(r.take(0, 14), Some((Time(14), ReplyKind::DelayResp)));
        assert_eq!(r.missing(0), 3);
        for id in 0..ReplyTable::CAPACITY as u32 + 5 {
            r.insert(1, id, Time(1), ReplyKind::DelayResp);
        }
        assert_eq!(r.missing(1), 5, "the oldest beyond the capacity");
        assert_eq!(r.take(1, 4), None);
        assert!(r.take(1, 5).is_some());
    }
}
