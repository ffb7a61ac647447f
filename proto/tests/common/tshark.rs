//! Checking frames we built with Wireshark's decoder: no malformed frame or expert warning,
//! and every field decodes to the value we wrote.

use std::collections::BTreeMap;
use std::process::Command;

use super::pcap;

/// Writes `frames` to a pcap under a temporary directory named after `name`, runs `tshark` on
/// it and asserts that no frame is malformed or draws an expert warning, and that frame `i`
/// has every `(field, value)` of `expect[i]` (fields repeated in order). Skipped (with a
/// line saying so) when `MERIDIAN_SKIP_TSHARK` is set.
pub fn check_decodes(name: &str, frames: &[Vec<u8>], expect: &[Vec<(&str, String)>]) {
    if std::env::var_os("MERIDIAN_SKIP_TSHARK").is_some() {
        eprintln!("SKIPPED: MERIDIAN_SKIP_TSHARK is set");
        return;
    }
    let dir = std::env::temp_dir().join(format!("meridian-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.pcap"));
    std::fs::write(&path, pcap::write(frames)).unwrap();
    let run = |args: &[&str]| {
        let o = Command::new("tshark")
            .args(["-n", "-o", "gui.max_tree_depth:64", "-r"])
            .arg(&path)
            .args(args)
            .output()
            .expect("tshark is required: apt-get install tshark (or set MERIDIAN_SKIP_TSHARK=1)");
        assert!(
            o.status.success(),
            "tshark failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    };
    // No malformed frame, no expert warning or error.
    let bad = run(&["-Y", "_ws.malformed || _ws.expert.severity >= warning"]);
    assert!(bad.trim().is_empty(), "tshark flags frames:\n{bad}");
    let json: serde_json::Value =
        serde_json::from_str(&run(&["-T", "json", "--no-duplicate-keys"])).unwrap();
    let pkts = json.as_array().unwrap();
    assert_eq!(pkts.len(), frames.len());
    let mut mismatches = Vec::new();
    for (i, (pkt, expect)) in pkts.iter().zip(expect).enumerate() {
        let mut fields = BTreeMap::new();
        flatten(pkt, None, &mut fields);
        let mut want: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (k, v) in expect {
            want.entry(k).or_default().push(v.clone());
        }
        for (k, vals) in want {
            let got = fields.get(k).cloned().unwrap_or_default();
            if got != vals {
                mismatches.push(format!("frame {i}: {k}: tshark {got:?}, wrote {vals:?}"));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    std::fs::remove_dir_all(&dir).ok();
}

/// Flattens tshark's JSON tree into field name → values in document order. A `X_tree`
/// subtree repeats field `X` itself; that repetition is skipped.
fn flatten(v: &serde_json::Value, skip: Option<&str>, out: &mut BTreeMap<String, Vec<String>>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                if Some(k.as_str()) == skip {
                    continue;
                }
                let sub = k.strip_suffix("_tree");
                match v {
                    serde_json::Value::String(s) => {
                        out.entry(k.clone()).or_default().push(s.clone())
                    }
                    serde_json::Value::Array(a) => {
                        for x in a {
                            if let serde_json::Value::String(s) = x {
                                out.entry(k.clone()).or_default().push(s.clone());
                            } else {
                                flatten(x, sub, out);
                            }
                        }
                    }
                    other => flatten(other, sub, out),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| flatten(x, None, out)),
        _ => {}
    }
}
