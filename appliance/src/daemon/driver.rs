//! The engine loop: one thread drives the engine and every port through [`PtpPort`],
//! whatever the backend.
//!
//! Each round: wait (`poll()` on the ports' descriptors with the engine's next deadline as
//! timeout, or spin for busy-polled ports); once a second re-derive the clock status and
//! let ports do their housekeeping; hand completed TX stamps to the engine (they complete
//! Follow_Ups); take received messages in bounded batches per port and feed them to the
//! engine; run the engine's timers; flush queued frames; forget TX tokens the engine
//! expired; log state changes; hand the control thread a status report if it asked for
//! one. Requests are taken in bounded batches with the timers served between batches, so a
//! flood cannot delay scheduled Syncs by more than one batch.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context as _;
use meridian_proto::engine::{
    Engine, Observation, Output, RxMessage, Time, Transmit, TxStamp, TxToken,
};
use tracing::{info, warn};

use super::notify::Notifier;
use super::reload::{on_sighup, Reloader};
use super::report::Reporter;
use super::stages::StageSet;
use super::tokens::{ReplyTable, TokenTable};
use crate::clock::timebase::TimeBase;
use crate::clock::{LeapWatch, LEAP_EXPIRY_WARNING_S};
use crate::control::ReportDesk;
use crate::dataplane::{PollCounters, PollSet, PtpPort, RawStamp, StampClock, TxRequest, TxTiming};
use crate::metrics::{Delivery, ReplyKind, ResidenceRecorders, TimingRecorders};

/// Messages taken from one port before the engine's timers get a turn.
const RX_BATCH: usize = 64;
/// Longest poll() sleep, so signals and clock-status refreshes are seen promptly.
const MAX_SLEEP_NS: u64 = 100_000_000;
/// Longest sleep while TX stamps are awaited, so they are collected promptly.
const STAMP_WAIT_NS: u64 = 1_000_000;
/// How often the clock status (quality, UTC offset, leap flags) is re-derived.
const STATUS_REFRESH_NS: u64 = 1_000_000_000;
/// How often the leap-second file is looked at for changes.
const LEAP_CHECK_NS: u64 = 60_000_000_000;
/// How often an expiring leap-second file is reported again.
const LEAP_WARNING_NS: u64 = 86_400_000_000_000;
/// Send failures logged one by one before they are only counted.
const LOGGED_TX_ERRORS: u64 = 10;

/// The ports and everything the engine's transmissions need: the engine's [`Output`].
struct Io<P> {
    ports: Vec<P>,
    tokens: TokenTable,
    clock: TimeBase,
    /// Tokens whose stamp will never come (send failed), for the engine.
    lost: Vec<TxToken>,
    tx_errors: u64,
    /// Per port: Sync departures and TX-stamp latency.
    timing: Vec<TimingRecorders>,
    /// Replies awaiting their TX stamp (ports that stamp replies: sockets).
    replies: ReplyTable,
    /// Per port: residence times measured here (ports that do not measure them themselves).
    residence: Vec<ResidenceRecorders>,
}

impl<P: PtpPort> Output for Io<P> {
    fn transmit(&mut self, tx: Transmit<'_>) {
        let i = tx.port as usize;
        let Some(port) = self.ports.get_mut(i) else {
            return;
        };
        let timing = match tx.stamp {
            TxStamp::None => TxTiming::Unstamped,
            TxStamp::OneStep => TxTiming::OneStep,
            TxStamp::TwoStep(_) => TxTiming::TwoStep,
        };
        let request = TxRequest {
            destination: tx.destination,
            event: tx.event,
            payload: tx.payload,
            timing,
            message_type: tx.message_type,
            request_rx: tx.request_rx,
        };
        // Only a stamped frame costs a clock read here (the start of its TX-stamp latency).
        let sent = match tx.stamp {
            TxStamp::TwoStep(_) => self.clock.now(),
            _ => Time(0),
        };
        let r = port.send(&request, &self.clock);
        if let (Some(rx), Ok(Some(id)), Some(kind)) =
            (tx.request_rx, &r, ReplyKind::of(tx.message_type))
        {
            if !self.residence.is_empty() {
                self.replies.insert(i, *id, rx, kind);
            }
        }
        if let TxStamp::TwoStep(token) = tx.stamp {
            match &r {
                Ok(Some(id)) => {
                    if let Some(old) = self.tokens.insert(i, *id, token, sent) {
                        self.lost.push(old);
                    }
                }
                _ => self.lost.push(token),
            }
        }
        if let Err(e) = r {
            self.tx_errors += 1;
            // One line per failure is too much under load: log the first few, count all.
            if self.tx_errors <= LOGGED_TX_ERRORS {
                warn!(port = i + 1, error = %e, "send failed");
            }
        }
    }

    fn observe(&mut self, o: Observation) {
        let Observation::SyncDeparture {
            port,
            unicast,
            emission_ns,
            interval_error_ns,
        } = o;
        if let Some(t) = self.timing.get_mut(port as usize) {
            let d = if unicast {
                Delivery::Unicast
            } else {
                Delivery::Multicast
            };
            t.sync_departure(d, emission_ns, interval_error_ns);
        }
    }
}

/// The engine loop and what it owns.
pub struct Driver<P> {
    io: Io<P>,
    engine: Engine,
    desk: ReportDesk,
    reporter: Reporter,
    /// Pipeline stages polled on this core (DPDK with stages on the engine's core).
    inline: StageSet,
    /// Busy-polled ports: nap this long after an idle round (0: spin).
    idle_sleep_ns: u64,
    buf: Box<[u8]>,
    stamps: Vec<(usize, u32, RawStamp)>,
    next_status: Time,
    /// A port's descriptors changed (reopened on a re-created interface): the loop's poll
    /// set is rebuilt.
    fds_changed: bool,
    /// This loop's busy and idle rounds (DPDK: the engine lcore's polls).
    polls: Option<Arc<PollCounters>>,
    /// The leap-second file, reloaded when it changes or on SIGHUP (`reload`).
    leap: Option<LeapWatch>,
    /// SIGHUP: the configuration (and the leap-second file) is read again.
    reload: Option<Arc<AtomicBool>>,
    reloader: Option<Reloader>,
    /// systemd's READY / STATUS / WATCHDOG.
    notifier: Notifier,
    next_leap_check: Time,
    next_leap_warning: Time,
}

/// What a finished run hands back: the ports (closed by the caller, in order) and the
/// number of failed sends.
pub struct Finished<P> {
    /// The ports.
    pub ports: Vec<P>,
    /// Sends that failed during the run.
    pub tx_errors: u64,
}

impl<P: PtpPort> Driver<P> {
    /// A loop over `ports` (all of one backend) and `engine`.
    pub fn new(
        ports: Vec<P>,
        engine: Engine,
        clock: TimeBase,
        desk: ReportDesk,
        reporter: Reporter,
        inline: StageSet,
        idle_sleep_ns: u64,
    ) -> Self {
        let n = ports.len();
        Driver {
            io: Io {
                ports,
                tokens: TokenTable::new(n),
                clock,
                lost: Vec::with_capacity(64),
                tx_errors: 0,
                timing: Vec::new(),
                replies: ReplyTable::new(n),
                residence: Vec::new(),
            },
            engine,
            desk,
            reporter,
            inline,
            idle_sleep_ns,
            buf: vec![0u8; 2048].into_boxed_slice(),
            stamps: Vec::with_capacity(256),
            next_status: Time(0),
            fds_changed: false,
            polls: None,
            leap: None,
            reload: None,
            reloader: None,
            notifier: Notifier::default(),
            next_leap_check: Time(0),
            next_leap_warning: Time(0),
        }
    }

    /// Records Sync departures and TX-stamp latencies of each port (index = port) here.
    pub fn with_timing(mut self, timing: Vec<TimingRecorders>) -> Self {
        self.io.timing = timing;
        self
    }

    /// Measures the residence time of every reply the ports report a TX stamp for, here
    /// (index = port; for ports that do not measure it themselves).
    pub fn with_residence(mut self, residence: Vec<ResidenceRecorders>) -> Self {
        self.io.residence = residence;
        self
    }

    /// Watches the leap-second file `leap` (the offset comes from it), reloading it when it
    /// changes (looked at once a minute) or on SIGHUP ([`Driver::with_reload`]).
    pub fn with_leap_file(mut self, leap: LeapWatch) -> Self {
        self.leap = Some(leap);
        self
    }

    /// On `reload` (set by SIGHUP) reads the configuration again with `reloader` (if any)
    /// and the leap-second file.
    pub fn with_reload(mut self, reload: Arc<AtomicBool>, reloader: Option<Reloader>) -> Self {
        self.reload = Some(reload);
        self.reloader = reloader;
        self
    }

    /// Speaks systemd's service protocol through `notifier`.
    pub fn with_notifier(mut self, notifier: Notifier) -> Self {
        self.notifier = notifier;
        self
    }

    /// Counts this loop's rounds, busy (found work) or idle, here.
    pub fn with_polls(mut self, polls: Arc<PollCounters>) -> Self {
        self.polls = Some(polls);
        self
    }

    /// Runs until `stop` is set (a signal).
    pub fn run(mut self, stop: &AtomicBool) -> anyhow::Result<Finished<P>> {
        let busy = self.io.ports.iter().any(PtpPort::busy_poll);
        let poll_set = |d: &Self| {
            let mut fds: Vec<_> = d.io.ports.iter().flat_map(PtpPort::wait_fds).collect();
            fds.push(d.desk.raw_fd());
            PollSet::new(&fds)
        };
        let mut poll = poll_set(&self);
        let mut idle = false;
        while !stop.load(Ordering::Relaxed) {
            if self.fds_changed {
                self.fds_changed = false;
                poll = poll_set(&self);
            }
            if busy {
                self.nap(idle);
            } else {
                poll.wait(Some(self.sleep_ns())).context("poll")?;
            }
            self.refresh_clock();
            let mut work = self.collect_tx_stamps();
            work |= self.inline.poll_rx() > 0;
            work |= self.receive();
            self.timers();
            work |= self.inline.poll_tx() > 0;
            idle = !work;
            if let Some(p) = &self.polls {
                p.count(work);
            }
            self.reporter.log_state_changes(&self.engine);
            if self.desk.wanted() {
                // ~15 µs on this VM; handed over without waking anyone.
                let now = self.io.clock.now();
                let mut r =
                    self.reporter
                        .report(&self.engine, &self.io.ports, self.io.tx_errors, now);
                r.clock.set_discipline(&self.io.clock.announced());
                r.clock.set_reference(&self.io.clock.discipline_report());
                if !self.io.residence.is_empty() {
                    for (i, p) in r.ports.iter_mut().enumerate() {
                        p.counters
                            .insert("reply_stamps_missing".into(), self.io.replies.missing(i));
                    }
                }
                self.desk.answer(r);
            }
        }
        self.notifier.stopping();
        Ok(Finished {
            ports: self.io.ports,
            tx_errors: self.io.tx_errors,
        })
    }

    /// How long a `poll()` may sleep: until the engine's deadline or the status refresh,
    /// shorter while TX stamps are awaited.
    fn sleep_ns(&self) -> u64 {
        let now = self.io.clock.now();
        let sleep = self
            .engine
            .poll_timeout()
            .min(self.next_status)
            .saturating_since(now)
            .min(MAX_SLEEP_NS);
        if self.io.tokens.is_empty() {
            sleep
        } else {
            sleep.min(STAMP_WAIT_NS)
        }
    }

    /// Poll mode: no sleeping and no syscall per round, except a short nap after an idle
    /// round with `idle-sleep-us` (never past the engine's deadline).
    fn nap(&self, idle: bool) {
        if idle && self.idle_sleep_ns > 0 {
            let nap = self.idle_sleep_ns.min(self.sleep_ns());
            if nap > 0 {
                std::thread::sleep(std::time::Duration::from_nanos(nap));
            }
        }
    }

    /// Once a second: keep the time base on its reference, let ports keep their NIC clock
    /// mappings, give the engine the clock's status, and publish the engine loop's
    /// histograms.
    fn refresh_clock(&mut self) {
        let now = self.io.clock.now();
        if now.plus_nanos(2 * STATUS_REFRESH_NS) < self.next_status {
            // The clock stepped back: the once-a-second work must not wait for it to catch
            // up (the engine moves its own schedules).
            self.next_status = now;
            self.next_leap_check = now;
            self.next_leap_warning = now;
        }
        if now < self.next_status {
            return;
        }
        self.io.clock.track();
        for p in &mut self.io.ports {
            let before = p.wait_fds();
            p.maintain();
            self.fds_changed |= p.wait_fds() != before;
        }
        let now = self.io.clock.now();
        for (i, p) in self.io.ports.iter().enumerate() {
            let Some(up) = p.link_up() else {
                continue;
            };
            if self.engine.set_port_link(now, i as u16, up) {
                if up {
                    info!(port = i + 1, "link up: port back in service");
                } else {
                    warn!(port = i + 1, "link down (or interface gone): port FAULTY");
                }
            }
        }
        let hup = self
            .reload
            .as_ref()
            .is_some_and(|f| f.swap(false, Ordering::Relaxed));
        if hup {
            if let Some(r) = &mut self.reloader {
                self.notifier.reloading();
                let what = on_sighup(r, &mut self.engine, &mut self.reporter, now);
                self.notifier.reloaded(&what);
            }
        }
        self.check_leap_file(now, hup);
        self.engine.set_clock_status(now, self.io.clock.status());
        self.notifier.tick(&self.engine);
        self.next_status = now.plus_nanos(STATUS_REFRESH_NS);
        for t in &mut self.io.timing {
            t.publish();
        }
        for r in &mut self.io.residence {
            r.publish();
        }
    }

    /// Reloads the leap-second file if it changed (once a minute) or SIGHUP asked; reports
    /// one that has expired or expires within 30 days (once a day).
    fn check_leap_file(&mut self, now: Time, hup: bool) {
        let Some(leap) = &mut self.leap else {
            return;
        };
        if !hup && now < self.next_leap_check {
            return;
        }
        self.next_leap_check = now.plus_nanos(LEAP_CHECK_NS);
        match leap.poll(hup) {
            Ok(Some(table)) => {
                let expires = table.expires;
                if self.io.clock.system_mut().replace_table(table) {
                    self.reporter.set_leap_file_expiry(expires);
                    tracing::info!(
                        file = %leap.path().display(),
                        expires,
                        "leap-second file reloaded"
                    );
                }
                self.next_leap_warning = Time(0);
            }
            Ok(None) => {}
            Err(e) => warn!(error = %e, "leap-second file not reloaded: the table in use stays"),
        }
        let unix = (crate::clock::realtime_ns() / 1_000_000_000) as i64;
        if let Some(exp) = self.io.clock.system().leap_file_expires() {
            if exp - unix < LEAP_EXPIRY_WARNING_S && now >= self.next_leap_warning {
                self.next_leap_warning = now.plus_nanos(LEAP_WARNING_NS);
                warn!(
                    file = %leap.path().display(),
                    expires = exp,
                    days_left = (exp - unix) / 86_400,
                    "the leap-second file expires within 30 days (or has): update tzdata"
                );
            }
        }
    }

    /// Hands every completed TX stamp to the engine; whether there were any.
    fn collect_tx_stamps(&mut self) -> bool {
        self.stamps.clear();
        for (i, port) in self.io.ports.iter_mut().enumerate() {
            let stamps = &mut self.stamps;
            if let Err(e) = port.drain_tx_timestamps(&mut |id, s| stamps.push((i, id, s))) {
                warn!(port = i + 1, error = %e, "reading TX timestamps");
            }
        }
        if self.stamps.is_empty() {
            return false;
        }
        let now = self.io.clock.now();
        for &(i, id, stamp) in &self.stamps {
            if let Some((rx, kind)) = self.io.replies.take(i, id) {
                let tx = self.io.clock.time_of(stamp);
                if let Some(r) = self.io.residence.get_mut(i) {
                    r.record(kind, tx.saturating_since(rx));
                }
            }
            if let Some((token, sent)) = self.io.tokens.take(i, id) {
                if let Some(t) = self.io.timing.get_mut(i) {
                    t.tx_stamp_latency(now.saturating_since(sent));
                }
                let t = self.io.clock.time_of(stamp);
                self.engine.handle_tx_timestamp(now, token, t, &mut self.io);
            }
        }
        true
    }

    /// Received messages, in bounded batches per port; whether there were any.
    fn receive(&mut self) -> bool {
        let mut any = false;
        for i in 0..self.io.ports.len() {
            for _ in 0..RX_BATCH {
                let frame = match self.io.ports[i].recv(&mut self.buf) {
                    Ok(Some(f)) => f,
                    Ok(None) => break,
                    Err(e) => {
                        warn!(port = i + 1, error = %e, "receive");
                        break;
                    }
                };
                any = true;
                let now = self.io.clock.now();
                let rx = RxMessage {
                    port: i as u16,
                    source: frame.source,
                    multicast: frame.multicast,
                    timestamp: frame.stamp.map(|s| self.io.clock.time_of(s)),
                    payload: &self.buf[..frame.len],
                };
                self.engine.handle_message(now, rx, &mut self.io);
            }
        }
        any
    }

    /// The engine's timers, then what the ports queued leaves, then the tokens whose
    /// stamps will never come go back to the engine.
    fn timers(&mut self) {
        let now = self.io.clock.now();
        self.engine.handle_timeout(now, &mut self.io);
        for p in &mut self.io.ports {
            p.flush();
        }
        self.io.tokens.forget_expired(&self.engine);
        for token in self.io.lost.drain(..) {
            self.engine.handle_tx_timestamp_lost(token);
        }
    }
}
