//! The references a clock is disciplined to ([`Reference`] implementations):
//!
//! * [`SystemReference`] — CLOCK_REALTIME (kept by chrony/NTP) on the PTP timescale, by
//!   bracketed reads; usable while the kernel says it is synchronised. For a PHC time base.
//! * [`PhcReference`] — another PTP hardware clock (a GNSS timing card's), by bracketed
//!   reads, assumed on TAI.
//! * [`GnssReference`] — a GNSS receiver: NMEA sentences over a serial line say which second,
//!   the PPS edge (Linux PPS API, [`LinuxPps`], or any [`PpsSource`]) says when it began. A
//!   [`GnssFeed`] thread stamps both as they come (CLOCK_REALTIME); the reference pairs them
//!   (`meridian_proto::servo::gnss`) when the loop asks. Without PPS, the sentence's arrival
//!   less the configured delay stands for the edge: milliseconds, honestly announced.

use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crossbeam_queue::ArrayQueue;
use meridian_proto::servo::gnss::{Edge, GnssConfig, GnssCounters, GnssPairing};
use meridian_proto::servo::nmea::{NmeaCounters, Sentence};

use super::discipline::{ClockError, Comparison, Disciplinable, RefSample, Reference};
use super::gnss::NmeaSerial;
use super::phc::Phc;

/// Reads of both clocks per comparison (the narrowest bracket counts).
const BRACKET_TRIES: usize = 5;

/// `clock` against `reference` by bracketed reads: (clock − reference midpoint, the clock's
/// reading, the bracket's width), from the narrowest of [`BRACKET_TRIES`].
fn bracketed(
    clock: &mut dyn Disciplinable,
    mut reference: impl FnMut() -> Result<i128, ClockError>,
) -> Result<(i128, i128, i128), ClockError> {
    let mut best: Option<(i128, i128, i128)> = None;
    for _ in 0..BRACKET_TRIES {
        let a = reference()?;
        let c = clock.now_ns()?;
        let b = reference()?;
        let width = b - a;
        if best.map_or(true, |(_, _, w)| width < w) {
            best = Some((c - (a + width / 2), c, width));
        }
    }
    Ok(best.unwrap_or_default())
}

fn sample(offset: i128, local: i128, error_ns: u64) -> Comparison {
    Comparison::Sample(RefSample {
        offset_ns: offset.clamp(i64::MIN.into(), i64::MAX.into()) as i64,
        local_ns: local.clamp(0, u64::MAX.into()) as u64,
        error_ns,
    })
}

/// CLOCK_REALTIME on the PTP timescale, while the kernel says it is synchronised.
#[derive(Debug, Default)]
pub struct SystemReference;

impl Reference for SystemReference {
    fn name(&self) -> String {
        "system".into()
    }

    /// CLOCK_REALTIME as chrony keeps it wanders by tens of µs.
    fn precision_ns(&self) -> u64 {
        100_000
    }

    fn compare(
        &mut self,
        clock: &mut dyn Disciplinable,
        tai_minus_utc: &dyn Fn(i64) -> i16,
    ) -> Result<Comparison, ClockError> {
        let k = crate::sys::kernel_clock_state();
        if !k.synchronized {
            return Ok(Comparison::Unavailable);
        }
        let (off, local, width) = bracketed(clock, || {
            let r = super::realtime_ns();
            let utc = r.div_euclid(1_000_000_000) as i64;
            Ok(r + i128::from(tai_minus_utc(utc)) * 1_000_000_000)
        })?;
        let error = (k.esterror_us.max(0) as u64)
            .saturating_mul(1000)
            .saturating_add((width / 2).max(0) as u64);
        Ok(sample(off, local, error))
    }
}

/// Another PHC, assumed on TAI (a GNSS timing card's clock kept by its own firmware or by
/// `ts2phc`).
#[derive(Debug)]
pub struct PhcReference {
    phc: Phc,
}

impl PhcReference {
    /// Opens `/dev/ptp{index}` to read.
    pub fn open(index: i32) -> Result<Self, ClockError> {
        Ok(PhcReference {
            phc: Phc::open(index)?,
        })
    }
}

impl Reference for PhcReference {
    fn name(&self) -> String {
        format!("phc:/dev/ptp{}", self.phc.index())
    }

    /// Two PHC reads bracket each other within a few µs (PCIe reads).
    fn precision_ns(&self) -> u64 {
        1_000
    }

    fn compare(
        &mut self,
        clock: &mut dyn Disciplinable,
        _tai_minus_utc: &dyn Fn(i64) -> i16,
    ) -> Result<Comparison, ClockError> {
        let phc = &self.phc;
        let (off, local, width) = bracketed(clock, || Ok(phc.now_ns()?))?;
        Ok(sample(off, local, (width / 2).max(0) as u64))
    }
}

/// A source of PPS edges.
pub trait PpsSource {
    /// Its name.
    fn name(&self) -> String;
    /// The newest edge since the last call, CLOCK_REALTIME ns, if there was one (without
    /// waiting).
    fn fetch(&mut self) -> Result<Option<i128>, ClockError>;
}

/// A Linux PPS device (`/dev/ppsN`): assert edges as the kernel stamped them.
#[derive(Debug)]
pub struct LinuxPps {
    path: PathBuf,
    file: std::fs::File,
    sequence: u32,
}

impl LinuxPps {
    /// Opens `path` and asks it to capture assert edges.
    pub fn open(path: &Path) -> Result<Self, ClockError> {
        let err = |op| {
            move |error| ClockError {
                clock: path.display().to_string(),
                op,
                error,
            }
        };
        let file = std::fs::File::open(path).map_err(err("open"))?;
        crate::sys::pps_capture_assert(file.as_raw_fd())
            .map_err(err("PPS_SETPARAMS (capture assert)"))?;
        let (sequence, _) =
            crate::sys::pps_fetch_assert(file.as_raw_fd()).map_err(err("PPS_FETCH"))?;
        Ok(LinuxPps {
            path: path.to_path_buf(),
            file,
            sequence,
        })
    }
}

impl PpsSource for LinuxPps {
    fn name(&self) -> String {
        self.path.display().to_string()
    }

    fn fetch(&mut self) -> Result<Option<i128>, ClockError> {
        let (seq, at) =
            crate::sys::pps_fetch_assert(self.file.as_raw_fd()).map_err(|error| ClockError {
                clock: self.path.display().to_string(),
                op: "PPS_FETCH",
                error,
            })?;
        if seq == self.sequence {
            return Ok(None);
        }
        self.sequence = seq;
        Ok(Some(at))
    }
}

/// What the feed thread saw, in order, stamped with CLOCK_REALTIME.
#[derive(Debug, Clone)]
enum FeedEvent {
    /// A PPS edge.
    Pps(i128),
    /// A sentence that arrived then.
    Sentence(i128, Sentence),
    /// The reader's counters after a read.
    Counters(NmeaCounters),
}

/// Events queued between the feed thread and the reference at most (a few seconds' worth).
const FEED_QUEUE: usize = 256;
/// How long the feed thread waits for input before looking at the PPS source and its stop
/// flag, ns.
const FEED_POLL_NS: u64 = 20_000_000;

/// The thread that reads a receiver: its serial line, and its PPS source if any.
#[derive(Debug)]
pub struct GnssFeed {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl GnssFeed {
    fn start(
        mut serial: NmeaSerial,
        mut pps: Option<Box<dyn PpsSource + Send>>,
        queue: Arc<ArrayQueue<FeedEvent>>,
        avoid_cpus: Vec<usize>,
    ) -> Result<Self, ClockError> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name("gnss".into())
            .spawn(move || {
                crate::sys::keep_off_cpus(&avoid_cpus, "gnss");
                let fd: RawFd = serial.raw_fd();
                let mut poll = crate::dataplane::PollSet::new(&[fd]);
                let mut last_error: Option<std::time::Instant> = None;
                while !flag.load(Ordering::Relaxed) {
                    if let Err(e) = poll.wait(Some(FEED_POLL_NS)) {
                        tracing::debug!(error = %e, "gnss: poll");
                    }
                    if let Some(p) = &mut pps {
                        match p.fetch() {
                            Ok(Some(at)) => {
                                let _ = queue.push(FeedEvent::Pps(at));
                            }
                            Ok(None) => {}
                            Err(e) => tracing::debug!(error = %e, "gnss: PPS"),
                        }
                    }
                    let read = serial.read(super::realtime_ns, |at, s| {
                        if let Ok(s) = s {
                            let _ = queue.push(FeedEvent::Sentence(at, s));
                        }
                    });
                    match read {
                        Ok(0) => {}
                        Ok(_) => {
                            let _ = queue.push(FeedEvent::Counters(serial.counters()));
                        }
                        Err(e) => {
                            // A hung-up line (its writer gone) polls ready for ever: wait.
                            if last_error.map_or(true, |t| t.elapsed().as_secs() >= 60) {
                                tracing::warn!(error = %e, "gnss: reading the receiver");
                                last_error = Some(std::time::Instant::now());
                            }
                            std::thread::sleep(std::time::Duration::from_millis(200));
                        }
                    }
                }
            })
            .map_err(|error| ClockError {
                clock: "gnss".into(),
                op: "spawning the reader thread",
                error,
            })?;
        Ok(GnssFeed {
            stop,
            handle: Some(handle),
        })
    }
}

impl Drop for GnssFeed {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// How a GNSS reference is set up.
#[derive(Debug, Clone, PartialEq)]
pub struct GnssSetup {
    /// The receiver's NMEA serial line.
    pub serial: PathBuf,
    /// Its speed.
    pub baud: u32,
    /// Its PPS device, if any.
    pub pps: Option<PathBuf>,
    /// Without PPS: how long after the second begins the receiver's sentence arrives, ns.
    pub nmea_delay_ns: u64,
}

/// The error a labelled edge carries without PPS (sentence timing: receivers and serial
/// lines jitter by milliseconds), ns.
pub const NMEA_ONLY_ERROR_NS: u64 = 10_000_000;
/// The error a PPS edge stamped by the kernel carries (interrupt latency), ns.
pub const PPS_ERROR_NS: u64 = 2_000;
/// The reference is lost when its newest labelled second is older than this, ns.
pub const GNSS_LOSS_NS: i128 = 1_500_000_000;

/// What the GNSS reference has met.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GnssStatus {
    /// The NMEA reader's counters.
    pub nmea: NmeaCounters,
    /// The pairing's counters.
    pub pairing: GnssCounters,
    /// Events the feed could not queue (the loop fell behind).
    pub dropped: u64,
}

/// A GNSS receiver as a reference.
#[derive(Debug)]
pub struct GnssReference {
    name: String,
    queue: Arc<ArrayQueue<FeedEvent>>,
    pairing: GnssPairing,
    with_pps: bool,
    nmea_delay_ns: i128,
    /// The UTC second of the last edge made from a sentence (without PPS).
    last_synth: Option<i64>,
    /// The newest labelled edge (CLOCK_REALTIME).
    newest: Option<Edge>,
    /// The last edge handed to the servo.
    handed: Option<i128>,
    status: GnssStatus,
    _feed: GnssFeed,
}

impl GnssReference {
    /// Opens the receiver as `setup` says and starts its feed thread off `avoid_cpus`.
    pub fn open(setup: &GnssSetup, avoid_cpus: Vec<usize>) -> Result<Self, ClockError> {
        let serial = NmeaSerial::open(&setup.serial, setup.baud)?;
        let pps: Option<Box<dyn PpsSource + Send>> = match &setup.pps {
            Some(p) => Some(Box::new(LinuxPps::open(p)?)),
            None => None,
        };
        Self::with_sources(setup, serial, pps, avoid_cpus)
    }

    /// As [`Self::open`], from sources already open (a simulated PPS source in tests).
    pub fn with_sources(
        setup: &GnssSetup,
        serial: NmeaSerial,
        pps: Option<Box<dyn PpsSource + Send>>,
        avoid_cpus: Vec<usize>,
    ) -> Result<Self, ClockError> {
        let name = match &pps {
            Some(p) => format!("gnss:{},pps:{}", setup.serial.display(), p.name()),
            None => format!("gnss:{}", setup.serial.display()),
        };
        let with_pps = pps.is_some();
        let queue = Arc::new(ArrayQueue::new(FEED_QUEUE));
        let feed = GnssFeed::start(serial, pps, Arc::clone(&queue), avoid_cpus)?;
        Ok(GnssReference {
            name,
            queue,
            pairing: GnssPairing::new(GnssConfig::default()),
            with_pps,
            nmea_delay_ns: i128::from(setup.nmea_delay_ns),
            last_synth: None,
            newest: None,
            handed: None,
            status: GnssStatus::default(),
            _feed: feed,
        })
    }

    /// What it has met.
    pub fn status(&self) -> GnssStatus {
        GnssStatus {
            pairing: self.pairing.counters(),
            ..self.status
        }
    }

    /// Takes what the feed queued.
    fn drain(&mut self) {
        while let Some(ev) = self.queue.pop() {
            match ev {
                FeedEvent::Pps(at) => self.pairing.on_pps(at),
                FeedEvent::Counters(c) => self.status.nmea = c,
                FeedEvent::Sentence(at, s) => {
                    if !self.with_pps {
                        // The sentence stands for the edge: once per labelled second.
                        let second = match s {
                            Sentence::Rmc { time, .. } | Sentence::Zda { time }
                                if time.nanos == 0 =>
                            {
                                Some(time.unix_seconds())
                            }
                            _ => None,
                        };
                        if second.is_some() && second != self.last_synth {
                            self.last_synth = second;
                            self.pairing.on_pps(at - self.nmea_delay_ns);
                        }
                    }
                    if let Some(e) = self.pairing.on_sentence(at, &s) {
                        self.newest = Some(e);
                    }
                }
            }
        }
    }
}

impl Reference for GnssReference {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn precision_ns(&self) -> u64 {
        if self.with_pps {
            PPS_ERROR_NS
        } else {
            NMEA_ONLY_ERROR_NS
        }
    }

    fn compare(
        &mut self,
        clock: &mut dyn Disciplinable,
        tai_minus_utc: &dyn Fn(i64) -> i16,
    ) -> Result<Comparison, ClockError> {
        self.drain();
        let Some(edge) = self.newest else {
            return Ok(Comparison::Unavailable);
        };
        if super::realtime_ns() - edge.local_ns > GNSS_LOSS_NS || !edge.valid {
            return Ok(Comparison::Unavailable);
        }
        if self.handed == Some(edge.local_ns) {
            return Ok(Comparison::Pending);
        }
        self.handed = Some(edge.local_ns);
        let local = clock.at_realtime(edge.local_ns)?;
        let at_clock = Edge {
            local_ns: local,
            ..edge
        };
        let offset = at_clock.offset_ns(tai_minus_utc(edge.utc_seconds));
        let error = if self.with_pps {
            PPS_ERROR_NS
        } else {
            NMEA_ONLY_ERROR_NS
        };
        Ok(sample(offset, local, error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::Mutex;

    /// A clock that reads CLOCK_REALTIME + TAI − UTC + a fixed offset.
    struct Shifted(i128);

    impl Disciplinable for Shifted {
        fn name(&self) -> String {
            "shifted".into()
        }
        fn now_ns(&mut self) -> Result<i128, ClockError> {
            Ok(super::super::realtime_ns() + 37_000_000_000 + self.0)
        }
        fn at_realtime(&mut self, real_ns: i128) -> Result<i128, ClockError> {
            Ok(real_ns + 37_000_000_000 + self.0)
        }
        fn step(&mut self, _: i64) -> Result<(), ClockError> {
            Ok(())
        }
        fn set_frequency(&mut self, _: f64) -> Result<(), ClockError> {
            Ok(())
        }
        fn max_frequency_ppb(&self) -> f64 {
            0.0
        }
        fn resolution_ns(&self) -> u64 {
            1
        }
    }

    /// Simulated PPS edges, handed out when the test says.
    struct SimPps(Arc<Mutex<Vec<i128>>>);

    impl PpsSource for SimPps {
        fn name(&self) -> String {
            "simulated".into()
        }
        fn fetch(&mut self) -> Result<Option<i128>, ClockError> {
            Ok(self.0.lock().unwrap().pop())
        }
    }

    fn checksum(body: &str) -> String {
        let x = body.bytes().fold(0u8, |a, b| a ^ b);
        format!("${body}*{x:02X}\r\n")
    }

    /// An RMC for Unix second `t` (fix valid or not).
    fn rmc(t: i64, valid: bool) -> String {
        let days = t.div_euclid(86_400);
        let s = t.rem_euclid(86_400);
        // civil date from days since 1970 (Howard Hinnant's algorithm)
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        checksum(&format!(
            "GPRMC,{:02}{:02}{:02}.00,{},5230.000,N,01320.000,E,0.0,,{:02}{:02}{:02},,,A",
            s / 3600,
            s / 60 % 60,
            s % 60,
            if valid { 'A' } else { 'V' },
            d,
            m,
            y % 100
        ))
    }

    fn wait_for(r: &mut GnssReference, clock: &mut Shifted, want: &str) -> Comparison {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let c = r.compare(clock, &|_| 37).unwrap();
            let done = match c {
                Comparison::Sample(_) => want == "sample",
                Comparison::Pending => want == "pending",
                Comparison::Unavailable => want == "unavailable",
            };
            if done || std::time::Instant::now() > deadline {
                return c;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// PPS and NMEA together, through the trait with a simulated PPS source and a pty: each
    /// edge is labelled by the sentence after it, and the offset is the clock's, to the
    /// nanosecond (PPS error); no fix, and no new second, are said as such.
    #[test]
    fn pps_edges_labelled_by_nmea_give_the_clock_offset() {
        let (mut master, slave) = crate::sys::serial::pty_pair().unwrap();
        let edges = Arc::new(Mutex::new(Vec::new()));
        let setup = GnssSetup {
            serial: slave.clone(),
            baud: 9_600,
            pps: None,
            nmea_delay_ns: 0,
        };
        let mut r = GnssReference::with_sources(
            &setup,
            NmeaSerial::open(&slave, 9_600).unwrap(),
            Some(Box::new(SimPps(Arc::clone(&edges)))),
            Vec::new(),
        )
        .unwrap();
        let mut clock = Shifted(1_234);
        assert_eq!(
            r.compare(&mut clock, &|_| 37).unwrap(),
            Comparison::Unavailable
        );
        // Edges 1 s apart on CLOCK_REALTIME, each labelled by a sentence ~60 ms later (the
        // label window is 900 ms); the last without a fix.
        let first = super::super::realtime_ns() - 10_000_000;
        let label0 = (first / 1_000_000_000) as i64;
        for k in 0..3i64 {
            let edge = first + i128::from(k) * 1_000_000_000;
            while super::super::realtime_ns() < edge {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            edges.lock().unwrap().push(edge);
            std::thread::sleep(std::time::Duration::from_millis(60));
            let label = label0 + k;
            master.write_all(rmc(label, k < 2).as_bytes()).unwrap();
            if k == 2 {
                // No fix: unusable at once.
                assert_eq!(
                    wait_for(&mut r, &mut clock, "unavailable"),
                    Comparison::Unavailable
                );
                break;
            }
            let Comparison::Sample(s) = wait_for(&mut r, &mut clock, "sample") else {
                panic!("no sample for second {label}");
            };
            let expect = edge - i128::from(label) * 1_000_000_000 + 1_234;
            assert_eq!(i128::from(s.offset_ns), expect, "second {label}");
            assert_eq!(s.error_ns, PPS_ERROR_NS);
            assert_eq!(r.compare(&mut clock, &|_| 37).unwrap(), Comparison::Pending);
        }
        let st = r.status();
        assert_eq!((st.pairing.labelled, st.pairing.no_fix), (3, 1), "{st:?}");
        assert_eq!(st.nmea.sentences, 3);
        assert!(r.name().contains("pps:simulated"), "{}", r.name());
    }

    /// NMEA alone: the arrival less the configured delay stands for the edge (milliseconds
    /// of error, said so), and a silent line is a lost reference within 1.5 s.
    #[test]
    fn nmea_alone_and_a_silent_line() {
        let (mut master, slave) = crate::sys::serial::pty_pair().unwrap();
        let setup = GnssSetup {
            serial: slave.clone(),
            baud: 9_600,
            pps: None,
            nmea_delay_ns: 100_000_000,
        };
        let mut r = GnssReference::open(&setup, Vec::new()).unwrap();
        let mut clock = Shifted(0);
        let now = super::super::realtime_ns();
        let second = (now / 1_000_000_000) as i64;
        // Sent "100 ms after the second began": now, labelled as the second 100 ms ago.
        let label = (now - 100_000_000).div_euclid(1_000_000_000) as i64;
        master.write_all(rmc(label, true).as_bytes()).unwrap();
        let Comparison::Sample(s) = wait_for(&mut r, &mut clock, "sample") else {
            panic!("no sample");
        };
        let expect = now - 100_000_000 - i128::from(label) * 1_000_000_000;
        assert!(
            (i128::from(s.offset_ns) - expect).abs() < 50_000_000,
            "{} vs {expect} (second {second})",
            s.offset_ns
        );
        assert_eq!(s.error_ns, NMEA_ONLY_ERROR_NS);
        let t = std::time::Instant::now();
        assert_eq!(
            wait_for(&mut r, &mut clock, "unavailable"),
            Comparison::Unavailable
        );
        assert!(t.elapsed() < std::time::Duration::from_millis(1_700));
    }

    /// The helper above writes sentences the parser takes.
    #[test]
    fn test_sentences_parse() {
        let s = rmc(1_700_000_000, true);
        let mut reader = meridian_proto::servo::nmea::NmeaReader::new();
        let mut out = Vec::new();
        reader.push(s.as_bytes(), |x| out.push(x));
        match &out[..] {
            [Ok(Sentence::Rmc { time, valid: true })] => {
                assert_eq!(time.unix_seconds(), 1_700_000_000)
            }
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn a_missing_pps_device_is_named() {
        let e = LinuxPps::open(Path::new("/dev/pps9")).unwrap_err();
        assert!(e.to_string().starts_with("/dev/pps9: open"), "{e}");
    }
}
