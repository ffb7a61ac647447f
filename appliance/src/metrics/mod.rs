//! What Meridian measures about itself, and the Prometheus exporter that publishes it.
//!
//! * [`hist`] — duration histograms (`hdrhistogram`): a [`hist::Recorder`] per recording
//!   thread, never blocking, handing its counts to a [`hist::SharedHistogram`] the
//!   collector reads.
//! * [`ResidenceSeries`] — the residence-time histograms of one port (request RX stamp →
//!   reply TX stamp), one per reply type.
//! * [`render`] — the daemon's status and histograms as Prometheus text (the `prometheus`
//!   crate's model and encoder), every name `meridian_…`, base units, `_total` counters.
//! * [`exporter`] — `/metrics` over HTTP on its own thread (`[metrics] listen`), reading the
//!   daemon's state through the control socket like `meridian status` does, so the engine
//!   loop does no work for it beyond answering that socket.
//!
//! New series go in [`render`] (from the status report, `crate::control::StatusReport`) or,
//! for latencies measured on the data plane, as a [`hist::SharedHistogram`] created in
//! `crate::daemon` and handed to both the recording site and the exporter. The clock servo
//! adds its series to the status report's clock section and to [`render::clock_families`].

pub mod exporter;
pub mod hist;
pub mod render;

use std::sync::Arc;

use meridian_proto::wire::MessageType;

pub use hist::{LatencyReport, Recorder, SharedHistogram};

/// The replies whose residence time is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplyKind {
    /// Delay_Resp (to a Delay_Req).
    DelayResp,
    /// Pdelay_Resp (to a Pdelay_Req).
    PdelayResp,
}

impl ReplyKind {
    /// The reply kind of `message_type`, if it is one.
    pub fn of(message_type: MessageType) -> Option<ReplyKind> {
        match message_type {
            MessageType::DelayResp => Some(ReplyKind::DelayResp),
            MessageType::PdelayResp => Some(ReplyKind::PdelayResp),
            _ => None,
        }
    }

    /// The `message_type` label value.
    pub fn label(self) -> &'static str {
        match self {
            ReplyKind::DelayResp => "delay_resp",
            ReplyKind::PdelayResp => "pdelay_resp",
        }
    }
}

/// The residence-time histograms of one port, by reply kind.
#[derive(Debug, Clone)]
pub struct ResidenceSeries {
    /// Delay_Req RX stamp → Delay_Resp TX stamp.
    pub delay_resp: Arc<SharedHistogram>,
    /// Pdelay_Req RX stamp → Pdelay_Resp TX stamp.
    pub pdelay_resp: Arc<SharedHistogram>,
}

impl Default for ResidenceSeries {
    fn default() -> Self {
        ResidenceSeries {
            delay_resp: SharedHistogram::new(),
            pdelay_resp: SharedHistogram::new(),
        }
    }
}

impl ResidenceSeries {
    /// Recorders for one recording thread.
    pub fn recorders(&self) -> ResidenceRecorders {
        ResidenceRecorders {
            delay_resp: self.delay_resp.recorder(),
            pdelay_resp: self.pdelay_resp.recorder(),
        }
    }

    /// The histograms by kind.
    pub fn by_kind(&self) -> [(ReplyKind, &Arc<SharedHistogram>); 2] {
        [
            (ReplyKind::DelayResp, &self.delay_resp),
            (ReplyKind::PdelayResp, &self.pdelay_resp),
        ]
    }
}

/// One thread's recorders of a port's residence times.
#[derive(Debug)]
pub struct ResidenceRecorders {
    delay_resp: Recorder,
    pdelay_resp: Recorder,
}

impl ResidenceRecorders {
    /// Records one residence time, ns.
    #[inline]
    pub fn record(&mut self, kind: ReplyKind, ns: u64) {
        match kind {
            ReplyKind::DelayResp => self.delay_resp.record(ns),
            ReplyKind::PdelayResp => self.pdelay_resp.record(ns),
        }
    }

    /// Hands the counts to the collector if it is not reading (never blocks).
    pub fn publish(&mut self) {
        self.delay_resp.publish();
        self.pdelay_resp.publish();
    }
}

/// The report of every histogram in `series` merged (all ports, all reply kinds), for the
/// status socket.
pub fn merged_report(series: &[ResidenceSeries]) -> Option<LatencyReport> {
    let mut all: Option<hdrhistogram::Histogram<u64>> = None;
    for s in series {
        for (_, h) in s.by_kind() {
            let snap = h.snapshot();
            match &mut all {
                Some(a) => {
                    let _ = a.add(&snap);
                }
                None => all = Some(snap),
            }
        }
    }
    all.map(|h| LatencyReport::of(&h))
}
