//! Network namespaces, veth pairs and bridges.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::process::{run_in, Proc};
use crate::{poll, tail};

/// Prefix of every namespace a lab creates: `mi-<pid hex>-<serial>-<role>`.
const NS_PREFIX: &str = "mi-";
/// Name of the lab interface inside every node namespace.
const IFACE: &str = "mi0";
/// Default bound on every process a lab starts.
const LIFETIME: Duration = Duration::from_secs(150);

static SERIAL: AtomicU32 = AtomicU32::new(0);

/// A PTP transport, as each tool spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// UDP over IPv4 (ports 319/320, 224.0.1.129).
    UdpV4,
    /// IEEE 802.3 Ethernet (ethertype 0x88F7, 01:1B:19:00:00:00).
    L2,
}

impl Transport {
    /// Meridian's `transport` value.
    pub fn meridian(self) -> &'static str {
        match self {
            Transport::UdpV4 => "udp-ipv4",
            Transport::L2 => "l2",
        }
    }

    /// ptp4l's `network_transport` value.
    pub fn ptp4l(self) -> &'static str {
        match self {
            Transport::UdpV4 => "UDPv4",
            Transport::L2 => "L2",
        }
    }

    /// The `pmc` transport flag.
    pub fn pmc_flag(self) -> &'static str {
        match self {
            Transport::UdpV4 => "-4",
            Transport::L2 => "-2",
        }
    }

    /// ptpd's `ptpengine:transport` value.
    pub fn ptpd(self) -> &'static str {
        match self {
            Transport::UdpV4 => "ipv4",
            Transport::L2 => "ethernet",
        }
    }
}

/// One host of the lab: a namespace with one interface, [`Node::iface`], on the lab's link.
#[derive(Clone, Debug)]
pub struct Node {
    /// Namespace name.
    pub ns: String,
    /// Interface name inside the namespace (always `mi0`).
    pub iface: String,
    /// IPv4 address of the interface (10.77.0.N/24, N = index + 1).
    pub ip: Ipv4Addr,
    /// MAC address, `02:6d:69:00:00:NN` (NN = index + 1, hex): stable, locally administered.
    pub mac: String,
}

impl Node {
    /// The clock identity linuxptp (and Meridian's `identity = "auto"`) derive from the MAC:
    /// `026d69.fffe.0000NN`.
    pub fn eui64_identity(&self) -> String {
        let m: Vec<&str> = self.mac.split(':').collect();
        format!("{}{}{}.fffe.{}{}{}", m[0], m[1], m[2], m[3], m[4], m[5])
    }
}

/// A set of network namespaces joined by a veth pair or a bridge, plus a temporary directory for
/// configs, logs and captures. Dropping it deletes the namespaces (which destroys their links);
/// the directory is removed unless the test panicked or `MERIDIAN_KEEP_LOGS=1`.
pub struct Lab {
    name: String,
    dir: PathBuf,
    namespaces: Vec<String>,
    nodes: Vec<Node>,
    serial: u32,
    lifetime: Duration,
}

impl Lab {
    /// Two nodes joined by one veth pair: node 0 (10.77.0.1) and node 1 (10.77.0.2).
    ///
    /// Returns `None` (after printing `SKIPPED`) when the lab cannot run here and
    /// `MERIDIAN_SKIP_NETNS=1`; panics with the reason otherwise.
    pub fn pair(test: &str) -> Option<Lab> {
        let mut lab = Lab::new(test)?;
        let a = lab.add_node(0);
        let b = lab.add_node(1);
        ip(&[
            "-n", &a.ns, "link", "add", IFACE, "address", &a.mac, "type", "veth", "peer", "name",
            IFACE, "address", &b.mac, "netns", &b.ns,
        ]);
        lab.nodes = vec![a, b];
        lab.bring_up();
        Some(lab)
    }

    /// `n` nodes, each with a veth into bridge `br0` in its own namespace
    /// (`mcast_snooping 0 stp_state 0 forward_delay 0`, so multicast floods and ports forward at
    /// once).
    ///
    /// Returns `None` as [`Lab::pair`] does.
    pub fn bridged(test: &str, n: usize) -> Option<Lab> {
        assert!((1..=200).contains(&n), "bridge lab size {n}");
        let mut lab = Lab::new(test)?;
        let br = lab.add_namespace("br");
        ip(&[
            "-n",
            &br,
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "mcast_snooping",
            "0",
            "stp_state",
            "0",
            "forward_delay",
            "0",
        ]);
        ip(&["-n", &br, "link", "set", "br0", "up"]);
        for i in 0..n {
            let node = lab.add_node(i);
            let port = format!("p{i}");
            ip(&[
                "-n", &br, "link", "add", &port, "type", "veth", "peer", "name", IFACE, "address",
                &node.mac, "netns", &node.ns,
            ]);
            ip(&["-n", &br, "link", "set", &port, "master", "br0"]);
            ip(&["-n", &br, "link", "set", &port, "up"]);
            lab.nodes.push(node);
        }
        lab.bring_up();
        Some(lab)
    }

    /// Node `i`.
    pub fn node(&self, i: usize) -> &Node {
        &self.nodes[i]
    }

    /// The lab's temporary directory (configs, logs, pcaps).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A path in the lab directory.
    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    /// Starts `argv` in `node`'s namespace (see [`Proc`]) with logs named `name`.
    pub fn spawn(&self, node: &Node, name: &str, argv: &[String]) -> Proc {
        Proc::spawn(&node.ns, name, argv, &self.dir, self.lifetime)
    }

    /// Processes started from now on may live this long (default 150 s; the soak needs an
    /// hour).
    pub fn set_lifetime(&mut self, lifetime: Duration) {
        self.lifetime = lifetime;
    }

    /// Runs `argv` to completion in `node`'s namespace, bounded by `timeout`.
    pub fn run(&self, node: &Node, argv: &[&str], timeout: Duration) -> std::process::Output {
        run_in(Some(&node.ns), argv, timeout)
    }

    /// Writes `contents` to `file` in the lab directory and returns its path.
    pub fn write(&self, file: &str, contents: &str) -> PathBuf {
        let p = self.path(file);
        std::fs::write(&p, contents).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
        p
    }

    fn new(test: &str) -> Option<Lab> {
        if let Err(why) = check_host() {
            if std::env::var("MERIDIAN_SKIP_NETNS").as_deref() == Ok("1") {
                eprintln!("SKIPPED {test}: {why}");
                return None;
            }
            panic!(
                "{test}: the interop lab cannot run here: {why}. It needs root, `ip netns` and the \
                 tools listed in tests/src/lib.rs. Set MERIDIAN_SKIP_NETNS=1 to skip these tests."
            );
        }
        remove_stale_namespaces();
        let serial = SERIAL.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!("{NS_PREFIX}{:x}-{serial}", std::process::id());
        let dir = std::env::temp_dir().join(format!("meridian-interop-{test}-{name}-{nanos:x}"));
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("create lab dir {}: {e}", dir.display()));
        Some(Lab {
            name,
            dir,
            namespaces: Vec::new(),
            nodes: Vec::new(),
            serial,
            lifetime: LIFETIME,
        })
    }

    fn add_namespace(&mut self, role: &str) -> String {
        let ns = format!("{}-{role}", self.name);
        ip(&["netns", "add", &ns]);
        self.namespaces.push(ns.clone());
        for key in ["all", "default"] {
            let out = run_in(
                Some(&ns),
                &[
                    "sysctl",
                    "-qw",
                    &format!("net.ipv6.conf.{key}.disable_ipv6=1"),
                ],
                Duration::from_secs(5),
            );
            assert!(out.status.success(), "sysctl in {ns}: {out:?}");
        }
        ip(&["-n", &ns, "link", "set", "lo", "up"]);
        ns
    }

    fn add_node(&mut self, i: usize) -> Node {
        let ns = self.add_namespace(&format!("n{i}"));
        Node {
            ns,
            iface: IFACE.to_owned(),
            ip: Ipv4Addr::new(10, 77, 0, (i + 1) as u8),
            mac: format!("02:6d:69:00:00:{:02x}", i + 1),
        }
    }

    /// Addresses and link up on every node, then waits until every link reports `state UP`.
    fn bring_up(&self) {
        for n in &self.nodes {
            configure(n);
        }
        for n in &self.nodes {
            wait_up(n);
        }
    }

    /// Bridged labs: deletes node `i`'s interface (its veth into the bridge goes with it),
    /// as when a NIC or VLAN interface is removed.
    pub fn remove_link(&self, i: usize) {
        ip(&["-n", &self.nodes[i].ns, "link", "del", IFACE]);
    }

    /// Bridged labs: creates node `i`'s interface again under the same name, MAC and
    /// address (a new ifindex), joined to the bridge, and waits until it is up.
    pub fn recreate_link(&self, i: usize) {
        let n = &self.nodes[i];
        let br = format!("{}-br", self.name);
        let port = format!("p{i}");
        ip(&[
            "-n", &br, "link", "add", &port, "type", "veth", "peer", "name", IFACE, "address",
            &n.mac, "netns", &n.ns,
        ]);
        ip(&["-n", &br, "link", "set", &port, "master", "br0"]);
        ip(&["-n", &br, "link", "set", &port, "up"]);
        configure(n);
        wait_up(n);
    }
}

/// The node's address, link up, and the veth's checksum offload off.
fn configure(n: &Node) {
    ip(&[
        "-n",
        &n.ns,
        "addr",
        "add",
        &format!("{}/24", n.ip),
        "dev",
        IFACE,
    ]);
    ip(&["-n", &n.ns, "link", "set", IFACE, "up"]);
    // veth hands received frames over with the sender's UDP checksum unfinished
    // (checksum offload); the kernel trusts it, but raw readers (DPDK's af_packet PMD,
    // tcpdump) see a wrong checksum. Real NICs finish it: make the veth do so too.
    let out = Command::new("ip")
        .args(["netns", "exec", &n.ns, "ethtool", "-K", IFACE, "tx", "off"])
        .output();
    assert!(
        out.as_ref().is_ok_and(|o| o.status.success()),
        "ethtool -K {IFACE} tx off in {}: {out:?}",
        n.ns
    );
}

/// Waits until the node's link reports `state UP`.
fn wait_up(n: &Node) {
    let up = poll(Duration::from_secs(10), Duration::from_millis(50), || {
        let out = ip_output(&["-n", &n.ns, "-o", "link", "show", IFACE]);
        out.contains("state UP").then_some(())
    });
    assert!(up.is_some(), "{} in {} never came up", IFACE, n.ns);
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in self.namespaces.iter().rev() {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
        let keep =
            std::thread::panicking() || std::env::var("MERIDIAN_KEEP_LOGS").as_deref() == Ok("1");
        if keep {
            eprintln!(
                "lab {} (#{}): logs, configs and captures kept in {}",
                self.name,
                self.serial,
                self.dir.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl std::fmt::Debug for Lab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lab")
            .field("name", &self.name)
            .field("dir", &self.dir)
            .field("nodes", &self.nodes)
            .finish()
    }
}

/// Root, `ip netns`, and the tools every lab uses.
fn check_host() -> Result<(), String> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| e.to_string())?;
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("?");
    if euid != "0" {
        return Err(format!("not running as root (euid {euid})"));
    }
    let out = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .map_err(|e| format!("`ip` (iproute2) not runnable: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`ip netns list` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    for tool in ["setpriv", "timeout", "sysctl", "kill"] {
        which(tool)?;
    }
    Ok(())
}

/// Errors unless `tool` is on `PATH` (or in /usr/sbin, /sbin).
pub(crate) fn which(tool: &str) -> Result<PathBuf, String> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/bin"])
        .map(|d| Path::new(d).join(tool))
        .find(|p| p.is_file());
    found.ok_or_else(|| format!("`{tool}` is not installed (see scripts/setup.sh)"))
}

/// Panics with a clear message unless `tool` is installed.
pub(crate) fn require(tool: &str, package: &str) {
    if let Err(e) = which(tool) {
        panic!("{e}; install the Debian package `{package}`");
    }
}

/// Deletes `mi-<pid>-…` namespaces whose creating test process no longer exists (left behind by
/// a killed run).
fn remove_stale_namespaces() {
    for line in ip_output(&["netns", "list"]).lines() {
        let Some(ns) = line.split_whitespace().next() else {
            continue;
        };
        let Some(pid) = ns
            .strip_prefix(NS_PREFIX)
            .and_then(|r| r.split('-').next())
            .and_then(|p| u32::from_str_radix(p, 16).ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// Runs `ip ARGS` and panics with its stderr on failure.
fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run ip: {e}"));
    assert!(
        out.status.success(),
        "`ip {}` failed: {}",
        args.join(" "),
        tail(&String::from_utf8_lossy(&out.stderr), 5)
    );
}

fn ip_output(args: &[&str]) -> String {
    Command::new("ip")
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}
