//! The semantic checks: what the schema cannot say (ranges, names, keys that go together),
//! one small function per section, then the engine's own check of the configuration built
//! from the file.
//!
//! A check reports a [`Problem`]: the [`Key`] it is about and what is wrong.
//! [`Problem::into_error`] then names the key as the file spells it and finds its line among
//! the positions the parser recorded (see `spans`).

use std::collections::HashSet;
use std::net::IpAddr;

use super::engine::parse_identity;
use super::schema::{
    BackendName, ClockSection, DataplaneSection, PortSection, QualitySetting, TransportName,
    UtcOffsetSetting,
};
use super::spans::{Positions, Step};
use super::{Config, ConfigError};

/// What a semantic error is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Key {
    /// `[[port]]` as a whole (there is none): no line.
    Ports,
    /// A key of `[clock]`, named `clock.<key>`.
    Clock(&'static str),
    /// A key of `[dataplane]`, named `dataplane.<key>`.
    Dataplane(&'static str),
    /// A key of `[metrics]`, named `metrics.<key>`.
    Metrics(&'static str),
    /// A key of `[control]`, named `control.<key>`.
    Control(&'static str),
    /// A key of `[security]`, named `security.<key>`.
    Security(&'static str),
    /// A key of `[smpte]`, named `smpte.<key>` (the section itself: `smpte`).
    Smpte(&'static str),
    /// A key of the n-th `[[port]]` or of its `unicast-limits`, named `port[n].<key>`. When
    /// the key is not in the file (a required one, or a profile's default the engine
    /// refuses), the error is placed at the port's `[[port]]` header.
    Port(usize, String),
    /// A clock setting as the engine's check names it (`user-description`), looked for in
    /// `[clock]`.
    Engine(String),
    /// Named as given, not in the file.
    Elsewhere(String),
}

impl Key {
    /// As the error names it: `port[1].dscp`.
    fn name(&self) -> String {
        match self {
            Key::Ports => "port".into(),
            Key::Clock(k) => format!("clock.{k}"),
            Key::Dataplane(k) => format!("dataplane.{k}"),
            Key::Metrics(k) => format!("metrics.{k}"),
            Key::Control(k) => format!("control.{k}"),
            Key::Security(k) => format!("security.{k}"),
            Key::Smpte("") => "smpte".into(),
            Key::Smpte(k) => format!("smpte.{k}"),
            Key::Port(i, k) => format!("port[{i}].{k}"),
            Key::Engine(k) | Key::Elsewhere(k) => k.clone(),
        }
    }

    /// The 1-based line of the key in the file.
    fn line(&self, at: &Positions<'_>) -> Option<usize> {
        use Step::{Index, Key as K};
        match self {
            Key::Ports | Key::Elsewhere(_) => None,
            Key::Clock(k) => at.line(&[K("clock"), K(k)]),
            Key::Engine(k) => at.line(&[K("clock"), K(k)]),
            Key::Dataplane(k) => at.line(&[K("dataplane"), K(k)]),
            Key::Metrics(k) => at.line(&[K("metrics"), K(k)]),
            Key::Control(k) => at.line(&[K("control"), K(k)]),
            Key::Security(k) => at.line(&[K("security"), K(k)]),
            Key::Smpte("") => at.line(&[K("smpte")]),
            Key::Smpte(k) => at.line(&[K("smpte"), K(k)]),
            Key::Port(i, k) => {
                let port = [K("port"), Index(*i)];
                at.line(&[port[0], port[1], K(k)])
                    .or_else(|| at.line(&[port[0], port[1], K("unicast-limits"), K(k)]))
                    .or_else(|| at.line(&port))
            }
        }
    }
}

/// A semantic error, before it is given its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Problem {
    /// What it is about.
    key: Key,
    /// What is wrong.
    problem: String,
}

impl Problem {
    fn new(key: Key, problem: impl Into<String>) -> Problem {
        Problem {
            key,
            problem: problem.into(),
        }
    }

    /// The error to report; its line is looked up in `text` (the file) when given.
    pub(super) fn into_error(self, text: Option<&str>) -> ConfigError {
        let line = text
            .and_then(Positions::parse)
            .and_then(|at| self.key.line(&at));
        ConfigError {
            key: self.key.name(),
            line,
            problem: self.problem,
        }
    }
}

/// Every check, in the order their errors are reported (the first one wins).
pub(super) fn check(cfg: &Config) -> Result<(), Problem> {
    if cfg.ports.is_empty() {
        return Err(Problem::new(
            Key::Ports,
            "at least one [[port]] is required",
        ));
    }
    clock(&cfg.clock)?;
    if let Err(e) = cfg.metrics.listen_addr() {
        return Err(Problem::new(Key::Metrics("listen"), e));
    }
    if let Some(sm) = &cfg.smpte {
        smpte(cfg, sm)?;
    }
    if !cfg.security.user.is_empty() {
        if cfg.dataplane.backend == BackendName::Dpdk {
            return Err(Problem::new(
                Key::Security("user"),
                "not with [dataplane] backend = \"dpdk\" (DPDK's EAL and PMDs keep needing \
                 root; run it under systemd's sandboxing instead)",
            ));
        }
        if let Err(e) = crate::sys::privs::lookup_user(&cfg.security.user) {
            return Err(Problem::new(
                Key::Security("user"),
                format!("\"{}\": {e}", cfg.security.user),
            ));
        }
    }
    if let Err(e) = cfg.control.mode() {
        return Err(Problem::new(Key::Control("socket-mode"), e));
    }
    let limit = cfg.metrics.per_slave_limit;
    if !(1..=super::schema::MAX_PER_SLAVE_LIMIT).contains(&limit) {
        return Err(Problem::new(
            Key::Metrics("per-slave-limit"),
            format!(
                "{limit} is out of range 1–{} (each slave adds about ten series)",
                super::schema::MAX_PER_SLAVE_LIMIT
            ),
        ));
    }
    let mut interfaces = HashSet::new();
    for (i, p) in cfg.ports.iter().enumerate() {
        port(i, p, &mut interfaces)?;
    }
    auth(cfg)?;
    if cfg.dataplane.backend == BackendName::Dpdk {
        dpdk(&cfg.dataplane)?;
        for (i, p) in cfg.ports.iter().enumerate() {
            dpdk_port(i, p)?;
        }
    } else {
        for (i, p) in cfg.ports.iter().enumerate() {
            if p.dpdk_device.is_some() {
                return Err(Problem::new(
                    Key::Port(i, "dpdk-device".into()),
                    "only with [dataplane] backend = \"dpdk\"",
                ));
            }
        }
    }
    engine(cfg)
}

/// `[security] sa-file` and the ports' `auth-*` settings.
fn auth(cfg: &Config) -> Result<(), Problem> {
    let db = match &cfg.security.sa_file {
        Some(path) => Some(
            super::load_security_database(path)
                .map_err(|e| Problem::new(Key::Security("sa-file"), e))?,
        ),
        None => None,
    };
    for (i, p) in cfg.ports.iter().enumerate() {
        let err = |key: &str, problem: String| Err(Problem::new(Key::Port(i, key.into()), problem));
        let Some(spp) = p.auth_spp else {
            if p.require_auth {
                return err("require-auth", "needs auth-spp and auth-key-id".into());
            }
            if p.auth_key_id.is_some() {
                return err("auth-key-id", "needs auth-spp".into());
            }
            continue;
        };
        let Some(db) = &db else {
            return err("auth-spp", "needs [security] sa-file".into());
        };
        let Some(sa) = db.association(spp) else {
            return err(
                "auth-spp",
                format!("{spp}: no security_association with this spp in the sa-file"),
            );
        };
        let Some(key_id) = p.auth_key_id else {
            return err("auth-spp", "needs auth-key-id".into());
        };
        match sa.key(key_id) {
            None => {
                return err(
                    "auth-key-id",
                    format!("{key_id}: not a key of security_association spp {spp}"),
                )
            }
            Some(k) if !k.algorithm.supported() => {
                return err(
                    "auth-key-id",
                    format!("{key_id}: AES-CMAC keys are not supported; use SHA256-128"),
                )
            }
            Some(_) => {}
        }
        if p.one_step {
            return err(
                "auth-spp",
                "not with one-step = true (the data plane writes the Sync's timestamp after \
                 the ICV is computed); use two-step"
                    .into(),
            );
        }
    }
    Ok(())
}

/// `[clock]`.
fn clock(c: &ClockSection) -> Result<(), Problem> {
    let err = |key, problem: String| Err(Problem::new(Key::Clock(key), problem));
    if c.identity != "auto" {
        if let Err(p) = parse_identity(&c.identity) {
            return err("identity", p.into());
        }
    }
    if let QualitySetting::Keyword(k) = &c.quality {
        if k != "auto" {
            return err("quality", format!("\"{k}\": expected \"auto\" or a table"));
        }
    }
    if let UtcOffsetSetting::Keyword(k) = &c.utc_offset {
        if k != "auto" {
            return err(
                "utc-offset",
                format!("\"{k}\": expected \"auto\" or seconds"),
            );
        }
    }
    if let Some(d) = c.domain {
        if d > 239 {
            return err("domain", format!("{d}: domains 240-255 are reserved"));
        }
    }
    if c.user_description.len() > 128 {
        return err("user-description", "longer than 128 bytes".into());
    }
    if c.tx_timestamp_timeout_ms == 0 || c.tx_timestamp_timeout_ms > 10_000 {
        return err("tx-timestamp-timeout-ms", "must be 1..=10000".into());
    }
    if !(1..=1_000_000_000).contains(&c.holdover_spec_us) {
        return err(
            "holdover-spec-us",
            format!(
                "{}: must be 1..=1000000000 (1 µs to 1000 s)",
                c.holdover_spec_us
            ),
        );
    }
    if c.holdover_budget_s > 30 * 86_400 {
        return err(
            "holdover-budget-s",
            format!("{}: at most 30 days (2592000 s)", c.holdover_budget_s),
        );
    }
    if !(0.0..=1_000_000.0).contains(&c.holdover_frequency_ppb) {
        return err(
            "holdover-frequency-ppb",
            format!("{}: must be 0..=1000000", c.holdover_frequency_ppb),
        );
    }
    if !(0.0..=1_000.0).contains(&c.holdover_aging_ppb_per_s) {
        return err(
            "holdover-aging-ppb-per-s",
            format!("{}: must be 0..=1000", c.holdover_aging_ppb_per_s),
        );
    }
    let reference = match c.reference_setting() {
        Ok(r) => r,
        Err(p) => return err("reference", p),
    };
    for dev in reference.devices() {
        if !dev.exists() {
            return err(
                "reference",
                format!("{}: no such device on this machine", dev.display()),
            );
        }
    }
    Ok(())
}

/// `[smpte]`: only with the SMPTE profile; a frame rate, offsets within a day, 48-bit times.
fn smpte(cfg: &Config, s: &super::SmpteSection) -> Result<(), Problem> {
    let err = |key, problem: String| Err(Problem::new(Key::Smpte(key), problem));
    if cfg.clock.profile != super::ProfileName::Smpte2059_2 {
        return err(
            "",
            "only with [clock] profile = \"smpte-2059-2\" (no other profile announces it)".into(),
        );
    }
    if let Err(p) = s.frame_rate() {
        return err("frame-rate", p);
    }
    for (key, v) in [
        ("local-offset-s", s.local_offset_s),
        ("jump-s", s.jump_s),
        ("previous-jam-local-offset-s", s.previous_jam_local_offset_s),
    ] {
        if v.unsigned_abs() > 86_400 {
            return err(key, format!("{v}: at most one day (±86400 s)"));
        }
    }
    for (key, v) in [
        ("time-of-next-jump", s.time_of_next_jump),
        ("time-of-next-jam", s.time_of_next_jam),
        ("time-of-previous-jam", s.time_of_previous_jam),
    ] {
        if v >= 1 << 48 {
            return err(key, format!("{v}: a 48-bit number of seconds"));
        }
    }
    Ok(())
}

/// The `i`-th `[[port]]`; `interfaces` collects the names of the ports before it.
fn port<'c>(
    i: usize,
    p: &'c PortSection,
    interfaces: &mut HashSet<&'c str>,
) -> Result<(), Problem> {
    let err = |key: &str, problem: String| Err(Problem::new(Key::Port(i, key.into()), problem));
    if p.interface.is_empty() || p.interface.len() > 15 {
        return err(
            "interface",
            format!("\"{}\": not an interface name", p.interface),
        );
    }
    for n in &p.ptpv1_subdomains {
        if n.len() > 16 || n.bytes().any(|b| b == 0) {
            return err(
                "ptpv1-subdomains",
                format!("\"{n}\": a v1 subdomain name is 1 to 16 octets, no NUL"),
            );
        }
    }
    for a in &p.unicast_allowed_sources {
        if meridian_proto::engine::SourcePrefix::parse(a).is_none() {
            return err(
                "unicast-allowed-sources",
                format!("\"{a}\": expected an IPv4/IPv6 prefix (10.0.0.0/8) or a MAC"),
            );
        }
    }
    for c in &p.unicast_allowed_identities {
        if parse_identity(c).is_err() {
            return err(
                "unicast-allowed-identities",
                format!("\"{c}\": expected a clock identity like 001b19.fffe.000001"),
            );
        }
    }
    for (key, v) in [
        ("ingress-latency-ns", p.ingress_latency_ns),
        ("egress-latency-ns", p.egress_latency_ns),
        ("delay-asymmetry-ns", p.delay_asymmetry_ns),
    ] {
        if v.unsigned_abs() > 1_000_000_000 {
            return err(key, format!("{v}: must be within ±1 s (±1000000000 ns)"));
        }
    }
    if !interfaces.insert(&p.interface) {
        return err(
            "interface",
            format!("\"{}\" is used by two ports", p.interface),
        );
    }
    if p.dscp > 63 {
        return err("dscp", format!("{}: must be 0..=63", p.dscp));
    }
    if let Some(v) = p.vlan {
        if p.transport != TransportName::L2 {
            return err(
                "vlan",
                "only for transport = \"l2\"; for UDP use a VLAN interface".into(),
            );
        }
        if v == 0 || v > 4094 {
            return err("vlan", format!("{v}: must be 1..=4094"));
        }
    }
    if p.vlan_priority > 7 {
        return err(
            "vlan-priority",
            format!("{}: must be 0..=7", p.vlan_priority),
        );
    }
    if p.ipv6_scope == 0 || p.ipv6_scope > 15 {
        return err("ipv6-scope", format!("{}: must be 1..=15", p.ipv6_scope));
    }
    Ok(())
}

/// `[dataplane]` with `backend = "dpdk"`.
fn dpdk(d: &DataplaneSection) -> Result<(), Problem> {
    let err = |key, problem: String| Err(Problem::new(Key::Dataplane(key), problem));
    if !cfg!(feature = "dpdk") {
        return err(
            "backend",
            "\"dpdk\": this build has no DPDK data plane (build with `--features dpdk`); \
             use \"sockets\""
                .into(),
        );
    }
    cores(d)?;
    if d.idle_sleep_us > 100_000 {
        return err(
            "idle-sleep-us",
            format!("{}: at most 100000 (100 ms)", d.idle_sleep_us),
        );
    }
    if !(64..=1 << 20).contains(&d.ring_size) {
        return err(
            "ring-size",
            format!("{}: must be 64..=1048576", d.ring_size),
        );
    }
    for (key, n) in [
        ("rx-descriptors", d.rx_descriptors),
        ("tx-descriptors", d.tx_descriptors),
    ] {
        if n < 32 {
            return err(key, format!("{n}: must be at least 32"));
        }
    }
    // The pool must cover both descriptor rings, the pipeline rings when full, and the
    // frames in hand.
    let rings = if d.pipelined() { 2 * d.ring_size } else { 0 };
    let need = u64::from(d.rx_descriptors) + u64::from(d.tx_descriptors) + rings as u64 + 128;
    if u64::from(d.mbufs) < need {
        return err(
            "mbufs",
            format!(
                "{}: needs at least {need} (rx-descriptors + tx-descriptors{} + 128)",
                d.mbufs,
                if rings > 0 { " + 2 × ring-size" } else { "" }
            ),
        );
    }
    Ok(())
}

/// The `[dataplane]` cores (`lcore`, `rx-lcore`, `tx-lcore`): ones this process may run on.
fn cores(d: &DataplaneSection) -> Result<(), Problem> {
    let ids: Vec<usize> = core_affinity::get_core_ids()
        .unwrap_or_default()
        .iter()
        .map(|c| c.id)
        .collect();
    for (key, core) in [
        ("lcore", d.lcore),
        ("rx-lcore", d.rx_lcore),
        ("tx-lcore", d.tx_lcore),
    ] {
        match core {
            Some(c) if !ids.is_empty() && !ids.contains(&c) => {
                return Err(Problem::new(
                    Key::Dataplane(key),
                    format!("{c}: not a core this process may run on ({ids:?})"),
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// The `i`-th `[[port]]` with `backend = "dpdk"`: a device, and an address for UDP.
fn dpdk_port(i: usize, p: &PortSection) -> Result<(), Problem> {
    if p.dpdk_device.is_none() {
        return Err(Problem::new(
            Key::Port(i, "dpdk-device".into()),
            "required with backend = \"dpdk\"",
        ));
    }
    match (p.transport, p.address) {
        (TransportName::UdpIpv4, Some(IpAddr::V4(_)))
        | (TransportName::UdpIpv6, Some(IpAddr::V6(_)))
        | (TransportName::L2, _) => Ok(()),
        _ => Err(Problem::new(
            Key::Port(i, "address".into()),
            "backend = \"dpdk\" with a UDP transport needs the port's IP address of that family",
        )),
    }
}

/// The engine's own checks of the configuration built from the file, with a representative
/// MAC; the engine's field names are mapped back to the file's keys.
fn engine(cfg: &Config) -> Result<(), Problem> {
    let ec = cfg
        .engine_config(&cfg.placeholder_facts())
        .map_err(|e| Problem::new(Key::Elsewhere(e.key), e.problem))?;
    ec.check().map_err(|e| {
        let key = match engine_field_to_key(&e.field) {
            (Some(i), key) => Key::Port(i, key),
            (None, key) => Key::Engine(key),
        };
        Problem::new(key, e.problem)
    })
}

/// Maps the engine's `ports[0].log_sync_interval` to (Some(0), "log-sync-interval").
fn engine_field_to_key(field: &str) -> (Option<usize>, String) {
    let (port, rest) = match field.strip_prefix("ports[") {
        Some(r) => {
            let (n, rest) = r.split_once("].").unwrap_or(("", r));
            (n.parse().ok(), rest)
        }
        None => (None, field.strip_prefix("clock.").unwrap_or(field)),
    };
    (port, rest.replace('_', "-").replace("unicast-limits.", ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_values_name_the_key_and_line() {
        let e = Config::parse(
            "[[port]]\ninterface = \"e\"\n\n[[port]]\ninterface = \"f\"\ndscp = 99\n",
        )
        .unwrap_err();
        assert_eq!((e.key.as_str(), e.line), ("port[1].dscp", Some(6)), "{e}");
        let e =
            Config::parse("[[port]]\ninterface = \"e\"\nlog-sync-interval = -12\n").unwrap_err();
        assert_eq!(
            (e.key.as_str(), e.line),
            ("port[0].log-sync-interval", Some(3)),
            "{e}"
        );
        let e = Config::parse("[clock]\nidentity = \"xyz\"\n[[port]]\ninterface = \"e\"\n")
            .unwrap_err();
        assert_eq!((e.key.as_str(), e.line), ("clock.identity", Some(2)), "{e}");
        let e = Config::parse("[[port]]\ninterface = \"e\"\ntransport = \"udp\"\n").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        let e = Config::parse("[[port]]\ninterface = \"e\"\nvlan = 5\n").unwrap_err();
        assert_eq!(e.key, "port[0].vlan", "{e}");
        assert!(Config::parse("").unwrap_err().problem.contains("[[port]]"));
        let port = "[[port]]\ninterface = \"e\"\n";
        for bad in ["0", "20001"] {
            let e =
                Config::parse(&format!("[metrics]\nper-slave-limit = {bad}\n{port}")).unwrap_err();
            assert_eq!(
                (e.key.as_str(), e.line),
                ("metrics.per-slave-limit", Some(2)),
                "{e}"
            );
        }
        for (key, bad) in [
            ("holdover-spec-us", "0"),
            ("holdover-budget-s", "9999999"),
            ("holdover-frequency-ppb", "-1.0"),
            ("holdover-aging-ppb-per-s", "nan"),
        ] {
            let e = Config::parse(&format!("[clock]\n{key} = {bad}\n{port}")).unwrap_err();
            assert_eq!(
                (e.key.as_str(), e.line),
                (format!("clock.{key}").as_str(), Some(2)),
                "{e}"
            );
        }
        for (bad, says) in [
            ("gps", "expected \"system\""),
            ("phc:/dev/sda", "expected /dev/ptpN"),
            ("phc:/dev/ptp97", "/dev/ptp97: no such device"),
            ("gnss:ttyS0", "a path"),
            ("gnss:/dev/null,baud:12345", "baud:12345"),
            ("gnss:/dev/null,nmea-delay-ms:1000", "0..=999"),
            (
                "gnss:/dev/null,pps:/dev/pps77",
                "/dev/pps77: no such device",
            ),
            ("gnss:/dev/ttyNOPE", "/dev/ttyNOPE: no such device"),
            ("gnss:/dev/null,speed:9600", "expected pps:"),
        ] {
            let e = Config::parse(&format!("[clock]\nreference = \"{bad}\"\n{port}")).unwrap_err();
            assert_eq!(
                (e.key.as_str(), e.line),
                ("clock.reference", Some(2)),
                "{bad}: {e}"
            );
            assert!(e.problem.contains(says), "{bad}: {e}");
        }
        let c = Config::parse(&format!(
            "[clock]\nreference = \"gnss:/dev/null,pps:/dev/null,baud:115200,nmea-delay-ms:120\"\n\
             servo = \"pi\"\n{port}"
        ))
        .unwrap();
        assert_eq!(
            c.clock.reference_setting(),
            Ok(super::super::ReferenceSetting::Gnss(
                crate::clock::reference::GnssSetup {
                    serial: "/dev/null".into(),
                    baud: 115_200,
                    pps: Some("/dev/null".into()),
                    nmea_delay_ns: 120_000_000,
                }
            ))
        );
        assert_eq!(c.clock.servo, super::super::ServoName::Pi);
        assert_eq!(c.clock.primary_holdover().locked_class, 6);
        assert!(Config::parse(&format!("[clock]\nservo = \"kalman\"\n{port}")).is_err());
        let e = Config::parse(
            "[[port]]\ninterface = \"e\"\ningress-latency-ns = -9223372036854775808\n",
        )
        .unwrap_err();
        assert_eq!(
            (e.key.as_str(), e.line),
            ("port[0].ingress-latency-ns", Some(3)),
            "{e}"
        );
        let e = Config::parse(&format!("[security]\nuser = \"no-such-user-here\"\n{port}"))
            .unwrap_err();
        assert_eq!((e.key.as_str(), e.line), ("security.user", Some(2)), "{e}");
        assert!(Config::parse(&format!("[security]\nuser = \"nobody\"\n{port}")).is_ok());
        let e = Config::parse(&format!("[control]\nsocket-mode = \"0999\"\n{port}")).unwrap_err();
        assert_eq!(
            (e.key.as_str(), e.line),
            ("control.socket-mode", Some(2)),
            "{e}"
        );
        let c = Config::parse(&format!("[control]\nsocket-mode = \"0600\"\n{port}")).unwrap();
        assert_eq!(c.control.mode(), Ok(0o600));
        let c = Config::parse(&format!("[clock]\nholdover-spec-us = 50\n{port}")).unwrap();
        assert_eq!(c.clock.holdover().spec_ns, 50_000);
        assert_eq!(c.clock.holdover().frequency_floor_ppb, 1_000.0);
        let smpte = |body: &str, profile: &str| {
            Config::parse(&format!(
                "[clock]\nprofile = \"{profile}\"\n[smpte]\n{body}\n{port}"
            ))
        };
        let e = smpte("frame-rate = \"25/1\"", "default-e2e").unwrap_err();
        assert_eq!((e.key.as_str(), e.line), ("smpte", Some(3)), "{e}");
        for (body, key) in [
            ("frame-rate = \"25\"", "smpte.frame-rate"),
            ("frame-rate = \"1/0\"", "smpte.frame-rate"),
            ("local-offset-s = 90000", "smpte.local-offset-s"),
            (
                "time-of-next-jam = 281474976710656",
                "smpte.time-of-next-jam",
            ),
        ] {
            let e = smpte(body, "smpte-2059-2").unwrap_err();
            assert_eq!((e.key.as_str(), e.line), (key, Some(4)), "{e}");
        }
        let c = smpte(
            "frame-rate = \"25/1\"\nlocal-offset-s = 3600",
            "smpte-2059-2",
        )
        .unwrap();
        assert_eq!(c.smpte.as_ref().unwrap().frame_rate(), Ok((25, 1)));
        let c = Config::parse(&format!("[metrics]\nper-slave = true\n{port}")).unwrap();
        assert_eq!(c.metrics.slaves_listed(), 1_000);
        assert_eq!(Config::parse(port).unwrap().metrics.slaves_listed(), 0);
    }

    #[cfg(feature = "dpdk")]
    #[test]
    fn dpdk_pipeline_keys_are_checked() {
        let base = "[[port]]\ninterface = \"e\"\ntransport = \"l2\"\ndpdk-device = \"net_null0\"\n";
        let with = |dp: &str| format!("[dataplane]\nbackend = \"dpdk\"\n{dp}\n{base}");
        let c = Config::parse(&with("lcore = 0")).unwrap();
        assert!(!c.dataplane.pipelined());
        assert_eq!(c.dataplane.lcores(), (0, 0, 0));
        let c = Config::parse(&with("lcore = 0\ntx-lcore = 0\nrx-lcore = 0")).unwrap();
        assert!(!c.dataplane.pipelined());
        let e = Config::parse(&with("ring-size = 8")).unwrap_err();
        assert_eq!(
            (e.key.as_str(), e.line),
            ("dataplane.ring-size", Some(3)),
            "{e}"
        );
        let e = Config::parse(&with("mbufs = 1000")).unwrap_err();
        assert_eq!(e.key, "dataplane.mbufs", "{e}");
        assert!(e.problem.contains("2176"), "{e}");
        let e = Config::parse(&with("rx-descriptors = 4")).unwrap_err();
        assert_eq!(e.key, "dataplane.rx-descriptors", "{e}");
        let e = Config::parse(&with("rx-lcore = 4096")).unwrap_err();
        assert_eq!(
            (e.key.as_str(), e.line),
            ("dataplane.rx-lcore", Some(3)),
            "{e}"
        );
        // A pipeline needs room for both rings in the pool.
        let e = Config::parse(&with(
            "rx-lcore = 0\nlcore = 0\ntx-lcore = 0\nring-size = 8192",
        ));
        assert!(e.is_ok(), "no pipeline, rings unused");
        if core_affinity::get_core_ids().is_some_and(|c| c.len() > 1) {
            let e = Config::parse(&with("lcore = 0\nrx-lcore = 1\nring-size = 8192")).unwrap_err();
            assert_eq!(e.key, "dataplane.mbufs", "{e}");
            assert!(e.problem.contains("2 × ring-size"), "{e}");
        }
    }

    /// A semantic error is placed at the offending key itself even when the same name is set,
    /// validly, earlier in the text. A search of the text for the key's name (what the
    /// configuration did before it asked the parser) gets every one of these wrong: no line,
    /// the port's header, or the earlier occurrence.
    #[test]
    fn semantic_errors_point_at_the_offending_occurrence() {
        let cases = [
            // The second port's header spelt with spaces, as TOML allows.
            (
                "[[port]]\ninterface = \"a\"\ndscp = 10\n\n[[ port ]]\ninterface = \"b\"\ndscp = 64\n",
                "port[1].dscp",
                7,
            ),
            // The ports as an array of inline tables.
            (
                "port = [\n  { interface = \"a\", dscp = 10 },\n  { interface = \"b\", dscp = 64 },\n]\n",
                "port[1].dscp",
                3,
            ),
            // A quoted key.
            (
                "[[port]]\ninterface = \"a\"\ndscp = 10\n[[port]]\ninterface = \"b\"\n\"dscp\" = 64\n",
                "port[1].dscp",
                6,
            ),
            // `domain = 0` earlier, inside a multi-line string.
            (
                "[clock]\nuser-description = \"\"\"\ndomain = 0 is the default\n\"\"\"\ndomain = 240\n\
                 [[port]]\ninterface = \"e\"\n",
                "clock.domain",
                5,
            ),
            // A dotted key, checked by the engine.
            (
                "[[port]]\ninterface = \"a\"\nunicast-limits.max-duration = 0\n",
                "port[0].max-duration",
                3,
            ),
        ];
        for (text, key, line) in cases {
            let e = Config::parse(text).unwrap_err();
            assert_eq!((e.key.as_str(), e.line), (key, Some(line)), "{e}\n{text}");
            assert!(
                e.to_string().starts_with(&format!("line {line}: {key}: ")),
                "{e}"
            );
        }
    }

    #[test]
    fn missing_keys_are_placed_at_their_table_or_nowhere() {
        // The engine refuses a port that serves nothing; `multicast` is not in the file.
        let e = Config::parse(
            "[[port]]\ninterface = \"a\"\n\n[[port]]\ninterface = \"b\"\nmulticast = false\n\n\
             [[port]]\ninterface = \"c\"\nunicast = false\nmulticast = true\n",
        )
        .unwrap_err();
        assert_eq!(
            (e.key.as_str(), e.line),
            ("port[1].multicast", Some(6)),
            "{e}"
        );
        let e = Config::parse(
            "[clock]\nprofile = \"g8275.2\"\n[[port]]\ninterface = \"a\"\nunicast = false\n",
        )
        .unwrap_err();
        assert_eq!(
            (e.key.as_str(), e.line),
            ("port[0].multicast", Some(3)),
            "{e}"
        );
        // Without the text, or without ports, there is no line.
        let c: Config =
            toml::from_str("[clock]\ndomain = 250\n[[port]]\ninterface = \"a\"\n").unwrap();
        let e = c.check(None).unwrap_err();
        assert_eq!((e.key.as_str(), e.line), ("clock.domain", None), "{e}");
        let e = Config::parse("[clock]\ndomain = 1\n").unwrap_err();
        assert_eq!((e.key.as_str(), e.line), ("port", None), "{e}");
    }

    #[test]
    fn engine_fields_map_to_file_keys() {
        assert_eq!(
            engine_field_to_key("ports[3].log_sync_interval"),
            (Some(3), "log-sync-interval".to_string())
        );
        assert_eq!(
            engine_field_to_key("ports[0].unicast_limits.max_duration"),
            (Some(0), "max-duration".to_string())
        );
        assert_eq!(
            engine_field_to_key("clock.user_description"),
            (None, "user-description".to_string())
        );
    }

    /// `[security] sa-file` and the ports' `auth-*`: each mistake names its key (and line);
    /// a key file others may read is refused; the engine gets the association and key.
    #[test]
    fn authentication_settings() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let sa = dir.path().join("sa.cfg");
        std::fs::write(
            &sa,
            "[security_association]\nspp 4\n1 SHA256-128 HEX:00112233445566778899aabbccddeeff\n\
             2 AES128 HEX:00112233445566778899aabbccddeeff\n",
        )
        .unwrap();
        std::fs::set_permissions(&sa, std::fs::Permissions::from_mode(0o600)).unwrap();
        let sec = format!("[security]\nsa-file = \"{}\"\n", sa.display());
        let port = "[[port]]\ninterface = \"e\"\n";
        let ok = Config::parse(&format!(
            "{sec}{port}auth-spp = 4\nauth-key-id = 1\nrequire-auth = true\n"
        ))
        .unwrap();
        let e = ok.engine_config(&ok.placeholder_facts()).unwrap();
        assert_eq!(
            e.ports[0].auth,
            Some(meridian_proto::engine::PortAuth {
                spp: 4,
                key_id: 1,
                required: true
            })
        );
        assert!(e.clock.security.signer(4, 1).is_some());
        let cases = [
            (
                format!("{port}require-auth = true\n"),
                "port[0].require-auth",
                3,
            ),
            (
                format!("{port}auth-spp = 4\nauth-key-id = 1\n"),
                "port[0].auth-spp",
                3,
            ),
            (
                format!("{sec}{port}auth-spp = 5\nauth-key-id = 1\n"),
                "port[0].auth-spp",
                5,
            ),
            (format!("{sec}{port}auth-spp = 4\n"), "port[0].auth-spp", 5),
            (
                format!("{sec}{port}auth-spp = 4\nauth-key-id = 3\n"),
                "port[0].auth-key-id",
                6,
            ),
            (
                format!("{sec}{port}auth-spp = 4\nauth-key-id = 2\n"),
                "port[0].auth-key-id",
                6,
            ),
            (
                format!("{sec}{port}auth-spp = 4\nauth-key-id = 1\none-step = true\n"),
                "port[0].auth-spp",
                5,
            ),
        ];
        for (text, key, line) in cases {
            let e = Config::parse(&text).unwrap_err();
            assert_eq!((e.key.as_str(), e.line), (key, Some(line)), "{text}: {e}");
        }
        // Group-readable keys, a broken line, a missing file: the file is named.
        std::fs::set_permissions(&sa, std::fs::Permissions::from_mode(0o640)).unwrap();
        let e = Config::parse(&format!("{sec}{port}")).unwrap_err();
        assert_eq!(e.key, "security.sa-file");
        assert!(e.problem.contains("chmod 600"), "{e}");
        std::fs::write(&sa, "[security_association]\nspp 4\n1 MD5 x\n").unwrap();
        std::fs::set_permissions(&sa, std::fs::Permissions::from_mode(0o600)).unwrap();
        let e = Config::parse(&format!("{sec}{port}")).unwrap_err();
        assert!(e.problem.contains("line 3: unknown algorithm MD5"), "{e}");
        std::fs::remove_file(&sa).unwrap();
        let e = Config::parse(&format!("{sec}{port}")).unwrap_err();
        assert!(e.problem.contains("sa.cfg"), "{e}");
    }

    /// `ptpv1`: mapped to the engine; its interval range, transport and backend named.
    #[test]
    fn ptpv1_settings() {
        let port = "[[port]]\ninterface = \"e\"\n";
        let c = Config::parse(&format!(
            "{port}ptpv1 = true\nptpv1-log-sync-interval = 1\n"
        ))
        .unwrap();
        let e = c.engine_config(&c.placeholder_facts()).unwrap();
        assert_eq!(e.ports[0].v1_log_sync_interval, Some(1));
        let c = Config::parse(port).unwrap();
        let e = c.engine_config(&c.placeholder_facts()).unwrap();
        assert_eq!(e.ports[0].v1_log_sync_interval, None);
        let cases = [
            (
                format!("{port}ptpv1 = true\nptpv1-log-sync-interval = 3\n"),
                "port[0].ptpv1-log-sync-interval",
                4,
            ),
            (
                format!("{port}transport = \"l2\"\nptpv1 = true\n"),
                "port[0].ptpv1",
                4,
            ),
            (
                format!("{port}one-step = true\nptpv1 = true\n"),
                "port[0].ptpv1",
                4,
            ),
        ];
        for (text, key, line) in cases {
            let e = Config::parse(&text).unwrap_err();
            assert_eq!((e.key.as_str(), e.line), (key, Some(line)), "{text}: {e}");
        }
        #[cfg(feature = "dpdk")]
        {
            let text = format!(
                "[dataplane]\nbackend = \"dpdk\"\n{port}dpdk-device = \"net_null0\"\n\
                 address = \"10.0.0.1\"\nptpv1 = true\n"
            );
            Config::parse(&text).unwrap();
        }
        let c = Config::parse(&format!(
            "{port}ptpv1 = true\nptpv1-subdomains = [\"_ALT1\", \"_ALT3\", \"STUDIO\"]\n"
        ))
        .unwrap();
        let e = c.engine_config(&c.placeholder_facts()).unwrap();
        assert_eq!(
            e.ports[0].v1_subdomains,
            [b"_ALT1".as_slice(), b"_ALT3", b"STUDIO"]
                .map(meridian_proto::wire::v1::Subdomain::named)
        );
        for (bad, problem) in [
            ("[\"a-name-of-17-octs\"]", "1 to 16 octets"),
            ("[\"_DFLT\", \"_DFLT\"]", "twice"),
            ("[]", "at least one"),
        ] {
            let e = Config::parse(&format!("{port}ptpv1 = true\nptpv1-subdomains = {bad}\n"))
                .unwrap_err();
            assert_eq!(e.key, "port[0].ptpv1-subdomains", "{e}");
            assert!(e.problem.contains(problem), "{e}");
        }
    }
}
