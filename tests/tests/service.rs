//! Meridian as a systemd service (issue 15), spoken to as systemd does: the daemon runs with
//! `NOTIFY_SOCKET` (a datagram socket this test listens on) and `WATCHDOG_USEC` set, as
//! `Type=notify` with `WatchdogSec=` starts it.
//!
//! * READY=1 comes only once the port's state is decided (MASTER here, after LISTENING), with
//!   a STATUS= line saying so; WATCHDOG=1 comes every second from the engine loop and stops
//!   while the process is stopped (SIGSTOP), which is what makes systemd restart it.
//! * SIGHUP (`systemctl reload`) re-reads the file: priority1, the log level and the unicast
//!   ACL apply at once (the Announces on the wire carry the new priority1), a changed DSCP is
//!   named as needing a restart, and a file that does not check is refused whole with the
//!   running configuration kept.

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use meridian_interop::{meridian_binary, Lab, MeridianConfig, Transport};

/// Every datagram the daemon sent to the notify socket within `wait` (each split in lines),
/// with the time it came.
fn collect(sock: &UnixDatagram, wait: Duration) -> Vec<(Instant, String)> {
    let end = Instant::now() + wait;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        sock.set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .expect("timeout");
        match sock.recv(&mut buf) {
            Ok(n) => {
                let now = Instant::now();
                for line in String::from_utf8_lossy(&buf[..n]).lines() {
                    out.push((now, line.to_string()));
                }
            }
            Err(_) => break,
        }
    }
    out
}

fn lines(msgs: &[(Instant, String)]) -> Vec<&str> {
    msgs.iter().map(|(_, l)| l.as_str()).collect()
}

/// Waits until a message satisfying `want` comes (within `wait`); returns everything read.
fn until(
    sock: &UnixDatagram,
    wait: Duration,
    want: impl Fn(&str) -> bool,
) -> Vec<(Instant, String)> {
    let end = Instant::now() + wait;
    let mut all = Vec::new();
    while Instant::now() < end {
        let got = collect(sock, Duration::from_millis(200));
        let done = got.iter().any(|(_, l)| want(l));
        all.extend(got);
        if done {
            return all;
        }
    }
    panic!("not within {wait:?}; got {:?}", lines(&all));
}

#[test]
fn notify_watchdog_and_reload() {
    let Some(lab) = Lab::pair("service") else {
        return;
    };
    let gm = lab.node(0);
    let notify = lab.path("notify.sock");
    let sock = UnixDatagram::bind(&notify).expect("bind the notify socket");
    // What systemd sets for Type=notify with WatchdogSec=10 (WATCHDOG_PID: the daemon, which
    // the shell becomes by exec).
    let wrapper = lab.write(
        "meridian-under-systemd.sh",
        &format!(
            "#!/bin/sh\nexport NOTIFY_SOCKET={} WATCHDOG_USEC=10000000 WATCHDOG_PID=$$\n\
             exec {} \"$@\"\n",
            notify.display(),
            meridian_binary().display()
        ),
    );
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let cfg = MeridianConfig::new(gm, Transport::UdpV4);
    let mut capture = lab.capture(gm);
    let started = Instant::now();
    let mut m = lab.meridian_with(wrapper, gm, &cfg.to_toml());

    // READY only once the port has left LISTENING (the lab's Announce receipt timeout: 3 s).
    let msgs = until(&sock, Duration::from_secs(20), |l| l == "READY=1");
    let ready_at = msgs
        .iter()
        .find(|(_, l)| l == "READY=1")
        .map(|(t, _)| *t)
        .expect("READY");
    let after = ready_at.duration_since(started);
    println!("READY=1 after {after:?}; messages {:?}", lines(&msgs));
    assert!(
        after > Duration::from_millis(2_500),
        "READY before the port decided: {after:?}"
    );
    assert!(
        lines(&msgs).contains(&"STATUS=port 1 MASTER; clockClass 248"),
        "{:?}",
        lines(&msgs)
    );
    assert_eq!(m.port_state(1).as_deref(), Ok("MASTER"));

    // WATCHDOG=1 about every second.
    let msgs = collect(&sock, Duration::from_secs(4));
    let pings = lines(&msgs).iter().filter(|l| **l == "WATCHDOG=1").count();
    assert!((3..=6).contains(&pings), "{pings} pings in 4 s");
    // A stopped process pings no more (systemd restarts it after WatchdogSec); it resumes.
    let pid = m.daemon_pid().to_string();
    let kill = |sig: &str| {
        let ok = std::process::Command::new("kill")
            .args([sig, &pid])
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill {sig} {pid}");
    };
    kill("-STOP");
    let stopped = collect(&sock, Duration::from_secs(3));
    kill("-CONT");
    assert!(
        !lines(&stopped).contains(&"WATCHDOG=1"),
        "pings from a stopped process: {:?}",
        lines(&stopped)
    );
    until(&sock, Duration::from_secs(5), |l| l == "WATCHDOG=1");

    // Reload: priority1 and the log level apply, the DSCP needs a restart.
    let path = m.config_path().to_path_buf();
    let original = std::fs::read_to_string(&path).expect("config");
    let edited = original
        .replacen("[clock]\n", "[clock]\npriority1 = 100\n", 1)
        .replacen("level = \"info\"", "level = \"debug\"", 1);
    let edited = edited.replacen("[[port]]\n", "[[port]]\ndscp = 40\n", 1);
    assert_ne!(edited, original);
    std::fs::write(&path, &edited).expect("write config");
    kill("-HUP");
    let msgs = until(&sock, Duration::from_secs(5), |l| {
        l.starts_with("STATUS=configuration reloaded")
    });
    println!("reload: {:?}", lines(&msgs));
    assert!(lines(&msgs).contains(&"RELOADING=1"));
    assert!(
        lines(&msgs).contains(
            &"STATUS=configuration reloaded: applied clock.priority1, logging.level; \
              needs a restart: port[0].dscp"
        ),
        "{:?}",
        lines(&msgs)
    );
    let status = m.status().expect("status");
    assert_eq!(status["clock"]["priority1"], 100, "{status}");
    // A file that does not check: refused, the running configuration stays.
    std::fs::write(
        &path,
        edited.replacen("priority1 = 100", "priority1 = 300", 1),
    )
    .expect("write config");
    kill("-HUP");
    let msgs = until(&sock, Duration::from_secs(5), |l| {
        l.starts_with("STATUS=configuration not reloaded")
    });
    let refused = lines(&msgs)
        .into_iter()
        .find(|l| l.starts_with("STATUS=configuration not reloaded"))
        .unwrap_or_default()
        .to_string();
    assert!(refused.contains("clock.priority1"), "{refused}");
    assert_eq!(m.status().expect("status")["clock"]["priority1"], 100);
    std::thread::sleep(Duration::from_secs(3));
    m.stop_gracefully();
    capture.stop();
    let log = m.log();
    assert!(log.contains("DEBUG"), "the debug level applied:\n{log}");
    // On the wire: Announces with priority1 128, then 100.
    let out = std::process::Command::new("tshark")
        .arg("-r")
        .arg(capture.file())
        .args([
            "-Y",
            &format!("ip.src == {} && ptp.v2.messagetype == 0xb", gm.ip),
            "-T",
            "fields",
            "-e",
            "ptp.v2.an.priority1",
        ])
        .output()
        .expect("tshark");
    let seen: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(seen.first().map(String::as_str), Some("128"), "{seen:?}");
    assert_eq!(seen.last().map(String::as_str), Some("100"), "{seen:?}");
    assert!(
        lines(&collect(&sock, Duration::from_millis(500))).contains(&"STOPPING=1")
            || log.contains("stopping"),
        "a clean stop"
    );
}
