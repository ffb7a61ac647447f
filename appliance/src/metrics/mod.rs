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

/// How a Sync went out: to the port's multicast group, or to one unicast slave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Delivery {
    /// The port's multicast stream.
    Multicast,
    /// A unicast slave's stream.
    Unicast,
}

impl Delivery {
    /// The `delivery` label value.
    pub fn label(self) -> &'static str {
        match self {
            Delivery::Multicast => "multicast",
            Delivery::Unicast => "unicast",
        }
    }
}

/// The Sync-departure and TX-stamp histograms of one port, recorded by the engine loop from
/// two-step TX stamps (kernel or DPDK, whichever the port has).
#[derive(Debug, Clone)]
pub struct TimingSeries {
    /// Sync TX stamp − the time it was scheduled for, by delivery (index: multicast,
    /// unicast).
    pub sync_emission: [Arc<SharedHistogram>; 2],
    /// |departure − previous departure − interval| between consecutive stamped Syncs of a
    /// stream, by delivery.
    pub sync_interval_error: [Arc<SharedHistogram>; 2],
    /// From handing a two-step frame to the port to its TX stamp reaching the engine loop.
    pub tx_stamp_latency: Arc<SharedHistogram>,
}

impl Default for TimingSeries {
    fn default() -> Self {
        TimingSeries {
            sync_emission: [SharedHistogram::new(), SharedHistogram::new()],
            sync_interval_error: [SharedHistogram::new(), SharedHistogram::new()],
            tx_stamp_latency: SharedHistogram::new(),
        }
    }
}

impl TimingSeries {
    /// The deliveries, in the arrays' order.
    pub const DELIVERIES: [Delivery; 2] = [Delivery::Multicast, Delivery::Unicast];

    /// Recorders for the engine loop.
    pub fn recorders(&self) -> TimingRecorders {
        TimingRecorders {
            sync_emission: self.sync_emission.each_ref().map(|h| h.recorder()),
            sync_interval_error: self.sync_interval_error.each_ref().map(|h| h.recorder()),
            tx_stamp_latency: self.tx_stamp_latency.recorder(),
        }
    }
}

/// The engine loop's recorders of one port's [`TimingSeries`].
#[derive(Debug)]
pub struct TimingRecorders {
    sync_emission: [Recorder; 2],
    sync_interval_error: [Recorder; 2],
    tx_stamp_latency: Recorder,
}

impl TimingRecorders {
    /// Records a Sync's departure: `emission_ns` (a stamp before its tick, possible only if
    /// the clock model was stepped, counts as the smallest value) and the interval error,
    /// whose magnitude is kept.
    #[inline]
    pub fn sync_departure(
        &mut self,
        d: Delivery,
        emission_ns: i64,
        interval_error_ns: Option<i64>,
    ) {
        let i = d as usize;
        self.sync_emission[i].record(emission_ns.max(0) as u64);
        if let Some(e) = interval_error_ns {
            self.sync_interval_error[i].record(e.unsigned_abs());
        }
    }

    /// Records one TX stamp's latency, ns.
    #[inline]
    pub fn tx_stamp_latency(&mut self, ns: u64) {
        self.tx_stamp_latency.record(ns);
    }

    /// Hands the counts to the collector if it is not reading (never blocks).
    pub fn publish(&mut self) {
        for r in self
            .sync_emission
            .iter_mut()
            .chain(&mut self.sync_interval_error)
        {
            r.publish();
        }
        self.tx_stamp_latency.publish();
    }
}

/// Every histogram the daemon keeps, per port (index = port number − 1), for the exporter.
#[derive(Debug, Clone, Default)]
pub struct Histograms {
    /// Residence times, recorded by the data plane.
    pub residence: Vec<ResidenceSeries>,
    /// Sync departures and TX-stamp latency, recorded by the engine loop.
    pub timing: Vec<TimingSeries>,
}

impl Histograms {
    /// Empty histograms for `ports` ports.
    pub fn new(ports: usize) -> Self {
        Histograms {
            residence: (0..ports).map(|_| ResidenceSeries::default()).collect(),
            timing: (0..ports).map(|_| TimingSeries::default()).collect(),
        }
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
