//! The soak (hardening issue 13; a benchmark, not a CI test — run by `bench/soak.sh`):
//! Meridian serving unicast for an hour while slaves churn — 20 real ptp4l clients that
//! come and go (10–60 s on, 5–20 s off, 20 s grants) and forged negotiation from 800
//! addresses, each asking every ~80 s for 60 s grants, so forged slaves are added and
//! expire all the time (≈ 600 live) — sampling the daemon's
//! RSS every 10 s. Passes when the RSS of the last quarter is within 2 MiB of the second
//! quarter's (after warm-up) and the port stayed MASTER; prints the series for
//! `bench/README.md`.
//!
//! `SOAK_MINUTES` sets the length (default 60).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use meridian_interop::{ptp4l_unicast_client_cfg, Lab, MeridianConfig, Transport};

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

#[test]
#[ignore = "an hour long: bench/soak.sh"]
fn soak_with_churning_slaves() {
    const CLIENTS: usize = 20;
    let minutes: u64 = std::env::var("SOAK_MINUTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let length = Duration::from_secs(minutes * 60);
    let Some(mut lab) = Lab::bridged("soak", CLIENTS + 2) else {
        return;
    };
    lab.set_lifetime(length + Duration::from_secs(120));
    let lab = Arc::new(lab);
    let gm = lab.node(0).clone();
    let out = lab.run(
        &gm,
        &["ip", "route", "add", "10.78.0.0/16", "dev", &gm.iface],
        Duration::from_secs(5),
    );
    assert!(out.status.success(), "{out:?}");
    let cfg = MeridianConfig::new(&gm, Transport::UdpV4)
        .port("unicast", "true")
        .port("multicast", "false")
        .port("master-only", "true")
        .set("metrics", "per-slave", "true");
    let mut m = lab.meridian(&gm, &cfg.to_toml());
    m.wait_port_state(1, "MASTER", Duration::from_secs(15));
    let pid = m.daemon_pid();
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();

    // Real clients coming and going.
    let churners: Vec<_> = (1..=CLIENTS)
        .map(|i| {
            let (lab, stop, gm) = (lab.clone(), stop.clone(), gm.clone());
            std::thread::spawn(move || {
                let node = lab.node(i).clone();
                let mut seed = 0x9e37_79b9_7f4a_7c15u64 ^ i as u64;
                let mut next = |lo: u64, hi: u64| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    lo + seed % (hi - lo)
                };
                let mut sessions = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    let mut p = lab.ptp4l_slave(
                        &node,
                        Transport::UdpV4,
                        &ptp4l_unicast_client_cfg(&gm, &node, 20),
                    );
                    let on = Duration::from_secs(next(10, 60));
                    let t = Instant::now();
                    while t.elapsed() < on && !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(500));
                    }
                    p.stop();
                    sessions += 1;
                    let off = Duration::from_secs(next(5, 20));
                    let t = Instant::now();
                    while t.elapsed() < off && !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(500));
                    }
                }
                sessions
            })
        })
        .collect();
    // Forged negotiation: slave entries created, filled to max-slaves, expiring.
    let tool = concat!(env!("CARGO_MANIFEST_DIR"), "/tools/ptp-spoof.py");
    let mut spoof = lab.spawn(
        lab.node(CLIENTS + 1),
        "spoof",
        &[
            "python3".into(),
            tool.into(),
            "--dst".into(),
            gm.ip.to_string(),
            "--spoof".into(),
            "10.78.0.0/16".into(),
            "--count".into(),
            "800".into(),
            "--victims".into(),
            format!("{}-{}", lab.node(1).ip, lab.node(CLIENTS).ip),
            // 10 REQUESTs/s over 800 addresses: each every 80 s, past its 60 s grant. (Not
            // more addresses: the kernel's neighbour table is one for the whole host, 1024
            // entries by default, and every forged grantee takes one.)
            "--rate".into(),
            "20".into(),
            "--seconds".into(),
            length.as_secs().to_string(),
        ],
    );

    let mut samples: Vec<(u64, u64, u64)> = Vec::new(); // (s, RSS KiB, slaves)
    while started.elapsed() < length {
        std::thread::sleep(Duration::from_secs(10));
        let st = m.status().ok();
        let slaves = st
            .as_ref()
            .and_then(|s| s["ports"][0]["unicast_slaves"].as_u64())
            .unwrap_or(0);
        let state = m.port_state(1).unwrap_or_default();
        assert_eq!(state, "MASTER", "at {:?}", started.elapsed());
        samples.push((started.elapsed().as_secs(), rss_kib(pid), slaves));
        if samples.len() % 30 == 0 {
            let (t, r, n) = samples[samples.len() - 1];
            println!("soak: {t:>5} s  RSS {r} KiB  slaves {n}");
        }
    }
    stop.store(true, Ordering::Relaxed);
    let sessions: u32 = churners.into_iter().map(|h| h.join().unwrap_or(0)).sum();
    spoof.stop();
    let status = m.status().expect("status");
    m.stop_gracefully();

    let q = samples.len() / 4;
    let mean = |s: &[(u64, u64, u64)]| s.iter().map(|x| x.1).sum::<u64>() / s.len().max(1) as u64;
    let (second, last) = (mean(&samples[q..2 * q]), mean(&samples[3 * q..]));
    let max = samples.iter().map(|s| s.1).max().unwrap_or(0);
    let min = samples.iter().map(|s| s.1).min().unwrap_or(0);
    println!(
        "soak: {minutes} min, {} samples, {sessions} client sessions",
        samples.len()
    );
    println!(
        "soak: RSS KiB first {} · min {min} · max {max} · 2nd-quarter mean {second} · last-quarter mean {last} · end {}",
        samples[0].1,
        samples[samples.len() - 1].1
    );
    println!(
        "soak: grants {} · slaves removed {} · expired {} · denials {}",
        status["stats"]["grants"],
        status["stats"]["slaves_removed"],
        status["stats"]["grants_expired"],
        status["stats"]["denials"]
    );
    let csv: String = samples
        .iter()
        .map(|(t, r, n)| format!("{t},{r},{n}\n"))
        .collect();
    let path = std::env::var("SOAK_CSV").unwrap_or_else(|_| "/tmp/meridian-soak.csv".into());
    std::fs::write(&path, format!("seconds,rss_kib,slaves\n{csv}")).expect("csv");
    println!("soak: series in {path}");
    assert!(last <= second + 2048, "RSS grew: {second} KiB → {last} KiB");
}
