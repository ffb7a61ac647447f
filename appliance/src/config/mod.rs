//! The configuration file: one TOML document, kebab-case keys, unknown keys rejected.
//!
//! `appliance/config/meridian.toml` documents every key with its default. Parsing reports
//! serde/TOML errors with the key and line; [`Config::check`] reports semantic errors naming
//! the key (and its line when it is in the file).
//!
//! The module is laid out like the file is read:
//!
//! - `schema`: the sections as serde types, with their defaults ([`ClockSection`],
//!   [`PortSection`], [`DataplaneSection`], …);
//! - `check`: the semantic checks, one function per section, then the engine's own;
//! - `spans`: where each key is in the text, recorded by the TOML parser itself, so that an
//!   error names the line of the offending key and not of another key of the same name;
//! - `engine`: the conversion to the engine's configuration ([`Config::engine_config`]).

use std::path::Path;

use serde::Deserialize;

mod check;
mod engine;
mod schema;
mod spans;

pub use engine::{parse_identity, PortFacts};
pub use schema::{
    default_control_socket, BackendName, BetterMasterName, ClockSection, ControlSection,
    DataplaneSection, DelayMechanismName, ExplicitQuality, LogFormat, LogLevel, LoggingSection,
    MetricsSection, PortSection, ProfileName, QualitySetting, ReferenceSetting, SecuritySection,
    ServoName, SmpteSection, StampModeName, TimeSourceName, TimestampingSection, TransportName,
    UnicastLimitsSection, UtcOffsetSetting, DEFAULT_METRICS_LISTEN, DEFAULT_PER_SLAVE_LIMIT,
    MAX_PER_SLAVE_LIMIT,
};

/// A configuration error: which key, where, and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{}{}{problem}",
    line.map(|l| format!("line {l}: ")).unwrap_or_default(),
    if key.is_empty() { String::new() } else { format!("{key}: ") }
)]
pub struct ConfigError {
    /// The key, e.g. `port[0].log-sync-interval`.
    pub key: String,
    /// 1-based line of the key in the file, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub problem: String,
}

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// `[clock]`.
    #[serde(default)]
    pub clock: ClockSection,
    /// `[timestamping]`.
    #[serde(default)]
    pub timestamping: TimestampingSection,
    /// `[dataplane]`.
    #[serde(default)]
    pub dataplane: DataplaneSection,
    /// `[control]`.
    #[serde(default)]
    pub control: ControlSection,
    /// `[logging]`.
    #[serde(default)]
    pub logging: LoggingSection,
    /// `[metrics]`.
    #[serde(default)]
    pub metrics: MetricsSection,
    /// `[security]`.
    #[serde(default)]
    pub security: SecuritySection,
    /// `[smpte]` (profile `smpte-2059-2` only).
    #[serde(default)]
    pub smpte: Option<SmpteSection>,
    /// `[[port]]`, one per interface.
    #[serde(default, rename = "port")]
    pub ports: Vec<PortSection>,
}

impl Config {
    /// Parses a file's text. Errors name the key and line.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let cfg: Config = toml::from_str(text).map_err(|e| ConfigError {
            key: e
                .span()
                .map(|s| spans::key_at(text, s.start))
                .unwrap_or_default(),
            // The parser's own position: for an unknown key, the key itself; for a missing
            // one, its table.
            line: e.span().map(|s| spans::line_of(text, s.start)),
            problem: e.message().to_string(),
        })?;
        cfg.check(Some(text))?;
        Ok(cfg)
    }

    /// Reads and checks a file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            key: path.display().to_string(),
            line: None,
            problem: e.to_string(),
        })?;
        Config::parse(&text)
    }

    /// Semantic checks. `text` (the file this configuration was parsed from) gives the line
    /// of the offending key.
    pub fn check(&self, text: Option<&str>) -> Result<(), ConfigError> {
        check::check(self).map_err(|p| p.into_error(text))
    }
}

/// Reads the security association database at `path`: refused if group or others may
/// read it (it holds keys), or if a line cannot be used (named with its number).
pub fn load_security_database(
    path: &Path,
) -> Result<meridian_proto::engine::auth::SecurityDatabase, String> {
    use std::os::unix::fs::PermissionsExt;
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("{shown}: {e}"))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "{shown}: mode {mode:04o} lets group or others read the keys; chmod 600 it"
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{shown}: {e}"))?;
    meridian_proto::engine::auth::SecurityDatabase::parse(&text)
        .map_err(|e| format!("{shown}: {e}"))
}

/// A random key (8 bytes of /dev/urandom) for the hash tables a sender must not be able to
/// aim at (the engine's admission table, the DPDK neighbour table); the time and pid if
/// urandom cannot be read.
pub fn random_key() -> u64 {
    use std::io::Read;
    let mut b = [0u8; 8];
    match std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b)) {
        Ok(()) => u64::from_le_bytes(b),
        Err(_) => crate::clock::realtime_ns() as u64 ^ u64::from(std::process::id()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_is_named_with_its_line() {
        let e =
            Config::parse("[clock]\npriority1 = 1\nprioirty2 = 3\n[[port]]\ninterface = \"e\"\n")
                .unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.problem.contains("prioirty2"), "{e}");
        let e = Config::parse("[[port]]\ninterface = \"e\"\nmulticat = true\n").unwrap_err();
        assert!(
            e.to_string().contains("multicat") && e.line == Some(3),
            "{e}"
        );
        // In every section, at the key itself, whichever key of that name came before.
        for (text, line) in [
            ("[[port]]\ninterface = \"e\"\n[[port]]\ninterface = \"f\"\n[port.unicast-limits]\nmax-slave = 1\n", 6),
            ("[dataplane]\nmbufs = 9000\n[logging]\nmbufs = 9000\n[[port]]\ninterface = \"e\"\n", 4),
            ("[[port]]\ninterface = \"e\"\n[clock]\ninterface = \"e\"\n", 4),
            ("clock.priority1 = 3\nclock.prio = 3\n", 2),
        ] {
            let e = Config::parse(text).unwrap_err();
            assert!(e.problem.starts_with("unknown field"), "{e}");
            assert_eq!(e.line, Some(line), "{e}\n{text}");
        }
    }

    /// Every shipped example configuration parses and checks.
    #[test]
    fn shipped_examples_check() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let mut n = 0;
        let mut files = vec![dir.join("meridian.toml")];
        for e in std::fs::read_dir(dir.join("profiles")).unwrap() {
            files.push(e.unwrap().path());
        }
        for f in files {
            Config::load(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            n += 1;
        }
        assert!(n >= 7, "main example + one per profile, found {n}");
    }
}
