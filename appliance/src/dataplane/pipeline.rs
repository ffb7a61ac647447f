//! The DPDK pipeline: an RX stage and a TX stage per port, each on the core the lcore map
//! gives it, joined to the engine core by lock-free bounded rings (`crossbeam` `ArrayQueue`).
//!
//! ```text
//!  NIC RX queue ─▶ RxStage ──rx ring──▶ engine core (DpdkPort::recv → engine → DpdkPort::send)
//!                 (burst, TSC stamp,                        │
//!                  classify)                              tx ring
//!                                                           ▼
//!  NIC TX queue ◀───────────────────────────────────── TxStage (TSC stamp, one-step launch
//!                                       stamp ring ◀──  time, residence, tx_burst)
//! ```
//!
//! * **RX stage** polls `rx_burst`, reads the TSC once per burst (the frames' RX stamp),
//!   runs the one frame classifier ([`super::classify::classify`]) on every frame, drops
//!   what is not for the port (counted by reason), counts event and general messages, and
//!   passes each frame (the mbuf itself, no copy) with its stamp and verdict over the rx
//!   ring. A full ring is a counted drop, never a wait.
//! * **Engine core** ([`super::dpdk::DpdkPort`] in pipeline mode) acts on the verdict as in
//!   the single-core mode (PTP to the engine, ARP/ND to the neighbour responder), builds each
//!   outgoing frame in an mbuf and pushes it on the tx ring (full: counted drop, the
//!   engine's TX-timestamp token times out).
//! * **TX stage** takes up to a burst from the tx ring, reads the TSC, writes one-step launch
//!   times (with the UDP checksum kept valid), records the residence time of every reply
//!   that carries its request's RX time (TX stamp − that time), calls `tx_burst`, and
//!   returns `(id, tsc)` TX stamps over the stamp ring.
//!
//! Nothing here allocates, locks or makes a syscall per packet. Counters are atomics written
//! by one stage and read by anyone.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crossbeam_queue::ArrayQueue;
use meridian_proto::wire::frame::{self, FrameLayout};
use meridian_proto::wire::message::field::TIMESTAMP;
use meridian_proto::wire::Timestamp;
use serde::Serialize;

use super::classify::{self, DropCounters, DropReason, PortFilter, Verdict};

use crate::clock::tsc::SharedTscClock;
use crate::dataplane::hwstamp::{launch_plan, RxDynStamper, RxHwStamper, TxHwStamper};
use crate::dataplane::{BurstCounts, RingLoad, BURST_BOUNDS};
use crate::metrics::{ReplyKind, ResidenceRecorders};
use crate::sys::dpdk::{
    self as sys, Mbuf, RxBatch, RxQueue, RxTimestampField, Timesync, TxBatch, TxQueue,
    TxTimestampField, BURST,
};

/// TX-stage polls between two hand-overs of its residence counts to the collector (~0.1 s
/// when busy-polling, a bounded cost of one `try_lock` and one histogram add).
const PUBLISH_EVERY_POLLS: u32 = 1 << 20;

/// A received frame on its way to the engine core.
pub(crate) struct StagedRx {
    pub mbuf: Mbuf,
    /// TSC read right after the rx_burst that returned it (or its NIC stamp on the TSC).
    pub tsc: u64,
    /// What the classifier found (never a drop).
    pub verdict: Verdict,
}

/// What the TX stage must do with a frame besides sending it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TxMeta {
    /// Where the PTP message starts (none: not PTP, e.g. an ARP reply).
    pub layout: Option<FrameLayout>,
    /// Report the TX stamp under this id.
    pub stamp_id: Option<u32>,
    /// Write the launch time into originTimestamp (one-step).
    pub one_step: bool,
    /// A reply: its kind and its request's RX time (ns, PTP timescale), for its residence.
    pub residence: Option<(ReplyKind, i128)>,
}

/// A frame on its way to the TX stage.
pub(crate) struct TxFrame {
    pub mbuf: Mbuf,
    pub meta: TxMeta,
}

/// The rings of one port.
pub(crate) struct Rings {
    pub rx: ArrayQueue<StagedRx>,
    pub tx: ArrayQueue<TxFrame>,
    pub stamps: ArrayQueue<(u32, u64)>,
}

impl Rings {
    pub fn new(size: usize) -> Rings {
        Rings {
            rx: ArrayQueue::new(size),
            tx: ArrayQueue::new(size),
            stamps: ArrayQueue::new(size),
        }
    }

    /// Each ring's occupancy now.
    pub fn load(&self) -> Vec<RingLoad> {
        let ring = |name: &str, len: usize, cap: usize| RingLoad {
            name: name.into(),
            entries: len as u64,
            capacity: cap as u64,
        };
        vec![
            ring("rx", self.rx.len(), self.rx.capacity()),
            ring("tx", self.tx.len(), self.tx.capacity()),
            ring("stamps", self.stamps.len(), self.stamps.capacity()),
        ]
    }
}

/// Counters of one port's RX and TX stages (each field has one writer).
#[derive(Debug, Default)]
pub struct StageCounters {
    rx_bursts: AtomicU64,
    rx_frames: AtomicU64,
    rx_event: AtomicU64,
    rx_general: AtomicU64,
    rx_non_ptp: AtomicU64,
    rx_malformed: AtomicU64,
    rx_other_vlan: AtomicU64,
    rx_not_for_us: AtomicU64,
    rx_own: AtomicU64,
    rx_multiseg: AtomicU64,
    rx_ring_full: AtomicU64,
    tx_bursts: AtomicU64,
    tx_frames: AtomicU64,
    tx_queue_full: AtomicU64,
    tx_launch_errors: AtomicU64,
    stamp_ring_full: AtomicU64,
    pub(crate) rx_hw_stamps: AtomicU64,
    pub(crate) rx_hw_missing: AtomicU64,
    pub(crate) rx_hw_extra: AtomicU64,
    pub(crate) rx_hw_implausible: AtomicU64,
    pub(crate) tx_hw_stamps: AtomicU64,
    pub(crate) tx_hw_busy: AtomicU64,
    pub(crate) tx_hw_timeouts: AtomicU64,
    /// Burst sizes of the port's RX and TX queue (whichever thread polls them).
    pub(crate) rx_burst_sizes: BurstSizes,
    pub(crate) tx_burst_sizes: BurstSizes,
}

/// Bursts by size, in the buckets of [`BURST_BOUNDS`] (one writer: the thread polling the
/// queue).
#[derive(Debug, Default)]
pub(crate) struct BurstSizes {
    counts: [AtomicU64; BURST_BOUNDS.len() + 1],
    frames: AtomicU64,
}

impl BurstSizes {
    /// Counts one burst of `n` frames.
    #[inline]
    pub(crate) fn record(&self, n: usize) {
        let n = n as u64;
        let i = BURST_BOUNDS
            .iter()
            .position(|&b| n <= b)
            .unwrap_or(BURST_BOUNDS.len());
        bump(&self.counts[i], 1);
        bump(&self.frames, n);
    }

    /// The counts now.
    pub(crate) fn get(&self) -> BurstCounts {
        BurstCounts {
            counts: self
                .counts
                .iter()
                .map(|c| c.load(Ordering::Relaxed))
                .collect(),
            frames: self.frames.load(Ordering::Relaxed),
        }
    }
}

fn bump(c: &AtomicU64, n: u64) {
    // One writer per counter: a load and a store, no locked instruction.
    c.store(c.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
}

/// A snapshot of [`StageCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StageReport {
    /// rx_burst calls that returned frames.
    pub rx_bursts: u64,
    /// Frames received.
    pub rx_frames: u64,
    /// PTP event messages passed on.
    pub rx_event: u64,
    /// Other frames passed on (PTP general, ARP, neighbour discovery).
    pub rx_general: u64,
    /// Frames dropped by the RX stage's classifier (the sum of the reasons below).
    pub rx_filtered: u64,
    /// The classifier's drops by reason.
    #[serde(flatten)]
    pub drops: DropCounters,
    /// Frames spread over several mbuf segments (not parsed).
    pub rx_multiseg: u64,
    /// Frames dropped because the rx ring was full (the engine core fell behind).
    pub rx_ring_full: u64,
    /// tx_burst calls.
    pub tx_bursts: u64,
    /// Frames the NIC queue took.
    pub tx_frames: u64,
    /// Frames dropped because the NIC TX queue was full.
    pub tx_queue_full: u64,
    /// One-step frames whose launch time could not be written (dropped).
    pub tx_launch_errors: u64,
    /// TX stamps dropped because the stamp ring was full.
    pub stamp_ring_full: u64,
    /// Hardware timesync (see `hwstamp`): RX frames stamped by the NIC.
    pub rx_hw_stamps: u64,
    /// Latched RX frames whose register read failed.
    pub rx_hw_missing: u64,
    /// Further latched RX frames in one burst.
    pub rx_hw_extra: u64,
    /// RX timestamp offload: stamps refused as implausible.
    pub rx_hw_implausible: u64,
    /// Transmissions stamped by the NIC.
    pub tx_hw_stamps: u64,
    /// Stamp requests sent without the hardware request (register busy).
    pub tx_hw_busy: u64,
    /// Hardware TX stamps that did not appear in time.
    pub tx_hw_timeouts: u64,
}

impl StageCounters {
    /// The counts now.
    pub fn report(&self) -> StageReport {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let drops = DropCounters {
            rx_non_ptp: g(&self.rx_non_ptp),
            rx_malformed: g(&self.rx_malformed),
            rx_other_vlan: g(&self.rx_other_vlan),
            rx_not_for_us: g(&self.rx_not_for_us),
            rx_own: g(&self.rx_own),
        };
        StageReport {
            rx_bursts: g(&self.rx_bursts),
            rx_frames: g(&self.rx_frames),
            rx_event: g(&self.rx_event),
            rx_general: g(&self.rx_general),
            rx_filtered: drops.rx_non_ptp
                + drops.rx_malformed
                + drops.rx_other_vlan
                + drops.rx_not_for_us
                + drops.rx_own,
            drops,
            rx_multiseg: g(&self.rx_multiseg),
            rx_ring_full: g(&self.rx_ring_full),
            tx_bursts: g(&self.tx_bursts),
            tx_frames: g(&self.tx_frames),
            tx_queue_full: g(&self.tx_queue_full),
            tx_launch_errors: g(&self.tx_launch_errors),
            stamp_ring_full: g(&self.stamp_ring_full),
            rx_hw_stamps: g(&self.rx_hw_stamps),
            rx_hw_missing: g(&self.rx_hw_missing),
            rx_hw_extra: g(&self.rx_hw_extra),
            rx_hw_implausible: g(&self.rx_hw_implausible),
            tx_hw_stamps: g(&self.tx_hw_stamps),
            tx_hw_busy: g(&self.tx_hw_busy),
            tx_hw_timeouts: g(&self.tx_hw_timeouts),
        }
    }

    /// Counts one classifier drop (RX stage only).
    fn drop(&self, reason: DropReason) {
        let c = match reason {
            DropReason::NotPtp => &self.rx_non_ptp,
            DropReason::Malformed => &self.rx_malformed,
            DropReason::OtherVlan => &self.rx_other_vlan,
            DropReason::NotForUs => &self.rx_not_for_us,
            DropReason::Own => &self.rx_own,
        };
        bump(c, 1);
    }
}

/// The RX stage of one port.
pub struct RxStage {
    queue: RxQueue,
    /// What the port accepts (the classifier's view of it).
    filter: PortFilter,
    batch: RxBatch,
    rings: Arc<Rings>,
    counters: Arc<StageCounters>,
    hw: Option<RxHwStamper<Timesync>>,
    /// RX timestamp offload: the dynfield and its stamper (preferred over `hw`).
    offload: Option<(RxTimestampField, RxDynStamper)>,
}

impl std::fmt::Debug for RxStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RxStage")
            .field("queue", &self.queue)
            .finish_non_exhaustive()
    }
}

impl RxStage {
    pub(crate) fn new(
        queue: RxQueue,
        filter: PortFilter,
        rings: Arc<Rings>,
        counters: Arc<StageCounters>,
        hw: Option<RxHwStamper<Timesync>>,
        offload: Option<(RxTimestampField, RxDynStamper)>,
    ) -> Self {
        RxStage {
            queue,
            filter,
            batch: RxBatch::new(),
            rings,
            counters,
            hw,
            offload,
        }
    }

    /// One rx_burst; returns the frames received.
    pub fn poll(&mut self) -> usize {
        let n = self.queue.rx_burst(&mut self.batch);
        if n == 0 {
            return 0;
        }
        let tsc = sys::rdtsc();
        let c = &*self.counters;
        bump(&c.rx_bursts, 1);
        bump(&c.rx_frames, n as u64);
        c.rx_burst_sizes.record(n);
        let (mut event, mut general, mut full) = (0, 0, 0);
        if let Some(h) = &mut self.hw {
            h.begin_burst();
        }
        while let Some(mbuf) = self.batch.pop() {
            // Every frame's stamp first, dropped or not: a latched NIC register must be read
            // for the frame that latched it, or the next one would get its time.
            let tsc = match (&mut self.offload, &mut self.hw) {
                (Some((f, d)), _) => d.stamp(mbuf.rx_timestamp(*f), tsc),
                (None, Some(h)) => h.stamp(mbuf.rx_timesync_latched(), tsc),
                (None, None) => tsc,
            };
            if !mbuf.is_contiguous() {
                bump(&c.rx_multiseg, 1);
                continue;
            }
            let verdict = classify::classify(mbuf.data(), &self.filter, None);
            match verdict {
                Verdict::Drop(reason) => {
                    c.drop(reason);
                    continue;
                }
                Verdict::Ptp(p) if p.event => event += 1,
                _ => general += 1,
            }
            let staged = StagedRx { mbuf, tsc, verdict };
            if self.rings.rx.push(staged).is_err() {
                full += 1;
            }
        }
        // The stamper's counters, mirrored for the engine core (one writer: this stage).
        let hw = match (&self.offload, &self.hw) {
            (Some((_, d)), _) => Some(d.counters),
            (None, Some(h)) => Some(h.counters),
            (None, None) => None,
        };
        if let Some(h) = hw {
            c.rx_hw_stamps.store(h.rx_hw_stamps, Ordering::Relaxed);
            c.rx_hw_missing.store(h.rx_hw_missing, Ordering::Relaxed);
            c.rx_hw_extra.store(h.rx_hw_extra, Ordering::Relaxed);
            c.rx_hw_implausible
                .store(h.rx_hw_implausible, Ordering::Relaxed);
        }
        bump(&c.rx_event, event);
        bump(&c.rx_general, general);
        bump(&c.rx_ring_full, full);
        n
    }
}

/// Launch-time one-step in the TX stage: the mbuf field for the launch time, the device
/// clock against the TSC, and how far ahead frames are scheduled.
pub(crate) struct LaunchStage {
    pub field: TxTimestampField,
    pub device: Arc<SharedTscClock>,
    pub lead_ticks: u64,
}

/// The TX stage of one port.
pub struct TxStage {
    queue: TxQueue,
    batch: TxBatch,
    rings: Arc<Rings>,
    counters: Arc<StageCounters>,
    clock: Arc<SharedTscClock>,
    residence: ResidenceRecorders,
    /// Polls since the residence counts were last handed to the collector.
    polls_since_publish: u32,
    hw: Option<TxHwStamper<Timesync>>,
    launch: Option<LaunchStage>,
}

impl std::fmt::Debug for TxStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TxStage")
            .field("queue", &self.queue)
            .finish_non_exhaustive()
    }
}

/// A residence time: from `rx_ns` (a Delay_Req's RX stamp) to `tx_ns` (its Delay_Resp's TX
/// stamp), ns, never negative.
pub(crate) fn residence_ns(rx_ns: i128, tx_ns: i128) -> u64 {
    (tx_ns - rx_ns).clamp(0, u64::MAX as i128) as u64
}

/// Writes `launch_ns` into the originTimestamp of the one-step message at `layout`.
pub(crate) fn write_launch_time(
    data: &mut [u8],
    layout: &FrameLayout,
    launch_ns: i128,
) -> Result<(), ()> {
    let ts = u128::try_from(launch_ns)
        .ok()
        .and_then(Timestamp::from_nanos)
        .ok_or(())?;
    let mut b = [0u8; Timestamp::LEN];
    ts.write(&mut b, 0);
    let end = (layout.ptp_offset + layout.payload_len).min(data.len());
    frame::patch_in_place(&mut data[..end], layout, TIMESTAMP, &b).map_err(|_| ())
}

impl TxStage {
    pub(crate) fn new(
        queue: TxQueue,
        rings: Arc<Rings>,
        counters: Arc<StageCounters>,
        clock: Arc<SharedTscClock>,
        residence: ResidenceRecorders,
        hw: Option<TxHwStamper<Timesync>>,
        launch: Option<LaunchStage>,
    ) -> Self {
        TxStage {
            launch,
            queue,
            batch: TxBatch::new(),
            rings,
            counters,
            clock,
            residence,
            polls_since_publish: 0,
            hw,
        }
    }

    /// Hands a hardware TX stamp that has arrived (or timed out) to the engine core.
    fn poll_hw(&mut self) {
        let Some(h) = &mut self.hw else {
            return;
        };
        if !h.is_pending() {
            return;
        }
        if let Some(stamp) = h.poll(sys::rdtsc()) {
            if self.rings.stamps.push(stamp).is_err() {
                bump(&self.counters.stamp_ring_full, 1);
            }
            let c = &*self.counters;
            c.tx_hw_stamps
                .store(h.counters.tx_hw_stamps, Ordering::Relaxed);
            c.tx_hw_timeouts
                .store(h.counters.tx_hw_timeouts, Ordering::Relaxed);
        }
    }

    /// Sends up to one burst from the tx ring; returns the frames taken from the ring.
    pub fn poll(&mut self) -> usize {
        self.poll_hw();
        self.polls_since_publish += 1;
        if self.polls_since_publish >= PUBLISH_EVERY_POLLS {
            self.publish_metrics();
        }
        let mut frames: [Option<TxFrame>; BURST] = Default::default();
        let mut n = 0;
        while n < BURST {
            match self.rings.tx.pop() {
                Some(f) => {
                    frames[n] = Some(f);
                    n += 1;
                }
                None => break,
            }
        }
        if n == 0 {
            return 0;
        }
        let tsc = sys::rdtsc();
        let now_ns = self.clock.ns_at(tsc);
        let mut done = [Sent::default(); BURST];
        // The frame (index in the batch) that asked the NIC for a hardware stamp.
        let mut hw_frame: Option<usize> = None;
        let mut queued = 0;
        for f in frames.iter_mut().take(n) {
            let Some(TxFrame { mut mbuf, meta }) = f.take() else {
                continue;
            };
            if !self.prepare(&mut mbuf, &meta, tsc, now_ns) {
                continue;
            }
            done[queued] = Sent {
                stamp_id: meta.stamp_id,
                residence: meta
                    .residence
                    .map(|(kind, rx)| (kind, residence_ns(rx, now_ns))),
            };
            if meta.stamp_id.is_some() && self.hw.as_mut().is_some_and(|h| h.reserve()) {
                mbuf.request_tx_timesync();
                hw_frame = Some(queued);
            }
            if self.batch.push(mbuf).is_ok() {
                queued += 1;
            }
        }
        let c = &*self.counters;
        c.tx_burst_sizes.record(queued);
        let sent = self.queue.tx_burst(&mut self.batch);
        bump(&c.tx_bursts, 1);
        bump(&c.tx_frames, sent as u64);
        bump(&c.tx_queue_full, self.batch.clear() as u64);
        self.after_burst(&done[..queued], sent, hw_frame, tsc);
        n
    }

    /// Hands the residence counts to the collector (never blocks; also done every
    /// `PUBLISH_EVERY_POLLS` polls).
    pub fn publish_metrics(&mut self) {
        self.polls_since_publish = 0;
        self.residence.publish();
    }

    /// Writes a one-step frame's launch time (and schedules it, with send-on-timestamp);
    /// `false` (counted) if it cannot be written: the frame is dropped.
    fn prepare(&mut self, mbuf: &mut Mbuf, meta: &TxMeta, tsc: u64, now_ns: i128) -> bool {
        let Some(layout) = meta.layout.as_ref().filter(|_| meta.one_step) else {
            return true;
        };
        let origin = match &self.launch {
            Some(l) => {
                let (origin, dev) = launch_plan(tsc, l.lead_ticks, &self.clock, &l.device);
                mbuf.set_launch_time(l.field, dev);
                origin
            }
            None => now_ns,
        };
        if write_launch_time(mbuf.data_mut(), layout, origin).is_err() {
            bump(&self.counters.tx_launch_errors, 1);
            return false;
        }
        true
    }

    /// After `tx_burst` took the first `sent` of `done`: TX stamps back to the engine core
    /// (the hardware one when the NIC has it), residence times recorded.
    fn after_burst(&mut self, done: &[Sent], sent: usize, hw_frame: Option<usize>, tsc: u64) {
        let c = &*self.counters;
        if let (Some(i), Some(h)) = (hw_frame, &mut self.hw) {
            match done.get(i).and_then(|d| d.stamp_id) {
                Some(id) if i < sent => h.sent(id, tsc),
                _ => h.not_sent(),
            }
            c.tx_hw_busy.store(h.counters.tx_hw_busy, Ordering::Relaxed);
        }
        for (i, d) in done.iter().enumerate().take(sent) {
            if let Some(id) = d.stamp_id {
                // The hardware-stamped one is reported by poll_hw when the NIC has it.
                if hw_frame != Some(i) && self.rings.stamps.push((id, tsc)).is_err() {
                    bump(&c.stamp_ring_full, 1);
                }
            }
            if let Some((kind, r)) = d.residence {
                self.residence.record(kind, r);
            }
        }
    }
}

/// What the TX stage still owes a frame handed to `tx_burst`.
#[derive(Debug, Clone, Copy, Default)]
struct Sent {
    /// Report its TX stamp under this id.
    stamp_id: Option<u32>,
    /// Its residence time, ns, by reply kind (a reply).
    residence: Option<(ReplyKind, u64)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launch_time_is_written_at_the_layout() {
        let mut f = vec![0u8; 42 + 44];
        let layout = FrameLayout {
            ptp_offset: 42,
            payload_len: 44,
            udp_offset: Some(34),
            udp_checksum_in_use: false,
            ipv6_trailer_offset: None,
        };
        write_launch_time(&mut f, &layout, 5_000_000_123).unwrap();
        let ts = Timestamp::read(&f[42..], TIMESTAMP, "originTimestamp").unwrap();
        assert_eq!(ts.as_nanos(), 5_000_000_123);
        assert!(write_launch_time(&mut f, &layout, -1).is_err());
        assert_eq!(residence_ns(100, 350), 250);
        assert_eq!(residence_ns(350, 100), 0, "never negative");
    }
}
