//! The daemon's status and histograms as Prometheus metric families, encoded as text by the
//! `prometheus` crate. Conventions: every name starts `meridian_`; durations in seconds;
//! counters end `_total`; one `meridian_build_info` series; per-port series are labelled
//! `port` (the portNumber), never per slave.

use std::collections::BTreeMap;

use prometheus::proto::{
    Bucket, Counter, Gauge, Histogram, LabelPair, Metric, MetricFamily, MetricType,
};
use prometheus::{Encoder as _, TextEncoder};

use super::{Histograms, LatencyReport, SharedHistogram, TimingSeries};
use crate::control::{ClockReport, PortReport, StatusReport};
use crate::dataplane::{BurstCounts, BURST_BOUNDS};

/// Histogram bucket bounds, ns: 100 ns to 10 ms, 1-2-5 per decade.
pub const BUCKETS_NS: [u64; 16] = [
    100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000,
    1_000_000, 2_000_000, 5_000_000, 10_000_000,
];

/// The port counters that are drops, reported as `meridian_port_rx_dropped_total{reason}`.
const DROP_REASONS: [&str; 7] = [
    "rx_non_ptp",
    "rx_malformed",
    "rx_other_vlan",
    "rx_not_for_us",
    "rx_own",
    "rx_truncated",
    "rx_multiseg",
];

/// What the build is, for `meridian_build_info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildInfo {
    /// Meridian's version.
    pub version: String,
    /// The PTP profile in use.
    pub profile: String,
    /// The data-plane backend (`sockets`, `dpdk`).
    pub backend: String,
}

/// Everything one scrape renders.
#[derive(Debug)]
pub struct Sources<'a> {
    /// The build.
    pub build: &'a BuildInfo,
    /// The daemon's status, `None` when the engine loop did not answer in time.
    pub report: Option<&'a StatusReport>,
    /// The data plane's and the engine loop's histograms.
    pub histograms: &'a Histograms,
}

/// Renders `s` as Prometheus text (format 0.0.4).
pub fn render(s: &Sources<'_>) -> String {
    let mut families = vec![
        gauge(
            "meridian_build_info",
            "Meridian's build: version, PTP profile, data-plane backend (always 1).",
            vec![(
                labels(&[
                    ("version", &s.build.version),
                    ("profile", &s.build.profile),
                    ("backend", &s.build.backend),
                ]),
                1.0,
            )],
        ),
        gauge(
            "meridian_engine_responsive",
            "1 if the engine loop answered the collector within its timeout, else 0.",
            vec![(vec![], if s.report.is_some() { 1.0 } else { 0.0 })],
        ),
    ];
    if let Some(r) = s.report {
        families.push(gauge(
            "meridian_uptime_seconds",
            "Seconds since the daemon started.",
            vec![(vec![], r.uptime_s as f64)],
        ));
        families.extend(port_families(&r.ports));
        families.extend(slave_families(&r.ports));
        families.extend(dataplane_families(r));
        families.extend(engine_families(r));
        families.extend(clock_families(&r.clock));
    }
    families.extend(histogram_families(s.histograms));
    families.retain(|f| !f.get_metric().is_empty());
    let mut out = Vec::new();
    // The families are built here with valid names and types: encoding cannot fail.
    let _ = TextEncoder::new().encode(&families, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// Label pairs, sorted by name (a stable order in the output).
fn labels(pairs: &[(&str, &str)]) -> Vec<LabelPair> {
    let mut pairs = pairs.to_vec();
    pairs.sort_by_key(|(k, _)| *k);
    pairs
        .iter()
        .map(|(k, v)| {
            let mut l = LabelPair::default();
            l.set_name((*k).to_string());
            l.set_value((*v).to_string());
            l
        })
        .collect()
}

fn family(name: &str, help: &str, kind: MetricType, metrics: Vec<Metric>) -> MetricFamily {
    let mut f = MetricFamily::default();
    f.set_name(name.to_string());
    f.set_help(help.to_string());
    f.set_field_type(kind);
    f.set_metric(metrics);
    f
}

fn gauge(name: &str, help: &str, values: Vec<(Vec<LabelPair>, f64)>) -> MetricFamily {
    let metrics = values
        .into_iter()
        .map(|(l, v)| {
            let mut g = Gauge::default();
            g.set_value(v);
            let mut m = Metric::from_label(l);
            m.set_gauge(g);
            m
        })
        .collect();
    family(name, help, MetricType::GAUGE, metrics)
}

fn counter(name: &str, help: &str, values: Vec<(Vec<LabelPair>, u64)>) -> MetricFamily {
    let metrics = values
        .into_iter()
        .map(|(l, v)| {
            let mut c = Counter::default();
            c.set_value(v as f64);
            let mut m = Metric::from_label(l);
            m.set_counter(c);
            m
        })
        .collect();
    family(name, help, MetricType::COUNTER, metrics)
}

/// `portState` as its number (IEEE 1588-2019 Table 20).
fn state_number(name: &str) -> f64 {
    match name {
        "INITIALIZING" => 1.0,
        "FAULTY" => 2.0,
        "DISABLED" => 3.0,
        "LISTENING" => 4.0,
        "PRE_MASTER" => 5.0,
        "MASTER" => 6.0,
        "PASSIVE" => 7.0,
        "UNCALIBRATED" => 8.0,
        "SLAVE" => 9.0,
        _ => 0.0,
    }
}

/// Per-port state, slaves, and the data plane's counters.
fn port_families(ports: &[PortReport]) -> Vec<MetricFamily> {
    let mut state = Vec::new();
    let mut serving = Vec::new();
    let mut slaves = Vec::new();
    let mut rate = Vec::new();
    let mut foreign = Vec::new();
    let mut v1_passive = Vec::new();
    let mut drops = Vec::new();
    let mut other: BTreeMap<String, Vec<(Vec<LabelPair>, u64)>> = BTreeMap::new();
    for p in ports {
        let port = p.number.to_string();
        let l = labels(&[("port", &port)]);
        state.push((
            labels(&[("port", &port), ("interface", &p.interface)]),
            state_number(&p.state),
        ));
        serving.push((l.clone(), f64::from(u8::from(p.state == "MASTER"))));
        slaves.push((l.clone(), p.unicast_slaves as f64));
        rate.push((l.clone(), p.unicast_rate));
        foreign.push((l.clone(), p.foreign_masters as f64));
        for v in &p.ptpv1 {
            v1_passive.push((
                labels(&[("port", &port), ("subdomain", &v.subdomain)]),
                f64::from(u8::from(v.passive)),
            ));
        }
        let mut by_reason: BTreeMap<&str, u64> = BTreeMap::new();
        for (name, &v) in &p.counters {
            let bare = name.strip_prefix("pipeline_").unwrap_or(name);
            if let Some(reason) = DROP_REASONS.iter().find(|r| **r == bare) {
                *by_reason
                    .entry(reason.trim_start_matches("rx_"))
                    .or_default() += v;
            } else {
                let metric = format!("meridian_port_{}_total", sanitize(name));
                other.entry(metric).or_default().push((l.clone(), v));
            }
        }
        for (reason, v) in by_reason {
            drops.push((labels(&[("port", &port), ("reason", reason)]), v));
        }
    }
    let mut out = vec![
        gauge(
            "meridian_port_state",
            "portState (IEEE 1588-2019 Table 20: 4 LISTENING, 6 MASTER, 7 PASSIVE, 9 SLAVE, …).",
            state,
        ),
        gauge(
            "meridian_port_serving",
            "1 if the port is MASTER (serving time), else 0.",
            serving,
        ),
        gauge(
            "meridian_unicast_slaves",
            "Unicast slaves with at least one grant.",
            slaves,
        ),
        gauge(
            "meridian_unicast_granted_messages_per_second",
            "Messages per second the port's unicast grants commit it to.",
            rate,
        ),
        gauge(
            "meridian_foreign_masters",
            "Foreign masters qualified on the port.",
            foreign,
        ),
        counter(
            "meridian_port_rx_dropped_total",
            "Received frames the data plane dropped, by reason.",
            drops,
        ),
    ];
    if !v1_passive.is_empty() {
        out.push(gauge(
            "meridian_ptpv1_passive",
            "1 while the port's PTPv1 master in this subdomain is silent for a better v1 \
             master, else 0.",
            v1_passive,
        ));
    }
    for (name, values) in other {
        out.push(counter(&name, "A data-plane counter of the port.", values));
    }
    out
}

/// Unicast slaves per grant type, and each listed slave's grants and messages
/// (`[metrics] per-slave`), labelled `slave` (portIdentity) and `address`.
fn slave_families(ports: &[PortReport]) -> Vec<MetricFamily> {
    let (mut granted, mut unlisted) = (Vec::new(), Vec::new());
    let (mut interval, mut remaining, mut sent, mut grants) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for p in ports {
        let port = p.number.to_string();
        for (t, &n) in &p.unicast_granted {
            granted.push((labels(&[("port", &port), ("type", t)]), n as f64));
        }
        unlisted.push((labels(&[("port", &port)]), p.slaves_unlisted as f64));
        for sl in &p.slaves {
            let id = [
                ("port", port.as_str()),
                ("slave", sl.identity.as_str()),
                ("address", sl.address.as_str()),
            ];
            for (t, g) in &sl.grants {
                let l = labels(&[id[0], id[1], id[2], ("type", t)]);
                interval.push((l.clone(), f64::from(g.log_interval)));
                remaining.push((l, g.remaining_s));
            }
            for (t, n) in [
                ("announce", sl.announces),
                ("sync", sl.syncs),
                ("delay_resp", sl.delay_resps),
            ] {
                sent.push((labels(&[id[0], id[1], id[2], ("type", t)]), n));
            }
            grants.push((labels(&id), sl.grants_given));
        }
    }
    vec![
        gauge(
            "meridian_unicast_slaves_granted",
            "Unicast slaves holding a grant, by message type.",
            granted,
        ),
        gauge(
            "meridian_slaves_unlisted",
            "Unicast slaves without per-slave series ([metrics] per-slave off, or over \
             per-slave-limit).",
            unlisted,
        ),
        gauge(
            "meridian_slave_grant_log_interval",
            "logInterMessagePeriod granted to the slave, by message type.",
            interval,
        ),
        gauge(
            "meridian_slave_grant_remaining_seconds",
            "Seconds until the slave's grant expires unless renewed.",
            remaining,
        ),
        counter(
            "meridian_slave_messages_sent_total",
            "Messages sent to the slave, by type.",
            sent,
        ),
        counter(
            "meridian_slave_grants_total",
            "Grants given to the slave (first grants and renewals).",
            grants,
        ),
    ]
}

/// The user-space data plane (DPDK): mbuf pools, rings, burst sizes per port; busy and idle
/// polls per lcore.
fn dataplane_families(r: &StatusReport) -> Vec<MetricFamily> {
    let (mut in_use, mut pool, mut entries, mut capacity, mut bursts) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for p in &r.ports {
        let Some(d) = &p.dataplane else {
            continue;
        };
        let port = p.number.to_string();
        let l = labels(&[("port", &port)]);
        in_use.push((l.clone(), d.mbufs_in_use as f64));
        pool.push((l, d.mbufs as f64));
        for ring in &d.rings {
            let l = labels(&[("port", &port), ("ring", &ring.name)]);
            entries.push((l.clone(), ring.entries as f64));
            capacity.push((l, ring.capacity as f64));
        }
        for (direction, b) in [("rx", &d.rx_bursts), ("tx", &d.tx_bursts)] {
            let mut m = Metric::from_label(labels(&[("port", &port), ("direction", direction)]));
            m.set_histogram(burst_histogram(b));
            bursts.push(m);
        }
    }
    let mut polls = Vec::new();
    for lp in &r.loops {
        let lcore = lp.lcore.to_string();
        for (result, n) in [("busy", lp.busy_polls), ("idle", lp.idle_polls)] {
            polls.push((
                labels(&[
                    ("thread", &lp.thread),
                    ("lcore", &lcore),
                    ("result", result),
                ]),
                n,
            ));
        }
    }
    vec![
        gauge(
            "meridian_dpdk_mbufs_in_use",
            "Mbufs of the port's pool in use (queues, rings, batches, in flight).",
            in_use,
        ),
        gauge("meridian_dpdk_mbufs", "Mbufs in the port's pool.", pool),
        gauge(
            "meridian_dpdk_ring_entries",
            "Entries waiting in a pipeline ring (rx: RX stage to engine, tx: engine to TX \
             stage, stamps: TX stage to engine).",
            entries,
        ),
        gauge(
            "meridian_dpdk_ring_capacity",
            "Entries a pipeline ring holds.",
            capacity,
        ),
        family(
            "meridian_dpdk_burst_frames",
            "Frames per burst: non-empty rx_burst calls, and tx_burst calls.",
            MetricType::HISTOGRAM,
            bursts,
        ),
        counter(
            "meridian_dpdk_polls_total",
            "Rounds of a polling lcore, by whether they found work (busy) or not (idle).",
            polls,
        ),
    ]
}

/// Burst sizes as a Prometheus histogram (bounds in frames).
fn burst_histogram(b: &BurstCounts) -> Histogram {
    let mut h = Histogram::default();
    h.set_sample_count(b.counts.iter().sum());
    h.set_sample_sum(b.frames as f64);
    let mut seen = 0;
    let buckets = BURST_BOUNDS
        .iter()
        .zip(&b.counts)
        .map(|(&bound, &n)| {
            seen += n;
            let mut k = Bucket::default();
            k.set_upper_bound(bound as f64);
            k.set_cumulative_count(seen);
            k
        })
        .collect();
    h.set_bucket(buckets);
    h
}

/// A counter name as a metric name fragment: `[a-z0-9_]` only.
fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// The engine's counters.
fn engine_families(r: &StatusReport) -> Vec<MetricFamily> {
    let s = &r.stats;
    let by_type = |m: &BTreeMap<String, u64>| {
        m.iter()
            .map(|(t, &v)| (labels(&[("type", t)]), v))
            .collect::<Vec<_>>()
    };
    let plain = |name: &str, help: &str, v: u64| counter(name, help, vec![(vec![], v)]);
    vec![
        counter(
            "meridian_messages_received_total",
            "PTP messages the engine received, by type.",
            by_type(&s.rx_by_type),
        ),
        counter(
            "meridian_messages_sent_total",
            "PTP messages the engine sent, by type.",
            by_type(&s.tx_by_type),
        ),
        counter(
            "meridian_engine_rx_dropped_total",
            "Received messages the engine dropped, by reason.",
            s.drops
                .iter()
                .map(|(k, &v)| (labels(&[("reason", k)]), v))
                .collect(),
        ),
        plain(
            "meridian_unicast_grants_total",
            "Unicast grants given.",
            s.grants,
        ),
        plain(
            "meridian_unicast_denials_total",
            "Unicast requests denied.",
            s.denials,
        ),
        plain(
            "meridian_unicast_cancels_total",
            "Unicast grants cancelled by their slave.",
            s.cancels,
        ),
        plain(
            "meridian_unicast_grants_expired_total",
            "Unicast grants that expired without renewal.",
            s.grants_expired,
        ),
        plain(
            "meridian_tx_timestamp_timeouts_total",
            "Two-step TX timestamps that never came (the Follow_Up was skipped).",
            s.tx_timestamp_timeouts,
        ),
        plain(
            "meridian_tx_timestamp_table_full_total",
            "Two-step messages skipped because the TX timestamp table was full.",
            s.tx_timestamp_table_full,
        ),
        plain(
            "meridian_state_changes_total",
            "Port state changes.",
            s.state_changes,
        ),
        plain(
            "meridian_management_responses_total",
            "Management responses sent.",
            s.management_responses,
        ),
        plain(
            "meridian_management_errors_total",
            "Management error statuses sent.",
            s.management_errors,
        ),
        plain(
            "meridian_announce_interval_clamped_total",
            "Foreign Announces claiming a logMessageInterval outside the profile's range \
             (clamped: a spoofed interval cannot hold a port PASSIVE for long).",
            s.announce_interval_clamped,
        ),
        plain(
            "meridian_ptpv1_messages_received_total",
            "PTPv1 (IEEE 1588-2002) messages received on ports with a v1 master.",
            s.rx_v1,
        ),
        plain(
            "meridian_ptpv1_messages_sent_total",
            "PTPv1 (IEEE 1588-2002) messages sent (Sync, Follow_Up, Delay_Resp).",
            s.tx_v1,
        ),
        plain(
            "meridian_clock_steps_total",
            "Steps of the clock (either way, beyond 0.1 s back or 10 s forward) the engine \
             followed by moving its schedules with it.",
            s.clock_steps,
        ),
        plain(
            "meridian_tx_errors_total",
            "Sends the data plane could not make.",
            s.tx_errors,
        ),
    ]
}

/// What the grandmaster announces about its clock. The clock servo adds its series here.
pub fn clock_families(c: &ClockReport) -> Vec<MetricFamily> {
    let one = |name: &str, help: &str, v: f64| gauge(name, help, vec![(vec![], v)]);
    let flag = |b: bool| f64::from(u8::from(b));
    vec![
        gauge(
            "meridian_leap_file_expiry_timestamp_seconds",
            "When the leap-second file stops being valid (Unix time); absent without one.",
            c.leap_file_expires
                .map(|t| vec![(vec![], t as f64)])
                .unwrap_or_default(),
        ),
        one(
            "meridian_clock_class",
            "clockClass announced.",
            f64::from(c.clock_class),
        ),
        one(
            "meridian_clock_accuracy",
            "clockAccuracy announced (enumeration, 0x20 = 25 ns … 0xFE unknown).",
            f64::from(c.clock_accuracy),
        ),
        one(
            "meridian_clock_offset_scaled_log_variance",
            "offsetScaledLogVariance announced.",
            f64::from(c.offset_scaled_log_variance),
        ),
        gauge(
            "meridian_clock_error_bound_seconds",
            "The time error the clock vouches for (reference error while locked, the growing \
             holdover bound in holdover); absent when unknown (free-running).",
            c.error_bound_ns
                .map(|b| vec![(vec![], b as f64 / 1e9)])
                .unwrap_or_default(),
        ),
        one(
            "meridian_clock_state",
            "0 free-running, 1 locked (the reference is synchronised and traceable), 2 holdover.",
            c.state.number(),
        ),
        one(
            "meridian_holdover_seconds",
            "Seconds in holdover (0 when not in holdover).",
            c.holdover_s as f64,
        ),
        gauge(
            "meridian_clock_reference_info",
            "What the clock is disciplined to, and by which servo (always 1).",
            vec![(
                labels(&[
                    ("reference", &c.reference),
                    ("servo", c.servo.as_deref().unwrap_or("")),
                ]),
                1.0,
            )],
        ),
        gauge(
            "meridian_servo_state",
            "The servo: 0 unlocked, 1 locking, 2 locked, 3 locked-stable (absent without a \
             servo).",
            c.servo_state
                .as_deref()
                .map(|st| {
                    let n = match st {
                        "locking" => 1.0,
                        "locked" => 2.0,
                        "locked-stable" => 3.0,
                        _ => 0.0,
                    };
                    vec![(vec![], n)]
                })
                .unwrap_or_default(),
        ),
        gauge(
            "meridian_servo_offset_seconds",
            "The clock's last offset from its reference (absent while the reference is missing).",
            c.offset_ns
                .map(|o| vec![(vec![], o as f64 / 1e9)])
                .unwrap_or_default(),
        ),
        gauge(
            "meridian_servo_frequency_ratio",
            "The servo's frequency correction (1e-9 = 1 ppb).",
            c.frequency_ppb
                .map(|f| vec![(vec![], f * 1e-9)])
                .unwrap_or_default(),
        ),
        counter(
            "meridian_reference_missing_total",
            "Servo rounds the reference could not be compared (lost, no fix, unsynchronised).",
            vec![(vec![], c.reference_missing)],
        ),
        one(
            "meridian_utc_offset_seconds",
            "currentUtcOffset announced (TAI - UTC).",
            f64::from(c.current_utc_offset),
        ),
        one(
            "meridian_utc_offset_valid",
            "currentUtcOffsetValid announced.",
            flag(c.current_utc_offset_valid),
        ),
        gauge(
            "meridian_leap_pending",
            "1 if a leap second is announced for the end of today (leap61: inserted, leap59: deleted).",
            vec![
                (labels(&[("kind", "leap61")]), flag(c.leap > 0)),
                (labels(&[("kind", "leap59")]), flag(c.leap < 0)),
            ],
        ),
        one(
            "meridian_ptp_timescale",
            "ptpTimescale announced.",
            flag(c.ptp_timescale),
        ),
        one(
            "meridian_time_traceable",
            "timeTraceable announced.",
            flag(c.time_traceable),
        ),
        one(
            "meridian_frequency_traceable",
            "frequencyTraceable announced.",
            flag(c.frequency_traceable),
        ),
        one(
            "meridian_time_source",
            "timeSource announced (0x20 GNSS, 0x50 NTP, 0xA0 internal oscillator, …).",
            f64::from(c.time_source),
        ),
    ]
}

/// The duration histograms: residence, Sync emission and interval error, TX-stamp latency.
fn histogram_families(h: &Histograms) -> Vec<MetricFamily> {
    let mut residence = Vec::new();
    for (i, s) in h.residence.iter().enumerate() {
        let port = (i + 1).to_string();
        for (kind, hist) in s.by_kind() {
            residence.push(histogram_metric(
                &[("port", &port), ("message_type", kind.label())],
                hist,
            ));
        }
    }
    let (mut emission, mut interval, mut latency) = (Vec::new(), Vec::new(), Vec::new());
    for (i, t) in h.timing.iter().enumerate() {
        let port = (i + 1).to_string();
        for (d, (e, iv)) in TimingSeries::DELIVERIES
            .iter()
            .zip(t.sync_emission.iter().zip(&t.sync_interval_error))
        {
            let l = [("port", port.as_str()), ("delivery", d.label())];
            emission.push(histogram_metric(&l, e));
            interval.push(histogram_metric(&l, iv));
        }
        latency.push(histogram_metric(&[("port", &port)], &t.tx_stamp_latency));
    }
    vec![
        family(
            "meridian_residence_seconds",
            "Residence time: request RX stamp to reply TX stamp (configured latencies excluded).",
            MetricType::HISTOGRAM,
            residence,
        ),
        family(
            "meridian_sync_emission_seconds",
            "Two-step Sync TX stamp minus the time the Sync was scheduled for.",
            MetricType::HISTOGRAM,
            emission,
        ),
        family(
            "meridian_sync_interval_error_seconds",
            "Magnitude of (Sync departure - previous departure of the stream - interval), \
             consecutive stamped Syncs.",
            MetricType::HISTOGRAM,
            interval,
        ),
        family(
            "meridian_tx_timestamp_latency_seconds",
            "From handing a two-step frame to the port to its TX timestamp reaching the engine.",
            MetricType::HISTOGRAM,
            latency,
        ),
    ]
}

fn histogram_metric(l: &[(&str, &str)], h: &SharedHistogram) -> Metric {
    let mut m = Metric::from_label(labels(l));
    m.set_histogram(histogram(&LatencyReport::of(&h.snapshot())));
    m
}

fn histogram(rep: &LatencyReport) -> Histogram {
    let mut h = Histogram::default();
    h.set_sample_count(rep.count);
    h.set_sample_sum(rep.sum_ns as f64 / 1e9);
    let buckets = BUCKETS_NS
        .iter()
        .zip(rep.cumulative_at(&BUCKETS_NS))
        .map(|(&bound, n)| {
            let mut b = Bucket::default();
            b.set_upper_bound(bound as f64 / 1e9);
            b.set_cumulative_count(n);
            b
        })
        .collect();
    h.set_bucket(buckets);
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::{GrantReport, LoopReport, SlaveReport};
    use crate::dataplane::{DataplaneLoad, RingLoad};
    use crate::metrics::{Delivery, ReplyKind};

    fn report() -> StatusReport {
        let mut counters = BTreeMap::new();
        for (k, v) in [
            ("rx_packets", 10),
            ("rx_non_ptp", 2),
            ("pipeline_rx_not_for_us", 3),
            ("rx_not_for_us", 1),
            ("tx_bursts", 7),
        ] {
            counters.insert(k.to_string(), v);
        }
        let mut stats = crate::control::StatsReport::default();
        stats.rx_by_type.insert("delay_req".into(), 5);
        stats.tx_by_type.insert("sync".into(), 9);
        stats.drops.insert("wrong_domain".into(), 1);
        stats.tx_timestamp_timeouts = 2;
        StatusReport {
            version: "0.1.0".into(),
            uptime_s: 12,
            clock: ClockReport {
                clock_class: 248,
                current_utc_offset: 37,
                current_utc_offset_valid: true,
                ptp_timescale: true,
                leap: 1,
                leap_file_expires: Some(1_798_761_600),
                state: crate::control::ClockState::Holdover,
                holdover_s: 42,
                error_bound_ns: Some(1_500),
                ..ClockReport::default()
            },
            ports: vec![PortReport {
                number: 1,
                interface: "eth0".into(),
                state: "MASTER".into(),
                unicast_slaves: 3,
                ptpv1_passive: true,
                ptpv1: vec![
                    crate::control::V1MasterReport {
                        subdomain: "_DFLT".into(),
                        group: "224.0.1.129".into(),
                        passive: false,
                    },
                    crate::control::V1MasterReport {
                        subdomain: "STUDIO".into(),
                        group: "224.0.1.132".into(),
                        passive: true,
                    },
                ],
                counters,
                dataplane: Some(DataplaneLoad {
                    mbufs_in_use: 300,
                    mbufs: 4_096,
                    rings: vec![RingLoad {
                        name: "rx".into(),
                        entries: 5,
                        capacity: 1_024,
                    }],
                    rx_bursts: BurstCounts {
                        counts: vec![10, 4, 1, 0, 0, 0, 0],
                        frames: 21,
                    },
                    tx_bursts: BurstCounts::default(),
                }),
                unicast_granted: [("sync".to_string(), 3), ("pdelay_resp".to_string(), 0)]
                    .into_iter()
                    .collect(),
                slaves: vec![SlaveReport {
                    identity: "001122.fffe.334455-1".into(),
                    address: "10.0.0.9".into(),
                    grants: [(
                        "sync".to_string(),
                        GrantReport {
                            log_interval: -4,
                            remaining_s: 42.5,
                        },
                    )]
                    .into_iter()
                    .collect(),
                    grants_given: 2,
                    announces: 0,
                    syncs: 160,
                    delay_resps: 0,
                }],
                slaves_unlisted: 2,
                ..PortReport::default()
            }],
            stats,
            residence: None,
            loops: vec![LoopReport {
                thread: "io1".into(),
                lcore: 1,
                busy_polls: 7,
                idle_polls: 900,
            }],
        }
    }

    fn sources_text(report: Option<&StatusReport>) -> String {
        let histograms = Histograms::new(1);
        let mut r = histograms.residence[0].recorders();
        for ns in [150, 900, 3_000, 40_000_000] {
            r.record(ReplyKind::DelayResp, ns);
        }
        r.publish();
        let mut t = histograms.timing[0].recorders();
        t.sync_departure(Delivery::Multicast, 4_000, None);
        t.sync_departure(Delivery::Multicast, 30_000, Some(-1_500));
        t.sync_departure(Delivery::Unicast, -20, Some(300));
        t.tx_stamp_latency(60_000);
        t.publish();
        let build = BuildInfo {
            version: "0.1.0".into(),
            profile: "default-e2e".into(),
            backend: "dpdk".into(),
        };
        render(&Sources {
            build: &build,
            report,
            histograms: &histograms,
        })
    }

    #[test]
    fn the_series_an_operator_needs() {
        let r = report();
        let t = sources_text(Some(&r));
        for want in [
            "meridian_engine_responsive 1",
            "meridian_port_state{interface=\"eth0\",port=\"1\"} 6",
            "meridian_port_serving{port=\"1\"} 1",
            "meridian_unicast_slaves{port=\"1\"} 3",
            "meridian_ptpv1_passive{port=\"1\",subdomain=\"_DFLT\"} 0",
            "meridian_ptpv1_passive{port=\"1\",subdomain=\"STUDIO\"} 1",
            // Drop reasons merged over the loop's and the pipeline's counters.
            "meridian_port_rx_dropped_total{port=\"1\",reason=\"not_for_us\"} 4",
            "meridian_port_rx_dropped_total{port=\"1\",reason=\"non_ptp\"} 2",
            "meridian_port_rx_packets_total{port=\"1\"} 10",
            "meridian_messages_sent_total{type=\"sync\"} 9",
            "meridian_engine_rx_dropped_total{reason=\"wrong_domain\"} 1",
            "meridian_tx_timestamp_timeouts_total 2",
            "meridian_clock_class 248",
            "meridian_clock_state 2",
            "meridian_holdover_seconds 42",
            "meridian_clock_error_bound_seconds 0.0000015",
            "meridian_utc_offset_seconds 37",
            "meridian_leap_file_expiry_timestamp_seconds 1798761600",
            "meridian_leap_pending{kind=\"leap61\"} 1",
            "meridian_residence_seconds_bucket{message_type=\"delay_resp\",port=\"1\",le=\"0.0000002\"} 1",
            "meridian_residence_seconds_bucket{message_type=\"delay_resp\",port=\"1\",le=\"0.01\"} 3",
            "meridian_residence_seconds_bucket{message_type=\"delay_resp\",port=\"1\",le=\"+Inf\"} 4",
            "meridian_residence_seconds_count{message_type=\"delay_resp\",port=\"1\"} 4",
            "meridian_residence_seconds_count{message_type=\"pdelay_resp\",port=\"1\"} 0",
            "meridian_sync_emission_seconds_bucket{delivery=\"multicast\",port=\"1\",le=\"0.000005\"} 1",
            "meridian_sync_emission_seconds_count{delivery=\"multicast\",port=\"1\"} 2",
            // A stamp before its tick counts as the smallest value.
            "meridian_sync_emission_seconds_bucket{delivery=\"unicast\",port=\"1\",le=\"0.0000001\"} 1",
            // The magnitude of the interval error.
            "meridian_sync_interval_error_seconds_bucket{delivery=\"multicast\",port=\"1\",le=\"0.000001\"} 0",
            "meridian_sync_interval_error_seconds_bucket{delivery=\"multicast\",port=\"1\",le=\"0.000002\"} 1",
            "meridian_sync_interval_error_seconds_count{delivery=\"unicast\",port=\"1\"} 1",
            "meridian_tx_timestamp_latency_seconds_bucket{port=\"1\",le=\"0.00005\"} 0",
            "meridian_tx_timestamp_latency_seconds_bucket{port=\"1\",le=\"0.0001\"} 1",
            "meridian_unicast_slaves_granted{port=\"1\",type=\"sync\"} 3",
            "meridian_unicast_slaves_granted{port=\"1\",type=\"pdelay_resp\"} 0",
            "meridian_slaves_unlisted{port=\"1\"} 2",
            "meridian_slave_grant_log_interval{address=\"10.0.0.9\",port=\"1\",slave=\"001122.fffe.334455-1\",type=\"sync\"} -4",
            "meridian_slave_grant_remaining_seconds{address=\"10.0.0.9\",port=\"1\",slave=\"001122.fffe.334455-1\",type=\"sync\"} 42.5",
            "meridian_slave_messages_sent_total{address=\"10.0.0.9\",port=\"1\",slave=\"001122.fffe.334455-1\",type=\"sync\"} 160",
            "meridian_slave_grants_total{address=\"10.0.0.9\",port=\"1\",slave=\"001122.fffe.334455-1\"} 2",
            "meridian_dpdk_mbufs_in_use{port=\"1\"} 300",
            "meridian_dpdk_mbufs{port=\"1\"} 4096",
            "meridian_dpdk_ring_entries{port=\"1\",ring=\"rx\"} 5",
            "meridian_dpdk_ring_capacity{port=\"1\",ring=\"rx\"} 1024",
            "meridian_dpdk_burst_frames_bucket{direction=\"rx\",port=\"1\",le=\"1\"} 10",
            "meridian_dpdk_burst_frames_bucket{direction=\"rx\",port=\"1\",le=\"4\"} 15",
            "meridian_dpdk_burst_frames_bucket{direction=\"rx\",port=\"1\",le=\"+Inf\"} 15",
            "meridian_dpdk_burst_frames_sum{direction=\"rx\",port=\"1\"} 21",
            "meridian_dpdk_burst_frames_count{direction=\"tx\",port=\"1\"} 0",
            "meridian_dpdk_polls_total{lcore=\"1\",result=\"busy\",thread=\"io1\"} 7",
            "meridian_dpdk_polls_total{lcore=\"1\",result=\"idle\",thread=\"io1\"} 900",
        ] {
            assert!(t.contains(want), "missing {want:?} in:\n{t}");
        }
        // Seconds, not nanoseconds, in the sum.
        let sum: f64 = t
            .lines()
            .find_map(|l| {
                l.strip_prefix(
                    "meridian_residence_seconds_sum{message_type=\"delay_resp\",port=\"1\"} ",
                )
            })
            .and_then(|v| v.parse().ok())
            .expect("a sum");
        assert!((0.039..0.041).contains(&sum), "{sum}");
        let down = sources_text(None);
        assert!(down.contains("meridian_engine_responsive 0"));
        assert!(!down.contains("meridian_port_state"));
    }

    /// The output passes Prometheus's own linter (Debian's `promtool`, installed by
    /// `scripts/setup.sh`).
    #[test]
    fn promtool_check_metrics_accepts_it() {
        use std::io::Write;
        let r = report();
        let text = sources_text(Some(&r));
        let mut child = std::process::Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("promtool (Debian package prometheus; bash scripts/setup.sh installs it)");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
            "promtool check metrics: {out:?}\n{text}"
        );
    }
}
