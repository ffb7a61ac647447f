//! The daemon's side of two-step TX stamps: which engine token waits for which of a port's
//! TX-stamp ids.
//!
//! The engine alone decides when a stamp is too late ([`Engine::handle_timeout`] expires
//! the token and counts it in `tx_timestamp_timeouts`). This table never times anything
//! out: it forgets the tokens the engine has already expired, without reporting them again,
//! so each missing stamp is counted once.

use std::collections::HashMap;

use meridian_proto::engine::{Engine, Time, TxToken};

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
}
