//! NIC clocks: timesync latch registers, RX timestamp offload and launch time, each mapped
//! onto the TSC (see [`crate::dataplane::hwstamp`]).

use super::*;

impl NicTimesync for sys::Timesync {
    fn read_time(&mut self) -> Option<i128> {
        sys::Timesync::read_time(self).ok()
    }
    fn read_rx_timestamp(&mut self) -> Option<i128> {
        sys::Timesync::read_rx_timestamp(self)
    }
    fn read_tx_timestamp(&mut self) -> Option<i128> {
        sys::Timesync::read_tx_timestamp(self)
    }
}

impl NicTimesync for sys::DeviceClock {
    fn read_time(&mut self) -> Option<i128> {
        self.read().ok().map(i128::from)
    }
    fn read_rx_timestamp(&mut self) -> Option<i128> {
        None
    }
    fn read_tx_timestamp(&mut self) -> Option<i128> {
        None
    }
}

/// Maps a device clock onto the TSC: 50 bracketed readings 2 ms apart (100 ms).
pub(super) fn calibrate_map(
    mut dev: impl NicTimesync,
) -> Result<NicClockMap, crate::clock::tsc::TscError> {
    NicClockMap::calibrate(&mut dev, &mut sys::rdtsc, 50, &mut || {
        std::thread::sleep(std::time::Duration::from_millis(2))
    })
}

/// How far ahead of the TSC read one-step frames are scheduled with send-on-timestamp: more
/// than the time from that read to the NIC (a few µs), so the frame is never late.
pub(super) const LAUNCH_LEAD_NS: f64 = 100_000.0;

/// Launch-time one-step (`RTE_ETH_TX_OFFLOAD_SEND_ON_TIMESTAMP`): the mbuf field that takes
/// the launch time and the device clock mapped onto the TSC.
pub(super) struct LaunchTime {
    pub(super) field: sys::TxTimestampField,
    pub(super) dev: sys::DeviceClock,
    pub(super) map: NicClockMap,
    pub(super) lead_ticks: u64,
}

impl LaunchTime {
    pub(super) fn new(eal: Eal, dev: sys::DeviceClock) -> Result<LaunchTime, String> {
        let field = eal.tx_timestamp_dynfield().map_err(|e| e.to_string())?;
        let map = calibrate_map(dev).map_err(|e| e.to_string())?;
        let hz = sys::tsc_hz().unwrap_or(3_000_000_000) as f64;
        Ok(LaunchTime {
            field,
            dev,
            map,
            lead_ticks: (LAUNCH_LEAD_NS * hz / 1e9) as u64,
        })
    }

    pub(super) fn stage(&self) -> pipeline::LaunchStage {
        pipeline::LaunchStage {
            field: self.field,
            device: self.map.shared(),
            lead_ticks: self.lead_ticks,
        }
    }
}

/// RX timestamp offload (`RTE_ETH_RX_OFFLOAD_TIMESTAMP`): the dynfield the PMD fills, the
/// device clock (same units) mapped onto the TSC, and the stamper of the single-core mode
/// (a pipeline's RX stage gets a copy sharing the map).
pub(super) struct RxOffload {
    pub(super) field: sys::RxTimestampField,
    pub(super) dev: sys::DeviceClock,
    pub(super) map: NicClockMap,
    pub(super) stamper: RxDynStamper,
}

impl RxOffload {
    pub(super) fn new(
        field: sys::RxTimestampField,
        dev: sys::DeviceClock,
    ) -> Result<RxOffload, String> {
        let map = calibrate_map(dev).map_err(|e| e.to_string())?;
        let hz = sys::tsc_hz().unwrap_or(3_000_000_000) as f64;
        Ok(RxOffload {
            field,
            dev,
            stamper: RxDynStamper::new(map.shared(), hz),
            map,
        })
    }
}

/// How long a hardware TX stamp is awaited before the TSC stamp is used instead.
pub(super) const HW_TX_TIMEOUT_NS: f64 = 5_000_000.0;

/// Hardware stamping of a port with timesync: the NIC clock's mapping onto the TSC and the
/// register handlers (see [`super::hwstamp`]).
pub(super) struct HwStamping {
    pub(super) nic: sys::Timesync,
    pub(super) map: NicClockMap,
    pub(super) rx: RxHwStamper<sys::Timesync>,
    pub(super) tx: TxHwStamper<sys::Timesync>,
}

impl HwStamping {
    /// Calibrates the NIC clock against the TSC (100 ms).
    pub(super) fn new(nic: sys::Timesync) -> Result<HwStamping, crate::clock::tsc::TscError> {
        let map = calibrate_map(nic)?;
        let hs = HwStamping {
            nic,
            rx: RxHwStamper::new(nic, map.shared()),
            tx: TxHwStamper::new(nic, map.shared(), Self::timeout_ticks()),
            map,
        };
        Ok(hs)
    }

    pub(super) fn timeout_ticks() -> u64 {
        // EAL's TSC frequency is enough for a timeout (it is only ~0.15 % off).
        let hz = sys::tsc_hz().unwrap_or(3_000_000_000) as f64;
        (HW_TX_TIMEOUT_NS * hz / 1e9) as u64
    }

    /// Handlers for a pipeline's RX and TX stages (the registers move there with them).
    pub(super) fn stampers(&self) -> (RxHwStamper<sys::Timesync>, TxHwStamper<sys::Timesync>) {
        (
            RxHwStamper::new(self.nic, self.map.shared()),
            TxHwStamper::new(self.nic, self.map.shared(), Self::timeout_ticks()),
        )
    }
}

impl DpdkPort {
    /// One update of the NIC-clock → TSC mapping (hardware timesync only; call about once
    /// a second from the engine core). Returns the mapping error before the update, ns.
    pub fn track_nic_clock(&mut self) -> Option<i128> {
        if let Some(l) = &mut self.launch {
            l.map.track(&mut l.dev, &mut sys::rdtsc);
        }
        if let Some(o) = &mut self.rx_offload {
            o.map.track(&mut o.dev, &mut sys::rdtsc);
        }
        let h = self.hw.as_mut()?;
        h.map.track(&mut h.nic, &mut sys::rdtsc)
    }

    /// Whether one-step frames leave at a launch time the device honours.
    pub fn launch_time_one_step(&self) -> bool {
        self.launch.is_some()
    }

    /// Hardware stamping counters (hardware timesync only).
    pub fn hw_stamp_counters(&self) -> Option<HwStampCounters> {
        if self.hw.is_none() && self.rx_offload.is_none() {
            return None;
        }
        let mut c = HwStampCounters::default();
        if let Some(h) = &self.hw {
            let (r, t) = (h.rx.counters, h.tx.counters);
            c.tx_hw_stamps = t.tx_hw_stamps;
            c.tx_hw_busy = t.tx_hw_busy;
            c.tx_hw_timeouts = t.tx_hw_timeouts;
            if self.rx_offload.is_none() {
                c.rx_hw_stamps = r.rx_hw_stamps;
                c.rx_hw_missing = r.rx_hw_missing;
                c.rx_hw_extra = r.rx_hw_extra;
            }
        }
        if let Some(o) = &self.rx_offload {
            let r = o.stamper.counters;
            c.rx_hw_stamps = r.rx_hw_stamps;
            c.rx_hw_missing = r.rx_hw_missing;
            c.rx_hw_implausible = r.rx_hw_implausible;
        }
        if self.pipeline.is_some() {
            let s = self.stage_counters.report();
            c.rx_hw_stamps += s.rx_hw_stamps;
            c.rx_hw_missing += s.rx_hw_missing;
            c.rx_hw_extra += s.rx_hw_extra;
            c.rx_hw_implausible += s.rx_hw_implausible;
            c.tx_hw_stamps += s.tx_hw_stamps;
            c.tx_hw_busy += s.tx_hw_busy;
            c.tx_hw_timeouts += s.tx_hw_timeouts;
        }
        Some(c)
    }

    /// Whether received frames carry their own hardware arrival time (RX timestamp offload,
    /// mapped through the device clock).
    pub fn rx_timestamp_offload(&self) -> bool {
        self.rx_offload.is_some()
    }
}
