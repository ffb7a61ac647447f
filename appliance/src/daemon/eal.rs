//! DPDK's EAL as the daemon starts it: the arguments (lcore, file prefix, one `--vdev` or
//! `-a` per port) and the runtime directories EAL leaves behind.

use crate::config::Config;

/// EAL arguments: the configured ones, plus the lcore, one `--vdev` per vdev port (`net_…`)
/// or `-a` per PCI device, and a file prefix unless given.
pub fn eal_args(cfg: &Config) -> Vec<String> {
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
pub fn clean_eal_runtime_dirs(at_exit: bool) {
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

/// Whether Meridian chose the EAL file prefix (and so removes its runtime directory).
pub fn own_prefix(cfg: &Config) -> bool {
    !cfg.dataplane
        .eal_args
        .iter()
        .any(|a| a.starts_with("--file-prefix"))
}

/// Removes EAL's runtime directory when dropped, if Meridian named it: on every way out of
/// a run once EAL may have started, error or not.
#[derive(Debug)]
pub struct RuntimeDir {
    own: bool,
}

impl RuntimeDir {
    /// A guard for this process's EAL runtime directory.
    pub fn new(cfg: &Config) -> RuntimeDir {
        RuntimeDir {
            own: own_prefix(cfg),
        }
    }
}

impl Drop for RuntimeDir {
    fn drop(&mut self) {
        if self.own {
            clean_eal_runtime_dirs(true);
        }
    }
}
