//! systemd's service protocol (`Type=notify`, through the `sd-notify` crate), spoken from
//! the engine loop itself:
//!
//! * `READY=1` once every port's state is decided — MASTER, PASSIVE behind a better
//!   grandmaster, or FAULTY with its link down — rather than when the process starts: a
//!   unit ordered after `meridian.service` starts once the grandmaster serves (or has said
//!   why it does not). That takes the Announce receipt timeout (6 s by default; none for a
//!   `master-only` port).
//! * `STATUS=` a one-line summary (port states, slaves, clockClass), sent when it changes.
//! * `WATCHDOG=1` every second while `WatchdogSec=` is set: the pings come from the loop
//!   that runs the engine, so a stalled engine (or a stopped process) stops them and systemd
//!   restarts the service.
//! * `RELOADING=1` … `READY=1` around a configuration reload (SIGHUP).
//!
//! Without `NOTIFY_SOCKET` (not run by systemd) all of it is off.

use meridian_proto::engine::{Engine, PortState};
use sd_notify::NotifyState;
use tracing::{info, warn};

/// The loop's link to the service manager.
#[derive(Debug, Default)]
pub struct Notifier {
    enabled: bool,
    ready: bool,
    watchdog_usec: Option<u64>,
    last_status: String,
}

impl Notifier {
    /// From the environment systemd sets (`NOTIFY_SOCKET`, `WATCHDOG_USEC`, `WATCHDOG_PID`).
    pub fn from_env() -> Notifier {
        let enabled = std::env::var_os("NOTIFY_SOCKET").is_some();
        let mut usec = 0;
        let watchdog_usec =
            (enabled && sd_notify::watchdog_enabled(false, &mut usec)).then_some(usec);
        if let Some(u) = watchdog_usec {
            info!(
                watchdog_ms = u / 1_000,
                "systemd watchdog: pinged every second"
            );
            if u < 2_000_000 {
                warn!(
                    watchdog_ms = u / 1_000,
                    "WatchdogSec below 2 s: the engine loop pings once a second, so systemd \
                     may restart a healthy daemon; use WatchdogSec=10 or more"
                );
            }
        }
        Notifier {
            enabled,
            watchdog_usec,
            ..Notifier::default()
        }
    }

    /// Whether READY has been sent.
    pub fn is_ready(&self) -> bool {
        self.ready
    }

    /// Once a second, from the engine loop: ping the watchdog, send STATUS when it changed,
    /// and READY once every port's state is decided.
    pub fn tick(&mut self, engine: &Engine) {
        if !self.enabled {
            return;
        }
        let mut states = Vec::new();
        if self.watchdog_usec.is_some() {
            states.push(NotifyState::Watchdog);
        }
        let status = summary(engine);
        let status_changed = status != self.last_status;
        if status_changed {
            self.last_status.clone_from(&status);
            states.push(NotifyState::Status(&status));
        }
        let decided = (0..engine.port_count()).all(|i| {
            engine
                .port_status(i as u16)
                .is_some_and(|p| !matches!(p.state, PortState::Initializing | PortState::Listening))
        });
        if decided && !self.ready {
            self.ready = true;
            states.push(NotifyState::Ready);
            info!(status = %self.last_status, "ready (sd_notify READY=1)");
        }
        self.send(&states);
    }

    /// A configuration reload begins (`RELOADING=1`).
    pub fn reloading(&self) {
        if self.enabled {
            self.send(&[NotifyState::Reloading]);
        }
    }

    /// A configuration reload ended (`READY=1` again, with what it did as STATUS).
    pub fn reloaded(&mut self, what: &str) {
        if self.enabled {
            self.last_status = what.to_string();
            self.send(&[NotifyState::Ready, NotifyState::Status(what)]);
        }
    }

    /// The daemon is stopping (`STOPPING=1`).
    pub fn stopping(&self) {
        if self.enabled {
            self.send(&[NotifyState::Stopping]);
        }
    }

    fn send(&self, states: &[NotifyState<'_>]) {
        if states.is_empty() {
            return;
        }
        if let Err(e) = sd_notify::notify(false, states) {
            warn!(error = %e, "sd_notify failed");
        }
    }
}

/// One line for `systemctl status`: each port's state (and unicast slaves), the clockClass.
pub fn summary(engine: &Engine) -> String {
    let mut parts = Vec::new();
    for i in 0..engine.port_count() {
        let Some(p) = engine.port_status(i as u16) else {
            continue;
        };
        let mut s = format!("port {} {}", i + 1, p.state.name());
        if p.unicast_slaves > 0 {
            s += &format!(" ({} unicast slaves)", p.unicast_slaves);
        }
        parts.push(s);
    }
    format!(
        "{}; clockClass {}",
        parts.join(", "),
        engine.clock_status().clock_quality.clock_class
    )
}
