//! Processes started inside a namespace, with bounded lifetime and captured output.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use crate::tail;

/// Drops `CAP_SYS_TIME` from the bounding and inheritable sets: whatever runs after this prefix
/// cannot step or slew the machine's clock.
pub(crate) const NO_SYS_TIME: [&str; 6] = [
    "setpriv",
    "--bounding-set",
    "-sys_time",
    "--inh-caps",
    "-sys_time",
    "--",
];

/// How long a graceful stop (SIGTERM) may take before the process group is killed.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// A process running inside a lab namespace:
/// `ip netns exec NS timeout -k 2 LIFETIME setpriv … -- COMMAND`.
///
/// stdout and stderr go to files in the lab directory ([`Proc::stdout`], [`Proc::stderr`]).
/// `timeout` bounds its lifetime even if the test process is killed; on drop it gets SIGTERM,
/// then (after a grace period) its process group gets SIGKILL. The PID is that of `timeout`,
/// which forwards SIGTERM to the command and exits with the command's status.
pub struct Proc {
    name: String,
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
    status: Option<ExitStatus>,
}

impl Proc {
    /// Starts `argv` in namespace `ns` with logs `DIR/NAME.stdout` / `.stderr`.
    ///
    /// # Panics
    /// If the process cannot be started.
    pub(crate) fn spawn(
        ns: &str,
        name: &str,
        argv: &[String],
        dir: &Path,
        lifetime: Duration,
    ) -> Proc {
        let stdout = dir.join(format!("{name}.stdout"));
        let stderr = dir.join(format!("{name}.stderr"));
        let out = File::create(&stdout).expect("create stdout log");
        let err = File::create(&stderr).expect("create stderr log");
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns, "timeout", "-k", "2"])
            .arg(lifetime.as_secs().max(1).to_string())
            .args(NO_SYS_TIME)
            .args(argv)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({argv:?}) in {ns}: {e}"));
        Proc {
            name: name.to_owned(),
            child,
            stdout,
            stderr,
            status: None,
        }
    }

    /// The name given at spawn (also the log file stem).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The PID (of the `timeout` wrapper, which forwards signals to the command).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the process wrote to stdout so far.
    pub fn stdout(&self) -> String {
        read_lossy(&self.stdout)
    }

    /// Everything the process wrote to stderr so far.
    pub fn stderr(&self) -> String {
        read_lossy(&self.stderr)
    }

    /// stdout followed by stderr.
    pub fn output(&self) -> String {
        let mut s = self.stdout();
        s.push_str(&self.stderr());
        s
    }

    /// Whether the process is still running (reaps it if it has exited).
    pub fn is_running(&mut self) -> bool {
        self.exit_status().is_none()
    }

    /// The exit status, if the process has exited.
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// Polls the process output (stdout + stderr, re-read every 100 ms) with `f` until it returns
    /// `Some`, and returns that.
    ///
    /// # Panics
    /// After `timeout`, or as soon as the process has exited without `f` being satisfied; the
    /// message names `what` and quotes the end of the log.
    pub fn wait_for<T>(
        &mut self,
        what: &str,
        timeout: Duration,
        mut f: impl FnMut(&str) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            let exited = self.exit_status();
            let out = self.output();
            if let Some(v) = f(&out) {
                return v;
            }
            if let Some(status) = exited {
                panic!(
                    "{}: exited ({status}) before {what}; log:\n{}",
                    self.name,
                    tail(&out, 40)
                );
            }
            if Instant::now() >= deadline {
                panic!(
                    "{}: no {what} within {timeout:?}; log:\n{}",
                    self.name,
                    tail(&out, 40)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the output contains `needle` (see [`Proc::wait_for`]).
    pub fn wait_for_text(&mut self, needle: &str, timeout: Duration) {
        self.wait_for(&format!("{needle:?}"), timeout, |out| {
            out.contains(needle).then_some(())
        });
    }

    /// Stops the process: SIGTERM (which `timeout` forwards to the command, arming its own
    /// SIGKILL after 2 s), then after a grace period SIGKILL to the process group `timeout`
    /// leads. Returns the exit status; a stopped process returns its stored status.
    pub fn stop(&mut self) -> ExitStatus {
        if let Some(s) = self.exit_status() {
            return s;
        }
        // Still unreaped, so the PID cannot have been reused.
        signal(&format!("{}", self.child.id()), "TERM");
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            if let Some(s) = self.exit_status() {
                return s;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if self.exit_status().is_none() {
            // `timeout` made itself a process group leader: its group is ours.
            signal(&format!("-{}", self.child.id()), "KILL");
            let _ = self.child.kill();
        }
        let status = self.child.wait().expect("wait for a killed child");
        self.status = Some(status);
        status
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

impl std::fmt::Debug for Proc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proc")
            .field("name", &self.name)
            .field("pid", &self.child.id())
            .field("status", &self.status)
            .finish()
    }
}

/// `kill -SIG -- TARGET` (a PID, or `-PGID` for a group).
fn signal(target: &str, sig: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{sig}"), "--", target])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn read_lossy(path: &Path) -> String {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// Runs `argv` to completion inside `ns` (`None`: in the test's own namespace), bounded by
/// `timeout`, without `CAP_SYS_TIME`.
pub(crate) fn run_in(ns: Option<&str>, argv: &[&str], timeout: Duration) -> Output {
    let mut cmd = match ns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns, "timeout"]);
            c
        }
        None => Command::new("timeout"),
    };
    cmd.args(["-k", "1"])
        .arg(timeout.as_secs().max(1).to_string())
        .args(NO_SYS_TIME)
        .args(argv)
        .stdin(Stdio::null());
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {argv:?}: {e}"))
}
