//! `compare`: Meridian and ptp4l side by side, in one run, against the same slave swarm on the
//! same namespace lab — capacity, latency, unicast slaves held, and a free-running ptp4l
//! slave's offsets (quiet and under load, alternating grandmasters round by round). Writes
//! `compare.json`, `summary.md` and PNG plots into `--out`.
//!
//! ```text
//! cargo build --release -p meridian-bench --bin swarm --bin compare
//! target/release/compare --out bench/results            # ≈ 12 minutes
//! target/release/compare --quick --out /tmp/cmp          # one point per system (CI)
//! ```
//!
//! Lab: two namespaces on one veth pair (the interop lab, `meridian-interop`): the
//! grandmaster on node 0 (10.77.0.1), the swarm (`swarm`, AF_PACKET) and the measuring slave
//! on node 1. Swarm slave `k` sends from 10.78.0.0 + k; node 0 routes that prefix to the veth
//! and holds a permanent neighbour entry per slave (the kernel's ARP table is capped at 1024
//! entries machine-wide; permanent entries are not counted).
//!
//! Systems: `ptp4l` (linuxptp, masterOnly, `unicast_listen 1`, software stamps,
//! `tx_timestamp_timeout 10` like Meridian's 10 ms), `meridian` (socket backend, release
//! build) and, with `--dpdk`, `meridian-dpdk` (DPDK `net_af_xdp` on the veth, poll loop on
//! lcore 0). All at Sync 8/s multicast and two-step.

#![allow(clippy::too_many_lines)]
#![allow(unsafe_code)] // one sysconf(_SC_CLK_TCK)

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use clap::Parser;
use meridian_bench::search::{find_max, SearchPlan};
use meridian_interop::{
    meridian_binary, meridian_dpdk_binary, parse_offsets, Lab, Meridian, MeridianConfig, Node,
    OffsetStats, Proc, Transport, PTP4L_SKIP,
};
use serde_json::{json, Value};

/// Meridian and ptp4l side by side (see the module documentation).
#[derive(Debug, Parser)]
#[command(name = "compare")]
struct Opts {
    /// Where the JSON, summary and plots go.
    #[arg(long, default_value = "bench/results")]
    out: PathBuf,
    /// One point per system: checks the harness, not the figures.
    #[arg(long)]
    quick: bool,
    /// Also Meridian's DPDK data plane (`net_af_xdp`; needs the `dpdk` build).
    #[arg(long)]
    dpdk: bool,
    /// Accuracy rounds per grandmaster.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// The swarm binary (default: beside this one).
    #[arg(long)]
    swarm: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum System {
    Ptp4l,
    Meridian,
    MeridianDpdk,
}

impl System {
    fn name(self) -> &'static str {
        match self {
            System::Ptp4l => "ptp4l",
            System::Meridian => "meridian",
            System::MeridianDpdk => "meridian-dpdk",
        }
    }
}

/// Slaves of the multicast capacity sweep: at 800 k/s each sends 400/s, under Meridian's
/// default per-source admission of 512/s.
const MULTICAST_SLAVES: u32 = 2000;
/// Loss allowed for a rate to count as served.
const MAX_LOSS_PCT: f64 = 0.1;
/// Offset samples per accuracy window (a free-running ptp4l prints one a second: it
/// averages 2^(freq_est_interval − logSyncInterval) Syncs per line, and freq_est_interval
/// cannot go below 0).
const WINDOW_SAMPLES: usize = 12;

/// A running grandmaster.
enum Gm {
    Ptp4l(Proc),
    Meridian(Meridian),
}

struct Bench<'a> {
    lab: &'a Lab,
    swarm: PathBuf,
    out: PathBuf,
    serial: usize,
}

impl Bench<'_> {
    fn gm_node(&self) -> &Node {
        self.lab.node(0)
    }

    fn swarm_node(&self) -> &Node {
        self.lab.node(1)
    }

    /// Starts `sys` on node 0 and waits until it is master.
    fn start(&self, sys: System) -> Gm {
        let gm = self.gm_node();
        match sys {
            System::Ptp4l => {
                let cfg = format!(
                    "[global]\nfree_running 1\ntime_stamping software\ndelay_mechanism E2E\n\
                     domainNumber 0\nnetwork_transport UDPv4\nmasterOnly 1\ntwoStepFlag 1\n\
                     priority1 1\nunicast_listen 1\nlogSyncInterval -3\nlogAnnounceInterval 0\n\
                     logMinDelayReqInterval -3\ntx_timestamp_timeout 10\nsummary_interval 0\n\
                     logging_level 6\nuse_syslog 0\nuds_address {}\n",
                    self.lab.path("gm.uds").display()
                );
                let cfg = self.lab.write("gm.cfg", &cfg);
                let mut p = self.lab.spawn(
                    gm,
                    "ptp4l-gm",
                    &[
                        "ptp4l".into(),
                        "-f".into(),
                        cfg.display().to_string(),
                        "-i".into(),
                        gm.iface.clone(),
                        "-m".into(),
                    ],
                );
                p.wait_for_text("assuming the grand master role", Duration::from_secs(20));
                Gm::Ptp4l(p)
            }
            System::Meridian | System::MeridianDpdk => {
                let mut cfg = MeridianConfig::new(gm, Transport::UdpV4)
                    .port("master-only", "true")
                    .port("unicast", "true")
                    .port("announce-receipt-timeout", "2")
                    .set("port.unicast-limits", "max-slaves", "20000");
                let bin = if sys == System::MeridianDpdk {
                    cfg = cfg
                        .set("dataplane", "backend", "\"dpdk\"")
                        .set(
                            "dataplane",
                            "eal-args",
                            &format!(
                                "[\"--no-huge\", \"--no-pci\", \"--no-shconf\", \"-m\", \"256\", \
                                 \"--file-prefix={}\"]",
                                gm.ns
                            ),
                        )
                        .set("dataplane", "lcore", "0")
                        .port(
                            "dpdk-device",
                            &format!(
                                "\"net_af_xdp0,iface={},start_queue=0,queue_count=1\"",
                                gm.iface
                            ),
                        )
                        .port("address", &format!("\"{}\"", gm.ip));
                    meridian_dpdk_binary()
                } else {
                    meridian_binary()
                };
                let mut m = self.lab.meridian_with(bin, gm, &cfg.to_toml());
                m.wait_port_state(1, "MASTER", Duration::from_secs(20));
                Gm::Meridian(m)
            }
        }
    }

    /// Whether the grandmaster is still serving (ptp4l: not FAULTY; Meridian: MASTER).
    fn healthy(gm: &mut Gm) -> bool {
        match gm {
            Gm::Ptp4l(p) => p.is_running() && !p.stdout().contains("FAULTY"),
            Gm::Meridian(m) => {
                m.proc().is_running() && m.port_state(1).is_ok_and(|s| s == "MASTER")
            }
        }
    }

    /// The grandmaster's own PID (the child of the lab's `timeout` wrapper).
    fn pid(gm: &mut Gm) -> Option<u32> {
        let wrapper = match gm {
            Gm::Ptp4l(p) => p.pid(),
            Gm::Meridian(m) => return Some(m.daemon_pid()),
        };
        let out = Command::new("pgrep")
            .args(["-P", &wrapper.to_string()])
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    }

    fn stop(gm: Gm) {
        match gm {
            Gm::Ptp4l(mut p) => {
                p.stop();
            }
            Gm::Meridian(mut m) => m.stop_gracefully(),
        }
    }

    /// Runs the swarm on node 1 with `args`; returns its JSON report.
    fn swarm(&mut self, args: &[String], bound: Duration) -> Value {
        self.serial += 1;
        let json_path = self.lab.path(&format!("swarm-{}.json", self.serial));
        let gm = self.gm_node().clone();
        let sw = self.swarm_node().clone();
        let mut argv: Vec<String> = vec![
            "timeout".into(),
            format!("{}", bound.as_secs()),
            self.swarm.display().to_string(),
            "--iface".into(),
            sw.iface.clone(),
            "--gm-ip".into(),
            gm.ip.to_string(),
            "--gm-mac".into(),
            gm.mac.clone(),
            "--quiet".into(),
            "--json".into(),
            json_path.display().to_string(),
        ];
        argv.extend(args.iter().cloned());
        let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
        let out = self.lab.run(&sw, &refs, bound + Duration::from_secs(5));
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        eprintln!("    {}", text.trim().replace('\n', "\n    "));
        if !out.status.success() {
            eprintln!(
                "    swarm failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
            return Value::Null;
        }
        std::fs::read_to_string(&json_path)
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or(Value::Null)
    }
}

fn f(v: &Value, path: &[&str]) -> f64 {
    let mut v = v;
    for p in path {
        v = &v[*p];
    }
    v.as_f64().unwrap_or(f64::NAN)
}

fn generator_limited(r: &Value) -> bool {
    r["generator"]["tx_limited"].as_bool().unwrap_or(false)
        || r["generator"]["rx_limited"].as_bool().unwrap_or(false)
}

/// One multicast Delay_Req trial at `rate`, restarting the grandmaster first if it is down.
fn multicast_trial(
    b: &mut Bench<'_>,
    sys: System,
    gm: &mut Option<Gm>,
    rate: f64,
    secs: f64,
) -> Value {
    if !gm.as_mut().is_some_and(Bench::healthy) {
        if let Some(g) = gm.take() {
            Bench::stop(g);
        }
        *gm = Some(b.start(sys));
    }
    let pid = gm.as_mut().and_then(Bench::pid);
    let cpu0 = pid.and_then(cpu_seconds);
    let r = b.swarm(
        &[
            "--mode".into(),
            "multicast".into(),
            "--slaves".into(),
            MULTICAST_SLAVES.to_string(),
            "--rate".into(),
            format!("{rate:.0}"),
            "--duration".into(),
            format!("{secs}"),
        ],
        Duration::from_secs_f64(secs + 20.0),
    );
    // CPU time the grandmaster process spent during the trial (user + system; the kernel's
    // softirq work on the veth is mostly not charged to it).
    let cpu_s = match (cpu0, pid.and_then(cpu_seconds)) {
        (Some(a), Some(b)) => b - a,
        _ => f64::NAN,
    };
    let alive = gm.as_mut().is_some_and(Bench::healthy);
    json!({
        "offered": rate,
        "offered_measured": f(&r, &["offered", "delay_req_rate"]),
        "served": f(&r, &["received", "delay_resp_rate"]),
        "loss_pct": f(&r, &["loss_pct"]),
        "latency_ns": r["latency_ns"],
        "generator_limited": generator_limited(&r),
        "gm_survived": alive,
        "gm_cpu_s": cpu_s,
        "answered_per_gm_cpu_s": f(&r, &["received", "delay_resp"]) / cpu_s,
        "report": r,
    })
}

/// utime + stime of `pid`, seconds (`/proc/PID/stat` fields 14 and 15, in clock ticks).
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces: count from after its closing parenthesis.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some(ticks / hz)
}

fn passed(t: &Value) -> bool {
    t["loss_pct"].as_f64().is_some_and(|l| l < MAX_LOSS_PCT)
        && t["gm_survived"].as_bool() == Some(true)
        && t["generator_limited"].as_bool() == Some(false)
}

/// A free-running ptp4l slave on node 1 for `WINDOW_SAMPLES` quiet samples, then the same
/// under a multicast swarm at `load` Delay_Req/s.
fn accuracy_round(b: &mut Bench<'_>, sys: System, load: f64, samples: usize) -> Value {
    let mut gm = b.start(sys);
    let sl = b.swarm_node().clone();
    let mut slave = b.lab.ptp4l_slave(&sl, Transport::UdpV4, "");
    let quiet = slave.wait_for(
        "quiet offset samples",
        Duration::from_secs(20 + samples as u64 * 2),
        |out| {
            let v = parse_offsets(out);
            let skip = PTP4L_SKIP + 1;
            (v.len() >= skip + samples).then(|| v[skip..skip + samples].to_vec())
        },
    );
    let before = parse_offsets(&slave.stdout()).len();
    // The load runs while the next window's samples arrive: 1 s settling, then the samples.
    let secs = 1.0 + samples as f64 + 0.5;
    let load_report = b.swarm(
        &[
            "--mode".into(),
            "multicast".into(),
            "--slaves".into(),
            MULTICAST_SLAVES.to_string(),
            "--rate".into(),
            format!("{load:.0}"),
            "--duration".into(),
            format!("{secs}"),
        ],
        Duration::from_secs_f64(secs + 20.0),
    );
    let all = parse_offsets(&slave.stdout());
    // Samples that arrived during the load, past its first second.
    let loaded: Vec<(i64, i64)> = all[before.min(all.len())..]
        .iter()
        .skip(1) // the first second of load
        .take(samples)
        .copied()
        .collect();
    let healthy = Bench::healthy(&mut gm);
    slave.stop();
    Bench::stop(gm);
    let stats = |s: &[(i64, i64)]| {
        if s.is_empty() {
            return Value::Null;
        }
        let o = OffsetStats::of(s);
        json!({"n": o.n, "mean_ns": o.mean_ns, "stddev_ns": o.stddev_ns,
               "max_abs_ns": o.max_abs_ns, "path_delay_ns": o.mean_path_delay_ns,
               "offsets_ns": s.iter().map(|x| x.0).collect::<Vec<_>>()})
    };
    json!({
        "quiet": stats(&quiet),
        "loaded": stats(&loaded),
        "load_rate": load,
        "load_loss_pct": f(&load_report, &["loss_pct"]),
        "gm_survived_load": healthy,
    })
}

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_default();
    let cmd = |argv: &[&str]| {
        Command::new(argv[0])
            .args(&argv[1..])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    json!({
        "cpu": cpu,
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "kernel": cmd(&["uname", "-r"]),
        "date": cmd(&["date", "-u", "+%Y-%m-%dT%H:%M:%SZ"]),
        "commit": cmd(&["git", "rev-parse", "--short", "HEAD"]),
        "ptp4l": cmd(&["ptp4l", "-v"]),
    })
}

fn main() -> std::process::ExitCode {
    let o = Opts::parse();
    match run(&o) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("compare: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(o: &Opts) -> Result<(), String> {
    let started = Instant::now();
    let swarm = match &o.swarm {
        Some(p) => p.clone(),
        None => std::env::current_exe()
            .map_err(|e| e.to_string())?
            .with_file_name("swarm"),
    };
    if !swarm.is_file() {
        return Err(format!(
            "{}: not found (cargo build --release -p meridian-bench --bin swarm)",
            swarm.display()
        ));
    }
    // The daemons: release builds beside this binary (`bench/compare.sh` builds them), unless
    // MERIDIAN_BIN / MERIDIAN_DPDK_BIN name others.
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let beside = exe.with_file_name("meridian");
    let dpdk_beside = exe
        .parent()
        .and_then(std::path::Path::parent)
        .map(|t| t.join("dpdk/release/meridian"))
        .unwrap_or_default();
    for (var, path, wanted) in [
        ("MERIDIAN_BIN", beside, true),
        ("MERIDIAN_DPDK_BIN", dpdk_beside, o.dpdk),
    ] {
        if !wanted || std::env::var_os(var).is_some() {
            continue;
        }
        if !path.is_file() {
            return Err(format!(
                "{}: not found; build it (bench/compare.sh does) or set {var}",
                path.display()
            ));
        }
        std::env::set_var(var, &path);
    }
    std::fs::create_dir_all(&o.out).map_err(|e| format!("{}: {e}", o.out.display()))?;
    let mut systems = vec![System::Ptp4l, System::Meridian];
    if o.dpdk {
        systems.push(System::MeridianDpdk);
    }
    let mut lab = Lab::pair("compare").ok_or("the namespace lab cannot run here")?;
    lab.set_lifetime(Duration::from_secs(1800));
    prepare_lab(&lab, o.dpdk)?;
    let mut b = Bench {
        lab: &lab,
        swarm,
        out: o.out.clone(),
        serial: 0,
    };
    let secs = if o.quick { 2.0 } else { 2.5 };
    let mut results = serde_json::Map::new();

    // 1. Multicast Delay_Req capacity: ramp ×2 from 10 k/s, then bisect to 10 %.
    for &sys in &systems {
        eprintln!("== {}: multicast Delay_Req capacity", sys.name());
        let mut gm: Option<Gm> = None;
        let mut trials = Vec::new();
        let plan = SearchPlan {
            start: 10_000.0,
            factor: 2.0,
            ceiling: 1_600_000.0,
            precision: 0.1,
            max_trials: if o.quick { 1 } else { 8 },
        };
        let found = find_max(plan, |rate| {
            let t = multicast_trial(&mut b, sys, &mut gm, rate, secs);
            let ok = passed(&t);
            trials.push(t);
            ok
        });
        if let Some(g) = gm.take() {
            Bench::stop(g);
        }
        results.insert(
            sys.name().into(),
            json!({
                "capacity": {"max_pass": found.max_pass, "min_fail": found.min_fail,
                             "trials": trials},
            }),
        );
    }

    // Latency at equal loads (below every system's maximum), alternating systems, repeated.
    let fixed: &[f64] = if o.quick {
        &[5_000.0]
    } else {
        &[5_000.0, 20_000.0]
    };
    let mut fixed_trials: Vec<Vec<Value>> = vec![Vec::new(); systems.len()];
    for rep in 0..if o.quick { 1 } else { 3 } {
        for (i, &sys) in systems.iter().enumerate() {
            eprintln!(
                "== {}: latency at fixed loads, repetition {rep}",
                sys.name()
            );
            let mut gm = None;
            for &r in fixed {
                fixed_trials[i].push(multicast_trial(&mut b, sys, &mut gm, r, secs));
            }
            if let Some(g) = gm.take() {
                Bench::stop(g);
            }
        }
    }
    for (i, &sys) in systems.iter().enumerate() {
        results[sys.name()]["latency_fixed"] = Value::Array(std::mem::take(&mut fixed_trials[i]));
    }

    // 2. Unicast slaves held: negotiation, Sync 1/s, Delay_Req 1/s, Announce 1/2 s each.
    let counts: &[u32] = if o.quick {
        &[100]
    } else {
        &[1000, 3000, 10000]
    };
    for &sys in &systems {
        eprintln!("== {}: unicast slaves", sys.name());
        let mut rows = Vec::new();
        for &n in counts {
            let mut gm = b.start(sys);
            let pid = Bench::pid(&mut gm);
            let cpu0 = pid.and_then(cpu_seconds);
            let r = b.swarm(
                &[
                    "--mode".into(),
                    "unicast".into(),
                    "--slaves".into(),
                    n.to_string(),
                    "--log-sync".into(),
                    "0".into(),
                    "--log-delay-req".into(),
                    "0".into(),
                    "--log-announce".into(),
                    "1".into(),
                    "--grant-duration".into(),
                    "10".into(),
                    "--duration".into(),
                    if o.quick { "3" } else { "6" }.into(),
                ],
                Duration::from_secs(60),
            );
            // The grandmaster's CPU over the whole swarm run (negotiation, settling, load,
            // cancels), and that run's length.
            let cpu_s = match (cpu0, pid.and_then(cpu_seconds)) {
                (Some(a), Some(b)) => b - a,
                _ => f64::NAN,
            };
            let alive = Bench::healthy(&mut gm);
            Bench::stop(gm);
            rows.push(json!({
                "slaves": n,
                "gm_cpu_s": cpu_s,
                "run_s": f(&r, &["elapsed_s"]),
                "served": r["slaves_served"],
                "loss_pct": r["loss_pct"],
                "latency_ns": r["latency_ns"],
                "sync_interval_error_ns": r["sync_interval_error_ns"],
                "renewals": r["offered"]["renewals"],
                "denied": r["received"]["denied"],
                "gm_survived": alive,
                "report": r,
            }));
        }
        results[sys.name()]["unicast"] = Value::Array(rows);
    }

    // 3. Accuracy: alternate grandmasters round by round, quiet then loaded at half of
    //    ptp4l's multicast maximum.
    let ptp4l_max = results["ptp4l"]["capacity"]["max_pass"]
        .as_f64()
        .unwrap_or(20_000.0);
    let load = (ptp4l_max / 2.0).max(5_000.0);
    let rounds = if o.quick { 1 } else { o.rounds };
    let mut acc: Vec<(System, Vec<Value>)> = systems.iter().map(|&s| (s, Vec::new())).collect();
    for round in 0..rounds {
        for (sys, v) in &mut acc {
            eprintln!("== accuracy round {round}: {}", sys.name());
            let r = accuracy_round(&mut b, *sys, load, if o.quick { 3 } else { WINDOW_SAMPLES });
            eprintln!(
                "    quiet mean {:+.0} ns sd {:.0}; loaded mean {:+.0} ns sd {:.0}",
                f(&r, &["quiet", "mean_ns"]),
                f(&r, &["quiet", "stddev_ns"]),
                f(&r, &["loaded", "mean_ns"]),
                f(&r, &["loaded", "stddev_ns"])
            );
            v.push(r);
        }
    }
    for (sys, v) in acc {
        results[sys.name()]["accuracy"] = Value::Array(v);
    }

    let report = json!({
        "command": std::env::args().collect::<Vec<_>>().join(" "),
        "machine": machine(),
        "elapsed_s": started.elapsed().as_secs_f64(),
        "load_for_accuracy": load,
        "systems": results,
    });
    let out = &b.out;
    std::fs::write(
        out.join("compare.json"),
        serde_json::to_string_pretty(&report).map_err(|e| e.to_string())? + "\n",
    )
    .map_err(|e| e.to_string())?;
    let summary = summary(&report, &systems);
    std::fs::write(out.join("summary.md"), &summary).map_err(|e| e.to_string())?;
    println!("{summary}");
    plots::all(&report, &systems, out)?;
    let problems = harness_problems(&report, &systems);
    for p in &problems {
        eprintln!("compare: {p}");
    }
    if o.quick && !problems.is_empty() {
        return Err(format!("{} harness problem(s)", problems.len()));
    }
    eprintln!(
        "compare: {:.0} s; results in {}",
        started.elapsed().as_secs_f64(),
        out.display()
    );
    Ok(())
}

/// What says the harness did not work (not that a system is slow): a system that answered no
/// trial at all, a unicast run in which no slave was served, an accuracy window without
/// samples, a generator-limited trial at the lowest rate.
fn harness_problems(report: &Value, systems: &[System]) -> Vec<String> {
    let mut p = Vec::new();
    for sys in systems {
        let v = &report["systems"][sys.name()];
        let n = sys.name();
        let trials = v["capacity"]["trials"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !trials.iter().any(|t| f(t, &["served"]) > 0.0) {
            p.push(format!("{n}: no multicast trial got any Delay_Resp"));
        }
        if trials
            .first()
            .is_some_and(|t| t["generator_limited"].as_bool() == Some(true))
        {
            p.push(format!(
                "{n}: the swarm could not offer the first (lowest) rate"
            ));
        }
        for r in v["unicast"].as_array().into_iter().flatten() {
            if r["served"].as_u64().unwrap_or(0) == 0 {
                p.push(format!("{n}: no unicast slave served of {}", r["slaves"]));
            }
        }
        for (i, r) in v["accuracy"].as_array().into_iter().flatten().enumerate() {
            for w in ["quiet", "loaded"] {
                if r[w]["n"].as_u64().unwrap_or(0) == 0 {
                    p.push(format!("{n}: accuracy round {i}: no {w} samples"));
                }
            }
        }
    }
    p
}

/// Node 0 routes the swarm's prefix to the veth and holds a permanent neighbour entry per
/// swarm slave; for DPDK (af_xdp), one veth queue each way.
fn prepare_lab(lab: &Lab, dpdk: bool) -> Result<(), String> {
    let gm = lab.node(0);
    let sw = lab.node(1);
    let mut batch = format!("route add 10.78.0.0/16 dev {}\n", gm.iface);
    for k in 0..20_000u32 {
        let ip = u32::from_be_bytes([10, 78, 0, 0]) + k;
        let [a, bb, c, d] = ip.to_be_bytes();
        batch.push_str(&format!(
            "neigh replace {a}.{bb}.{c}.{d} lladdr {} dev {} nud permanent\n",
            sw.mac, gm.iface
        ));
    }
    let file = lab.write("neigh.batch", &batch);
    let out = lab.run(
        gm,
        &["ip", "-batch", &file.display().to_string()],
        Duration::from_secs(30),
    );
    if !out.status.success() {
        return Err(format!(
            "ip -batch: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    if dpdk {
        for (node, dir) in [(gm, "rx"), (sw, "tx")] {
            let out = lab.run(
                node,
                &["ethtool", "-L", &node.iface, dir, "1"],
                Duration::from_secs(5),
            );
            if !out.status.success() {
                return Err(format!("ethtool -L {dir} 1: {out:?}"));
            }
        }
    }
    Ok(())
}

fn fmt_rate(r: f64) -> String {
    if !r.is_finite() {
        "—".into()
    } else if r >= 1000.0 {
        format!("{:.0} k/s", r / 1000.0)
    } else {
        format!("{r:.0}/s")
    }
}

fn mean_sd(v: &[f64]) -> (f64, f64) {
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64;
    (m, var.sqrt())
}

/// The `q` latency quantile (ns) of every fixed-load trial at `rate`, sorted.
fn fixed_quantile(v: &Value, rate: f64, q: &str) -> Vec<f64> {
    fixed_quantile_at(v, rate, &["latency_ns", q])
}

/// The value at `path` of every fixed-load trial at `rate`, finite and positive, sorted.
fn fixed_quantile_at(v: &Value, rate: f64, path: &[&str]) -> Vec<f64> {
    let mut x: Vec<f64> = v["latency_fixed"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["offered"].as_f64() == Some(rate))
        .map(|t| f(t, path))
        .filter(|x| x.is_finite() && *x > 0.0)
        .collect();
    x.sort_by(f64::total_cmp);
    x
}

fn summary(report: &Value, systems: &[System]) -> String {
    let s = &report["systems"];
    let mut out = String::new();
    let m = &report["machine"];
    out.push_str(&format!(
        "Machine: {} ({} CPUs), kernel {}, {}; commit {}; {}. Command: `{}` ({:.0} s).\n\n",
        m["cpu"].as_str().unwrap_or(""),
        m["cpus"],
        m["kernel"].as_str().unwrap_or(""),
        m["date"].as_str().unwrap_or(""),
        m["commit"].as_str().unwrap_or(""),
        m["ptp4l"]
            .as_str()
            .map_or(String::new(), |v| format!("ptp4l {v}")),
        report["command"].as_str().unwrap_or(""),
        report["elapsed_s"].as_f64().unwrap_or(0.0),
    ));
    out.push_str(
        "| | max multicast Delay_Req at < 0.1 % loss | latency p50 / p99 at 5 k/s | \
         at 20 k/s | answered per grandmaster CPU-second at 20 k/s | unicast slaves served (of 1k / 3k / 10k at 1 Hz) | slave offset: mean of \
         round means (spread) quiet | loaded | sd quiet |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for sys in systems {
        let v = &s[sys.name()];
        let cap = v["capacity"]["max_pass"].as_f64().unwrap_or(f64::NAN);
        let lat = |rate: f64| {
            let (p50, p99) = (
                fixed_quantile(v, rate, "p50"),
                fixed_quantile(v, rate, "p99"),
            );
            if p50.is_empty() {
                return "—".to_string();
            }
            let med = |x: &[f64]| x[x.len() / 2] / 1e3;
            format!(
                "{:.0} / {:.0} µs (p99 {:.0}–{:.0})",
                med(&p50),
                med(&p99),
                p99[0] / 1e3,
                p99[p99.len() - 1] / 1e3
            )
        };
        let uni: Vec<String> = v["unicast"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|r| {
                        let served = r["served"].as_u64().unwrap_or(0);
                        format!("{served}")
                    })
                    .collect()
            })
            .unwrap_or_default();
        let acc = v["accuracy"].as_array().cloned().unwrap_or_default();
        let means = |w: &str| -> Vec<f64> {
            acc.iter()
                .filter_map(|r| r[w]["mean_ns"].as_f64())
                .collect()
        };
        let sds: Vec<f64> = acc
            .iter()
            .filter_map(|r| r["quiet"]["stddev_ns"].as_f64())
            .collect();
        let spread = |v: &[f64]| {
            if v.is_empty() {
                return "—".to_string();
            }
            let (m, _) = mean_sd(v);
            let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            format!("{m:+.0} ns ({lo:+.0} … {hi:+.0})")
        };
        out.push_str(&format!(
            "| **{}** | {} | {} | {} | {} | {} | {} | {} | {:.0} ns |\n",
            sys.name(),
            fmt_rate(cap),
            lat(5_000.0),
            lat(20_000.0),
            {
                let x = fixed_quantile_at(v, 20_000.0, &["answered_per_gm_cpu_s"]);
                x.get(x.len() / 2)
                    .map_or("—".into(), |m| fmt_rate(*m).replace("/s", ""))
            },
            uni.join(" / "),
            spread(&means("quiet")),
            spread(&means("loaded")),
            mean_sd(&sds).0,
        ));
    }
    let cap = |n: &str| s[n]["capacity"]["max_pass"].as_f64().unwrap_or(f64::NAN);
    let med = |n: &str, q: &str| {
        let v = fixed_quantile(&s[n], 5_000.0, q);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    out.push_str(&format!(
        "\nMeridian (sockets) / ptp4l: capacity ×{:.1}; at 5 k/s median p50 ×{:.2}, p99 ×{:.2}. \
         Latency figures: the median of the repetitions (alternating systems), p99's range in \
         brackets.\n",
        cap("meridian") / cap("ptp4l"),
        med("meridian", "p50") / med("ptp4l", "p50"),
        med("meridian", "p99") / med("ptp4l", "p99"),
    ));
    out
}

mod plots {
    use super::{f, System};
    use plotters::prelude::*;
    use serde_json::Value;
    use std::path::Path;

    const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
    const COLOURS: [RGBColor; 3] = [
        RGBColor(200, 60, 40),
        RGBColor(30, 100, 200),
        RGBColor(40, 150, 70),
    ];

    fn font() -> Result<(), String> {
        let bytes = std::fs::read(FONT)
            .map_err(|e| format!("{FONT}: {e} (apt-get install fonts-dejavu-core)"))?;
        plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            Box::leak(bytes.into_boxed_slice()),
        )
        .map_err(|_| format!("{FONT}: not a usable font"))
    }

    fn e<T: std::fmt::Debug>(x: T) -> String {
        format!("plot: {x:?}")
    }

    pub fn all(report: &Value, systems: &[System], out: &Path) -> Result<(), String> {
        font()?;
        served(report, systems, &out.join("served.png"))?;
        latency(report, systems, &out.join("latency.png"))?;
        offsets(report, systems, &out.join("offsets.png"))?;
        Ok(())
    }

    /// (offered, served) of every multicast trial, sorted by offered.
    fn points(v: &Value, key: &str) -> Vec<(f64, f64)> {
        let mut p: Vec<(f64, f64)> = v["capacity"]["trials"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(v["latency_fixed"].as_array().into_iter().flatten())
            .map(|t| (f(t, &["offered_measured"]), f(t, &[key])))
            .filter(|(a, b)| a.is_finite() && b.is_finite() && *a > 0.0)
            .collect();
        p.sort_by(|a, b| a.0.total_cmp(&b.0));
        p
    }

    fn served(report: &Value, systems: &[System], path: &Path) -> Result<(), String> {
        let root = BitMapBackend::new(path, (900, 600)).into_drawing_area();
        root.fill(&WHITE).map_err(e)?;
        let all: Vec<(f64, f64)> = systems
            .iter()
            .flat_map(|s| points(&report["systems"][s.name()], "served"))
            .collect();
        let xmax = all.iter().map(|p| p.0).fold(1.0, f64::max) * 1.1;
        let mut c = ChartBuilder::on(&root)
            .caption(
                "Multicast Delay_Req: answered vs offered",
                ("sans-serif", 24),
            )
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..xmax / 1e3, 0f64..xmax / 1e3)
            .map_err(e)?;
        c.configure_mesh()
            .x_desc("offered, k Delay_Req/s")
            .y_desc("Delay_Resp received, k/s")
            .draw()
            .map_err(e)?;
        c.draw_series(LineSeries::new(
            [(0.0, 0.0), (xmax / 1e3, xmax / 1e3)],
            &BLACK.mix(0.3),
        ))
        .map_err(e)?;
        for (i, s) in systems.iter().enumerate() {
            let col = COLOURS[i % 3];
            let p: Vec<(f64, f64)> = points(&report["systems"][s.name()], "served")
                .into_iter()
                .map(|(a, b)| (a / 1e3, b / 1e3))
                .collect();
            c.draw_series(LineSeries::new(p.clone(), col.stroke_width(2)))
                .map_err(e)?
                .label(s.name())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], col.stroke_width(2))
                });
            c.draw_series(p.into_iter().map(|q| Circle::new(q, 4, col.filled())))
                .map_err(e)?;
        }
        c.configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(e)?;
        root.present().map_err(e)
    }

    fn latency(report: &Value, systems: &[System], path: &Path) -> Result<(), String> {
        let root = BitMapBackend::new(path, (900, 600)).into_drawing_area();
        root.fill(&WHITE).map_err(e)?;
        let mut series = Vec::new();
        for s in systems {
            let v = &report["systems"][s.name()];
            let mut p: Vec<(f64, f64, f64)> = v["capacity"]["trials"]
                .as_array()
                .into_iter()
                .flatten()
                .chain(v["latency_fixed"].as_array().into_iter().flatten())
                .filter(|t| t["loss_pct"].as_f64().is_some_and(|l| l < 5.0))
                .map(|t| {
                    (
                        f(t, &["offered_measured"]) / 1e3,
                        f(t, &["latency_ns", "p50"]) / 1e3,
                        f(t, &["latency_ns", "p99"]) / 1e3,
                    )
                })
                .filter(|q| q.0.is_finite() && q.1 > 0.0 && q.2 > 0.0)
                .collect();
            p.sort_by(|a, b| a.0.total_cmp(&b.0));
            series.push((s.name(), p));
        }
        let xmax = series
            .iter()
            .flat_map(|s| s.1.iter().map(|q| q.0))
            .fold(1.0, f64::max)
            * 1.1;
        let ymax = series
            .iter()
            .flat_map(|s| s.1.iter().map(|q| q.2))
            .fold(10.0, f64::max)
            * 2.0;
        let mut c = ChartBuilder::on(&root)
            .caption(
                "Delay_Req → Delay_Resp latency (p50 solid, p99 dashed; trials < 5 % loss)",
                ("sans-serif", 20),
            )
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..xmax, (1f64..ymax).log_scale())
            .map_err(e)?;
        c.configure_mesh()
            .x_desc("offered, k Delay_Req/s")
            .y_desc("latency at the swarm, µs")
            .draw()
            .map_err(e)?;
        for (i, (name, p)) in series.into_iter().enumerate() {
            let col = COLOURS[i % 3];
            c.draw_series(LineSeries::new(
                p.iter().map(|q| (q.0, q.1)),
                col.stroke_width(2),
            ))
            .map_err(e)?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], col.stroke_width(2)));
            c.draw_series(DashedLineSeries::new(
                p.iter().map(|q| (q.0, q.2)),
                6,
                4,
                col.stroke_width(2),
            ))
            .map_err(e)?;
        }
        c.configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(e)?;
        root.present().map_err(e)
    }

    /// Histograms of every offset sample, per grandmaster, quiet and loaded side by side.
    fn offsets(report: &Value, systems: &[System], path: &Path) -> Result<(), String> {
        let root = BitMapBackend::new(path, (900, 300 * systems.len() as u32)).into_drawing_area();
        root.fill(&WHITE).map_err(e)?;
        let rows = root.split_evenly((systems.len(), 2));
        let bin = 250i64;
        for (i, s) in systems.iter().enumerate() {
            for (j, w) in ["quiet", "loaded"].into_iter().enumerate() {
                let samples: Vec<i64> = report["systems"][s.name()]["accuracy"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|r| r[w]["offsets_ns"].as_array().cloned().unwrap_or_default())
                    .filter_map(|x| x.as_i64())
                    .collect();
                let area = &rows[i * 2 + j];
                let lim = 5000i64;
                let mut counts = std::collections::BTreeMap::<i64, u32>::new();
                for x in &samples {
                    *counts
                        .entry((x.clamp(&-lim, &(lim - 1)).div_euclid(bin)) * bin)
                        .or_default() += 1;
                }
                let ymax = counts.values().copied().max().unwrap_or(1) + 1;
                let mut c = ChartBuilder::on(area)
                    .caption(
                        format!("{} — {w} ({} samples)", s.name(), samples.len()),
                        ("sans-serif", 18),
                    )
                    .margin(10)
                    .x_label_area_size(35)
                    .y_label_area_size(45)
                    .build_cartesian_2d(
                        (-lim..lim).step(bin).use_round().into_segmented(),
                        0u32..ymax,
                    )
                    .map_err(e)?;
                c.configure_mesh()
                    .x_desc("slave offset, ns (clamped to ±5 µs)")
                    .x_labels(6)
                    .draw()
                    .map_err(e)?;
                let col = COLOURS[i % 3];
                c.draw_series(
                    Histogram::vertical(&c)
                        .style(col.filled())
                        .margin(1)
                        .data(counts.iter().map(|(k, v)| (*k, *v))),
                )
                .map_err(e)?;
            }
        }
        root.present().map_err(e)
    }
}
