//! `meridian run`: the daemon. This module only wires: it opens the configured ports, sets
//! up the time base they stamp with, builds the engine and the control socket, and hands
//! them to the [`driver`], which runs the engine loop over any backend's ports.
//!
//! * [`ports`] — opening the ports of either backend (and which time base they need);
//! * [`eal`] — DPDK's EAL arguments and runtime directories;
//! * [`stages`] — DPDK pipeline stages and the pinned threads that poll them;
//! * [`driver`] — the engine loop (one per process, on the engine's core);
//! * [`tokens`] — two-step TX tokens by TX-stamp id (the engine alone expires them);
//! * [`report`] — the status report and state-change log.
//!
//! Where things go: a new backend implements [`crate::dataplane::PtpPort`] and gets an
//! opener in [`ports`] and an arm in [`run`]; a new clock goes in `crate::clock` (the
//! driver only sees [`crate::clock::timebase::TimeBase`]); a new status field or metric
//! comes from [`report`].

pub mod driver;
pub mod eal;
pub mod notify;
pub mod ports;
pub mod reload;
pub mod report;
pub mod stages;
pub mod tokens;

use std::sync::atomic::AtomicBool;
#[cfg(feature = "dpdk")]
use std::sync::atomic::Ordering;
use std::sync::Arc;

use anyhow::Context as _;
use meridian_proto::engine::Engine;
use tracing::{error, info, warn};

use crate::clock::timebase::{BaseKind, Discipliner, ServoKind, ServoLoop, TimeBase};
use crate::clock::{LeapTable, SystemClock, UtcSource};
use crate::config::{BackendName, Config, PortFacts, UtcOffsetSetting};
use crate::control::{ControlServer, ControlThread};
use crate::dataplane::{PtpPort, StampClock};
use crate::metrics::exporter::Exporter;
use crate::metrics::render::BuildInfo;
use crate::metrics::Histograms;
use driver::Driver;
use report::Reporter;
use stages::StageSet;

/// Where the running configuration came from, for reloads on SIGHUP.
pub struct ReloadSource {
    /// The file.
    pub path: std::path::PathBuf,
    /// Its text as read at start.
    pub text: String,
    /// Changes the log filter (`None`: `[logging] level` needs a restart).
    pub set_log_level: Option<reload::SetLogLevel>,
}

/// Runs the daemon until SIGINT/SIGTERM. With `source`, SIGHUP reloads the configuration
/// (see [`reload`]); without, it re-reads only the leap-second file.
pub fn run(cfg: Config, source: Option<ReloadSource>) -> anyhow::Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .context("installing signal handlers")?;
    }
    // SIGHUP: reload what can change without a restart (see `reload`).
    let reload = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&reload))
        .context("installing the SIGHUP handler")?;
    let signals = Signals { stop, reload };
    match cfg.dataplane.backend {
        BackendName::Sockets => {
            let (ports, kind) = ports::open_socket_ports(&cfg)?;
            let clock = TimeBase::new(system_clock(&cfg)?, kind, discipliner(&cfg, kind)?)?;
            // Residence times from kernel stamps ([timestamping] reply-stamps), measured by
            // the engine loop.
            let mut histograms = Histograms::new(ports.len());
            if !cfg.timestamping.reply_stamps {
                histograms.residence.clear();
            }
            serve(
                &cfg,
                ports,
                clock,
                StageSet::default(),
                histograms,
                Vec::new(),
                &signals,
                source,
            )
            .map(finish)
        }
        BackendName::Dpdk => run_dpdk(&cfg, &signals, source),
    }
}

/// The flags the signal handlers set.
struct Signals {
    /// SIGINT, SIGTERM: stop.
    stop: Arc<AtomicBool>,
    /// SIGHUP: reload (the engine loop clears it).
    reload: Arc<AtomicBool>,
}

#[cfg(not(feature = "dpdk"))]
fn run_dpdk(
    _cfg: &Config,
    _signals: &Signals,
    _source: Option<ReloadSource>,
) -> anyhow::Result<()> {
    anyhow::bail!("this build has no DPDK data plane: rebuild with `--features dpdk`")
}

/// DPDK: EAL and the ports; every port converts its TSC stamps with the published clock
/// model and records residence times; with stages on other cores, ports become pipelines.
#[cfg(feature = "dpdk")]
fn run_dpdk(cfg: &Config, signals: &Signals, source: Option<ReloadSource>) -> anyhow::Result<()> {
    let stop = &signals.stop;
    // Dropped last, on every way out once EAL may have started.
    let _runtime_dir = eal::RuntimeDir::new(cfg);
    let mut ports = ports::open_dpdk_ports(cfg)?;
    let mut clock = TimeBase::new(
        system_clock(cfg)?,
        BaseKind::Tsc,
        discipliner(cfg, BaseKind::Tsc)?,
    )?;
    let histograms = Histograms::new(ports.len());
    if let Some(shared) = clock.shared_tsc() {
        for (p, r) in ports.iter_mut().zip(&histograms.residence) {
            p.attach_clock(Arc::clone(&shared), r.clone());
        }
    }
    let stages = if cfg.dataplane.pipelined() {
        stages::split_pipelines(cfg, &mut ports)?
    } else {
        stages::Stages::default()
    };
    let (inline, threads) = stages.start(cfg, stop)?;
    let (engine_core, _, _) = cfg.dataplane.lcores();
    let loops = std::iter::once((
        "engine".to_string(),
        engine_core,
        Arc::new(crate::dataplane::PollCounters::default()),
    ))
    .chain(
        threads
            .iter()
            .map(|t| (t.name.clone(), t.core, Arc::clone(&t.polls))),
    )
    .collect();
    let r = serve(
        cfg, ports, clock, inline, histograms, loops, signals, source,
    );
    // The stages stop before the ports' final counters are read and the ports close.
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        if t.handle.join().is_err() {
            error!("a pipeline stage thread panicked");
        }
    }
    r.map(finish)
}

/// The reference clock: CLOCK_REALTIME with TAI − UTC from the configuration or the leap
/// file, and the configured quality if any.
fn system_clock(cfg: &Config) -> anyhow::Result<SystemClock> {
    let utc = match &cfg.clock.utc_offset {
        UtcOffsetSetting::Seconds(s) => UtcSource::Fixed(*s),
        UtcOffsetSetting::Keyword(_) => {
            let t = LeapTable::load(&cfg.clock.leap_file).with_context(|| {
                "reading the leap-second file (install tzdata, or set [clock] utc-offset)"
            })?;
            let unix = (crate::clock::realtime_ns() / 1_000_000_000) as i64;
            if t.expired(unix) {
                warn!(file = %cfg.clock.leap_file.display(), "leap-second file has expired: \
                      currentUtcOffsetValid will be announced false until it is updated");
            }
            UtcSource::Table(t)
        }
    };
    Ok(SystemClock::new(utc, cfg.explicit_quality()).with_holdover(cfg.clock.holdover()))
}

/// `[security] user`: becomes that user, keeping only CAP_SYS_TIME, and only when a servo
/// steers a PHC (`clock_adjtime` on it); sockets, PHCs, serial lines and the control socket
/// are open already, and nothing else needs a capability.
fn drop_privileges(cfg: &Config, clock: &TimeBase) -> anyhow::Result<()> {
    use crate::sys::privs;
    let user = &cfg.security.user;
    if user.is_empty() {
        return Ok(());
    }
    let (uid, gid) =
        privs::lookup_user(user).with_context(|| format!("[security] user \"{user}\""))?;
    let keep: &[u32] = if clock.steers_phc() {
        &[privs::CAP_SYS_TIME]
    } else {
        &[]
    };
    privs::drop_privileges(uid, gid, keep)
        .with_context(|| format!("dropping privileges to \"{user}\""))?;
    info!(user = %user, uid, gid, capabilities = ?keep, "privileges dropped");
    Ok(())
}

/// How the time base is disciplined, from `[clock] reference` and `servo`: the system clock
/// is followed as the kernel keeps it (system and TSC time bases) or is the servo's reference
/// (a PHC time base); GNSS and another PHC are primary references, with the profile's classes.
fn discipliner(cfg: &Config, kind: BaseKind) -> anyhow::Result<Discipliner> {
    use crate::clock::reference::{GnssReference, PhcReference, SystemReference};
    use crate::config::{ReferenceSetting, ServoName};
    use meridian_proto::wire::TimeSource;
    let servo = match cfg.clock.servo {
        ServoName::Pi => ServoKind::Pi,
        ServoName::Linreg => ServoKind::Linreg,
    };
    let setting = cfg
        .clock
        .reference_setting()
        .map_err(|e| anyhow::anyhow!("[clock] reference: {e}"))?;
    let primary = cfg.clock.primary_holdover();
    let lp = |r: Box<dyn crate::clock::discipline::Reference + Send>, source, holdover| {
        info!(reference = %r.name(), servo = servo.name(), "clock discipline");
        Discipliner::Servo(Box::new(ServoLoop::new(r, servo, source, holdover)))
    };
    Ok(match setting {
        ReferenceSetting::System if matches!(kind, BaseKind::Phc(_)) => lp(
            Box::new(SystemReference),
            TimeSource::NTP,
            cfg.clock.holdover(),
        ),
        ReferenceSetting::System => Discipliner::Kernel,
        ReferenceSetting::None => Discipliner::FreeRunning,
        ReferenceSetting::Phc(i) => lp(
            Box::new(PhcReference::open(i).context("[clock] reference")?),
            TimeSource::GNSS,
            primary,
        ),
        ReferenceSetting::Gnss(g) => lp(
            Box::new(GnssReference::open(&g, data_plane_cpus(cfg)).context("[clock] reference")?),
            TimeSource::GNSS,
            primary,
        ),
    })
}

/// Builds the engine and the control socket for `ports` and runs the engine loop until
/// `stop`; hands the ports back. `loops`: the polling loops to report (DPDK), the engine
/// loop's first.
// One call site per backend, every argument a different part the backend built.
#[allow(clippy::too_many_arguments)]
fn serve<P: PtpPort>(
    cfg: &Config,
    ports: Vec<P>,
    mut clock: TimeBase,
    inline: StageSet,
    histograms: Histograms,
    loops: Vec<(String, usize, Arc<crate::dataplane::PollCounters>)>,
    signals: &Signals,
    source: Option<ReloadSource>,
) -> anyhow::Result<driver::Finished<P>> {
    // The clock identity and CLOCK_DESCRIPTION need the ports' MACs and addresses.
    let facts: Vec<PortFacts> = ports
        .iter()
        .map(|p| PortFacts {
            mac: p.mac(),
            protocol_address: p.protocol_address(),
        })
        .collect();
    let reloader =
        source.map(|s| reload::Reloader::new(s.path, s.text, facts.clone(), s.set_log_level));
    let engine_cfg = cfg
        .engine_config(&facts)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let engine = Engine::new(engine_cfg, clock.now(), clock.status())
        .map_err(|e| anyhow::anyhow!("engine configuration: {e}"))?;
    let server = ControlServer::bind(
        &cfg.control.socket,
        cfg.control
            .mode()
            .map_err(|e| anyhow::anyhow!("[control] socket-mode: {e}"))?,
    )?;
    // Everything privileged is done (ports, sockets, devices, the control socket): drop to
    // the configured user before any other thread starts.
    drop_privileges(cfg, &clock)?;
    let (_control, desk) =
        ControlThread::start(server, histograms.residence.clone(), &data_plane_cpus(cfg))?;
    let mut reporter = Reporter::new(cfg, &engine);
    reporter.set_leap_file_expiry(clock.system().leap_file_expires());
    let engine_polls = loops.first().map(|(_, _, c)| Arc::clone(c));
    reporter.set_loops(loops);
    let timing = histograms.timing.iter().map(|t| t.recorders()).collect();
    // Ports that do not record residence times themselves (sockets) have them recorded by
    // the engine loop.
    let residence = if ports.iter().any(PtpPort::records_residence) {
        Vec::new()
    } else {
        histograms.residence.iter().map(|r| r.recorders()).collect()
    };
    let _exporter = start_exporter(cfg, reporter.profile(), histograms)?;
    info!(
        identity = %engine.clock_config().clock_identity,
        profile = %reporter.profile(),
        domain = engine.clock_config().domain_number,
        control = %cfg.control.socket.display(),
        "meridian running"
    );
    let idle_sleep_ns = u64::from(cfg.dataplane.idle_sleep_us) * 1_000;
    let mut driver = Driver::new(ports, engine, clock, desk, reporter, inline, idle_sleep_ns)
        .with_timing(timing)
        .with_residence(residence)
        .with_reload(Arc::clone(&signals.reload), reloader)
        .with_notifier(notify::Notifier::from_env());
    if let Some(p) = engine_polls {
        driver = driver.with_polls(p);
    }
    if matches!(cfg.clock.utc_offset, UtcOffsetSetting::Keyword(_)) {
        driver = driver.with_leap_file(crate::clock::LeapWatch::new(&cfg.clock.leap_file));
    }
    let finished = driver.run(&signals.stop)?;
    info!("meridian stopping (signal)");
    Ok(finished)
}

/// Logs the ports' final counters, then closes them.
fn finish<P: PtpPort>(finished: driver::Finished<P>) {
    for (i, p) in finished.ports.iter().enumerate() {
        info!(port = i + 1, counters = ?p.counters(), "port counters");
    }
    if finished.tx_errors > 0 {
        error!(
            tx_errors = finished.tx_errors,
            "sends failed during the run"
        );
    }
}

/// Starts the Prometheus exporter if `[metrics] listen` names an address; it stops when
/// the returned value is dropped.
fn start_exporter(
    cfg: &Config,
    profile: &str,
    histograms: Histograms,
) -> anyhow::Result<Option<Exporter>> {
    let Some(listen) = cfg
        .metrics
        .listen_addr()
        .map_err(|e| anyhow::anyhow!("[metrics] listen: {e}"))?
    else {
        return Ok(None);
    };
    let build = BuildInfo {
        version: env!("CARGO_PKG_VERSION").to_string(),
        profile: profile.to_string(),
        backend: match cfg.dataplane.backend {
            BackendName::Sockets => "sockets".into(),
            BackendName::Dpdk => "dpdk".into(),
        },
    };
    // Timing comes first: a metrics address that cannot be bound is an error in the log,
    // not a grandmaster that does not start.
    // Off the data plane's cores (DPDK lcores); the socket backend pins nothing.
    let avoid: Vec<usize> = match cfg.dataplane.backend {
        BackendName::Dpdk => {
            let (e, rx, tx) = cfg.dataplane.lcores();
            vec![e, rx, tx]
        }
        BackendName::Sockets => Vec::new(),
    };
    match Exporter::start(
        listen,
        cfg.control.socket.clone(),
        histograms,
        build,
        &avoid,
    ) {
        Ok(e) => Ok(Some(e)),
        Err(e) => {
            error!(error = %e, "[metrics] listen: no /metrics this run");
            Ok(None)
        }
    }
}

/// The CPUs housekeeping threads (control, metrics) keep off: the DPDK lcores. The socket
/// backend pins nothing.
fn data_plane_cpus(cfg: &Config) -> Vec<usize> {
    match cfg.dataplane.backend {
        BackendName::Dpdk => {
            let (e, rx, tx) = cfg.dataplane.lcores();
            vec![e, rx, tx]
        }
        BackendName::Sockets => Vec::new(),
    }
}
