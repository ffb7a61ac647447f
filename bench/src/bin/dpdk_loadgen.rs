//! DPDK load generator for Meridian's pipeline benchmark (`bench/dpdk_pipeline.sh` drives it).
//!
//! It is a DPDK process of its own (own `--file-prefix`, pinned to one lcore) on a memif
//! client port whose server end is Meridian's DPDK port. It emulates N slaves (distinct
//! sourcePortIdentity, MAC and IPv4 address) sending multicast E2E Delay_Req (UDP/IPv4 to
//! 224.0.1.129:319) at a TSC-paced rate, receives what Meridian sends back, matches each
//! Delay_Resp to its request (requestingPortIdentity + sequenceId) and measures the round
//! trip: the TSC read just before the `rte_eth_tx_burst` that took the request to the TSC
//! read just after the `rte_eth_rx_burst` that returned the answer. Everything else Meridian
//! sends (Announce, Sync, Follow_Up, …) is counted by message type.
//!
//! ```text
//! dpdk_loadgen run    --rate R [--duration S] [options] [-- EAL args]
//! dpdk_loadgen search [--start R] [--step S] [--loss PCT] [options] [-- EAL args]
//! dpdk_loadgen pipeline [search options | --max-rate R] [--phases 50,90] [hooks] [options]
//! dpdk_loadgen residence-diff BEFORE.json AFTER.json
//! ```
//!
//! `run` offers R Delay_Req/s for S seconds; `search` finds the highest rate with less than
//! `--loss` % (default 0.1) of requests unanswered and at least 99 % of it offered (ramp ×2
//! from `--start`, then bisection; `--step` seconds per trial); `pipeline` does the search
//! and then runs percentages of the maximum, in one process and one memif connection, with
//! hook commands around each phase. `residence-diff` prints a phase's residence percentiles
//! from two `meridian status --json` snapshots.
//!
//! Every figure printed is measured; lines starting with `RESULT`, `MAX_RATE` and
//! `RESIDENCE` are `key=value` lists for scripts.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use meridian::dataplane::dpdk::raw::{self, Eal, EthDev, Mempool, RxBatch, TxBatch, BURST};
use meridian_bench::hist::Histogram;
use meridian_bench::ptp::{self, DelayReqTemplates, Reply, FRAME_LEN};
use meridian_bench::residence;
use meridian_bench::search::{self, SearchPlan};

const USAGE: &str = "\
usage: dpdk_loadgen run    --rate R [--duration S] [options] [-- EAL args]
       dpdk_loadgen search [--start R] [--ceiling R] [--factor F] [--step S] [--loss PCT]
                           [--precision F] [--max-trials N] [options] [-- EAL args]
       dpdk_loadgen pipeline [search options | --max-rate R] [--phases 50,90] [--duration S]
                           [--exec-before CMD] [--exec-after CMD] [--exec-end CMD] [options]
       dpdk_loadgen residence-diff BEFORE.json AFTER.json

options:
  --vdev SPEC        memif client (default net_memif0,role=client,socket=/tmp/meridian-bench.sock)
  --lcore N          core to run on (default 0)
  --file-prefix P    EAL file prefix (default meridian-loadgen-PID)
  --mem MB           EAL memory, with --no-huge --no-pci --no-shconf (default 256)
  --slaves N         emulated slaves (default 1000)
  --hosts N          the slaves send from N hosts (IPv4 + MAC; default: one per slave)
  --src-ip A.B.C.D   address of host 0; host h has it + h (default 10.77.1.1)
  --domain N         PTP domain (default 0)
  --burst N          send once N requests are due (1-32, default 1: as soon as due)
  --ring-full MODE   requests the memif ring refuses (Meridian's RX ring is full): drop
                     them and count them lost, as a NIC drops on RX overrun (default), or
                     retry them (back-pressure: measures saturation throughput)
  --drain-ms MS      keep receiving after the last request (default 100)
  --wait S           how long to wait for the link and the first Delay_Resp (default 15)
  --meridian-pid P   also watch Meridian's poll thread for CPU contention
  --retry-starved N  repeat a search trial spoiled by CPU contention up to N times (default 2)
  --quiet-wait S     before measuring and before a repeat, wait up to S seconds until other
                     processes take < 0.5 % of the poll cores (default 60)
  --exec-before CMD  run, pipeline: `sh -c CMD` right before each measured interval (e.g. a
  --exec-after CMD   status snapshot), and right after it and its drain; env PHASE is the
                     phase's percentage (pipeline) or 'run'
  --exec-end CMD     pipeline: after the last phase, before disconnecting (e.g. stop Meridian)
  --max-rate R       pipeline: skip the search, take R as the maximum
  --phases P,P       pipeline: percentages of the maximum to run (default 50,90)
rates are Delay_Req per second.";

/// TSC slots remembered for matching answers: 2^18 requests (≈ 0.13 s at 2 M/s).
const RING: usize = 1 << 18;
/// A gap between two iterations of the poll loop longer than this is a stall.
const STALL_NS: u64 = 5_000;
/// The pool of the port (RX descriptors, requests in flight, the TX batch).
const POOL: u32 = 16383;

#[derive(Debug, Clone)]
struct Opts {
    vdev: String,
    lcore: usize,
    file_prefix: String,
    mem_mb: u32,
    slaves: u32,
    hosts: Option<u32>,
    src_ip: [u8; 4],
    domain: u8,
    burst: usize,
    retry_full: bool,
    drain: Duration,
    wait: Duration,
    meridian_pid: Option<u32>,
    retry_starved: usize,
    quiet_wait: Duration,
    exec_before: Option<String>,
    exec_after: Option<String>,
    exec_end: Option<String>,
    max_rate: Option<f64>,
    phases: Vec<f64>,
    eal_extra: Vec<String>,
    // run
    rate: Option<f64>,
    duration: Duration,
    // search
    start: f64,
    ceiling: f64,
    factor: f64,
    step: Duration,
    loss_pct: f64,
    precision: f64,
    max_trials: usize,
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            vdev: "net_memif0,role=client,socket=/tmp/meridian-bench.sock".into(),
            lcore: 0,
            file_prefix: format!("meridian-loadgen-{}", std::process::id()),
            mem_mb: 256,
            slaves: 1000,
            hosts: None,
            src_ip: [10, 77, 1, 1],
            domain: 0,
            burst: 1,
            retry_full: false,
            drain: Duration::from_millis(100),
            wait: Duration::from_secs(15),
            meridian_pid: None,
            retry_starved: 2,
            quiet_wait: Duration::from_secs(60),
            exec_before: None,
            exec_after: None,
            exec_end: None,
            max_rate: None,
            phases: vec![50.0, 90.0],
            eal_extra: Vec::new(),
            rate: None,
            duration: Duration::from_secs(10),
            start: 100_000.0,
            ceiling: 20_000_000.0,
            factor: 2.0,
            step: Duration::from_secs(3),
            loss_pct: 0.1,
            precision: 0.03,
            max_trials: 16,
        }
    }
}

fn parse_opts(args: &[String]) -> Result<Opts, String> {
    let mut o = Opts::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--" {
            o.eal_extra.extend(it.by_ref().cloned());
            break;
        }
        let mut val = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{a} needs a value"))
        };
        let num = |s: String| -> Result<f64, String> {
            s.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| format!("{a}: not a number: {s}"))
        };
        let secs = |v: f64| Duration::from_secs_f64(v);
        match a.as_str() {
            "--vdev" => o.vdev = val()?,
            "--lcore" => o.lcore = num(val()?)? as usize,
            "--file-prefix" => o.file_prefix = val()?,
            "--mem" => o.mem_mb = num(val()?)? as u32,
            "--slaves" => o.slaves = (num(val()?)? as u32).clamp(1, ptp::MAX_SLAVES),
            "--hosts" => o.hosts = Some((num(val()?)? as u32).max(1)),
            "--src-ip" => {
                let v = val()?;
                o.src_ip = v
                    .parse::<std::net::Ipv4Addr>()
                    .map_err(|e| format!("--src-ip {v}: {e}"))?
                    .octets();
            }
            "--domain" => o.domain = num(val()?)?.min(255.0) as u8,
            "--burst" => o.burst = (num(val()?)? as usize).clamp(1, BURST),
            "--ring-full" => {
                o.retry_full = match val()?.as_str() {
                    "drop" => false,
                    "retry" => true,
                    v => return Err(format!("--ring-full {v}: drop or retry")),
                }
            }
            "--drain-ms" => o.drain = Duration::from_millis(num(val()?)? as u64),
            "--wait" => o.wait = secs(num(val()?)?),
            "--meridian-pid" => o.meridian_pid = Some(num(val()?)? as u32),
            "--retry-starved" => o.retry_starved = num(val()?)? as usize,
            "--quiet-wait" => o.quiet_wait = secs(num(val()?)?),
            "--exec-before" => o.exec_before = Some(val()?),
            "--exec-after" => o.exec_after = Some(val()?),
            "--exec-end" => o.exec_end = Some(val()?),
            "--max-rate" => o.max_rate = Some(num(val()?)?),
            "--phases" => {
                o.phases = val()?
                    .split(',')
                    .map(|p| {
                        p.trim()
                            .parse::<f64>()
                            .map_err(|e| format!("--phases {p}: {e}"))
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--rate" => o.rate = Some(num(val()?)?),
            "--duration" => o.duration = secs(num(val()?)?),
            "--start" => o.start = num(val()?)?.max(1.0),
            "--ceiling" => o.ceiling = num(val()?)?.max(1.0),
            "--factor" => o.factor = num(val()?)?.max(1.05),
            "--step" => o.step = secs(num(val()?)?),
            "--loss" => o.loss_pct = num(val()?)?,
            "--precision" => o.precision = num(val()?)?.max(0.001),
            "--max-trials" => o.max_trials = (num(val()?)? as usize).max(1),
            _ => return Err(format!("unknown option {a}")),
        }
    }
    Ok(o)
}

/// Time a thread spent runnable but waiting for its CPU, ns (`/proc/…/schedstat`, second
/// field): on a dedicated busy-poll core this stays flat; when it grows, another process
/// took the core and every figure of the interval is spoiled.
fn run_queue_wait_ns(path: &str) -> Option<u64> {
    let s = std::fs::read_to_string(path).ok()?;
    s.split_whitespace().nth(1)?.parse().ok()
}

/// The schedstat files watched: our own thread, and Meridian's poll loop (its main thread).
#[derive(Debug, Clone)]
struct Watch {
    own: String,
    meridian: Option<String>,
}

impl Watch {
    fn new(meridian_pid: Option<u32>) -> Self {
        Watch {
            own: "/proc/thread-self/schedstat".into(),
            meridian: meridian_pid.map(|p| format!("/proc/{p}/task/{p}/schedstat")),
        }
    }

    fn read(&self) -> (Option<u64>, Option<u64>) {
        (
            run_queue_wait_ns(&self.own),
            self.meridian.as_deref().and_then(run_queue_wait_ns),
        )
    }
}

/// One request's TX stamp, under its global index (`u64::MAX`: free or answered).
#[derive(Debug, Clone, Copy)]
struct Slot {
    idx: u64,
    tsc: u64,
}

/// What one trial saw.
#[derive(Debug, Clone)]
struct Trial {
    target: f64,
    secs: f64,
    burst: usize,
    /// Requests generated and handed to `rte_eth_tx_burst` (or retried; see `ring_full`).
    offered: u64,
    /// Requests the memif ring took, i.e. that entered Meridian's RX ring.
    sent: u64,
    /// Requests the ring refused because it was full (Meridian's RX ring overflowed): dropped
    /// and counted as lost, as a NIC drops on RX overrun; with `--ring-full retry`, retried
    /// (and counted once per refusal).
    ring_full: u64,
    /// Refused requests are retried.
    retry_full: bool,
    /// Delay_Resp matched to a request of this trial.
    answered: u64,
    /// Delay_Resp to an emulated slave matching no outstanding request (duplicate, or
    /// later than RING requests).
    unmatched: u64,
    /// Delay_Resp to a request of an earlier trial.
    stale: u64,
    /// Delay_Resp for identities we did not emulate.
    foreign: u64,
    /// Other PTP messages by messageType nibble.
    other: [u64; 16],
    /// Frames that were not well-formed PTP.
    not_ptp: u64,
    /// Requests never offered because the generator fell more than 1 ms behind schedule.
    behind: u64,
    /// Empty pool when building a request.
    no_mbuf: u64,
    /// Round trips, ns.
    rtt: Histogram,
    /// Run-queue wait of the load generator's thread during the trial, ns.
    own_wait_ns: Option<u64>,
    /// Run-queue wait of Meridian's poll thread during the trial, ns.
    meridian_wait_ns: Option<u64>,
    /// Gaps of more than [`STALL_NS`] between two iterations of our own poll loop (the
    /// thread was preempted, interrupted or its vCPU descheduled): count, total, longest.
    stalls: u64,
    stall_ns: u64,
    max_stall_ns: u64,
    /// Time the hypervisor ran something else on each vCPU during the trial, ms
    /// (`/proc/stat` steal, 10 ms resolution).
    steal_ms: Vec<u64>,
}

impl Trial {
    fn new(target: f64, secs: f64, burst: usize) -> Self {
        Trial {
            target,
            secs,
            burst,
            offered: 0,
            sent: 0,
            ring_full: 0,
            retry_full: false,
            answered: 0,
            unmatched: 0,
            stale: 0,
            foreign: 0,
            other: [0; 16],
            not_ptp: 0,
            behind: 0,
            no_mbuf: 0,
            rtt: Histogram::new(),
            own_wait_ns: None,
            meridian_wait_ns: None,
            stalls: 0,
            stall_ns: 0,
            max_stall_ns: 0,
            steal_ms: Vec::new(),
        }
    }

    /// Whether another process took either busy-poll core for more than 1 % of the trial.
    fn starved(&self) -> bool {
        let limit = (self.secs * 1e9 * 0.01) as u64;
        self.own_wait_ns.unwrap_or(0) > limit || self.meridian_wait_ns.unwrap_or(0) > limit
    }

    fn wait_text(&self) -> String {
        let ms = |w: Option<u64>| w.map_or("?".into(), |w| format!("{:.1} ms", w as f64 / 1e6));
        let steal: Vec<String> = self
            .steal_ms
            .iter()
            .enumerate()
            .map(|(c, ms)| format!("cpu{c} {ms} ms"))
            .collect();
        format!(
            "CPU taken by other processes: load generator {}, Meridian {}; hypervisor steal: \
             {}; load generator loop stalls > {} µs: {} ({:.1} ms in all, longest {} µs){}",
            ms(self.own_wait_ns),
            ms(self.meridian_wait_ns),
            if steal.is_empty() {
                "?".into()
            } else {
                steal.join(", ")
            },
            STALL_NS / 1000,
            self.stalls,
            self.stall_ns as f64 / 1e6,
            self.max_stall_ns / 1000,
            if self.starved() {
                " — STARVED, figures spoiled"
            } else {
                ""
            }
        )
    }

    /// Requests offered and not answered (dropped at a full ring, or by Meridian).
    fn lost(&self) -> u64 {
        self.offered.saturating_sub(self.answered)
    }

    fn loss_pct(&self) -> f64 {
        if self.offered == 0 {
            100.0
        } else {
            100.0 * self.lost() as f64 / self.offered as f64
        }
    }

    /// Requests offered per second.
    fn offered_rate(&self) -> f64 {
        self.offered as f64 / self.secs
    }

    /// Every PTP message through Meridian per second: requests in, everything out.
    fn messages_rate(&self) -> f64 {
        let others: u64 = self.other.iter().sum();
        (self.sent + self.answered + self.unmatched + self.stale + self.foreign + others) as f64
            / self.secs
    }

    /// Loss below the limit, and at least 99 % of the target offered (the generator kept up).
    fn passed(&self, max_loss_pct: f64) -> bool {
        self.offered > 0
            && self.loss_pct() < max_loss_pct
            && self.offered_rate() >= 0.99 * self.target
    }

    fn others_text(&self) -> String {
        let name = |n: usize| match n {
            0 => "Sync".to_string(),
            8 => "Follow_Up".into(),
            0xb => "Announce".into(),
            1 => "Delay_Req".into(),
            0xc => "Signaling".into(),
            0xd => "Management".into(),
            n => format!("type {n:#x}"),
        };
        let mut parts: Vec<String> = self
            .other
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(n, c)| format!("{} {c}", name(n)))
            .collect();
        if self.foreign > 0 {
            parts.push(format!("Delay_Resp to others {}", self.foreign));
        }
        if self.not_ptp > 0 {
            parts.push(format!("non-PTP {}", self.not_ptp));
        }
        if parts.is_empty() {
            "nothing".into()
        } else {
            parts.join(", ")
        }
    }

    fn print(&self) {
        println!(
            "target {:.0}/s for {:.1} s (burst ≥ {}): offered {} = {:.0}/s ({:.2} % of target), \
             answered {}, lost {} ({:.4} %), {} {} at Meridian's full RX ring, \
             unmatched {}, stale {}",
            self.target,
            self.secs,
            self.burst,
            self.offered,
            self.offered_rate(),
            100.0 * self.offered_rate() / self.target.max(1e-9),
            self.answered,
            self.lost(),
            self.loss_pct(),
            self.ring_full,
            if self.retry_full {
                "refusals (retried)"
            } else {
                "dropped"
            },
            self.unmatched,
            self.stale,
        );
        println!(
            "  through Meridian: {:.0} PTP messages/s (in + out); RTT ns: p50 {} p99 {} \
             p99.9 {} max {} (min {}, mean {:.0}, {} samples)",
            self.messages_rate(),
            self.rtt.quantile(0.5),
            self.rtt.quantile(0.99),
            self.rtt.quantile(0.999),
            self.rtt.max(),
            self.rtt.min(),
            self.rtt.mean(),
            self.rtt.count(),
        );
        println!(
            "  generator: {} requests not offered (> 1 ms behind schedule), {} without mbuf; \
             also received: {}",
            self.behind,
            self.no_mbuf,
            self.others_text()
        );
        println!("  {}", self.wait_text());
    }

    fn result_line(&self) -> String {
        format!(
            "target={:.0} secs={:.3} burst={} offered={} offered_per_s={:.0} sent={} \
             ring_full={} answered={} lost={} loss_pct={:.6} unmatched={} stale={} \
             messages_per_s={:.0} rtt_p50_ns={} rtt_p99_ns={} rtt_p999_ns={} rtt_max_ns={} \
             behind={} sync={} follow_up={} announce={} own_wait_ms={:.1} \
             meridian_wait_ms={:.1} starved={} stalls={} stall_ms={:.3} max_stall_us={} \
             steal_ms={}",
            self.target,
            self.secs,
            self.burst,
            self.offered,
            self.offered_rate(),
            self.sent,
            self.ring_full,
            self.answered,
            self.lost(),
            self.loss_pct(),
            self.unmatched,
            self.stale,
            self.messages_rate(),
            self.rtt.quantile(0.5),
            self.rtt.quantile(0.99),
            self.rtt.quantile(0.999),
            self.rtt.max(),
            self.behind,
            self.other[0],
            self.other[8],
            self.other[0xb],
            self.own_wait_ns.map_or(-1.0, |w| w as f64 / 1e6),
            self.meridian_wait_ns.map_or(-1.0, |w| w as f64 / 1e6),
            u8::from(self.starved()),
            self.stalls,
            self.stall_ns as f64 / 1e6,
            self.max_stall_ns / 1000,
            self.steal_ms
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(","),
        )
    }
}

/// Steal time of every CPU so far, in USER_HZ ticks (10 ms), from `/proc/stat`.
fn steal_ticks() -> Vec<u64> {
    let Ok(s) = std::fs::read_to_string("/proc/stat") else {
        return Vec::new();
    };
    s.lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .map(|l| {
            l.split_whitespace()
                .nth(8)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        })
        .collect()
}

/// The generator: one memif port, the request templates and the TX stamps in flight.
struct Gen {
    // Drop order: batches (their mbufs) before the port, the port before the pool.
    rx: RxBatch,
    tx: TxBatch,
    dev: EthDev,
    pool: Mempool,
    tpl: DelayReqTemplates,
    ring: Vec<Slot>,
    /// Requests generated so far (the next request's global index).
    next: u64,
    /// Global indices of the requests in `tx`, in order.
    pend: [u64; BURST],
    pend_len: usize,
    ns_per_tick: f64,
    ticks_per_s: f64,
    watch: Watch,
    retry_full: bool,
}

impl Gen {
    fn open(o: &Opts) -> Result<Gen, String> {
        let mut args: Vec<String> = vec![
            "--no-huge".into(),
            "--no-pci".into(),
            "--no-shconf".into(),
            "-m".into(),
            o.mem_mb.to_string(),
            "-l".into(),
            o.lcore.to_string(),
            format!("--file-prefix={}", o.file_prefix),
            "--vdev".into(),
            o.vdev.clone(),
        ];
        args.extend(o.eal_extra.iter().cloned());
        eprintln!("loadgen: EAL {}", args.join(" "));
        let eal = Eal::init(&args).map_err(|e| format!("EAL: {e}"))?;
        let name = o.vdev.split(',').next().unwrap_or("").trim().to_string();
        let mut dev = EthDev::open(eal, &name).map_err(|e| {
            format!(
                "port {name}: {e} ({} port(s) probed; see the EAL log)",
                eal.port_count()
            )
        })?;
        let pool = Mempool::create(eal, "loadgen", POOL, 256, dev.socket_id())
            .map_err(|e| format!("mempool: {e}"))?;
        dev.configure(0, 0).map_err(|e| format!("{name}: {e}"))?;
        let (rxd, txd) = dev
            .setup_queues(&pool, 1024, 1024)
            .map_err(|e| format!("{name}: {e}"))?;
        dev.start().map_err(|e| format!("{name}: {e}"))?;
        // memif delivers every frame; other PMDs need multicast reception switched on.
        if dev.allmulticast_enable().is_err() {
            let _ = dev.promiscuous_enable();
        }
        let hosts = o.hosts.unwrap_or(o.slaves).min(o.slaves);
        let tpl = DelayReqTemplates::new(o.slaves, hosts, o.src_ip, o.domain)
            .map_err(|e| format!("building Delay_Req templates: {e}"))?;
        eprintln!(
            "loadgen: port {name} ({}) started, {rxd} RX / {txd} TX descriptors, {} slaves on {hosts} hosts from {}",
            dev.info().map(|i| i.driver_name).unwrap_or_default(),
            tpl.slaves(),
            std::net::Ipv4Addr::from(o.src_ip),
        );
        Ok(Gen {
            rx: RxBatch::new(),
            tx: TxBatch::new(),
            dev,
            pool,
            tpl,
            ring: vec![
                Slot {
                    idx: u64::MAX,
                    tsc: 0
                };
                RING
            ],
            next: 0,
            pend: [0; BURST],
            pend_len: 0,
            ns_per_tick: 1.0,
            ticks_per_s: 1e9,
            watch: Watch::new(o.meridian_pid),
            retry_full: o.retry_full,
        })
    }

    /// Measures the TSC rate against the monotonic clock over `span`.
    fn calibrate(&mut self, span: Duration) {
        let (t0, c0) = (Instant::now(), raw::rdtsc());
        std::thread::sleep(span);
        let (t1, c1) = (Instant::now(), raw::rdtsc());
        let hz = (c1 - c0) as f64 / (t1 - t0).as_secs_f64();
        self.ticks_per_s = hz;
        self.ns_per_tick = 1e9 / hz;
        eprintln!(
            "loadgen: TSC {:.4} GHz measured over {} ms (EAL estimate {:.4} GHz)",
            hz / 1e9,
            span.as_millis(),
            raw::tsc_hz().unwrap_or(0) as f64 / 1e9
        );
    }

    /// Waits for the link, then sends a few requests every 40 ms until one is answered.
    fn wait_ready(&mut self, wait: Duration) -> Result<(), String> {
        let start = Instant::now();
        loop {
            if self.dev.link().map(|l| l.up).unwrap_or(false) {
                break;
            }
            if start.elapsed() > wait {
                return Err(format!(
                    "link down after {} s (is Meridian running with the memif server?)",
                    wait.as_secs()
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        eprintln!("loadgen: link up after {} ms", start.elapsed().as_millis());
        loop {
            let t = self.trial(
                200.0, // four requests in 20 ms, the first after 5 ms
                Duration::from_millis(20),
                1,
                Duration::from_millis(20),
            );
            if t.answered > 0 {
                eprintln!(
                    "loadgen: first Delay_Resp after {} ms (RTT {} ns)",
                    start.elapsed().as_millis(),
                    t.rtt.max()
                );
                return Ok(());
            }
            if start.elapsed() > wait {
                return Err(format!(
                    "no Delay_Resp within {} s (is Meridian's port MASTER? received: {})",
                    wait.as_secs(),
                    t.others_text()
                ));
            }
        }
    }

    /// Polls at a trickle (1000 requests/s) in one-second windows until other processes
    /// took less than 5 ms of both poll cores in a window (by the run-queue wait), or `max`
    /// passes. Returns whether it became quiet.
    fn wait_quiet(&mut self, max: Duration) -> bool {
        let start = Instant::now();
        let mut said = false;
        loop {
            let t = self.trial(1000.0, Duration::from_secs(1), 1, Duration::from_millis(30));
            let taken = t.own_wait_ns.unwrap_or(0) + t.meridian_wait_ns.unwrap_or(0);
            if taken < 5_000_000 {
                if said {
                    eprintln!(
                        "loadgen: quiet after {:.0} s",
                        start.elapsed().as_secs_f64()
                    );
                }
                return true;
            }
            if start.elapsed() >= max {
                eprintln!(
                    "loadgen: still not quiet after {} s ({:.1} ms of the poll cores taken in the last second); measuring anyway",
                    max.as_secs(),
                    taken as f64 / 1e6
                );
                return false;
            }
            if !said {
                eprintln!(
                    "loadgen: other processes took {:.1} ms of the poll cores in the last second; waiting up to {} s for quiet",
                    taken as f64 / 1e6,
                    max.as_secs()
                );
                said = true;
            }
        }
    }

    /// The global index of slave `slave`'s request `seq`, if it is in the ring.
    fn lookup(&self, slave: u32, seq: u16) -> Option<u64> {
        let n = u64::from(self.tpl.slaves());
        if u64::from(slave) >= n || self.next == 0 {
            return None;
        }
        // Request i goes to slave i mod n with sequenceId ⌊i / n⌋ mod 2^16.
        let base = u64::from(seq) * n + u64::from(slave);
        let period = 65536 * n;
        let top = self.next - 1;
        if base > top {
            return None;
        }
        let idx = base + (top - base) / period * period;
        (self.ring[idx as usize % RING].idx == idx).then_some(idx)
    }

    /// Receives one burst (if any) and accounts for every frame.
    fn poll_rx(&mut self, t: &mut Trial, first: u64) {
        if self.dev.rx_burst(&mut self.rx) == 0 {
            return;
        }
        let now = raw::rdtsc();
        while let Some(m) = self.rx.pop() {
            match ptp::classify(m.data()) {
                Reply::DelayResp { slave, seq } => match self.lookup(slave, seq) {
                    Some(idx) => {
                        let slot = &mut self.ring[idx as usize % RING];
                        let tx = slot.tsc;
                        slot.idx = u64::MAX;
                        if idx >= first {
                            t.answered += 1;
                            t.rtt
                                .record((now.wrapping_sub(tx) as f64 * self.ns_per_tick) as u64);
                        } else {
                            t.stale += 1;
                        }
                    }
                    None => t.unmatched += 1,
                },
                Reply::ForeignDelayResp => t.foreign += 1,
                Reply::Other(mt) => t.other[usize::from(mt.nibble() & 0x0f)] += 1,
                Reply::NotPtp => t.not_ptp += 1,
            }
        }
    }

    /// Offers `rate` requests/s for `dur` (sent once `burst` are due, at most 32 per
    /// `tx_burst`), receiving all along, then keeps receiving for `drain`.
    fn trial(&mut self, rate: f64, dur: Duration, burst: usize, drain: Duration) -> Trial {
        let mut t = Trial::new(rate, dur.as_secs_f64(), burst);
        t.retry_full = self.retry_full;
        let first = self.next;
        let n = u64::from(self.tpl.slaves());
        let per_tick = rate / self.ticks_per_s;
        let max_lag = ((rate * 1e-3) as u64).max(2 * BURST as u64);
        let t0 = raw::rdtsc();
        let end = t0 + (dur.as_secs_f64() * self.ticks_per_s) as u64;
        let mut generated = 0u64;
        let (own0, mer0) = self.watch.read();
        let steal0 = steal_ticks();
        let stall_ticks = (STALL_NS as f64 * self.ticks_per_s / 1e9) as u64;
        let mut last = t0;
        loop {
            let now = raw::rdtsc();
            if now >= end {
                break;
            }
            let gap = now.wrapping_sub(last);
            last = now;
            if gap > stall_ticks {
                let ns = (gap as f64 * self.ns_per_tick) as u64;
                t.stalls += 1;
                t.stall_ns += ns;
                t.max_stall_ns = t.max_stall_ns.max(ns);
            }
            if self.pend_len == 0 {
                let due = ((now - t0) as f64 * per_tick) as u64;
                let mut want = due.saturating_sub(generated);
                if want > max_lag {
                    t.behind += want - max_lag;
                    generated += want - max_lag;
                    want = max_lag;
                }
                if want >= burst as u64 {
                    for _ in 0..want.min(BURST as u64) {
                        let Some(mut m) = self.pool.alloc() else {
                            t.no_mbuf += 1;
                            break;
                        };
                        let Some(data) = m.append(FRAME_LEN) else {
                            t.no_mbuf += 1;
                            break;
                        };
                        let i = self.next;
                        self.tpl.write((i % n) as u32, (i / n) as u16, data);
                        if self.tx.push(m).is_err() {
                            break;
                        }
                        self.pend[self.pend_len] = i;
                        self.pend_len += 1;
                        self.next += 1;
                        generated += 1;
                        t.offered += 1;
                    }
                }
            }
            if self.pend_len > 0 {
                let stamp = raw::rdtsc();
                let sent = self.dev.tx_burst(&mut self.tx);
                for &idx in &self.pend[..sent] {
                    self.ring[idx as usize % RING] = Slot { idx, tsc: stamp };
                }
                t.sent += sent as u64;
                let left = self.pend_len - sent;
                t.ring_full += left as u64;
                if left > 0 && self.retry_full {
                    self.pend.copy_within(sent..self.pend_len, 0);
                    self.pend_len = left;
                } else {
                    self.tx.clear();
                    self.pend_len = 0;
                }
            }
            self.poll_rx(&mut t, first);
        }
        let (own1, mer1) = self.watch.read();
        t.own_wait_ns = own0.zip(own1).map(|(a, b)| b.saturating_sub(a));
        t.meridian_wait_ns = mer0.zip(mer1).map(|(a, b)| b.saturating_sub(a));
        self.tx.clear();
        self.pend_len = 0;
        t.steal_ms = steal0
            .iter()
            .zip(steal_ticks())
            .map(|(a, b)| b.saturating_sub(*a) * 10)
            .collect();
        let end = raw::rdtsc() + (drain.as_secs_f64() * self.ticks_per_s) as u64;
        while raw::rdtsc() < end {
            self.poll_rx(&mut t, first);
        }
        t
    }
}

/// Runs a hook command with `sh -c`; fails if it does.
fn hook(cmd: Option<&str>, phase: &str) -> Result<(), String> {
    let Some(cmd) = cmd else { return Ok(()) };
    let st = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .env("PHASE", phase)
        .status()
        .map_err(|e| format!("{cmd}: {e}"))?;
    if st.success() {
        Ok(())
    } else {
        Err(format!("{cmd}: {st}"))
    }
}

fn cmd_run(o: &Opts) -> Result<(), String> {
    let rate = o.rate.ok_or("run needs --rate")?;
    let mut g = Gen::open(o)?;
    g.calibrate(Duration::from_millis(200));
    g.wait_ready(o.wait)?;
    g.wait_quiet(o.quiet_wait);
    hook(o.exec_before.as_deref(), "run")?;
    let t = g.trial(rate, o.duration, o.burst, o.drain);
    hook(o.exec_after.as_deref(), "run")?;
    t.print();
    println!("RESULT {}", t.result_line());
    Ok(())
}

fn cmd_search(o: &Opts) -> Result<(), String> {
    let mut g = Gen::open(o)?;
    g.calibrate(Duration::from_millis(200));
    g.wait_ready(o.wait)?;
    g.wait_quiet(o.quiet_wait);
    search_max(&mut g, o).map(|_| ())
}

/// The search for the maximum rate; returns it (Delay_Req/s).
fn search_max(g: &mut Gen, o: &Opts) -> Result<f64, String> {
    let plan = SearchPlan {
        start: o.start,
        factor: o.factor,
        ceiling: o.ceiling,
        precision: o.precision,
        max_trials: o.max_trials,
    };
    println!(
        "search: {} slaves, {:.1} s per trial, pass = loss < {} % and ≥ 99 % of the target offered",
        g.tpl.slaves(),
        o.step.as_secs_f64(),
        o.loss_pct
    );
    let mut results: Vec<Trial> = Vec::new();
    let r = search::find_max(plan, |rate| {
        let mut attempt = 0;
        loop {
            let t = g.trial(rate, o.step, o.burst, o.drain);
            let ok = t.passed(o.loss_pct);
            println!(
                "-- trial {}: {}",
                results.len() + 1,
                if ok { "PASS" } else { "FAIL" }
            );
            t.print();
            println!("RESULT pass={} {}", ok, t.result_line());
            // A failure while another process held one of the cores says nothing about
            // Meridian: try again (a pass under contention stands).
            if !ok && t.starved() && attempt < o.retry_starved {
                attempt += 1;
                println!("   (failed while starved of CPU: repeating, attempt {attempt})");
                g.wait_quiet(o.quiet_wait);
                continue;
            }
            results.push(t);
            return ok;
        }
    });
    println!();
    println!(
        "| target Delay_Req/s | offered/s | loss % | msgs/s in+out | RTT p50 | p99 | p99.9 ns | |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---|");
    for (t, &(_, ok)) in results.iter().zip(&r.trials) {
        println!(
            "| {:.0} | {:.0} | {:.4} | {:.0} | {} | {} | {} | {} |",
            t.target,
            t.offered_rate(),
            t.loss_pct(),
            t.messages_rate(),
            t.rtt.quantile(0.5),
            t.rtt.quantile(0.99),
            t.rtt.quantile(0.999),
            if ok { "pass" } else { "fail" }
        );
    }
    let best = r.max_pass.and_then(|rate| {
        results
            .iter()
            .zip(&r.trials)
            .find(|(_, &(x, ok))| ok && x == rate)
            .map(|(t, _)| t)
    });
    match best {
        Some(t) => {
            println!(
                "maximum: {:.0} Delay_Req/s ({:.0}/s offered, loss {:.4} %), {:.0} PTP \
                 messages/s through Meridian (in + out); lowest failing target {}",
                t.target,
                t.offered_rate(),
                t.loss_pct(),
                t.messages_rate(),
                r.min_fail
                    .map_or("none (ceiling reached)".into(), |f| format!("{f:.0}/s"))
            );
            println!(
                "MAX_RATE delay_req_per_s={:.0} offered_per_s={:.0} messages_per_s={:.0} min_fail={:.0}",
                t.target,
                t.offered_rate(),
                t.messages_rate(),
                r.min_fail.unwrap_or(0.0)
            );
            Ok(t.target)
        }
        None => Err("no rate passed".into()),
    }
}

/// The whole benchmark in one process, so the memif connection is made once and Meridian's
/// port never sees a client disconnect while it polls (DPDK 22.11's memif unmaps the
/// client's memory from its control thread on disconnect, racing the poll thread's bursts):
/// search (unless `--max-rate`), then each `--phases` percentage for `--duration` with the
/// `--exec-before` / `--exec-after` hooks around it (env `PHASE` = the percentage; starved
/// phases are repeated up to `--retry-starved` times), then `--exec-end` (e.g. stop
/// Meridian), after which nothing is polled.
fn cmd_pipeline(o: &Opts) -> Result<(), String> {
    let mut g = Gen::open(o)?;
    g.calibrate(Duration::from_millis(200));
    g.wait_ready(o.wait)?;
    g.wait_quiet(o.quiet_wait);
    let max = match o.max_rate {
        Some(r) => r,
        None => search_max(&mut g, o)?,
    };
    for &pct in &o.phases {
        let rate = (max * pct / 100.0).round();
        let label = format!("{pct}");
        for attempt in 0..=o.retry_starved {
            if attempt > 0 {
                println!("   (a poll core was taken by another process: repeating the phase)");
            }
            g.wait_quiet(o.quiet_wait);
            println!(
                "== phase {label} %: {rate:.0} Delay_Req/s for {:.0} s",
                o.duration.as_secs_f64()
            );
            hook(o.exec_before.as_deref(), &label)?;
            let t = g.trial(rate, o.duration, o.burst, o.drain);
            hook(o.exec_after.as_deref(), &label)?;
            t.print();
            println!("RESULT phase={label} attempt={attempt} {}", t.result_line());
            if !t.starved() {
                break;
            }
        }
    }
    hook(o.exec_end.as_deref(), "end")?;
    // The peer is going away: let memif see it before this process closes its port.
    let start = Instant::now();
    while g.dev.link().map(|l| l.up).unwrap_or(false) && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    println!("PIPELINE_DONE");
    Ok(())
}

fn cmd_residence_diff(args: &[String]) -> Result<bool, String> {
    let [before, after] = args else {
        return Err("residence-diff needs BEFORE.json AFTER.json".into());
    };
    let read = |p: &String| std::fs::read_to_string(p).map_err(|e| format!("{p}: {e}"));
    match residence::phase(&read(before)?, &read(after)?) {
        Ok(r) => {
            println!(
                "residence (Delay_Req RX stamp → Delay_Resp TX stamp) over {} responses: \
                 p50 ≤ {} ns, p99 ≤ {} ns, p99.9 ≤ {} ns, highest bucket ≤ {} ns",
                r.count, r.p50_ns, r.p99_ns, r.p999_ns, r.max_bucket_ns
            );
            println!(
                "RESIDENCE count={} p50_ns={} p99_ns={} p999_ns={} max_bucket_ns={}",
                r.count, r.p50_ns, r.p99_ns, r.p999_ns, r.max_bucket_ns
            );
            Ok(true)
        }
        Err(residence::ResidenceError::Missing) => {
            println!("residence: not reported by this Meridian (no \"residence\" in its status)");
            Ok(false)
        }
        Err(e) => Err(e.to_string()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cmd, rest) = match args.split_first() {
        Some((c, r)) => (c.as_str(), r),
        None => ("", &[][..]),
    };
    let r = match cmd {
        "run" => parse_opts(rest).and_then(|o| cmd_run(&o)),
        "search" => parse_opts(rest).and_then(|o| cmd_search(&o)),
        "pipeline" => parse_opts(rest).and_then(|o| cmd_pipeline(&o)),
        "residence-diff" => match cmd_residence_diff(rest) {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::from(2),
            Err(e) => Err(e),
        },
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::FAILURE;
        }
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dpdk_loadgen: {e}");
            ExitCode::FAILURE
        }
    }
}
