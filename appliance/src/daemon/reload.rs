//! Configuration reload on SIGHUP (`systemctl reload meridian`): the file is read and
//! checked again; what can change in a running grandmaster is applied, everything else is
//! named as needing a restart. A file that does not check is refused whole (logged with the
//! key and line) and the running configuration stays.
//!
//! Applied at once:
//!
//! | key | effect |
//! |---|---|
//! | `[logging] level` | the log filter |
//! | `[clock] priority1`, `priority2` | the clock's priorities, BMCA run at once |
//! | `[[port]] unicast-allowed-sources`, `unicast-allowed-identities` | every request from now on (renewals too) |
//! | `[metrics] per-slave`, `per-slave-limit` | the per-slave series |
//!
//! The leap-second file is re-read on the same signal (see the engine loop). Every other key
//! — ports, transport, profile, domain, intervals, data plane, reference, security, listen
//! addresses — needs a restart, and the reload says which.

use std::collections::BTreeMap;
use std::path::PathBuf;

use meridian_proto::engine::{Engine, Time};
use tracing::{info, warn};

use super::report::Reporter;
use crate::config::{Config, PortFacts};

/// Changes the log filter (e.g. to `debug`); from the binary, which owns the subscriber.
pub type SetLogLevel = Box<dyn Fn(&str) -> Result<(), String> + Send>;

/// Keys applied without a restart (for ports: the key after `port[N].`).
const RELOADABLE: [&str; 5] = [
    "logging.level",
    "clock.priority1",
    "clock.priority2",
    "metrics.per-slave",
    "metrics.per-slave-limit",
];
const RELOADABLE_PORT: [&str; 2] = ["unicast-allowed-sources", "unicast-allowed-identities"];

/// What a reload did.
#[derive(Debug, Default, PartialEq)]
pub struct Outcome {
    /// Keys whose new values are in effect.
    pub applied: Vec<String>,
    /// Keys whose new values wait for a restart.
    pub restart: Vec<String>,
}

impl Outcome {
    /// One line for the log and systemd's STATUS.
    pub fn summary(&self) -> String {
        let applied = if self.applied.is_empty() {
            "nothing to apply".to_string()
        } else {
            format!("applied {}", self.applied.join(", "))
        };
        if self.restart.is_empty() {
            format!("configuration reloaded: {applied}")
        } else {
            format!(
                "configuration reloaded: {applied}; needs a restart: {}",
                self.restart.join(", ")
            )
        }
    }
}

/// The running configuration and where it came from.
pub struct Reloader {
    path: PathBuf,
    text: String,
    facts: Vec<PortFacts>,
    set_log_level: Option<SetLogLevel>,
}

impl Reloader {
    /// For the configuration read from `path` (its text `text`), on ports with `facts`.
    pub fn new(
        path: PathBuf,
        text: String,
        facts: Vec<PortFacts>,
        set_log_level: Option<SetLogLevel>,
    ) -> Reloader {
        Reloader {
            path,
            text,
            facts,
            set_log_level,
        }
    }

    /// Reads the file again and applies what it can (see the module docs). `Err` (and
    /// nothing changed) when the file cannot be read or does not check.
    pub fn reload(
        &mut self,
        engine: &mut Engine,
        reporter: &mut Reporter,
        now: Time,
    ) -> Result<Outcome, String> {
        let text = std::fs::read_to_string(&self.path)
            .map_err(|e| format!("{}: {e}", self.path.display()))?;
        let cfg = Config::parse(&text).map_err(|e| format!("{}: {e}", self.path.display()))?;
        let ec = cfg
            .engine_config(&self.facts)
            .map_err(|e| format!("{}: {e}", self.path.display()))?;
        let changed = changed_keys(&self.text, &text)?;
        let mut out = Outcome::default();
        let mut priorities = false;
        for key in changed {
            let port_key = key
                .strip_prefix("port[")
                .and_then(|r| r.split_once("]."))
                .and_then(|(n, k)| Some((n.parse::<usize>().ok()?, k)));
            let reloadable = RELOADABLE.contains(&key.as_str())
                || port_key
                    .is_some_and(|(n, k)| RELOADABLE_PORT.contains(&k) && n < engine.port_count());
            if !reloadable {
                out.restart.push(key);
                continue;
            }
            match (key.as_str(), port_key) {
                ("logging.level", _) => match &self.set_log_level {
                    Some(set) => set(cfg.logging.level.as_str())
                        .map_err(|e| format!("[logging] level: {e}"))?,
                    None => {
                        out.restart.push(key);
                        continue;
                    }
                },
                ("clock.priority1" | "clock.priority2", _) => priorities = true,
                ("metrics.per-slave" | "metrics.per-slave-limit", _) => {
                    reporter.set_slaves_listed(cfg.metrics.slaves_listed());
                }
                (_, Some((n, _))) => {
                    let p = &ec.ports[n];
                    engine.set_unicast_acl(
                        n as u16,
                        p.unicast_allowed_sources.clone(),
                        p.unicast_allowed_identities.clone(),
                    );
                }
                _ => {}
            }
            out.applied.push(key);
        }
        if priorities {
            engine.set_priorities(now, ec.clock.priority1, ec.clock.priority2);
        }
        // The next reload compares against what was read now, applied or not: a key that
        // needs a restart is reported once per change.
        self.text = text;
        Ok(out)
    }
}

/// Handles SIGHUP in the engine loop: reload and log the outcome.
pub fn on_sighup(
    reloader: &mut Reloader,
    engine: &mut Engine,
    reporter: &mut Reporter,
    now: Time,
) -> String {
    match reloader.reload(engine, reporter, now) {
        Ok(o) => {
            let s = o.summary();
            if o.restart.is_empty() {
                info!(applied = ?o.applied, "{s}");
            } else {
                warn!(applied = ?o.applied, restart = ?o.restart, "{s}");
            }
            s
        }
        Err(e) => {
            let s = format!("configuration not reloaded (the running one stays): {e}");
            warn!("{s}");
            s
        }
    }
}

/// The keys (`section.key`, `port[N].key`) whose values differ between two files, a key
/// present in only one of them included.
pub fn changed_keys(old: &str, new: &str) -> Result<Vec<String>, String> {
    let a = flatten_file(old)?;
    let b = flatten_file(new)?;
    let mut keys: Vec<String> = a
        .keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect();
    keys.sort();
    keys.dedup();
    Ok(keys)
}

fn flatten_file(text: &str) -> Result<BTreeMap<String, toml::Value>, String> {
    let table: toml::Table = text.parse().map_err(|e| format!("{e}"))?;
    let mut out = BTreeMap::new();
    for (section, v) in &table {
        match v {
            toml::Value::Table(t) => {
                for (k, v) in t {
                    out.insert(format!("{section}.{k}"), v.clone());
                }
            }
            toml::Value::Array(items) if items.iter().all(toml::Value::is_table) => {
                for (n, item) in items.iter().enumerate() {
                    if let toml::Value::Table(t) = item {
                        for (k, v) in t {
                            out.insert(format!("{section}[{n}].{k}"), v.clone());
                        }
                    }
                }
            }
            other => {
                out.insert(section.clone(), other.clone());
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_keys_name_sections_and_ports() {
        let old =
            "[clock]\npriority1 = 128\n[[port]]\ninterface = \"a\"\n[[port]]\ninterface = \"b\"\n";
        let new =
            "[clock]\npriority1 = 100\n[logging]\nlevel = \"debug\"\n[[port]]\ninterface = \"a\"\n\
                   [[port]]\ninterface = \"c\"\nunicast-allowed-sources = [\"10.0.0.0/8\"]\n";
        assert_eq!(
            changed_keys(old, new).unwrap(),
            [
                "clock.priority1",
                "logging.level",
                "port[1].interface",
                "port[1].unicast-allowed-sources"
            ]
        );
        assert!(changed_keys(old, old).unwrap().is_empty());
        assert!(changed_keys(old, "[clock").is_err());
    }

    #[test]
    fn the_summary_says_what_needs_a_restart() {
        let o = Outcome {
            applied: vec!["clock.priority1".into()],
            restart: vec!["port[0].interface".into()],
        };
        assert_eq!(
            o.summary(),
            "configuration reloaded: applied clock.priority1; needs a restart: port[0].interface"
        );
        assert_eq!(
            Outcome::default().summary(),
            "configuration reloaded: nothing to apply"
        );
    }
}
