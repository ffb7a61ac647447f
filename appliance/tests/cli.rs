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
