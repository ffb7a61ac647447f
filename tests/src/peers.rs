//! The real peers: ptp4l (slave or master), ptpd (slave) and pmc, and parsers for their output.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::lab::require;
use crate::{Lab, Node, Proc, Transport};

/// ptp4l `[global]` lines shared by every instance the lab starts.
///
/// - `free_running 1`: never adjust the clock (with `setpriv` dropping `CAP_SYS_TIME` as a second
///   guard); a free-running slave still measures and prints its offset.
/// - `freq_est_interval 0` and `summary_interval -7`: a free-running ptp4l prints one
///   `master offset … path delay …` line per frequency-estimation interval, 2^freq_est_interval
///   seconds (default 1, i.e. every 2 s; 0 is the minimum: every second), and only prints
///   per-sample lines when `summary_interval` is at most the Sync interval (else it prints
///   rms summaries). So a free-running slave yields one sample per second whatever the Sync
///   rate: 30 samples take ~30 s.
const PTP4L_COMMON: &str = "\
free_running 1
time_stamping software
delay_mechanism E2E
domainNumber 0
freq_est_interval 0
summary_interval -7
logging_level 6
use_syslog 0
";

/// The PTPv1-capable ptp4l (the PADL fork of linuxptp, GPL-2.0, a test tool only): built once
/// per checkout from `tests/tools/linuxptp-v1/` into `target/linuxptp-v1/` (plain `make`, about
/// 40 s), then reused.
///
/// # Panics
/// If the build fails (it needs gcc and make: build-essential).
pub fn padl_ptp4l() -> std::path::PathBuf {
    static BUILT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
            let dest = root.join("../target/linuxptp-v1");
            let bin = dest.join("linuxptp-v1/ptp4l");
            if bin.exists() {
                return bin;
            }
            let out = std::process::Command::new("bash")
                .arg(root.join("tools/linuxptp-v1/build.sh"))
                .arg(&dest)
                .output()
                .expect("bash");
            assert!(
                out.status.success() && bin.exists(),
                "building the PTPv1 ptp4l failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            bin
        })
        .clone()
}

impl Lab {
    /// Starts a free-running PTPv1 slave (the PADL ptp4l, `network_transport PTPv1_UDPv4`,
    /// `clientOnly 1`) on `node`, with its own UDS paths. Offsets: [`parse_offsets`].
    pub fn ptp4l_v1_slave(&self, node: &Node) -> Proc {
        self.ptp4l_v1_slave_with(node, "")
    }

    /// [`Lab::ptp4l_v1_slave`] with more `[global]` lines: e.g. `domainNumber 1` for
    /// subdomain `_ALT1` (the PADL transport maps domainNumber 0–3 to `_DFLT`, `_ALT1`–`_ALT3`
    /// and others through `ptpv1_domain_map`).
    pub fn ptp4l_v1_slave_with(&self, node: &Node, extra_cfg: &str) -> Proc {
        let bin = padl_ptp4l();
        let name = format!("ptp4l-v1-slave-{}", node.ns);
        let cfg = format!(
            "[global]\ntime_stamping software\nfree_running 1\nclientOnly 1\n\
             network_transport PTPv1_UDPv4\nfreq_est_interval 0\nsummary_interval -7\n\
             logging_level 6\nuse_syslog 0\nuds_address {}\nuds_ro_address {}\n{extra_cfg}\n",
            self.path(&format!("{name}.uds")).display(),
            self.path(&format!("{name}.uds-ro")).display(),
        );
        let cfg = self.write(&format!("{name}.cfg"), &cfg);
        self.spawn(
            node,
            &name,
            &[
                bin.display().to_string(),
                "-f".into(),
                cfg.display().to_string(),
                "-i".into(),
                node.iface.clone(),
                "-m".into(),
            ],
        )
    }

    /// Starts a free-running, slave-only ptp4l (`ptp4l -f CFG -i IFACE -m`) on `node`.
    ///
    /// `extra_cfg` is appended to the config: more `[global]` lines first, then any sections
    /// (`[unicast_master_table]`, `[mi0]`). Offsets: [`parse_offsets`] on [`Proc::stdout`].
    pub fn ptp4l_slave(&self, node: &Node, transport: Transport, extra_cfg: &str) -> Proc {
        self.ptp4l(
            node,
            "ptp4l-slave",
            transport,
            &format!("slaveOnly 1\n{extra_cfg}"),
        )
    }

    /// Starts a free-running ptp4l that may become master (two-step, software stamps) on `node`.
    /// `extra_cfg` as for [`Lab::ptp4l_slave`] (e.g. `priority1 1`, `logSyncInterval -3`).
    pub fn ptp4l_master(&self, node: &Node, transport: Transport, extra_cfg: &str) -> Proc {
        self.ptp4l(
            node,
            "ptp4l-master",
            transport,
            &format!("twoStepFlag 1\n{extra_cfg}"),
        )
    }

    fn ptp4l(&self, node: &Node, role: &str, transport: Transport, extra: &str) -> Proc {
        require("ptp4l", "linuxptp");
        let name = format!("{role}-{}", node.ns);
        let uds = self.path(&format!("{name}.uds"));
        let cfg = format!(
            "[global]\n{PTP4L_COMMON}network_transport {}\nuds_address {}\n{extra}\n",
            transport.ptp4l(),
            uds.display()
        );
        let cfg = self.write(&format!("{name}.cfg"), &cfg);
        self.spawn(
            node,
            &name,
            &[
                "ptp4l".into(),
                "-f".into(),
                cfg.display().to_string(),
                "-i".into(),
                node.iface.clone(),
                "-m".into(),
            ],
        )
    }

    /// Starts ptpd 2.3 as a multicast E2E slave on `node` that never adjusts or resets the clock
    /// (`clock:no_adjust`, `clock:no_reset`, no step at startup), in the foreground, printing one
    /// statistics line per Sync/Delay_Resp to stdout: parse with [`parse_ptpd_offsets`].
    /// `extra_cfg` lines are appended (`ptpengine:…` overrides).
    pub fn ptpd_slave(&self, node: &Node, transport: Transport, extra_cfg: &str) -> Proc {
        require("ptpd", "ptpd");
        let name = format!("ptpd-slave-{}", node.ns);
        let base = self.path(&name);
        let cfg = format!(
            "\
ptpengine:interface = {iface}
ptpengine:transport = {transport}
ptpengine:delay_mechanism = E2E
ptpengine:domain = 0
ptpengine:preset = slaveonly
ptpengine:ip_mode = multicast
clock:no_adjust = Y
clock:no_reset = Y
clock:step_startup = N
clock:drift_handling = preserve
clock:set_rtc_on_step = N
global:foreground = Y
global:verbose_foreground = Y
global:ignore_lock = Y
global:lock_file = {base}.lock
global:status_file = {base}.status
global:log_status = N
global:log_statistics = Y
global:statistics_file =
ntpengine:enabled = N
{extra_cfg}
",
            iface = node.iface,
            transport = transport.ptpd(),
            base = base.display(),
        );
        let cfg = self.write(&format!("{name}.conf"), &cfg);
        self.spawn(
            node,
            &name,
            &["ptpd".into(), "-c".into(), cfg.display().to_string()],
        )
    }

    /// Runs `pmc TRANSPORT -b 0 -i IFACE CMD…` on `node` (management over the network, to
    /// 224.0.1.129:320 or 01:1B:19:00:00:00) and parses every reply.
    pub fn pmc(&self, node: &Node, transport: Transport, cmds: &[&str]) -> Vec<PmcReply> {
        require("pmc", "linuxptp");
        let mut argv = vec!["pmc", transport.pmc_flag(), "-b", "0", "-i", &node.iface];
        argv.extend_from_slice(cmds);
        let out = self.run(node, &argv, Duration::from_secs(10));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "pmc {argv:?} failed ({}): {text}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        parse_pmc(&text)
    }

    /// `GET ID` through [`Lab::pmc`], retried (up to 3 times) until a RESPONSE for `ID` arrives;
    /// returns its fields.
    ///
    /// # Panics
    /// If no response comes back, quoting what pmc printed.
    pub fn pmc_get(&self, node: &Node, transport: Transport, id: &str) -> BTreeMap<String, String> {
        let cmd = format!("GET {id}");
        let mut seen = Vec::new();
        for _ in 0..3 {
            let replies = self.pmc(node, transport, &[&cmd]);
            if let Some(r) = replies
                .iter()
                .find(|r| r.id == id && r.action == "RESPONSE")
            {
                return r.fields.clone();
            }
            seen.push(replies);
        }
        panic!("no RESPONSE to pmc `{cmd}` over {transport:?} in 3 tries; got {seen:#?}");
    }

    /// The PARENT_DATA_SET of the ptp4l slave on `node` (started by [`Lab::ptp4l_slave`]),
    /// asked over its own UDS (`pmc -u -b 0`): what it takes as its master. `None` if it
    /// does not answer within 5 s.
    pub fn slave_parent_data_set(&self, node: &Node) -> Option<BTreeMap<String, String>> {
        let uds = self.path(&format!("ptp4l-slave-{}.uds", node.ns));
        let out = self.run(
            node,
            &[
                "pmc",
                "-u",
                "-b",
                "0",
                "-s",
                &uds.display().to_string(),
                "GET PARENT_DATA_SET",
            ],
            Duration::from_secs(5),
        );
        parse_pmc(&String::from_utf8_lossy(&out.stdout))
            .into_iter()
            .find(|r| r.id == "PARENT_DATA_SET")
            .map(|r| r.fields)
    }
}

/// Extra ptp4l config (for [`Lab::ptp4l_slave`]) making `client` a UDPv4 unicast-negotiation
/// client of `server`: `[unicast_master_table]` (table_id 1, logQueryInterval 2, `UDPv4
/// <server ip>`) and, in the port section, `unicast_master_table 1` and
/// `unicast_req_duration duration_s`. It requests Sync and Delay_Resp at 2^-3 s, Announce at
/// 1 s.
pub fn ptp4l_unicast_client_cfg(server: &Node, client: &Node, duration_s: u32) -> String {
    format!(
        "logSyncInterval -3
logAnnounceInterval 0
logMinDelayReqInterval -3

[unicast_master_table]
table_id 1
logQueryInterval 2
UDPv4 {server_ip}

[{iface}]
unicast_master_table 1
unicast_req_duration {duration_s}
",
        server_ip = server.ip,
        iface = client.iface
    )
}

/// ptp4l samples dropped at the start of a run. A free-running ptp4l prints its first sample
/// one second after it selects the master, computed with a path delay from the first one or two
/// Delay_Resp (its delay filter is a median over 10) and a first frequency-ratio estimate; those
/// first samples are off by up to a few µs even between two ptp4l. From the fourth on (~4 s, 30+
/// Delay_Req exchanges at 2^-3 s) the estimate is settled.
pub const PTP4L_SKIP: usize = 3;

/// ptpd samples dropped at the start of a run (one second at 8 Sync/s): ptpd's first offsets
/// after its first Delay_Resp use a one-way delay from a single exchange, and its offset filter
/// starts empty.
pub const PTPD_SKIP: usize = 8;

/// Waits until `parse(output of proc)` yields at least `skip + count` samples and returns the
/// `count` after the first `skip`.
///
/// # Panics
/// After `timeout` or if the process exits first (quoting its log).
pub fn collect_offsets(
    proc: &mut Proc,
    parse: fn(&str) -> Vec<(i64, i64)>,
    skip: usize,
    count: usize,
    timeout: Duration,
) -> Vec<(i64, i64)> {
    proc.wait_for(
        &format!("{skip} + {count} offset samples"),
        timeout,
        |out| {
            let v = parse(out);
            (v.len() >= skip + count).then(|| v[skip..skip + count].to_vec())
        },
    )
}

/// One management reply as `pmc` prints it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PmcReply {
    /// The responder's port identity, `026d69.fffe.000001-1`.
    pub source: String,
    /// `RESPONSE`, `ACKNOWLEDGE` or `MANAGEMENT_ERROR_STATUS` (as printed).
    pub action: String,
    /// The management ID, e.g. `DEFAULT_DATA_SET`.
    pub id: String,
    /// Field name → value (the rest of the line, trimmed), e.g. `priority1` → `128`,
    /// `protocolAddress` → `1 10.77.0.1`.
    pub fields: BTreeMap<String, String>,
}

/// Parses `pmc` output:
///
/// ```text
/// sending: GET DEFAULT_DATA_SET
///     026d69.fffe.000001-1 seq 0 RESPONSE MANAGEMENT DEFAULT_DATA_SET
///         twoStepFlag             1
///         priority1               128
/// ```
///
/// (the reply header indented by one tab, fields by two).
pub fn parse_pmc(text: &str) -> Vec<PmcReply> {
    let mut replies: Vec<PmcReply> = Vec::new();
    for line in text.lines() {
        if line.starts_with("\t\t") {
            if let Some(r) = replies.last_mut() {
                let body = line.trim();
                let (k, v) = body.split_once(char::is_whitespace).unwrap_or((body, ""));
                r.fields.insert(k.to_owned(), v.trim().to_owned());
            }
        } else if line.starts_with('\t') {
            let t: Vec<&str> = line.split_whitespace().collect();
            if t.len() >= 5 && t[1] == "seq" {
                // `… seq N RESPONSE MANAGEMENT ID` or `… seq N RESPONSE MANAGEMENT_ERROR_STATUS ID`
                let action = if t[4] == "MANAGEMENT" { t[3] } else { t[4] };
                replies.push(PmcReply {
                    source: t[0].to_owned(),
                    action: action.to_owned(),
                    id: t.get(5).copied().unwrap_or("").to_owned(),
                    fields: BTreeMap::new(),
                });
            }
        }
    }
    replies
}

/// Parses ptp4l `master offset OFFSET sN freq F path delay DELAY` lines into
/// `(offset_ns, path_delay_ns)`, in order.
pub fn parse_offsets(log: &str) -> Vec<(i64, i64)> {
    log.lines()
        .filter_map(|l| {
            let rest = &l[l.find("master offset")? + "master offset".len()..];
            let mut t = rest.split_whitespace();
            let offset = t.next()?.parse().ok()?;
            let delay_at = rest.find("path delay")? + "path delay".len();
            let delay = rest[delay_at..].split_whitespace().next()?.parse().ok()?;
            Some((offset, delay))
        })
        .collect()
}

/// Parses ptpd statistics lines into `(offset_ns, one_way_delay_ns)`: only lines of state `slv`
/// written on a Sync (`S` in the "last packet received" column) once a one-way delay is known
/// (before the first Delay_Resp ptpd reports the raw master→slave delay as offset).
///
/// Format (ptpd 2.3.1, seconds as decimals):
/// `TIME, slv, ID(unknown)/1, ONE_WAY_DELAY, OFFSET, S2M, M2S, DRIFT, S, …`.
pub fn parse_ptpd_offsets(log: &str) -> Vec<(i64, i64)> {
    log.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').map(str::trim).collect();
            if f.len() < 9 || f[1] != "slv" || f[8] != "S" {
                return None;
            }
            let delay = seconds_to_ns(f[3])?;
            let offset = seconds_to_ns(f[4])?;
            (delay != 0).then_some((offset, delay))
        })
        .collect()
}

fn seconds_to_ns(s: &str) -> Option<i64> {
    let v: f64 = s.parse().ok()?;
    Some((v * 1e9).round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ptp4l_lines() {
        let log = "ptp4l[2678.360]: port 1: minimum delay request interval 2^-3\n\
                   ptp4l[2678.431]: master offset      -1693 s0 freq    -551 path delay      2484\n\
                   ptp4l[2679.432]: master offset        999 s0 freq   +1420 path delay      2416\n";
        assert_eq!(parse_offsets(log), vec![(-1693, 2484), (999, 2416)]);
    }

    #[test]
    fn ptpd_lines() {
        let log = "2026-11-22 03:23:23.154505, slv, 026d69fffe000001(unknown)/1,  0.000000000,  0.000001497,  0.000000000,  0.000002994, 0.000000000, S, 0.000000000, 0\n\
                   2026-11-22 03:23:24.154794, slv, 026d69fffe000001(unknown)/1,  0.000000864,  0.000001763,  0.000002353,  0.000001102, 0.000000000, D, 0.000000000, 0\n\
                   2026-11-22 03:23:24.155416, slv, 026d69fffe000001(unknown)/1,  0.000000864,  -0.000000440,  0.000002353,  0.000000641, 0.000000000, S, 0.000000000, 0\n";
        assert_eq!(parse_ptpd_offsets(log), vec![(-440, 864)]);
    }

    #[test]
    fn pmc_output() {
        let text = "sending: GET DEFAULT_DATA_SET\n\
                    \t026d69.fffe.000001-1 seq 0 RESPONSE MANAGEMENT DEFAULT_DATA_SET \n\
                    \t\ttwoStepFlag             1\n\
                    \t\tclockIdentity           026d69.fffe.000001\n\
                    \t026d69.fffe.000001-1 seq 1 RESPONSE MANAGEMENT CLOCK_DESCRIPTION \n\
                    \t\tprotocolAddress       1 10.77.0.1\n\
                    \t\tuserDescription       \n";
        let r = parse_pmc(text);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].id, "DEFAULT_DATA_SET");
        assert_eq!(r[0].action, "RESPONSE");
        assert_eq!(r[0].source, "026d69.fffe.000001-1");
        assert_eq!(r[0].fields["clockIdentity"], "026d69.fffe.000001");
        assert_eq!(r[1].fields["protocolAddress"], "1 10.77.0.1");
        assert_eq!(r[1].fields["userDescription"], "");
    }
}
