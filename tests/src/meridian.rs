//! The daemon under test: its binary, its configuration, and a running instance.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

use crate::process::run_in;
use crate::{poll, tail, Lab, Node, Proc, Transport};

/// The `meridian` binary: `$MERIDIAN_BIN` if set, else `target/<profile>/meridian` next to this
/// test binary (`target/<profile>/deps/…`), built once per test process with
/// `cargo build -p meridian --bin meridian --profile test` (`--release` under `target/release`):
/// a no-op when it is fresh, and it keeps `cargo test -p meridian-interop` from testing a stale
/// daemon.
///
/// # Panics
/// If the build fails or produces no binary.
pub fn meridian_binary() -> PathBuf {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BIN.get_or_init(find_or_build)
        .clone()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The daemon built with the `dpdk` feature and the optimised test profile, in its own target
/// directory (`target/dpdk/debug/meridian`) so it never replaces the default build. `MERIDIAN_DPDK_BIN`
/// overrides it.
///
/// # Panics
/// If the build fails (e.g. DPDK 22.11 is not installed: `bash scripts/setup.sh`).
pub fn meridian_dpdk_binary() -> PathBuf {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("MERIDIAN_DPDK_BIN") {
            return Ok(PathBuf::from(bin));
        }
        let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
        let target = exe
            .parent()
            .and_then(Path::parent)
            .and_then(Path::parent)
            .ok_or_else(|| format!("unexpected test binary path {}", exe.display()))?
            .join("dpdk");
        let out = Command::new(env!("CARGO"))
            .args([
                "build",
                "--quiet",
                "-p",
                "meridian",
                "--bin",
                "meridian",
                "--features",
                "dpdk",
                // Optimised like the tests themselves (`[profile.test]`, output in `debug/`): an
                // unoptimised poll loop stamps frames tens of µs late on a slow machine and the
                // offset bounds measure that, not Meridian.
                "--profile",
                "test",
            ])
            .arg("--target-dir")
            .arg(&target)
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .output()
            .map_err(|e| format!("cannot run cargo build --features dpdk: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "cargo build -p meridian --features dpdk failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(target.join("debug").join("meridian"))
    })
    .clone()
    .unwrap_or_else(|e| panic!("{e}"))
}

fn find_or_build() -> Result<PathBuf, String> {
    if let Some(bin) = std::env::var_os("MERIDIAN_BIN") {
        let bin = PathBuf::from(bin);
        return if bin.is_file() {
            Ok(bin)
        } else {
            Err(format!("MERIDIAN_BIN={} is not a file", bin.display()))
        };
    }
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    // target/<profile>/deps/<test> → target/<profile>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| format!("unexpected test binary path {}", exe.display()))?;
    let bin = profile_dir.join("meridian");
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(["build", "--quiet", "-p", "meridian", "--bin", "meridian"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    // The profile this test was built with: in `cargo test --workspace` the daemon's own
    // integration tests have already built the binary with it, so this is a no-op there.
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    } else {
        cmd.args(["--profile", "test"]);
    }
    if let Some(target) = profile_dir.parent() {
        cmd.arg("--target-dir").arg(target);
    }
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run cargo build -p meridian: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`cargo build -p meridian --bin meridian` failed:\n{}",
            tail(&String::from_utf8_lossy(&out.stderr), 60)
        ));
    }
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(format!("built meridian but {} is missing", bin.display()))
    }
}

/// A Meridian configuration for one port, rendered as TOML. Starts from the lab defaults —
///
/// ```toml
/// [clock]
/// utc-offset = 37            # not from the leap file: the tests must not depend on it
/// quality = "auto"
/// [logging]
/// level = "info"
/// [[port]]
/// interface = "mi0"
/// transport = "udp-ipv4"     # or "l2"
/// log-sync-interval = -3
/// log-announce-interval = 0
/// log-min-delay-req-interval = -3
/// announce-receipt-timeout = 3
/// ```
///
/// — and [`MeridianConfig::clock`] / [`MeridianConfig::port`] / [`MeridianConfig::set`] add or
/// replace keys (values are TOML: strings need their quotes). `[control]` is added by
/// [`Lab::meridian`].
#[derive(Clone, Debug)]
pub struct MeridianConfig {
    sections: Vec<(String, Vec<(String, String)>)>,
}

impl MeridianConfig {
    /// The lab defaults for `node`'s interface and `transport`.
    pub fn new(node: &Node, transport: Transport) -> MeridianConfig {
        MeridianConfig { sections: vec![] }
            .clock("utc-offset", "37")
            .clock("quality", "\"auto\"")
            .set("logging", "level", "\"info\"")
            .port("interface", &format!("\"{}\"", node.iface))
            .port("transport", &format!("\"{}\"", transport.meridian()))
            .port("log-sync-interval", "-3")
            .port("log-announce-interval", "0")
            .port("log-min-delay-req-interval", "-3")
            .port("announce-receipt-timeout", "3")
    }

    /// Sets `key = value` in `[clock]`.
    pub fn clock(self, key: &str, value: &str) -> MeridianConfig {
        self.set("clock", key, value)
    }

    /// Sets `key = value` in the `[[port]]`.
    pub fn port(self, key: &str, value: &str) -> MeridianConfig {
        self.set("[port]", key, value)
    }

    /// Sets `key = value` in `section` (`"clock"`, `"timestamping"`, `"[port]"` for the
    /// `[[port]]` array entry, `"port.unicast-limits"`, …).
    pub fn set(mut self, section: &str, key: &str, value: &str) -> MeridianConfig {
        let idx = match self.sections.iter().position(|(s, _)| s == section) {
            Some(i) => i,
            None => {
                self.sections.push((section.to_owned(), Vec::new()));
                self.sections.len() - 1
            }
        };
        let keys = &mut self.sections[idx].1;
        match keys.iter_mut().find(|(k, _)| k == key) {
            Some(kv) => kv.1 = value.to_owned(),
            None => keys.push((key.to_owned(), value.to_owned())),
        }
        self
    }

    /// The TOML text. Tables come first, then `[[port]]`, then its sub-tables, so that
    /// `port.unicast-limits` belongs to the port.
    pub fn to_toml(&self) -> String {
        let rank = |s: &str| match s {
            "[port]" => 1,
            s if s.starts_with("port.") => 2,
            _ => 0,
        };
        let mut sections: Vec<&(String, Vec<(String, String)>)> = self.sections.iter().collect();
        sections.sort_by_key(|(s, _)| rank(s));
        let mut out = String::new();
        for (name, keys) in sections {
            out.push_str(&format!("[{name}]\n"));
            for (k, v) in keys {
                out.push_str(&format!("{k} = {v}\n"));
            }
            out.push('\n');
        }
        out
    }
}

/// A running `meridian run --config FILE`, with its control socket in the lab directory.
pub struct Meridian {
    proc: Proc,
    bin: PathBuf,
    socket: PathBuf,
    config: PathBuf,
}

impl Lab {
    /// Writes `config_toml` (plus a `[control]` table with a socket in the lab directory, unless
    /// it has one), checks it with `meridian check-config` and starts `meridian run` on `node`.
    ///
    /// # Panics
    /// If `check-config` rejects the file (quoting its error) or the daemon cannot start.
    pub fn meridian(&self, node: &Node, config_toml: &str) -> Meridian {
        self.meridian_with(meridian_binary(), node, config_toml)
    }

    /// As [`Lab::meridian`], with a given binary (e.g. [`meridian_dpdk_binary`]).
    pub fn meridian_with(&self, bin: PathBuf, node: &Node, config_toml: &str) -> Meridian {
        let name = format!("meridian-{}", node.ns);
        let socket = self.path(&format!("{name}.sock"));
        let mut toml = config_toml.to_owned();
        if !toml.contains("[control]") {
            toml.push_str(&format!("\n[control]\nsocket = \"{}\"\n", socket.display()));
        }
        let config = self.write(&format!("{name}.toml"), &toml);
        let bin_s = bin.display().to_string();
        let config_s = config.display().to_string();
        let out = run_in(
            None,
            &[&bin_s, "check-config", &config_s],
            Duration::from_secs(10),
        );
        assert!(
            out.status.success(),
            "meridian check-config rejects the lab's config ({}):\n{}{}\n--- config:\n{toml}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let proc = self.spawn(
            node,
            &name,
            &[bin_s, "run".into(), "--config".into(), config_s],
        );
        Meridian {
            proc,
            bin,
            socket,
            config,
        }
    }
}

impl Meridian {
    /// The daemon's own PID: the child of the lab's `timeout` wrapper (a signal sent to the
    /// wrapper would be forwarded, and the child killed two seconds later).
    ///
    /// # Panics
    /// Unless the wrapper has exactly one child.
    pub fn daemon_pid(&self) -> u32 {
        let wrapper = self.proc.pid();
        let out = std::process::Command::new("pgrep")
            .args(["-P", &wrapper.to_string()])
            .output()
            .expect("pgrep");
        let pids = String::from_utf8_lossy(&out.stdout);
        match pids.split_whitespace().collect::<Vec<_>>()[..] {
            [one] => one.parse().expect("a pid"),
            ref other => panic!("the daemon under timeout {wrapper}: {other:?}"),
        }
    }

    /// The process (logs, exit status).
    pub fn proc(&mut self) -> &mut Proc {
        &mut self.proc
    }

    /// The daemon's log (tracing writes to stderr; stdout appended).
    pub fn log(&self) -> String {
        let mut s = self.proc.stderr();
        s.push_str(&self.proc.stdout());
        s
    }

    /// The config file.
    pub fn config_path(&self) -> &Path {
        &self.config
    }

    /// `meridian status --socket PATH --json`, parsed. The exit status is checked against
    /// the report: 0 exactly when a port is MASTER, 2 when the daemon answers but none is.
    pub fn status(&self) -> Result<Value, String> {
        let out = run_in(
            None,
            &[
                &self.bin.display().to_string(),
                "status",
                "--socket",
                &self.socket.display().to_string(),
                "--json",
            ],
            Duration::from_secs(5),
        );
        let code = out.status.code();
        if code != Some(0) && code != Some(2) {
            return Err(format!(
                "meridian status: {} {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let v: Value = serde_json::from_slice(&out.stdout).map_err(|e| {
            format!(
                "meridian status --json printed no JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })?;
        let serving = v
            .get("ports")
            .and_then(Value::as_array)
            .is_some_and(|ps| ps.iter().any(|p| p.get("state") == Some(&"MASTER".into())));
        if serving != (code == Some(0)) {
            return Err(format!(
                "meridian status exited {code:?} but {} port is MASTER: {v}",
                if serving { "a" } else { "no" }
            ));
        }
        Ok(v)
    }

    /// The `state` of port `number` in [`Meridian::status`].
    pub fn port_state(&self, number: u64) -> Result<String, String> {
        let s = self.status()?;
        port_entry(&s, number)
            .and_then(|p| p.get("state"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("no state for port {number} in status {s}"))
    }

    /// Polls the status until port `number` is in `state`; returns that status.
    ///
    /// # Panics
    /// After `timeout` or if the daemon exits, with the last status (or error) and the log.
    pub fn wait_port_state(&mut self, number: u64, state: &str, timeout: Duration) -> Value {
        let mut last = String::new();
        let got = poll(timeout, Duration::from_millis(200), || {
            if !self.proc.is_running() {
                return Some(Err(()));
            }
            match self.status() {
                Ok(s) => {
                    let st = port_entry(&s, number)
                        .and_then(|p| p.get("state"))
                        .and_then(Value::as_str);
                    if st == Some(state) {
                        return Some(Ok(s));
                    }
                    last = s.to_string();
                }
                Err(e) => last = e,
            }
            None
        });
        match got {
            Some(Ok(s)) => s,
            Some(Err(())) => panic!(
                "meridian exited ({:?}) while waiting for port {number} {state}; last status: \
                 {last}\nlog:\n{}",
                self.proc.exit_status(),
                tail(&self.log(), 40)
            ),
            None => panic!(
                "meridian port {number} not {state} within {timeout:?}; last status: {last}\nlog:\n{}",
                tail(&self.log(), 40)
            ),
        }
    }

    /// SIGTERM, and asserts the documented graceful exit: status 0, no panic in the log.
    pub fn stop_gracefully(&mut self) {
        let status = self.proc.stop();
        let log = self.log();
        assert!(
            status.success() && !log.contains("panicked"),
            "meridian did not exit cleanly on SIGTERM ({status}); log:\n{}",
            tail(&log, 40)
        );
    }
}

impl std::fmt::Debug for Meridian {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Meridian")
            .field("proc", &self.proc)
            .field("socket", &self.socket)
            .finish()
    }
}

/// The entry of `ports` with `"number": number` in a status document.
pub(crate) fn port_entry(status: &Value, number: u64) -> Option<&Value> {
    status
        .get("ports")?
        .as_array()?
        .iter()
        .find(|p| p.get("number").and_then(Value::as_u64) == Some(number))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_renders_port_last() {
        let node = Node {
            ns: "x".into(),
            iface: "mi0".into(),
            ip: std::net::Ipv4Addr::new(10, 77, 0, 1),
            mac: "02:6d:69:00:00:01".into(),
        };
        let toml = MeridianConfig::new(&node, Transport::L2)
            .port("unicast", "true")
            .set("port.unicast-limits", "max-slaves", "4")
            .clock("priority1", "1")
            .port("log-sync-interval", "-2")
            .to_toml();
        let port = toml.find("[[port]]").unwrap();
        assert!(toml.find("[clock]").unwrap() < port);
        assert!(toml.find("[logging]").unwrap() < port);
        assert!(toml.find("[port.unicast-limits]").unwrap() > port);
        assert!(toml.contains("transport = \"l2\""));
        assert!(toml.contains("log-sync-interval = -2"));
        assert!(!toml.contains("log-sync-interval = -3"));
        assert!(toml.contains("priority1 = 1"));
    }
}
