//! What the daemon tells the world about itself: the status report served on the control
//! socket (`meridian status`), and port state changes in the log.

use std::sync::Arc;
use std::time::Instant;

use meridian_proto::engine::{Engine, PortState, Time};
use tracing::info;

use crate::config::Config;
use crate::control::{
    clock_report, ClockReport, LoopReport, PortReport, SlaveSample, StatsReport, StatusReport,
    GRANT_TYPES,
};
use crate::dataplane::{PollCounters, PtpPort};

/// Builds status reports and notices state changes.
#[derive(Debug)]
pub struct Reporter {
    started: Instant,
    profile: String,
    /// Per port: (interface, transport name).
    names: Vec<(String, String)>,
    /// The port states last logged.
    states: Vec<PortState>,
    /// When the leap-second file expires (Unix seconds).
    leap_file_expires: Option<i64>,
    /// The polling loops: thread name, lcore, counters.
    loops: Vec<(String, usize, Arc<PollCounters>)>,
    /// Slaves listed per port (`[metrics] per-slave`; 0: none).
    slaves_listed: usize,
    /// Whether the pinned clock status (management SET) was logged.
    pinned_logged: bool,
}

impl Reporter {
    /// A reporter for the configured ports.
    pub fn new(cfg: &Config, engine: &Engine) -> Self {
        let profile = format!("{:?}", cfg.clock.profile.profile().name());
        Reporter {
            started: Instant::now(),
            profile: profile.trim_matches('"').to_string(),
            names: cfg
                .ports
                .iter()
                .map(|p| (p.interface.clone(), p.transport.as_str().to_string()))
                .collect(),
            states: (0..cfg.ports.len())
                .map(|i| {
                    engine
                        .port_status(i as u16)
                        .map_or(PortState::Initializing, |s| s.state)
                })
                .collect(),
            leap_file_expires: None,
            pinned_logged: false,
            loops: Vec::new(),
            slaves_listed: cfg.metrics.slaves_listed(),
        }
    }

    /// Reports these polling loops (thread name, lcore, counters).
    pub fn set_loops(&mut self, loops: Vec<(String, usize, Arc<PollCounters>)>) {
        self.loops = loops;
    }

    /// Lists this many slaves per port with their own series (a reload of `[metrics]
    /// per-slave`, `per-slave-limit`).
    pub fn set_slaves_listed(&mut self, n: usize) {
        self.slaves_listed = n;
    }

    /// Reports when the leap-second file expires.
    pub fn set_leap_file_expiry(&mut self, unix_s: Option<i64>) {
        self.leap_file_expires = unix_s;
    }

    /// The profile's name.
    pub fn profile(&self) -> &str {
        &self.profile
    }

    /// Logs every port whose state changed since the last call.
    pub fn log_state_changes(&mut self, engine: &Engine) {
        for (i, s) in self.states.iter_mut().enumerate() {
            let Some(ps) = engine.port_status(i as u16) else {
                continue;
            };
            if ps.state == *s {
                continue;
            }
            let iface = &self.names[i].0;
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
        if engine.clock_status_pinned() && !self.pinned_logged {
            self.pinned_logged = true;
            let q = engine.clock_status().clock_quality;
            tracing::warn!(
                class = q.clock_class,
                accuracy = q.clock_accuracy.0,
                "management SET GRANDMASTER_SETTINGS_NP: the announced quality is pinned; the \
                 reference no longer sets it until a restart"
            );
        }
    }

    /// The status report at `now`, without the residence summary (the control thread adds
    /// it from the shared histograms, off the engine loop) and with the listed slaves as
    /// plain copies (the control thread formats them).
    pub fn report<P: PtpPort>(
        &self,
        engine: &Engine,
        ports: &[P],
        tx_errors: u64,
        now: Time,
    ) -> StatusReport {
        StatusReport {
            version: env!("CARGO_PKG_VERSION").to_string(),
            uptime_s: self.started.elapsed().as_secs(),
            clock: ClockReport {
                leap_file_expires: self.leap_file_expires,
                ..clock_report(engine, &self.profile)
            },
            ports: ports
                .iter()
                .zip(&self.names)
                .enumerate()
                .filter_map(|(i, (port, (interface, transport)))| {
                    let ps = engine.port_status(i as u16)?;
                    let unicast = engine.unicast(i as u16);
                    let slave_samples: Vec<SlaveSample> = unicast
                        .map(|u| {
                            u.iter()
                                .take(self.slaves_listed)
                                .map(|(_, s)| SlaveSample::of(s, now))
                                .collect()
                        })
                        .unwrap_or_default();
                    Some(PortReport {
                        number: (i + 1) as u16,
                        interface: interface.clone(),
                        transport: transport.clone(),
                        state: ps.state.name().to_string(),
                        timestamping: port.timestamping(),
                        unicast_slaves: ps.unicast_slaves,
                        unicast_rate: ps.unicast_rate,
                        foreign_masters: ps.foreign_masters,
                        ptpv1_passive: ps.v1_passive,
                        ptpv1: engine
                            .v1_masters(i as u16)
                            .map(|(sd, passive)| crate::control::V1MasterReport {
                                subdomain: String::from_utf8_lossy(sd.name()).into_owned(),
                                group: std::net::Ipv4Addr::from(sd.multicast_group()).to_string(),
                                passive,
                            })
                            .collect(),
                        best_master: ps
                            .best_foreign_master
                            .map(|b| b.grandmaster_identity.to_string()),
                        counters: port.counters(),
                        dataplane: port.load(),
                        unicast_granted: GRANT_TYPES
                            .iter()
                            .map(|(t, name)| {
                                let n = unicast.map_or(0, |u| u.granted_count(*t));
                                ((*name).to_string(), n)
                            })
                            .collect(),
                        slaves: Vec::new(),
                        slaves_unlisted: ps.unicast_slaves.saturating_sub(slave_samples.len()),
                        slave_samples,
                    })
                })
                .collect(),
            stats: StatsReport::new(engine.stats(), tx_errors),
            residence: None,
            loops: self
                .loops
                .iter()
                .map(|(thread, lcore, c)| {
                    let (busy_polls, idle_polls) = c.get();
                    LoopReport {
                        thread: thread.clone(),
                        lcore: *lcore,
                        busy_polls,
                        idle_polls,
                    }
                })
                .collect(),
        }
    }
}
