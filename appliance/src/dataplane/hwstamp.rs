//! Hardware time stamps from a NIC's timesync registers, mapped onto the TSC timeline.
//!
//! DPDK's generic timesync API (`rte_eth_timesync_*`, implemented by igb, ixgbe, i40e, ice and
//! a few others) latches the receive time of a PTP event frame in one RX register and the
//! transmit time of a frame sent with `RTE_MBUF_F_TX_IEEE1588_TMST` in one TX register, per
//! port. The register stays locked until read, so at most one RX and one TX stamp can be in
//! flight. This module handles that honestly:
//!
//! * **RX** ([`RxHwStamper`]): the frame the PMD marks as latched (`RTE_MBUF_F_RX_IEEE1588_TMST`)
//!   gets the register's value; a second marked frame in the same burst (which the register
//!   cannot have stamped as well) and a marked frame whose register read fails keep their
//!   TSC stamp, counted.
//! * **TX** ([`TxHwStamper`]): one stamped transmission at a time. While one is outstanding, a
//!   further event message that wants a stamp is sent without the request and keeps the TSC
//!   stamp taken before `tx_burst` (counted as busy), rather than waiting; a stamp that does
//!   not appear within the timeout is replaced by the TSC stamp (counted).
//! * **RX timestamp offload** ([`RxDynStamper`]): PMDs with `RTE_ETH_RX_OFFLOAD_TIMESTAMP`
//!   (mlx5 and others) write every received frame's arrival time, in device-clock units, into
//!   the mbuf's timestamp dynfield. No register limit: each frame gets its own, mapped onto the
//!   TSC through the device clock (`rte_eth_read_clock`, same units). A frame without one, or
//!   whose mapped stamp is implausible against its burst's TSC stamp (more than a second
//!   before it, or after it by more than the mapping can be off), keeps the TSC stamp, counted.
//! * **Mapping** ([`NicClockMap`]): the NIC clock is modelled against the TSC (offset + rate,
//!   calibrated by least squares over bracketed `read_time` calls, then tracked once a
//!   second), so a hardware stamp becomes the TSC value at which the NIC clock read it. The
//!   whole pipeline keeps carrying TSC values, and the engine's TSC → TAI clock converts
//!   them: a hardware stamp keeps its precision relative to other hardware stamps; the
//!   mapping adds only a slowly varying error, common to all stamps.
//!
//! The logic is written against the [`NicTimesync`] trait, so it is tested here with a
//! simulated NIC clock; `crate::sys::dpdk::Timesync` implements it for real ports (no PMD on
//! this project's test machines supports timesync: every call returns `ENOTSUP`).

use std::sync::Arc;

use crate::clock::tsc::{SharedTscClock, TscClock, TscError};

/// A NIC's timesync clock and latch registers.
pub trait NicTimesync {
    /// The clock now, ns.
    fn read_time(&mut self) -> Option<i128>;
    /// The latched RX time (freeing the latch), or `None` if none is waiting.
    fn read_rx_timestamp(&mut self) -> Option<i128>;
    /// The latched TX time (freeing the latch), or `None` if none is waiting.
    fn read_tx_timestamp(&mut self) -> Option<i128>;
}

/// Counters of hardware stamping (each only grows).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct HwStampCounters {
    /// Received frames stamped by the NIC.
    pub rx_hw_stamps: u64,
    /// Frames marked latched whose register read failed (TSC stamp kept).
    pub rx_hw_missing: u64,
    /// Further marked frames in a burst (TSC stamp kept).
    pub rx_hw_extra: u64,
    /// Transmissions stamped by the NIC.
    pub tx_hw_stamps: u64,
    /// Stamp requests sent without hardware stamping because one was outstanding.
    pub tx_hw_busy: u64,
    /// Hardware TX stamps that did not appear in time (TSC stamp used).
    pub tx_hw_timeouts: u64,
    /// RX timestamp offload: stamps that mapped outside their burst's window (TSC stamp kept).
    pub rx_hw_implausible: u64,
}

/// TSC ticks per 10⁹ device-clock units a calibration accepts: device clocks in ns, and raw
/// counters from ~1 MHz to ~100 GHz-equivalent (mlx5's free-running counter runs at the
/// device's own frequency, e.g. 156.25 MHz), with any TSC of 0.1–10 GHz.
const DEVICE_PLAUSIBLE_HZ: std::ops::RangeInclusive<f64> = 1e6..=1e13;

/// The NIC clock as a function of the TSC, published for the RX and TX stages.
#[derive(Debug)]
pub struct NicClockMap {
    model: TscClock,
    shared: Arc<SharedTscClock>,
    last_tsc: u64,
}

/// One reading of the NIC clock bracketed by TSC reads: (TSC midpoint, NIC ns).
fn bracketed(nic: &mut dyn NicTimesync, read_tsc: &mut dyn FnMut() -> u64) -> Option<(u64, i128)> {
    let a = read_tsc();
    let t = nic.read_time()?;
    let b = read_tsc();
    Some((a + b.wrapping_sub(a) / 2, t))
}

impl NicClockMap {
    /// Calibrates over `n` bracketed readings, calling `wait` between them.
    pub fn calibrate(
        nic: &mut dyn NicTimesync,
        read_tsc: &mut dyn FnMut() -> u64,
        n: usize,
        wait: &mut dyn FnMut(),
    ) -> Result<NicClockMap, TscError> {
        let mut samples = Vec::with_capacity(n);
        for _ in 0..n {
            if let Some(s) = bracketed(nic, read_tsc) {
                samples.push(s);
            }
            wait();
        }
        let model = TscClock::fit(&samples, DEVICE_PLAUSIBLE_HZ)?;
        let last_tsc = samples.last().map_or(0, |s| s.0);
        Ok(NicClockMap {
            shared: Arc::new(SharedTscClock::new(&model)),
            model,
            last_tsc,
        })
    }

    /// One tracking update (call about once a second); returns the error before it
    /// (model − NIC, ns), or `None` if the NIC clock could not be read.
    pub fn track(
        &mut self,
        nic: &mut dyn NicTimesync,
        read_tsc: &mut dyn FnMut() -> u64,
    ) -> Option<i128> {
        let (tsc, t) = bracketed(nic, read_tsc)?;
        let interval_s = tsc.wrapping_sub(self.last_tsc) as f64 / self.model.frequency_hz();
        self.last_tsc = tsc;
        let err = self.model.track(tsc, t, interval_s.max(0.001));
        self.shared.publish(&self.model);
        Some(err)
    }

    /// The published model, for the stages.
    pub fn shared(&self) -> Arc<SharedTscClock> {
        Arc::clone(&self.shared)
    }
}

/// Launch-time one-step: the frame read at TSC `tsc_now` is to leave `lead_ticks` later.
/// Returns the originTimestamp to write (the PTP time at launch, by `ptp_time`, ns) and the
/// launch time to give the NIC (its device clock at that moment, by `device`, in device
/// units). Both come from the same TSC instant, so the NIC sends the frame when its clock
/// reaches the time the frame says.
pub fn launch_plan(
    tsc_now: u64,
    lead_ticks: u64,
    ptp_time: &SharedTscClock,
    device: &SharedTscClock,
) -> (i128, u64) {
    let at = tsc_now.wrapping_add(lead_ticks);
    let origin = ptp_time.ns_at(at);
    let dev = device.ns_at(at).clamp(0, u64::MAX as i128) as u64;
    (origin, dev)
}

/// Assigns RX hardware stamps within bursts (see the module docs).
#[derive(Debug)]
pub struct RxHwStamper<N> {
    nic: N,
    map: Arc<SharedTscClock>,
    used_in_burst: bool,
    /// Counters.
    pub counters: HwStampCounters,
}

impl<N: NicTimesync> RxHwStamper<N> {
    /// A stamper reading `nic`'s RX register, mapping through `map` (NIC ns at TSC).
    pub fn new(nic: N, map: Arc<SharedTscClock>) -> Self {
        RxHwStamper {
            nic,
            map,
            used_in_burst: false,
            counters: HwStampCounters::default(),
        }
    }

    /// Call before the frames of a new burst.
    pub fn begin_burst(&mut self) {
        self.used_in_burst = false;
    }

    /// The stamp (a TSC value) for the next frame of the burst: the hardware stamp if the
    /// PMD marked it `latched` and the register holds one for it, else `tsc`.
    pub fn stamp(&mut self, latched: bool, tsc: u64) -> u64 {
        if !latched {
            return tsc;
        }
        if self.used_in_burst {
            self.counters.rx_hw_extra += 1;
            return tsc;
        }
        self.used_in_burst = true;
        match self.nic.read_rx_timestamp() {
            Some(ns) => {
                self.counters.rx_hw_stamps += 1;
                self.map.tsc_at(ns)
            }
            None => {
                self.counters.rx_hw_missing += 1;
                tsc
            }
        }
    }
}

/// How long before its burst's TSC stamp a frame's offloaded RX stamp may lie, s: frames wait
/// in the RX ring at most this long in any sane run; older means wrong units or a jumped clock.
const DYN_MAX_AGE_S: f64 = 1.0;
/// How far after the burst's TSC stamp it may lie, s: the device-clock mapping's error.
const DYN_MAX_AHEAD_S: f64 = 100e-6;

/// Maps offloaded RX stamps (the timestamp dynfield) onto the TSC (see the module docs).
#[derive(Debug, Clone)]
pub struct RxDynStamper {
    map: Arc<SharedTscClock>,
    max_age: i64,
    max_ahead: i64,
    /// Counters: `rx_hw_stamps`, `rx_hw_missing` (frame without a stamp), `rx_hw_implausible`.
    pub counters: HwStampCounters,
}

impl RxDynStamper {
    /// A stamper mapping device-clock values through `map` (device clock at TSC), for a TSC
    /// running at about `tsc_hz`.
    pub fn new(map: Arc<SharedTscClock>, tsc_hz: f64) -> Self {
        RxDynStamper {
            map,
            max_age: (DYN_MAX_AGE_S * tsc_hz) as i64,
            max_ahead: (DYN_MAX_AHEAD_S * tsc_hz) as i64,
            counters: HwStampCounters::default(),
        }
    }

    /// The stamp (a TSC value) of a frame of the burst stamped `burst_tsc` whose PMD wrote
    /// `device` (device-clock units; `None`: no stamp on this frame): the TSC value at which
    /// the device clock read `device`, or `burst_tsc` if there is none or it is implausible.
    pub fn stamp(&mut self, device: Option<u64>, burst_tsc: u64) -> u64 {
        let Some(d) = device else {
            self.counters.rx_hw_missing += 1;
            return burst_tsc;
        };
        let tsc = self.map.tsc_at(i128::from(d));
        let age = burst_tsc.wrapping_sub(tsc) as i64;
        if age > self.max_age || age < -self.max_ahead {
            self.counters.rx_hw_implausible += 1;
            return burst_tsc;
        }
        self.counters.rx_hw_stamps += 1;
        tsc
    }
}

/// The one outstanding hardware TX stamp.
#[derive(Debug, Clone, Copy)]
struct Pending {
    id: u32,
    /// TSC read before tx_burst: the fallback stamp.
    tsc: u64,
}

/// Hands out the TX register one transmission at a time (see the module docs).
#[derive(Debug)]
pub struct TxHwStamper<N> {
    nic: N,
    map: Arc<SharedTscClock>,
    pending: Option<Pending>,
    reserved: bool,
    timeout_ticks: u64,
    /// Counters.
    pub counters: HwStampCounters,
}

impl<N: NicTimesync> TxHwStamper<N> {
    /// A stamper reading `nic`'s TX register, mapping through `map`; a stamp not there
    /// `timeout_ticks` TSC ticks after sending is given up.
    pub fn new(nic: N, map: Arc<SharedTscClock>, timeout_ticks: u64) -> Self {
        TxHwStamper {
            nic,
            map,
            pending: None,
            reserved: false,
            timeout_ticks,
            counters: HwStampCounters::default(),
        }
    }

    /// Whether the next frame that wants a stamp may ask the NIC for one (then the caller
    /// sets the request flag on it and reports [`Self::sent`] or [`Self::not_sent`]).
    /// `false` means: send it without the request; its TSC stamp stands (counted).
    pub fn reserve(&mut self) -> bool {
        if self.pending.is_none() && !self.reserved {
            self.reserved = true;
            true
        } else {
            self.counters.tx_hw_busy += 1;
            false
        }
    }

    /// The reserved frame went out at about `tsc`; its stamp will be reported under `id`.
    pub fn sent(&mut self, id: u32, tsc: u64) {
        self.reserved = false;
        self.pending = Some(Pending { id, tsc });
    }

    /// The reserved frame was not sent.
    pub fn not_sent(&mut self) {
        self.reserved = false;
    }

    /// Whether a stamp is awaited.
    pub fn is_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// Looks at the register: `(id, stamp as TSC)` once the NIC's stamp is there, or the TSC
    /// fallback once `now_tsc` is past the timeout; `None` while still waiting.
    pub fn poll(&mut self, now_tsc: u64) -> Option<(u32, u64)> {
        let p = self.pending?;
        if let Some(ns) = self.nic.read_tx_timestamp() {
            self.pending = None;
            self.counters.tx_hw_stamps += 1;
            return Some((p.id, self.map.tsc_at(ns)));
        }
        if now_tsc.wrapping_sub(p.tsc) > self.timeout_ticks {
            self.pending = None;
            self.counters.tx_hw_timeouts += 1;
            return Some((p.id, p.tsc));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;

    /// A NIC clock running `ppm` fast with an offset, driven by a simulated TSC at 2.5 GHz,
    /// with one RX and one TX latch.
    #[derive(Clone)]
    struct SimNic {
        tsc: Rc<Cell<u64>>,
        ppm: f64,
        offset_ns: i128,
        rx_latch: Rc<Cell<Option<i128>>>,
        tx_latch: Rc<Cell<Option<i128>>>,
    }

    const HZ: f64 = 2.5e9;

    impl SimNic {
        fn at(&self, tsc: u64) -> i128 {
            let true_ns = tsc as f64 / HZ * 1e9;
            self.offset_ns + (true_ns * (1.0 + self.ppm * 1e-6)).round() as i128
        }
    }

    impl NicTimesync for SimNic {
        fn read_time(&mut self) -> Option<i128> {
            // Reading the clock takes 1 µs of TSC, the value taken in the middle.
            let t = self.tsc.get();
            self.tsc.set(t + 2_500);
            Some(self.at(t + 1_250))
        }
        fn read_rx_timestamp(&mut self) -> Option<i128> {
            self.rx_latch.take()
        }
        fn read_tx_timestamp(&mut self) -> Option<i128> {
            self.tx_latch.take()
        }
    }

    /// Reading the TSC costs 50 ticks; the value is taken in the middle.
    fn sim_read_tsc(tsc: &Rc<Cell<u64>>) -> impl FnMut() -> u64 {
        let tsc = Rc::clone(tsc);
        move || {
            let t = tsc.get();
            tsc.set(t + 50);
            t + 25
        }
    }

    fn sim() -> (SimNic, NicClockMap) {
        let tsc = Rc::new(Cell::new(1_000_000_000u64));
        let mut nic = SimNic {
            tsc: Rc::clone(&tsc),
            ppm: 37.0,
            offset_ns: 1_700_000_037_000_000_000,
            rx_latch: Rc::default(),
            tx_latch: Rc::default(),
        };
        let mut read_tsc = sim_read_tsc(&tsc);
        let mut wait = {
            let tsc = Rc::clone(&tsc);
            move || tsc.set(tsc.get() + 5_000_000) // 2 ms
        };
        let map = NicClockMap::calibrate(&mut nic, &mut read_tsc, 50, &mut wait).unwrap();
        (nic, map)
    }

    #[test]
    fn map_turns_nic_stamps_into_the_tsc_value_at_which_the_nic_read_them() {
        let (mut nic, mut map) = sim();
        // Tracked for a minute, the map stays within a few ticks of the truth.
        for _ in 0..60 {
            nic.tsc.set(nic.tsc.get() + 2_500_000_000);
            let mut read_tsc = sim_read_tsc(&nic.tsc);
            let err = map.track(&mut nic, &mut read_tsc).unwrap();
            assert!(err.abs() < 1_000, "tracking error {err} ns");
        }
        let shared = map.shared();
        for tsc in [nic.tsc.get(), nic.tsc.get() + 1_234_567] {
            let back = shared.tsc_at(nic.at(tsc));
            // 10 ticks = 4 ns.
            assert!(back.abs_diff(tsc) < 10, "{tsc} → {back}");
        }
    }

    #[test]
    fn a_raw_device_counter_at_156_mhz_maps_too() {
        // mlx5-style free-running counter: 156.25 MHz ticks, not ns.
        let counter = |tsc: u64| (tsc as f64 * 156.25e6 / HZ) as i128 + 7_000_000_000;
        struct Counter<F>(F, Rc<Cell<u64>>);
        impl<F: Fn(u64) -> i128> NicTimesync for Counter<F> {
            fn read_time(&mut self) -> Option<i128> {
                let t = self.1.get();
                self.1.set(t + 2_500);
                Some((self.0)(t + 1_250))
            }
            fn read_rx_timestamp(&mut self) -> Option<i128> {
                None
            }
            fn read_tx_timestamp(&mut self) -> Option<i128> {
                None
            }
        }
        let tsc = Rc::new(Cell::new(1_000_000_000u64));
        let mut dev = Counter(counter, Rc::clone(&tsc));
        let mut read_tsc = sim_read_tsc(&tsc);
        let mut wait = {
            let tsc = Rc::clone(&tsc);
            move || tsc.set(tsc.get() + 5_000_000)
        };
        let map = NicClockMap::calibrate(&mut dev, &mut read_tsc, 50, &mut wait).unwrap();
        let mut s = RxDynStamper::new(map.shared(), HZ);
        let arrival = tsc.get() + 1_000_000;
        let got = s.stamp(Some(counter(arrival) as u64), arrival + 50_000);
        // One counter tick is 16 TSC ticks (6.4 ns): within two of them.
        assert!(got.abs_diff(arrival) <= 32, "{arrival} → {got}");
        assert_eq!(s.counters.rx_hw_stamps, 1);
        // The TSC clock's own calibration still refuses such a rate.
        let samples = [(0u64, 0i128), (2_500_000_000, 156_250_000)];
        assert!(TscClock::from_samples(&samples).is_err());
    }

    #[test]
    fn offloaded_rx_stamps_map_to_the_arrival_tsc_and_implausible_ones_are_refused() {
        let (mut nic, mut map) = sim();
        let mut s = RxDynStamper::new(map.shared(), HZ);
        // A minute on, the map tracked once a second (as the engine core does), a frame
        // arrived at TSC `arrival`; the poll took it 20 µs later.
        for _ in 0..60 {
            nic.tsc.set(nic.tsc.get() + 2_500_000_000);
            let mut read_tsc = sim_read_tsc(&nic.tsc);
            map.track(&mut nic, &mut read_tsc).unwrap();
        }
        let arrival = nic.tsc.get() + 1_000_000;
        let burst = arrival + 50_000;
        let dev = nic.at(arrival) as u64;
        let got = s.stamp(Some(dev), burst);
        assert!(got.abs_diff(arrival) < 10, "{arrival} → {got}");
        // Each frame of a burst gets its own stamp.
        let got2 = s.stamp(Some(nic.at(arrival + 2_500) as u64), burst);
        assert!(got2.abs_diff(arrival + 2_500) < 10);
        // No stamp on the frame: the burst's.
        assert_eq!(s.stamp(None, burst), burst);
        // Two seconds before the burst (wrong units, a jumped clock): refused.
        let old = nic.at(burst - 5_000_000_000) as u64;
        assert_eq!(s.stamp(Some(old), burst), burst);
        // After the burst by more than the mapping's error: refused.
        let future = nic.at(burst + 1_000_000) as u64;
        assert_eq!(s.stamp(Some(future), burst), burst);
        // A capture time in µs (net_pcap's format) maps nowhere near: refused.
        let micros = (nic.at(arrival) / 1_000) as u64;
        assert_eq!(s.stamp(Some(micros), burst), burst);
        assert_eq!(
            (
                s.counters.rx_hw_stamps,
                s.counters.rx_hw_missing,
                s.counters.rx_hw_implausible
            ),
            (2, 1, 3)
        );
    }

    #[test]
    fn launch_time_and_origin_timestamp_name_the_same_instant() {
        let (nic, map) = sim();
        // The PTP timescale: TSC at 2.5 GHz exactly, TAI epoch offset.
        let ptp = SharedTscClock::new(
            &TscClock::from_samples(&[
                (0, 1_800_000_000_000_000_000),
                (2_500_000_000, 1_800_000_001_000_000_000),
            ])
            .unwrap(),
        );
        let now = 9_000_000_000u64;
        let lead = 250_000; // 100 µs
        let (origin, dev) = launch_plan(now, lead, &ptp, &map.shared());
        // The NIC sends when its clock reads `dev`: that is TSC now + lead (within a few
        // ticks of mapping error), when the PTP time is `origin`.
        let true_launch = now + lead;
        let dev_true = nic.at(true_launch);
        assert!(
            (dev as i128 - dev_true).abs() < 10,
            "device launch {dev} vs {dev_true}"
        );
        assert_eq!(origin, ptp.ns_at(true_launch));
        assert_eq!(origin - ptp.ns_at(now), 100_000);
    }

    #[test]
    fn rx_stamps_only_the_latched_frame_once_per_burst() {
        let (nic, map) = sim();
        let mut rx = RxHwStamper::new(nic.clone(), map.shared());
        let t_frame = 5_000_000_000u64;
        let burst_tsc = t_frame + 25_000; // the poll loop saw it 10 µs later
        nic.rx_latch.set(Some(nic.at(t_frame)));
        rx.begin_burst();
        assert_eq!(rx.stamp(false, burst_tsc), burst_tsc, "unmarked frame");
        let s = rx.stamp(true, burst_tsc);
        // Within 10 ns (25 ticks) after calibration alone, against 10 µs for the TSC stamp.
        assert!(s.abs_diff(t_frame) < 25, "hardware stamp {s} vs {t_frame}");
        // A second marked frame in the same burst keeps the TSC stamp.
        nic.rx_latch.set(Some(nic.at(t_frame + 100)));
        assert_eq!(rx.stamp(true, burst_tsc), burst_tsc);
        // Next burst: the latch is read again; an empty latch keeps the TSC stamp.
        rx.begin_burst();
        assert!(rx.stamp(true, burst_tsc).abs_diff(t_frame + 100) < 25);
        rx.begin_burst();
        assert_eq!(rx.stamp(true, burst_tsc), burst_tsc);
        assert_eq!(
            rx.counters,
            HwStampCounters {
                rx_hw_stamps: 2,
                rx_hw_missing: 1,
                rx_hw_extra: 1,
                ..Default::default()
            }
        );
    }

    #[test]
    fn tx_register_is_handed_out_one_at_a_time_with_timeout_fallback() {
        let (nic, map) = sim();
        let mut tx = TxHwStamper::new(nic.clone(), map.shared(), 2_500_000); // 1 ms
                                                                             // Frame 1 reserves the register; frame 2 in the same burst cannot.
        assert!(tx.reserve());
        assert!(!tx.reserve());
        tx.sent(1, 7_000_000_000);
        assert!(!tx.reserve(), "busy while outstanding");
        assert_eq!(tx.poll(7_000_001_000), None, "not stamped yet");
        let wire = 7_000_002_500u64; // on the wire 1 µs after the TSC read
        nic.tx_latch.set(Some(nic.at(wire)));
        let (id, s) = tx.poll(7_000_010_000).unwrap();
        assert_eq!(id, 1);
        assert!(s.abs_diff(wire) < 25, "{s} vs {wire}");
        // Free again; a stamp that never comes times out to the TSC stamp.
        assert!(tx.reserve());
        tx.sent(2, 8_000_000_000);
        assert_eq!(tx.poll(8_002_000_000), None);
        assert_eq!(tx.poll(8_002_500_001), Some((2, 8_000_000_000)));
        assert!(!tx.is_pending());
        // A reserved frame that was not sent frees the register.
        assert!(tx.reserve());
        tx.not_sent();
        assert!(tx.reserve());
        assert_eq!(
            tx.counters,
            HwStampCounters {
                tx_hw_stamps: 1,
                tx_hw_busy: 2,
                tx_hw_timeouts: 1,
                ..Default::default()
            }
        );
    }
}
