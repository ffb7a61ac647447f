//! The interop lab: Meridian against real PTP peers (linuxptp `ptp4l` and `pmc`, `ptpd` 2.3)
//! in throw-away Linux network namespaces, with every frame captured and decoded by `tshark`.
//!
//! A test builds a [`Lab`] (two namespaces joined by a veth pair, or several namespaces on a
//! bridge that lives in its own namespace), starts processes in it ([`Proc`]: Meridian, ptp4l,
//! ptpd, tcpdump), waits for what it expects with a deadline (never a bare sleep), and checks the
//! result. Everything is torn down on drop, also when the test panics; the temporary directory
//! with every log, config and pcap is then kept and its path printed.
//!
//! # Safety of the host
//!
//! - Addresses (10.77.0.0/24) and links exist only inside the lab's namespaces; IPv6 is disabled
//!   there (no DAD noise).
//! - Nothing may touch the machine's clock: every process runs under
//!   `setpriv --bounding-set -sys_time --inh-caps -sys_time` (no `CAP_SYS_TIME`, so
//!   `clock_settime`/`adjtimex` writes fail), every ptp4l has `free_running 1`, every ptpd has
//!   `clock:no_adjust = Y`.
//! - Every process runs under `timeout` (bounded lifetime even if the test process dies) and is
//!   only ever signalled by its own PID.
//!
//! # Requirements
//!
//! Root, `ip netns`, `setpriv`, `timeout`, `tcpdump`, `tshark`, and for the peers `ptp4l`/`pmc`
//! (linuxptp) and `ptpd`. Without root or `ip netns` a test **fails** with a message saying so,
//! unless `MERIDIAN_SKIP_NETNS=1` is set: then it prints `SKIPPED` and passes. Set
//! `MERIDIAN_KEEP_LOGS=1` to keep the lab directory of passing tests too, `MERIDIAN_BIN` to use
//! a given daemon binary instead of building `target/<profile>/meridian`.

mod capture;
mod lab;
mod management;
mod meridian;
mod metrics;
mod peers;
mod process;
mod stats;

pub use capture::{Capture, MessageType, PtpFrame, TsharkReport};
pub use lab::{Lab, Node, Transport};
pub use management::PmcWant;
pub use meridian::{meridian_binary, meridian_dpdk_binary, Meridian, MeridianConfig};
pub use metrics::{
    check_metrics_grow, http_json, prom_query, promtool_check, sample, scrape, try_http_json,
    try_prom_query, window_quantiles,
};
pub use peers::{
    collect_offsets, padl_ptp4l, parse_offsets, parse_pmc, parse_ptpd_offsets,
    ptp4l_unicast_client_cfg, PmcReply, PTP4L_SKIP, PTPD_SKIP,
};
pub use process::Proc;
pub use stats::OffsetStats;

use std::time::{Duration, Instant};

/// Polls `f` every `every` until it returns `Some`, or until `timeout` has passed (`None`).
pub fn poll<T>(timeout: Duration, every: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(every);
    }
}

/// The last `n` lines of `text`, for failure messages.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
