//! The side-by-side benchmark's harness (issue 16), short: `compare --quick` runs ptp4l,
//! Meridian on sockets and Meridian on DPDK (`net_af_xdp`) against the slave swarm, one point
//! each — a multicast Delay_Req trial, 100 unicast slaves negotiating, one accuracy round — and
//! fails when the harness did not work (a system answered nothing, no unicast slave was
//! served, an accuracy window had no samples). It checks the harness, not the figures; the
//! figures come from the full run (`bench/compare.sh`, bench/README.md).

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use meridian_interop::{meridian_binary, meridian_dpdk_binary};

/// `swarm` and `compare`, built like the daemon under test (optimised test profile).
fn bench_binaries() -> PathBuf {
    let daemon = meridian_binary();
    let profile_dir = daemon.parent().expect("target/<profile>").to_path_buf();
    let target = profile_dir.parent().expect("target").to_path_buf();
    let out = Command::new(env!("CARGO"))
        .args([
            "build",
            "--quiet",
            "-p",
            "meridian-bench",
            "--bin",
            "swarm",
            "--bin",
            "compare",
            "--profile",
            "test",
            "--target-dir",
        ])
        .arg(&target)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("cargo build -p meridian-bench");
    assert!(
        out.status.success(),
        "building swarm and compare:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    profile_dir
}

#[test]
fn compare_quick_runs_every_system() {
    if std::env::var("MERIDIAN_SKIP_NETNS").as_deref() == Ok("1") {
        eprintln!("SKIPPED compare_quick_runs_every_system: MERIDIAN_SKIP_NETNS=1");
        return;
    }
    let dir = bench_binaries();
    let out_dir = std::env::temp_dir().join(format!("meridian-compare-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out_dir);
    let compare = dir.join("compare");
    let out = Command::new("timeout")
        .arg(Duration::from_secs(600).as_secs().to_string())
        .arg(&compare)
        .args(["--quick", "--dpdk", "--out"])
        .arg(&out_dir)
        .env("MERIDIAN_BIN", meridian_binary())
        .env("MERIDIAN_DPDK_BIN", meridian_dpdk_binary())
        .output()
        .expect("run compare");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "compare --quick failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out_dir.join("compare.json")).expect("compare.json"),
    )
    .expect("compare.json is JSON");
    for sys in ["ptp4l", "meridian", "meridian-dpdk"] {
        let v = &report["systems"][sys];
        // The one multicast trial (10 k/s) and the fixed-load one (5 k/s) were answered in full.
        let t = &v["capacity"]["trials"][0];
        assert!(
            t["served"].as_f64().unwrap_or(0.0) > 9_000.0,
            "{sys}: multicast trial {t}"
        );
        assert!(
            v["latency_fixed"][0]["latency_ns"]["p50"]
                .as_u64()
                .unwrap_or(0)
                > 0
        );
        // Every one of the 100 unicast slaves negotiated and got its Syncs.
        assert_eq!(v["unicast"][0]["served"], 100, "{sys}: {}", v["unicast"][0]);
        let acc = &v["accuracy"][0];
        assert_eq!(acc["quiet"]["n"], 3, "{sys}: {acc}");
        assert_eq!(acc["loaded"]["n"], 3, "{sys}: {acc}");
    }
    for png in ["served.png", "latency.png", "offsets.png"] {
        let bytes = std::fs::read(out_dir.join(png)).expect(png);
        assert!(bytes.starts_with(b"\x89PNG"), "{png} is not a PNG");
    }
    assert!(
        stdout.contains("| **meridian** |"),
        "summary table:\n{stdout}"
    );
    let _ = std::fs::remove_dir_all(&out_dir);
}
