//! The binary's command line: `check-config` on good and bad files, `--version`, and `status`
//! without a daemon.

use std::process::Command;

fn meridian() -> Command {
    Command::new(env!("CARGO_BIN_EXE_meridian"))
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn check_config_accepts_every_shipped_example() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut files = vec![dir.join("meridian.toml")];
    files.extend(
        std::fs::read_dir(dir.join("profiles"))
            .unwrap()
            .map(|e| e.unwrap().path()),
    );
    for f in files {
        let o = meridian().arg("check-config").arg(&f).output().unwrap();
        assert!(
            o.status.success(),
            "{}: {}",
            f.display(),
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "ok");
    }
}

#[test]
fn check_config_names_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "[clock]\npriority1 = 1\nbogus-key = 2\n[[port]]\ninterface = \"e\"\n",
            "line 3",
            "bogus-key",
        ),
        (
            "[[port]]\ninterface = \"e\"\ndscp = 64\n",
            "line 3",
            "port[0].dscp",
        ),
        (
            "[[port]]\ninterface = \"e\"\ntransport = \"udp4\"\n",
            "line 3",
            "udp4",
        ),
        (
            "[clock]\nprofile = \"smpte\"\n[[port]]\ninterface = \"e\"\n",
            "line 2",
            "smpte",
        ),
        (
            "[dataplane]\nbackend = \"dpdk\"\n[[port]]\ninterface = \"e\"\n",
            // Without the feature the backend itself is refused; with it, the port lacks
            // its DPDK device.
            if cfg!(feature = "dpdk") {
                "line 3"
            } else {
                "line 2"
            },
            if cfg!(feature = "dpdk") {
                "port[0].dpdk-device"
            } else {
                "dataplane.backend"
            },
        ),
    ];
    for (i, (text, line, key)) in cases.iter().enumerate() {
        let f = write(&dir, &format!("c{i}.toml"), text);
        let o = meridian().arg("check-config").arg(&f).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{text}");
        assert!(err.contains(line) && err.contains(key), "case {i}: {err}");
    }
}

#[test]
fn version_and_status_without_daemon() {
    let o = meridian().arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("meridian "));
    let dir = tempfile::tempdir().unwrap();
    let o = meridian()
        .args(["status", "--socket"])
        .arg(dir.path().join("nope.sock"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is meridian running?"));
}

/// `meridian status` exits 0 when a port serves (MASTER), 2 when the daemon answers but no
/// port serves, 1 when nothing answers: a real control socket served by this test with the
/// daemon's own report type, and the real binary.
#[test]
fn status_exit_code_says_whether_a_port_serves() {
    use meridian::control::{PortReport, StatusReport};
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    for (states, code) in [
        (vec!["MASTER"], 0i32),
        (vec!["PASSIVE", "MASTER"], 0),
        (vec!["PASSIVE"], 2),
        (vec!["LISTENING", "FAULTY"], 2),
        (vec![], 2),
    ] {
        let sock = dir.path().join(format!("c{}.sock", states.join("-")));
        let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let report = StatusReport {
            version: "test".into(),
            uptime_s: 1,
            clock: Default::default(),
            ports: states
                .iter()
                .enumerate()
                .map(|(i, s)| PortReport {
                    number: i as u16 + 1,
                    state: s.to_string(),
                    ..Default::default()
                })
                .collect(),
            stats: Default::default(),
            residence: None,
            loops: Vec::new(),
        };
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            s.write_all(&serde_json::to_vec(&report).unwrap()).unwrap();
        });
        let o = meridian()
            .args(["status", "--json", "--socket"])
            .arg(&sock)
            .output()
            .unwrap();
        server.join().unwrap();
        assert_eq!(o.status.code(), Some(code), "{states:?}: {o:?}");
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON printed");
        assert_eq!(v["ports"].as_array().unwrap().len(), states.len());
    }
}

/// `--config FILE` and the positional `FILE` mean the same for every command.
#[test]
fn config_file_by_option_or_position() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/meridian.toml");
    for args in [
        vec!["check-config".into(), dir.display().to_string()],
        vec![
            "check-config".into(),
            "--config".into(),
            dir.display().to_string(),
        ],
        vec![
            "check-config".into(),
            "-c".into(),
            dir.display().to_string(),
        ],
    ] {
        let o = meridian().args(&args).output().unwrap();
        assert!(o.status.success(), "{args:?}: {o:?}");
    }
    let o = meridian()
        .args(["check-config", "--config", "a.toml", "b.toml"])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(2),
        "both forms at once is a usage error"
    );
    let o = meridian()
        .args(["check-config", "--config", "/nonexistent/meridian.toml"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/meridian.toml"));
}
