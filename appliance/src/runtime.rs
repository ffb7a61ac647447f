//! `meridian run`: the daemon's loop.
//!
//! Sockets backend: one thread, like ptp4l: `poll()` on every port's sockets and the control
//! socket with the engine's next deadline as timeout. DPDK backend: the same loop on a pinned
//! core, busy-polling the ports (poll mode: no syscalls per packet), stamping with the
//! calibrated TSC clock. In both, received messages go to the engine with their timestamps on
//! the PTP timescale; the engine's transmissions go straight out through the port; TX
//! timestamps come back to the engine under their tokens. Requests are taken in bounded
//! batches with the engine's timers served between batches, so a flood cannot delay
//! scheduled Syncs by more than one batch.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context as _};
use meridian_proto::engine::{
    Engine, Output, PortState, RxMessage, Time, Transmit, TxStamp, TxToken,
};
use tracing::{error, info, warn};

use crate::clock::{LeapTable, SystemClock, UtcSource};
use crate::config::BackendName;
use crate::config::{Config, PortFacts, UtcOffsetSetting};
use crate::control::{clock_report, ControlServer, PortReport, StatsReport, StatusReport};
use crate::dataplane::{self, DataplaneError, Phc, SocketPort, SocketPortConfig, StampSource};
use meridian_proto::engine::{Destination, PeerAddress};

/// Messages taken from one port before the engine's timers get a turn.
const RX_BATCH: usize = 64;
/// Longest poll() sleep, so signals and clock-status refreshes are seen promptly.
const MAX_SLEEP_NS: u64 = 100_000_000;
/// How often a busy-polling loop looks at the control socket.
const CONTROL_CHECK_NS: u64 = 10_000_000;
/// How often the clock status (quality, UTC offset, leap flags) is re-derived.
const STATUS_REFRESH_NS: u64 = 1_000_000_000;

/// Where "now" and the packet timestamps come from.
enum TimeBase {
    /// CLOCK_REALTIME + TAI − UTC (software timestamps).
    System,
    /// One PHC that stamps every port (hardware timestamps), assumed on TAI.
    Phc(Phc),
    /// The TSC, calibrated against and tracking CLOCK_REALTIME + TAI − UTC (DPDK ports
    /// without hardware timesync).
    #[cfg(feature = "dpdk")]
    Tsc(crate::clock::tsc::TscClock),
}

struct Clock {
    system: SystemClock,
    base: TimeBase,
    /// The TSC model published for the DPDK ports and pipeline stages (DPDK only).
    #[cfg(feature = "dpdk")]
    shared: Option<Arc<crate::clock::tsc::SharedTscClock>>,
}

impl Clock {
    fn system_tai(&self) -> Time {
        tai(self.system.realtime_to_tai(dataplane::realtime_ns()))
    }

    fn now(&self) -> Time {
        match &self.base {
            TimeBase::System => self.system_tai(),
            TimeBase::Phc(p) => match p.now_ns() {
                Ok(ns) => tai(ns),
                Err(_) => self.system_tai(),
            },
            #[cfg(feature = "dpdk")]
            TimeBase::Tsc(c) => tai(c.ns_at(crate::dataplane::dpdk::rdtsc())),
        }
    }

    /// A socket timestamp as the data plane reported it, on the PTP timescale.
    fn stamp(&self, ns: i128) -> Time {
        match self.base {
            TimeBase::System => tai(self.system.realtime_to_tai(ns)),
            _ => tai(ns),
        }
    }

    /// A TSC reading on the PTP timescale.
    #[cfg(feature = "dpdk")]
    fn stamp_tsc(&self, tsc: u64) -> Time {
        match &self.base {
            TimeBase::Tsc(c) => tai(c.ns_at(tsc)),
            _ => self.now(),
        }
    }

    /// Keeps the TSC clock on the reference (once a second).
    fn track(&mut self) {
        #[cfg(feature = "dpdk")]
        if let TimeBase::Tsc(c) = &mut self.base {
            let tsc = crate::dataplane::dpdk::rdtsc();
            let reference = self.system.realtime_to_tai(dataplane::realtime_ns());
            let err = c.track(tsc, reference, 1.0);
            if let Some(s) = &self.shared {
                s.publish(c);
            }
            tracing::debug!(
                error_ns = err as i64,
                ppb = c.frequency_adjustment_ppb(),
                "TSC tracking"
            );
        }
    }
}

fn tai(ns: i128) -> Time {
    Time(ns.clamp(0, u64::MAX as i128) as u64)
}

/// A received message, timestamped on the PTP timescale.
struct Rx {
    len: usize,
    source: PeerAddress,
    multicast: bool,
    timestamp: Option<Time>,
}

/// One port of either backend.
#[cfg_attr(
    feature = "dpdk",
    expect(
        clippy::large_enum_variant,
        reason = "one PortIo per port, built once; boxing the socket port buys nothing"
    )
)]
enum PortIo {
    Socket(SocketPort),
    #[cfg(feature = "dpdk")]
    Dpdk(Box<crate::dataplane::dpdk::DpdkPort>),
}

impl PortIo {
    fn recv(&mut self, buf: &mut [u8], clock: &Clock) -> Result<Option<Rx>, DataplaneError> {
        match self {
            PortIo::Socket(p) => Ok(p.recv(buf)?.map(|i| Rx {
                len: i.len,
                source: i.source,
                multicast: i.multicast,
                timestamp: i.timestamp_ns.map(|ns| clock.stamp(ns)),
            })),
            #[cfg(feature = "dpdk")]
            PortIo::Dpdk(p) => Ok(p.recv(buf)?.map(|i| Rx {
                len: i.len,
                source: i.source,
                multicast: i.multicast,
                timestamp: Some(clock.stamp_tsc(i.tsc)),
            })),
        }
    }

    fn send(
        &mut self,
        dest: Destination,
        event: bool,
        payload: &[u8],
        want_tx_timestamp: bool,
        one_step: bool,
        clock: &Clock,
    ) -> Result<Option<u32>, DataplaneError> {
        match self {
            PortIo::Socket(p) => {
                if one_step {
                    let mut launch = || clock.now().0 as i128;
                    p.send(dest, event, payload, want_tx_timestamp, Some(&mut launch))
                } else {
                    p.send(dest, event, payload, want_tx_timestamp, None)
                }
            }
            #[cfg(feature = "dpdk")]
            PortIo::Dpdk(p) => {
                if one_step {
                    let mut launch = |tsc: u64| clock.stamp_tsc(tsc).0 as i128;
                    p.send(dest, event, payload, want_tx_timestamp, Some(&mut launch))
                } else {
                    p.send(dest, event, payload, want_tx_timestamp, None)
                }
            }
        }
    }

    /// Sends what the port queued (DPDK single-core mode: one `tx_burst` for the replies to
    /// a burst); nothing to do for sockets.
    fn flush_tx(&mut self) {
        #[cfg(feature = "dpdk")]
        if let PortIo::Dpdk(p) = self {
            p.flush_tx();
        }
    }

    /// Appends (port, id, time) for every TX timestamp ready.
    fn drain_tx_timestamps(
        &mut self,
        i: usize,
        clock: &Clock,
        out: &mut Vec<(usize, u32, Time)>,
    ) -> Result<(), DataplaneError> {
        match self {
            PortIo::Socket(p) => {
                p.drain_tx_timestamps(&mut |id, ns| out.push((i, id, clock.stamp(ns))))
            }
            #[cfg(feature = "dpdk")]
            PortIo::Dpdk(p) => {
                p.drain_tx_timestamps(&mut |id, tsc| out.push((i, id, clock.stamp_tsc(tsc))));
                Ok(())
            }
        }
    }

    fn raw_fds(&self) -> Vec<std::os::fd::RawFd> {
        match self {
            PortIo::Socket(p) => p.raw_fds(),
            #[cfg(feature = "dpdk")]
            PortIo::Dpdk(_) => Vec::new(),
        }
    }

    fn mac(&self) -> [u8; 6] {
        match self {
            PortIo::Socket(p) => p.mac(),
            #[cfg(feature = "dpdk")]
            PortIo::Dpdk(p) => p.mac(),
        }
    }

    fn protocol_address(&self) -> Vec<u8> {
        match self {
            PortIo::Socket(p) => p.protocol_address(),
            #[cfg(feature = "dpdk")]
            PortIo::Dpdk(p) => p.protocol_address(),
        }
    }

    fn log_counters(&self, number: usize) {
        match self {
            PortIo::Socket(p) => info!(port = number, counters = ?p.counters(), "socket counters"),
            #[cfg(feature = "dpdk")]
            PortIo::Dpdk(p) => {
                info!(port = number, counters = ?p.counters(), "DPDK counters");
                if let Some(r) = p.stage_report() {
                    info!(port = number, counters = ?r, "DPDK pipeline counters");
                }
            }
        }
    }

    /// The data plane's counters for the status report.
    fn counters(&self) -> std::collections::BTreeMap<String, u64> {
        let mut out = std::collections::BTreeMap::new();
        let mut add = |prefix: &str, v: serde_json::Value| {
            if let serde_json::Value::Object(m) = v {
                for (k, v) in m {
                    if let Some(n) = v.as_u64() {
                        out.insert(format!("{prefix}{k}"), n);
                    }
                }
            }
        };
        match self {
            PortIo::Socket(p) => add("", serde_json::to_value(p.counters()).unwrap_or_default()),
            #[cfg(feature = "dpdk")]
            PortIo::Dpdk(p) => {
                add("", serde_json::to_value(p.counters()).unwrap_or_default());
                if let Some(r) = p.stage_report() {
                    add("pipeline_", serde_json::to_value(r).unwrap_or_default());
                } else if let Some(h) = p.hw_stamp_counters() {
                    add("", serde_json::to_value(h).unwrap_or_default());
                }
            }
        }
        out
    }

    /// Keeps a NIC clock's mapping onto the TSC current (DPDK hardware timesync).
    fn track_hw_clock(&mut self, number: usize) {
        #[cfg(feature = "dpdk")]
        if let PortIo::Dpdk(p) = self {
            if let Some(err) = p.track_nic_clock() {
                tracing::debug!(port = number, error_ns = err as i64, "NIC clock mapping");
            }
        }
        #[cfg(not(feature = "dpdk"))]
        let _ = number;
    }

    fn stamp_name(&self) -> String {
        match self {
            PortIo::Socket(p) => stamp_name(p.stamp_source()),
            #[cfg(feature = "dpdk")]
            PortIo::Dpdk(p) => format!(
                "{}{}{}",
                match (p.rx_timestamp_offload(), p.hardware_timesync()) {
                    (true, true) =>
                        "hardware (RX: timestamp offload; TX: DPDK timesync; TSC fallback)",
                    (true, false) => "hardware RX (timestamp offload), TSC TX",
                    (false, true) => "hardware (DPDK timesync, TSC fallback)",
                    (false, false) => "TSC",
                },
                if p.launch_time_one_step() {
                    ", launch-time one-step"
                } else {
                    ""
                },
                if p.is_pipelined() {
                    " (DPDK pipeline)"
                } else {
                    " (DPDK poll loop)"
                }
            ),
        }
    }
}

/// TX-timestamp ids (per port) awaiting the kernel's report, with when they were sent.
type TokenMap = HashMap<u32, (TxToken, Time)>;

/// The engine's [`Output`]: sends at once through the port's sockets.
struct Sink<'a> {
    ports: &'a mut [PortIo],
    tokens: &'a mut [TokenMap],
    clock: &'a Clock,
    lost: &'a mut Vec<TxToken>,
    tx_errors: &'a mut u64,
    now: Time,
}

impl Output for Sink<'_> {
    fn transmit(&mut self, tx: Transmit<'_>) {
        let i = tx.port as usize;
        let Some(port) = self.ports.get_mut(i) else {
            return;
        };
        let clock = self.clock;
        let r = match tx.stamp {
            TxStamp::None => port
                .send(tx.destination, tx.event, tx.payload, false, false, clock)
                .map(|_| ()),
            TxStamp::OneStep => port
                .send(tx.destination, tx.event, tx.payload, false, true, clock)
                .map(|_| ()),
            TxStamp::TwoStep(token) => {
                match port.send(tx.destination, tx.event, tx.payload, true, false, clock) {
                    Ok(Some(id)) => {
                        if let Some((old, _)) = self.tokens[i].insert(id, (token, self.now)) {
                            self.lost.push(old);
                        }
                        Ok(())
                    }
                    Ok(None) => {
                        self.lost.push(token);
                        Ok(())
                    }
                    Err(e) => {
                        self.lost.push(token);
                        Err(e)
                    }
                }
            }
        };
        if let Err(e) = r {
            *self.tx_errors += 1;
            // One line per failure is too much under load: log the first few, count all.
            if *self.tx_errors <= 10 {
                warn!(port = i + 1, error = %e, "send failed");
            }
        }
    }
}

/// Runs the daemon until SIGINT/SIGTERM.
pub fn run(cfg: Config) -> anyhow::Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .context("installing signal handlers")?;
    }

    // Ports first: the clock identity and CLOCK_DESCRIPTION need their MACs and addresses.
    let (mut ports, base) = match cfg.dataplane.backend {
        BackendName::Sockets => open_socket_ports(&cfg)?,
        BackendName::Dpdk => open_dpdk_ports(&cfg)?,
    };
    let facts: Vec<PortFacts> = ports
        .iter()
        .map(|p| PortFacts {
            mac: p.mac(),
            protocol_address: p.protocol_address(),
        })
        .collect();
    let utc = match &cfg.clock.utc_offset {
        UtcOffsetSetting::Seconds(s) => UtcSource::Fixed(*s),
        UtcOffsetSetting::Keyword(_) => {
            let t = LeapTable::load(&cfg.clock.leap_file).with_context(|| {
                "reading the leap-second file (install tzdata, or set [clock] utc-offset)"
            })?;
            let unix = (dataplane::realtime_ns() / 1_000_000_000) as i64;
            if t.expired(unix) {
                warn!(file = %cfg.clock.leap_file.display(), "leap-second file has expired: \
                      currentUtcOffsetValid will be announced false until it is updated");
            }
            UtcSource::Table(t)
        }
    };
    let system = SystemClock::new(utc, cfg.explicit_quality());
    let base = base.finish(&system)?;
    let mut clock = Clock {
        system,
        base,
        #[cfg(feature = "dpdk")]
        shared: None,
    };
    // DPDK: every port converts its TSC stamps with the published clock model and records
    // residence times; with stages on other cores, the ports become pipelines.
    let mut stages = Stages::default();
    let residence = attach_dpdk_clock(&mut clock, &mut ports);
    if cfg.dataplane.backend == BackendName::Dpdk && cfg.dataplane.pipelined() {
        stages = split_pipelines(&cfg, &mut ports)?;
    }
    let (inline_stages, stage_threads) = stages.start(&cfg, &stop)?;
    let mut inline_stages = inline_stages;
    let status_now = |clock: &Clock| {
        let unix = (dataplane::realtime_ns() / 1_000_000_000) as i64;
        clock.system.status(unix, crate::sys::kernel_clock_state())
    };

    let engine_cfg = cfg
        .engine_config(&facts)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut engine = Engine::new(engine_cfg, clock.now(), status_now(&clock))
        .map_err(|e| anyhow::anyhow!("engine configuration: {e}"))?;
    let control = ControlServer::bind(&cfg.control.socket)?;
    let profile = format!("{:?}", cfg.clock.profile.profile().name());
    let profile = profile.trim_matches('"').to_string();
    info!(
        identity = %engine.clock_config().clock_identity,
        profile = %profile,
        domain = engine.clock_config().domain_number,
        control = %cfg.control.socket.display(),
        "meridian running"
    );
    notify_ready();

    let started = Instant::now();
    let mut tokens: Vec<TokenMap> = ports.iter().map(|_| HashMap::with_capacity(1024)).collect();
    let mut lost: Vec<TxToken> = Vec::with_capacity(64);
    let mut tx_errors = 0u64;
    let mut states: Vec<PortState> = (0..ports.len())
        .map(|i| {
            engine
                .port_status(i as u16)
                .map_or(PortState::Initializing, |s| s.state)
        })
        .collect();
    let mut next_status = Time(0);
    let mut buf = vec![0u8; 2048];
    let mut fds = Vec::new();
    let mut fd_port = Vec::new();
    for (i, p) in ports.iter().enumerate() {
        for fd in p.raw_fds() {
            fds.push(fd);
            fd_port.push(Some(i));
        }
    }
    fds.push(control.raw_fd());
    fd_port.push(None);
    let tx_timeout = Time(cfg.clock.tx_timestamp_timeout_ms * 2_000_000);
    let mut stamps: Vec<(usize, u32, Time)> = Vec::with_capacity(256);
    let mut expired: Vec<u32> = Vec::with_capacity(256);
    let busy_poll = cfg.dataplane.backend == BackendName::Dpdk;
    let idle_sleep_ns = u64::from(cfg.dataplane.idle_sleep_us) * 1_000;
    // Whether the previous iteration found anything to do (busy poll with idle sleep).
    let mut idle = false;
    let mut next_control = Time(0);
    let mut control_due = true;

    while !stop.load(Ordering::Relaxed) {
        let now = clock.now();
        let sleep = engine
            .poll_timeout()
            .min(next_status)
            .saturating_since(now)
            .min(MAX_SLEEP_NS);
        let has_pending = tokens.iter().any(|t| !t.is_empty());
        // While TX timestamps are awaited, wake often enough to collect them promptly.
        let sleep = if has_pending {
            sleep.min(1_000_000)
        } else {
            sleep
        };
        if busy_poll {
            // Poll mode: no sleeping and no syscall per iteration; the control socket is
            // looked at every CONTROL_CHECK_NS. With `idle-sleep-us`, an iteration that
            // found nothing is followed by a short sleep (never past the engine's deadline).
            if idle && idle_sleep_ns > 0 {
                let nap = idle_sleep_ns.min(sleep);
                if nap > 0 {
                    std::thread::sleep(std::time::Duration::from_nanos(nap));
                }
            }
            idle = true;
            if now >= next_control {
                next_control = now.plus_nanos(CONTROL_CHECK_NS);
                control_due = true;
            }
        } else {
            dataplane::poll_readable(&fds, Some(sleep)).context("poll")?;
            control_due = true;
        }
        let now = clock.now();

        if now >= next_status {
            clock.track();
            for (i, p) in ports.iter_mut().enumerate() {
                p.track_hw_clock(i + 1);
            }
            let now = clock.now();
            engine.set_clock_status(now, status_now(&clock));
            next_status = now.plus_nanos(STATUS_REFRESH_NS);
        }
        // TX timestamps first: they complete Follow_Ups.
        stamps.clear();
        for (i, port) in ports.iter_mut().enumerate() {
            if let Err(e) = port.drain_tx_timestamps(i, &clock, &mut stamps) {
                warn!(port = i + 1, error = %e, "reading TX timestamps");
            }
        }
        if !stamps.is_empty() {
            idle = false;
        }
        for &(i, id, t) in &stamps {
            if let Some((token, _)) = tokens[i].remove(&id) {
                let mut sink = Sink {
                    ports: &mut ports,
                    tokens: &mut tokens,
                    clock: &clock,
                    lost: &mut lost,
                    tx_errors: &mut tx_errors,
                    now,
                };
                engine.handle_tx_timestamp(now, token, t, &mut sink);
            }
        }
        // Stages on this core: RX bursts into the rings.
        if inline_stages.poll_rx() > 0 {
            idle = false;
        }
        // Received messages, in bounded batches per port.
        for i in 0..ports.len() {
            for _ in 0..RX_BATCH {
                let info = match ports[i].recv(&mut buf, &clock) {
                    Ok(Some(info)) => {
                        idle = false;
                        info
                    }
                    Ok(None) => break,
                    Err(e) => {
                        warn!(port = i + 1, error = %e, "receive");
                        break;
                    }
                };
                let now = clock.now();
                let rx = RxMessage {
                    port: i as u16,
                    source: info.source,
                    multicast: info.multicast,
                    timestamp: info.timestamp,
                    payload: &buf[..info.len],
                };
                let mut sink = Sink {
                    ports: &mut ports,
                    tokens: &mut tokens,
                    clock: &clock,
                    lost: &mut lost,
                    tx_errors: &mut tx_errors,
                    now,
                };
                engine.handle_message(now, rx, &mut sink);
            }
        }
        // Timers.
        let now = clock.now();
        let mut sink = Sink {
            ports: &mut ports,
            tokens: &mut tokens,
            clock: &clock,
            lost: &mut lost,
            tx_errors: &mut tx_errors,
            now,
        };
        engine.handle_timeout(now, &mut sink);
        for p in ports.iter_mut() {
            p.flush_tx();
        }
        // Stages on this core: the engine's frames out.
        if inline_stages.poll_tx() > 0 {
            idle = false;
        }
        // Tokens the kernel will not report (send failed, or never stamped).
        for t in tokens.iter_mut() {
            expired.clear();
            expired.extend(
                t.iter()
                    .filter(|(_, (_, sent))| now.saturating_since(*sent) > tx_timeout.0)
                    .map(|(id, _)| *id),
            );
            for id in &expired {
                if let Some((tok, _)) = t.remove(id) {
                    lost.push(tok);
                }
            }
        }
        for tok in lost.drain(..) {
            engine.handle_tx_timestamp_lost(tok);
        }
        // State changes are news.
        for (i, s) in states.iter_mut().enumerate() {
            if let Some(ps) = engine.port_status(i as u16) {
                if ps.state != *s {
                    let iface = &cfg.ports[i].interface;
                    match ps.best_foreign_master {
                        Some(b) if ps.state != PortState::Master => info!(
                            "port {} ({iface}): {} to {} (best master {} priority1 {} class {})",
                            i + 1,
                            s.name(),
                            ps.state.name(),
                            b.grandmaster_identity,
                            b.grandmaster_priority1,
                            b.grandmaster_clock_quality.clock_class
                        ),
                        _ => info!(
                            "port {} ({iface}): {} to {}",
                            i + 1,
                            s.name(),
                            ps.state.name()
                        ),
                    }
                    *s = ps.state;
                }
            }
        }
        if !control_due {
            continue;
        }
        control_due = false;
        control.serve(|| {
            let stats = engine.stats();
            StatusReport {
                version: env!("CARGO_PKG_VERSION").to_string(),
                uptime_s: started.elapsed().as_secs(),
                clock: clock_report(&engine, &profile),
                ports: (0..cfg.ports.len())
                    .filter_map(|i| {
                        let ps = engine.port_status(i as u16)?;
                        Some(PortReport {
                            number: (i + 1) as u16,
                            interface: cfg.ports[i].interface.clone(),
                            transport: cfg.ports[i].transport.as_str().to_string(),
                            state: ps.state.name().to_string(),
                            timestamping: ports[i].stamp_name(),
                            unicast_slaves: ps.unicast_slaves,
                            unicast_rate: ps.unicast_rate,
                            foreign_masters: ps.foreign_masters,
                            best_master: ps
                                .best_foreign_master
                                .map(|b| b.grandmaster_identity.to_string()),
                            counters: ports[i].counters(),
                        })
                    })
                    .collect(),
                stats: StatsReport::new(stats, tx_errors),
                residence: residence.as_ref().map(|h| h.snapshot().report()),
            }
        });
    }
    info!("meridian stopping (signal)");
    stop.store(true, Ordering::Relaxed);
    for t in stage_threads {
        if t.join().is_err() {
            error!("a pipeline stage thread panicked");
        }
    }
    for (i, p) in ports.iter().enumerate() {
        p.log_counters(i + 1);
    }
    if tx_errors > 0 {
        error!(tx_errors, "sends failed during the run");
    }
    // Ports closed, then EAL's runtime directory (if Meridian named it) goes.
    drop(ports);
    if cfg.dataplane.backend == BackendName::Dpdk
        && !cfg
            .dataplane
            .eal_args
            .iter()
            .any(|a| a.starts_with("--file-prefix"))
    {
        clean_eal_runtime_dirs(true);
    }
    Ok(())
}

/// The time base the ports need, before the reference clock exists.
enum BaseChoice {
    System,
    Phc(i32),
    #[cfg(feature = "dpdk")]
    Tsc,
}

impl BaseChoice {
    fn finish(self, system: &SystemClock) -> anyhow::Result<TimeBase> {
        let _ = system;
        Ok(match self {
            BaseChoice::System => TimeBase::System,
            BaseChoice::Phc(i) => TimeBase::Phc(Phc::open(i).context("opening the PHC")?),
            #[cfg(feature = "dpdk")]
            BaseChoice::Tsc => {
                if !crate::clock::tsc::invariant_tsc() {
                    warn!(
                        "the CPU does not report an invariant TSC (constant_tsc nonstop_tsc): \
                           TSC timestamps may drift with power states"
                    );
                }
                let sleep = || std::thread::sleep(std::time::Duration::from_millis(2));
                let c = crate::clock::tsc::TscClock::calibrate(
                    crate::dataplane::dpdk::rdtsc,
                    || system.realtime_to_tai(dataplane::realtime_ns()),
                    50,
                    sleep,
                )
                .context("calibrating the TSC")?;
                info!(
                    hz = c.frequency_hz(),
                    "TSC calibrated against the system clock"
                );
                TimeBase::Tsc(c)
            }
        })
    }
}

/// Whether port `i` uses peer delay (and so must also join the peer-delay group).
fn p2p(cfg: &Config, i: usize) -> bool {
    cfg.delay_mechanisms().get(i) == Some(&meridian_proto::engine::DelayMechanism::P2P)
}

fn open_socket_ports(cfg: &Config) -> anyhow::Result<(Vec<PortIo>, BaseChoice)> {
    let mut ports = Vec::new();
    for (i, p) in cfg.ports.iter().enumerate() {
        let sp = SocketPortConfig {
            interface: p.interface.clone(),
            transport: p.transport.transport(),
            timestamping: cfg.timestamping.mode.mode(),
            dscp: p.dscp,
            vlan: p.vlan.map(|v| (v, p.vlan_priority)),
            ipv6_scope: p.ipv6_scope,
            multicast: true,
            pdelay: p2p(cfg, i),
        };
        let port =
            SocketPort::open(&sp).with_context(|| format!("port {} ({})", i + 1, p.interface))?;
        info!(
            port = i + 1,
            interface = %p.interface,
            transport = p.transport.as_str(),
            timestamping = %stamp_name(port.stamp_source()),
            "port open"
        );
        ports.push(port);
    }
    // One time base for every port.
    let sources: Vec<StampSource> = ports.iter().map(SocketPort::stamp_source).collect();
    let base = match sources.first() {
        Some(StampSource::Hardware { phc_index }) => {
            if sources.iter().any(|s| {
                *s != StampSource::Hardware {
                    phc_index: *phc_index,
                }
            }) {
                bail!(
                    "ports stamp with different clocks ({sources:?}); until PHC synchronisation \
                     exists, use one NIC or `[timestamping] mode = \"software\"`"
                );
            }
            BaseChoice::Phc(*phc_index)
        }
        _ => {
            if sources
                .iter()
                .any(|s| matches!(s, StampSource::Hardware { .. }))
            {
                bail!("ports mix hardware and software timestamps; set `[timestamping] mode`");
            }
            BaseChoice::System
        }
    };
    Ok((ports.into_iter().map(PortIo::Socket).collect(), base))
}

#[cfg(not(feature = "dpdk"))]
fn open_dpdk_ports(_cfg: &Config) -> anyhow::Result<(Vec<PortIo>, BaseChoice)> {
    bail!("this build has no DPDK data plane: rebuild with `--features dpdk`")
}

/// EAL arguments: the configured ones, plus the lcore, one `--vdev` per vdev port (`net_…`)
/// or `-a` per PCI device, and a file prefix unless given.
#[cfg_attr(not(feature = "dpdk"), allow(dead_code))]
fn eal_args(cfg: &Config) -> Vec<String> {
    let mut args = Vec::new();
    let (lcore, _, _) = cfg.dataplane.lcores();
    if !cfg
        .dataplane
        .eal_args
        .iter()
        .any(|a| a == "-l" || a.starts_with("--lcores"))
    {
        args.push("-l".into());
        args.push(lcore.to_string());
    }
    if !cfg
        .dataplane
        .eal_args
        .iter()
        .any(|a| a.starts_with("--file-prefix"))
    {
        args.push(format!("--file-prefix={}", own_eal_prefix()));
    }
    args.extend(cfg.dataplane.eal_args.iter().cloned());
    for p in &cfg.ports {
        if let Some(d) = &p.dpdk_device {
            if d.starts_with("net_") {
                args.push("--vdev".into());
            } else {
                args.push("-a".into());
            }
            args.push(d.clone());
        }
    }
    args
}

/// The EAL file prefix Meridian picks when the configuration gives none.
fn own_eal_prefix() -> String {
    format!("{EAL_PREFIX}{}", std::process::id())
}

const EAL_PREFIX: &str = "meridian-";

/// Where EAL keeps a prefix's runtime files (sockets, fbarrays): `/var/run/dpdk/PREFIX` as
/// root, else under `$XDG_RUNTIME_DIR/dpdk` (or `/tmp/dpdk`).
fn eal_runtime_base() -> std::path::PathBuf {
    // The owner of /proc/self is the effective uid.
    let root = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false);
    if root {
        return "/var/run/dpdk".into();
    }
    std::env::var_os("XDG_RUNTIME_DIR")
        .map(|d| std::path::PathBuf::from(d).join("dpdk"))
        .unwrap_or_else(|| "/tmp/dpdk".into())
}

/// EAL never removes its runtime directory. Removes ours at exit (when Meridian chose the
/// prefix), and at start those of earlier Meridian processes that no longer run (killed).
#[cfg_attr(not(feature = "dpdk"), allow(dead_code))]
fn clean_eal_runtime_dirs(at_exit: bool) {
    let base = eal_runtime_base();
    if at_exit {
        let _ = std::fs::remove_dir_all(base.join(own_eal_prefix()));
        return;
    }
    let Ok(entries) = std::fs::read_dir(&base) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(EAL_PREFIX))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            tracing::debug!(dir = %e.path().display(), "removing a dead Meridian's EAL runtime dir");
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

#[cfg(feature = "dpdk")]
fn open_dpdk_ports(cfg: &Config) -> anyhow::Result<(Vec<PortIo>, BaseChoice)> {
    use crate::dataplane::dpdk::{eal_init, DpdkPort, DpdkPortConfig};
    if let Some(core) = cfg.dataplane.lcore {
        if !core_affinity::set_for_current(core_affinity::CoreId { id: core }) {
            warn!(core, "could not pin the engine loop to its core");
        }
    }
    let args = eal_args(cfg);
    clean_eal_runtime_dirs(false);
    info!(args = ?args, "initialising DPDK EAL");
    eal_init(&args).context("DPDK EAL")?;
    let mut ports = Vec::new();
    for (i, p) in cfg.ports.iter().enumerate() {
        let device = p.dpdk_device.clone().unwrap_or_default();
        let dc = DpdkPortConfig {
            device: device.clone(),
            transport: p.transport.transport(),
            ipv4: match p.address {
                Some(std::net::IpAddr::V4(a)) => Some(a.octets()),
                _ => None,
            },
            ipv6: match p.address {
                Some(std::net::IpAddr::V6(a)) => Some(a.octets()),
                _ => None,
            },
            dscp: p.dscp,
            vlan: p.vlan.map(|v| (v, p.vlan_priority)),
            ipv6_scope: p.ipv6_scope,
            pdelay: p2p(cfg, i),
            rx_descriptors: cfg.dataplane.rx_descriptors,
            tx_descriptors: cfg.dataplane.tx_descriptors,
            pool_size: cfg.dataplane.mbufs,
            launch_time: p.one_step,
        };
        let port = DpdkPort::open(&dc).with_context(|| format!("port {} ({device})", i + 1))?;
        info!(port = i + 1, device = %device, hardware_timesync = port.hardware_timesync(), "DPDK port open");
        ports.push(PortIo::Dpdk(Box::new(port)));
    }
    Ok((ports, BaseChoice::Tsc))
}

/// Pipeline stages, by the core that polls them.
#[derive(Default)]
struct Stages {
    #[cfg(feature = "dpdk")]
    by_core: std::collections::BTreeMap<usize, StageSet>,
}

/// The stages one core polls, in turn.
#[derive(Default)]
struct StageSet {
    #[cfg(feature = "dpdk")]
    rx: Vec<crate::dataplane::pipeline::RxStage>,
    #[cfg(feature = "dpdk")]
    tx: Vec<crate::dataplane::pipeline::TxStage>,
}

impl StageSet {
    /// One RX burst per RX stage; the frames received.
    fn poll_rx(&mut self) -> usize {
        #[cfg(feature = "dpdk")]
        {
            self.rx.iter_mut().map(|s| s.poll()).sum()
        }
        #[cfg(not(feature = "dpdk"))]
        0
    }

    /// One TX burst per TX stage; the frames sent.
    fn poll_tx(&mut self) -> usize {
        #[cfg(feature = "dpdk")]
        {
            self.tx.iter_mut().map(|s| s.poll()).sum()
        }
        #[cfg(not(feature = "dpdk"))]
        0
    }
}

impl Stages {
    /// Starts a pinned thread for every core other than the engine's; returns the stages the
    /// engine loop polls itself and the threads (which end when `stop` is set).
    #[cfg_attr(not(feature = "dpdk"), allow(unused_mut, unused_variables))]
    fn start(
        mut self,
        cfg: &Config,
        stop: &Arc<AtomicBool>,
    ) -> anyhow::Result<(StageSet, Vec<std::thread::JoinHandle<()>>)> {
        let mut threads = Vec::new();
        #[cfg(feature = "dpdk")]
        {
            let (engine_core, _, _) = cfg.dataplane.lcores();
            let inline = self.by_core.remove(&engine_core).unwrap_or_default();
            for (core, mut set) in std::mem::take(&mut self.by_core) {
                let stop = Arc::clone(stop);
                let t = std::thread::Builder::new()
                    .name(format!("meridian-io{core}"))
                    .spawn(move || {
                        if !core_affinity::set_for_current(core_affinity::CoreId { id: core }) {
                            warn!(core, "could not pin pipeline stages to their core");
                        }
                        // An EAL lcore id gives the stages per-lcore mempool caches.
                        if let Err(e) = crate::dataplane::dpdk::register_thread() {
                            warn!(core, error = %e, "could not register the stage thread with EAL");
                        }
                        info!(
                            core,
                            rx_stages = set.rx.len(),
                            tx_stages = set.tx.len(),
                            "pipeline stages polling"
                        );
                        // Poll mode: spin; the stop flag is looked at every 1024 idle rounds.
                        let mut idle = 0u32;
                        loop {
                            let work = set.poll_rx() + set.poll_tx();
                            if work == 0 {
                                idle = idle.wrapping_add(1);
                                if idle % 1024 == 0 && stop.load(Ordering::Relaxed) {
                                    break;
                                }
                                std::hint::spin_loop();
                            } else if stop.load(Ordering::Relaxed) {
                                break;
                            }
                        }
                    })
                    .context("starting a pipeline thread")?;
                threads.push(t);
            }
            Ok((inline, threads))
        }
        #[cfg(not(feature = "dpdk"))]
        Ok((StageSet::default(), threads))
    }
}

/// Gives every DPDK port the published TSC clock and a shared residence histogram.
#[cfg_attr(not(feature = "dpdk"), allow(unused_variables))]
fn attach_dpdk_clock(
    clock: &mut Clock,
    ports: &mut [PortIo],
) -> Option<Arc<crate::metrics::LatencyHistogram>> {
    #[cfg(feature = "dpdk")]
    if let TimeBase::Tsc(c) = &clock.base {
        let shared = Arc::new(crate::clock::tsc::SharedTscClock::new(c));
        let hist = Arc::new(crate::metrics::LatencyHistogram::new());
        for p in ports.iter_mut() {
            if let PortIo::Dpdk(p) = p {
                p.attach_clock(Arc::clone(&shared), Arc::clone(&hist));
            }
        }
        clock.shared = Some(shared);
        return Some(hist);
    }
    None
}

/// Splits every DPDK port into RX stage → engine → TX stage, placing the stages on the
/// cores of the lcore map.
#[cfg(feature = "dpdk")]
fn split_pipelines(cfg: &Config, ports: &mut [PortIo]) -> anyhow::Result<Stages> {
    let (engine, rx_core, tx_core) = cfg.dataplane.lcores();
    let mut stages = Stages::default();
    for (i, p) in ports.iter_mut().enumerate() {
        if let PortIo::Dpdk(p) = p {
            let (rx, tx) = p
                .split_pipeline(cfg.dataplane.ring_size)
                .with_context(|| format!("port {}: pipeline", i + 1))?;
            stages.by_core.entry(rx_core).or_default().rx.push(rx);
            stages.by_core.entry(tx_core).or_default().tx.push(tx);
        }
    }
    info!(
        engine_core = engine,
        rx_core,
        tx_core,
        ring_size = cfg.dataplane.ring_size,
        "DPDK pipeline: RX stage → ring → engine → ring → TX stage"
    );
    Ok(stages)
}

#[cfg(not(feature = "dpdk"))]
fn split_pipelines(_cfg: &Config, _ports: &mut [PortIo]) -> anyhow::Result<Stages> {
    bail!("this build has no DPDK data plane")
}

fn stamp_name(s: StampSource) -> String {
    match s {
        StampSource::Hardware { phc_index } => format!("hardware (PHC {phc_index})"),
        StampSource::Software => "software".into(),
    }
}

/// Tells systemd we are ready (`Type=notify`), if it is listening.
fn notify_ready() {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let Ok(sock) = std::os::unix::net::UnixDatagram::unbound() else {
        return;
    };
    let bytes = std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str());
    let r = if let Some(name) = bytes.strip_prefix(b"@") {
        use std::os::linux::net::SocketAddrExt;
        std::os::unix::net::SocketAddr::from_abstract_name(name)
            .and_then(|a| sock.send_to_addr(b"READY=1", &a))
    } else {
        sock.send_to(b"READY=1", &path)
    };
    if let Err(e) = r {
        warn!(error = %e, "sd_notify READY failed");
    }
}
