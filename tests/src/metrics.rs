//! Reading Meridian's Prometheus exporter from inside a lab namespace, and judging what it
//! serves with Prometheus's own `promtool`.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::{Lab, Node};

/// The body of `GET /metrics` from the exporter on `127.0.0.1:port` in `node`'s namespace
/// (bash's `/dev/tcp`, so no HTTP client is needed). Panics if it does not answer 200.
pub fn scrape(lab: &Lab, node: &Node, port: u16) -> String {
    let script = format!(
        "exec 3<>/dev/tcp/127.0.0.1/{port} && printf 'GET /metrics HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3"
    );
    let out = lab.run(node, &["bash", "-c", &script], Duration::from_secs(10));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer from the exporter: {out:?}"));
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "exporter: {head}"
    );
    body.to_owned()
}

/// Runs `promtool check metrics` on `text`; panics with whatever it complains about.
pub fn promtool_check(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus: bash scripts/setup.sh)");
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(text.as_bytes()).expect("write to promtool");
    }
    let out = child.wait_with_output().expect("promtool");
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool check metrics: {}{}\n--- metrics:\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The value of the series written exactly `series` (name and sorted labels, e.g.
/// `meridian_port_serving{port="1"}`) in exposition `text`.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

/// Percent-encodes `s` for a URL query value.
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `GET path` from the HTTP server on `127.0.0.1:port` in `node`'s namespace, parsed as
/// JSON (a Prometheus API answer); `None` if nothing answers or the body is not JSON.
pub fn try_http_json(lab: &Lab, node: &Node, port: u16, path: &str) -> Option<serde_json::Value> {
    // The path goes in as an argument, never into printf's format (it holds % escapes).
    let script = format!(
        "exec 3<>/dev/tcp/127.0.0.1/{port} && printf 'GET %s HTTP/1.0\\r\\n\\r\\n' \"$0\" >&3 && cat <&3"
    );
    let out = lab.run(
        node,
        &["bash", "-c", &script, path],
        Duration::from_secs(10),
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let body = text.split_once("\r\n\r\n")?.1;
    serde_json::from_str(body).ok()
}

/// [`try_http_json`], panicking when there is no JSON answer.
pub fn http_json(lab: &Lab, node: &Node, port: u16, path: &str) -> serde_json::Value {
    try_http_json(lab, node, port, path)
        .unwrap_or_else(|| panic!("GET {path} on 127.0.0.1:{port}: no JSON answer"))
}

/// An instant PromQL query against the Prometheus server on `127.0.0.1:port` in `node`'s
/// namespace; the `data.result` array (panics unless the query succeeded).
pub fn prom_query(lab: &Lab, node: &Node, port: u16, expr: &str) -> Vec<serde_json::Value> {
    let v = http_json(
        lab,
        node,
        port,
        &format!("/api/v1/query?query={}", urlencode(expr)),
    );
    assert_eq!(v["status"], "success", "query {expr}: {v}");
    v["data"]["result"].as_array().cloned().unwrap_or_default()
}

/// [`prom_query`], or `None` while the server does not answer yet.
pub fn try_prom_query(
    lab: &Lab,
    node: &Node,
    port: u16,
    expr: &str,
) -> Option<Vec<serde_json::Value>> {
    let v = try_http_json(
        lab,
        node,
        port,
        &format!("/api/v1/query?query={}", urlencode(expr)),
    )?;
    (v["status"] == "success").then(|| v["data"]["result"].as_array().cloned().unwrap_or_default())
}

/// The cumulative buckets `(le, count)` of histogram `name` whose other labels are exactly
/// `labels` (sorted, as exposed: `delivery="multicast",port="1"`), in `text`.
pub fn buckets(text: &str, name: &str, labels: &str) -> Vec<(f64, f64)> {
    let prefix = format!("{name}_bucket{{{labels},le=\"");
    text.lines()
        .filter_map(|l| {
            let (le, rest) = l.strip_prefix(&prefix)?.split_once("\"} ")?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((le, rest.trim().parse().ok()?))
        })
        .collect()
}

/// The samples a histogram gained between two scrapes: `(count, q-quantile)` for each `q` in
/// `qs`, a quantile being the upper bound of the first bucket holding that fraction (`+Inf`
/// past the last finite bucket; `NaN` with no samples).
pub fn window_quantiles(
    before: &str,
    after: &str,
    name: &str,
    labels: &str,
    qs: &[f64],
) -> (f64, Vec<f64>) {
    let b = buckets(before, name, labels);
    let a = buckets(after, name, labels);
    assert!(
        !a.is_empty() && a.len() == b.len(),
        "{name}{{{labels}}}: buckets missing"
    );
    let delta: Vec<(f64, f64)> = a
        .iter()
        .zip(&b)
        .map(|(&(le, n1), &(_, n0))| (le, n1 - n0))
        .collect();
    let total = delta.last().map_or(0.0, |d| d.1);
    let q = qs
        .iter()
        .map(|&q| {
            if total <= 0.0 {
                return f64::NAN;
            }
            delta
                .iter()
                .find(|d| d.1 >= q * total)
                .map_or(f64::INFINITY, |d| d.0)
        })
        .collect();
    (total, q)
}

/// The exporter while a real slave is served: `promtool` accepts what it serves, the port is
/// serving, and between `before` and `after` (scrapes taken while the slave gave `samples`
/// offsets, one a second) the Sync count grew by at least `samples` and the Delay_Resp
/// residence histogram by at least half that (the slave's Delay_Reqs), each of them within
/// 10 ms.
pub fn check_metrics_grow(before: &str, after: &str, samples: usize) {
    promtool_check(after);
    let get = |text: &str, series: &str| {
        sample(text, series).unwrap_or_else(|| panic!("no {series} in:\n{text}"))
    };
    assert_eq!(get(after, "meridian_port_serving{port=\"1\"}"), 1.0);
    assert_eq!(get(after, "meridian_engine_responsive"), 1.0);
    let syncs = "meridian_messages_sent_total{type=\"sync\"}";
    let residence = "meridian_residence_seconds_count{message_type=\"delay_resp\",port=\"1\"}";
    let le_10ms =
        "meridian_residence_seconds_bucket{message_type=\"delay_resp\",port=\"1\",le=\"0.01\"}";
    let le_100us =
        "meridian_residence_seconds_bucket{message_type=\"delay_resp\",port=\"1\",le=\"0.0001\"}";
    println!(
        "metrics: Syncs {} → {}, residence samples {} → {} ({} within 10 ms, {} within 100 µs)",
        get(before, syncs),
        get(after, syncs),
        get(before, residence),
        get(after, residence),
        get(after, le_10ms),
        get(after, le_100us)
    );
    assert!(
        get(after, syncs) >= get(before, syncs) + samples as f64,
        "Syncs grew"
    );
    assert!(
        get(after, residence) >= get(before, residence) + samples as f64 / 2.0,
        "residence samples grew with the slave's Delay_Reqs"
    );
    assert_eq!(
        get(after, le_10ms),
        get(after, residence),
        "every residence time within 10 ms"
    );
}
