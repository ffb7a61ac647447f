//! The daemon's status and histograms as Prometheus metric families, encoded as text by the
//! `prometheus` crate. Conventions: every name starts `meridian_`; durations in seconds;
//! counters end `_total`; one `meridian_build_info` series; per-port series are labelled
//! `port` (the portNumber), never per slave.

use std::collections::BTreeMap;

use prometheus::proto::{
    Bucket, Counter, Gauge, Histogram, LabelPair, Metric, MetricFamily, MetricType,
};
use prometheus::{Encoder as _, TextEncoder};

use super::{LatencyReport, ResidenceSeries};
use crate::control::{ClockReport, PortReport, StatusReport};

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
    /// Residence-time histograms, per port (index = port number − 1).
    pub residence: &'a [ResidenceSeries],
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
        families.extend(engine_families(r));
        families.extend(clock_families(&r.clock));
    }
    families.push(residence_family(s.residence));
    families.retain(|f| !f.get_metric().is_empty());
    let mut out = Vec::new();
    // The families are built here with valid names and types: encoding cannot fail.
    let _ = TextEncoder::new().encode(&families, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

fn labels(pairs: &[(&str, &str)]) -> Vec<LabelPair> {
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
        let mut by_reason: BTreeMap<&str, u64> = BTreeMap::new();
        for (name, &v) in &p.counters {
            let bare = name.strip_prefix("pipeline_").unwrap_or(name);
            if let Some(reason) = DROP_REASONS.iter().find(|r| **r == bare) {
                *by_reason.entry(reason.trim_start_matches("rx_")).or_default() += v;
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
    for (name, values) in other {
        out.push(counter(&name, "A data-plane counter of the port.", values));
    }
    out
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
        one(
            "meridian_clock_state",
            "0 free-running, 1 locked (the reference is synchronised and traceable), 2 holdover.",
            flag(c.time_traceable),
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

/// `meridian_residence_seconds{port,message_type}`.
fn residence_family(series: &[ResidenceSeries]) -> MetricFamily {
    let mut metrics = Vec::new();
    for (i, s) in series.iter().enumerate() {
        let port = (i + 1).to_string();
        for (kind, h) in s.by_kind() {
            let rep = LatencyReport::of(&h.snapshot());
            let mut m = Metric::from_label(labels(&[
                ("port", &port),
                ("message_type", kind.label()),
            ]));
            m.set_histogram(histogram(&rep));
            metrics.push(m);
        }
    }
    family(
        "meridian_residence_seconds",
        "Residence time: request RX stamp to reply TX stamp (configured latencies excluded).",
        MetricType::HISTOGRAM,
        metrics,
    )
}

fn histogram(rep: &LatencyReport) -> Histogram {
    let mut h = Histogram::default();
    h.set_sample_count(rep.count);
    h.set_sample_sum(rep.sum_ns as f64 * 1e-9);
    let buckets = BUCKETS_NS
        .iter()
        .zip(rep.cumulative_at(&BUCKETS_NS))
        .map(|(&bound, n)| {
            let mut b = Bucket::default();
            b.set_upper_bound(bound as f64 * 1e-9);
            b.set_cumulative_count(n);
            b
        })
        .collect();
    h.set_bucket(buckets);
    h
}
