//! The socket data plane over real sockets: two network namespaces this test creates, joined
//! by a veth pair, one `SocketPort` at each end, for every transport.
//!
//! Needs root and `ip netns` (iproute2). Without them every test here FAILS, saying so,
//! unless `MERIDIAN_SKIP_NETNS=1` is set, in which case they print SKIPPED and pass.
//!
//! Each test builds its own topology with names carrying its tag (`mdp-test-a-<tag>`,
//! `mdp-a-<tag>`, …), so the tests run in parallel, and removes it when done, panic or not.
//! The veths are created directly inside the namespaces: nothing of the host's network is
//! touched. Addresses: 10.77.0.1/24 and 10.77.0.2/24, fe80::a and fe80::b, fd77::1 and
//! fd77::2 (all `nodad`, no autoconfigured link-local), MACs 02:00:00:77:00:01 and :02.
//!
//! A port is opened from a thread that first joins the namespace (`setns`); its sockets stay
//! in that namespace, so the test thread then drives both ends.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use meridian::clock::realtime_ns;
use meridian::dataplane::{
    poll_readable, RawStamp, RxFrame, SocketPort, SocketPortConfig, StampSource, TimestampingMode,
    Transport,
};
use meridian_proto::engine::{Destination, PeerAddress};
use meridian_proto::wire::Timestamp;

const MAC_A: [u8; 6] = [0x02, 0, 0, 0x77, 0, 0x01];
const MAC_B: [u8; 6] = [0x02, 0, 0, 0x77, 0, 0x02];
const LL_A: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a];
const LL_B: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0b];
const ULA_A: [u8; 16] = [0xfd, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01];
const ULA_B: [u8; 16] = [0xfd, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02];
const WAIT: Duration = Duration::from_secs(3);

/// Whether to run: true if root and `ip netns` work; false (after printing SKIPPED) if
/// MERIDIAN_SKIP_NETNS=1; otherwise a failure explaining what is missing.
fn netns_available(test: &str) -> bool {
    if std::env::var("MERIDIAN_SKIP_NETNS").as_deref() == Ok("1") {
        println!("SKIPPED {test}: MERIDIAN_SKIP_NETNS=1");
        return false;
    }
    let euid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(str::to_owned))
        })
        .unwrap_or_default();
    let problem = if euid != "0" {
        Some(format!("not running as root (effective uid {euid:?})"))
    } else {
        match Command::new("ip")
            .args(["netns", "list"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
        {
            Ok(s) if s.success() => None,
            Ok(s) => Some(format!("`ip netns list` failed ({s})")),
            Err(e) => Some(format!("cannot run `ip` (iproute2): {e}")),
        }
    };
    if let Some(p) = problem {
        panic!(
            "{test} needs root and `ip netns` to build network namespaces and veths: {p}. \
             Run as root, or set MERIDIAN_SKIP_NETNS=1 to skip these tests."
        );
    }
    true
}

fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .expect("cannot run `ip`");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn ip_quiet(args: &[&str]) {
    let _ = Command::new("ip")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Two namespaces and a veth pair between them; removed on drop (also when a test panics).
struct Topology {
    ns_a: String,
    ns_b: String,
    if_a: String,
    if_b: String,
}

impl Topology {
    fn new(tag: &str) -> Topology {
        let t = Topology {
            ns_a: format!("mdp-test-a-{tag}"),
            ns_b: format!("mdp-test-b-{tag}"),
            if_a: format!("mdp-a-{tag}"),
            if_b: format!("mdp-b-{tag}"),
        };
        // Leftovers of a run that was killed.
        ip_quiet(&["netns", "del", &t.ns_a]);
        ip_quiet(&["netns", "del", &t.ns_b]);
        ip(&["netns", "add", &t.ns_a]);
        ip(&["netns", "add", &t.ns_b]);
        ip(&[
            "link",
            "add",
            "name",
            &t.if_a,
            "netns",
            &t.ns_a,
            "address",
            "02:00:00:77:00:01",
            "type",
            "veth",
            "peer",
            "name",
            &t.if_b,
            "netns",
            &t.ns_b,
            "address",
            "02:00:00:77:00:02",
        ]);
        for (ns, dev, v4, ll, ula) in [
            (&t.ns_a, &t.if_a, "10.77.0.1/24", "fe80::a/64", "fd77::1/64"),
            (&t.ns_b, &t.if_b, "10.77.0.2/24", "fe80::b/64", "fd77::2/64"),
        ] {
            ip(&["-n", ns, "link", "set", dev, "addrgenmode", "none"]);
            ip(&["-n", ns, "addr", "add", v4, "dev", dev]);
            ip(&["-n", ns, "addr", "add", ll, "dev", dev, "nodad"]);
            ip(&["-n", ns, "addr", "add", ula, "dev", dev, "nodad"]);
            ip(&["-n", ns, "link", "set", dev, "up"]);
        }
        // Until the kernel's link watcher has seen the carrier (up to a second), the veth's
        // queue discipline drops everything sent: wait for operational state UP.
        let deadline = Instant::now() + WAIT;
        for (ns, dev) in [(&t.ns_a, &t.if_a), (&t.ns_b, &t.if_b)] {
            loop {
                let out = Command::new("ip")
                    .args(["-n", ns, "-o", "link", "show", "dev", dev])
                    .output()
                    .expect("cannot run `ip`");
                if String::from_utf8_lossy(&out.stdout).contains("state UP") {
                    break;
                }
                assert!(Instant::now() < deadline, "{dev} in {ns} did not come up");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        t
    }

    fn config(&self, a: bool, transport: Transport, vlan: Option<(u16, u8)>) -> SocketPortConfig {
        SocketPortConfig {
            interface: if a { &self.if_a } else { &self.if_b }.clone(),
            transport,
            timestamping: TimestampingMode::Software,
            dscp: 46,
            vlan,
            ipv6_scope: 2,
            multicast: true,
            v1_groups: vec![2],
            pdelay: true,
            reply_stamps: true,
            unresolved_queue_bytes: 2048,
        }
    }

    /// Opens a port in namespace A or B.
    fn open(&self, a: bool, cfg: &SocketPortConfig) -> SocketPort {
        let ns = if a { &self.ns_a } else { &self.ns_b };
        in_netns(ns, || SocketPort::open(cfg)).unwrap_or_else(|e| panic!("open: {e}"))
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        // Deleting a namespace destroys the veth in it, and with it its peer.
        ip_quiet(&["netns", "del", &self.ns_a]);
        ip_quiet(&["netns", "del", &self.ns_b]);
    }
}

/// Runs `f` on a fresh thread that has joined network namespace `ns`.
fn in_netns<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            let file = File::open(format!("/var/run/netns/{ns}"))
                .unwrap_or_else(|e| panic!("/var/run/netns/{ns}: {e}"));
            setns_net(&file).unwrap_or_else(|e| panic!("setns {ns}: {e}"));
            f()
        })
        .join()
        .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}

#[allow(unsafe_code)]
fn setns_net(file: &File) -> std::io::Result<()> {
    // SAFETY: setns takes a descriptor we own (kept open by `file` for the call) and a
    // flag; it changes only the calling thread's network namespace, which is a thread this
    // test spawned for that purpose.
    let r = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// A PTP message of `len` octets: messageType, version 2, messageLength, sequenceId.
fn message(message_type: u8, len: usize, seq: u16) -> Vec<u8> {
    let mut m = vec![0u8; len];
    m[0] = message_type;
    m[1] = 0x02;
    m[2..4].copy_from_slice(&(len as u16).to_be_bytes());
    m[6] = 0x02; // twoStepFlag
    m[20..28].copy_from_slice(&[0x02, 0, 0, 0xff, 0xfe, 0x77, 0, 1]);
    m[29] = 1;
    m[30..32].copy_from_slice(&seq.to_be_bytes());
    m[33] = 0x7f;
    m
}

const SYNC: u8 = 0x0;
const DELAY_REQ: u8 = 0x1;
const PDELAY_REQ: u8 = 0x2;
const FOLLOW_UP: u8 = 0x8;
const DELAY_RESP: u8 = 0x9;

/// Waits for one message on `port`.
fn recv_wait(port: &mut SocketPort, buf: &mut [u8]) -> RxFrame {
    let deadline = Instant::now() + WAIT;
    let fds = port.raw_fds();
    loop {
        if let Some(info) = port.recv(buf).expect("recv") {
            return info;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "nothing received within {WAIT:?}");
        poll_readable(&fds, Some(left.as_nanos() as u64)).expect("poll");
    }
}

/// Asserts that nothing arrives on `port` for a short while.
fn recv_nothing(port: &mut SocketPort, buf: &mut [u8]) {
    let fds = port.raw_fds();
    let _ = poll_readable(&fds, Some(200_000_000)).expect("poll");
    assert_eq!(port.recv(buf).expect("recv"), None);
}

/// Waits for `n` TX timestamps on `port`; polling must report the error queue as ready.
fn tx_stamps(port: &mut SocketPort, n: usize) -> Vec<(u32, i128)> {
    let deadline = Instant::now() + WAIT;
    let fds = port.raw_fds();
    let mut got = Vec::new();
    while got.len() < n {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "only {got:?} of {n} TX timestamps within {WAIT:?}"
        );
        let ready = poll_readable(&fds, Some(left.as_nanos() as u64)).expect("poll");
        if ready.iter().any(|&r| r) {
            port.drain_tx_timestamps(&mut |id, s| match s {
                RawStamp::Ns(ns) => got.push((id, ns)),
                RawStamp::Tsc(_) => panic!("a socket port reported a TSC stamp"),
            })
            .expect("drain");
        }
    }
    got
}

fn assert_stamp_between(what: &str, ts: i128, before: i128, after: i128) {
    assert!(
        before <= ts && ts <= after,
        "{what}: stamp {ts} not within [{before}, {after}] (-{} / +{} ns)",
        before - ts,
        ts - after
    );
    assert!(
        after - ts < 50_000_000,
        "{what}: stamp {} ns old",
        after - ts
    );
}

/// The whole exchange for one transport; `vlan` only for L2.
fn exercise(tag: &str, transport: Transport, vlan: Option<(u16, u8)>) {
    let topo = Topology::new(tag);
    let mut a = topo.open(true, &topo.config(true, transport, vlan));
    let mut b = topo.open(false, &topo.config(false, transport, vlan));
    let mut buf = vec![0u8; 2048];

    assert_eq!(a.stamp_source(), StampSource::Software);
    assert_eq!(a.mac(), MAC_A);
    assert_eq!(b.mac(), MAC_B);
    let (addr_a, mc_src_a, addr_b) = match transport {
        Transport::UdpIpv4 => {
            assert_eq!(a.protocol_address(), vec![10, 77, 0, 1]);
            (
                PeerAddress::Ipv4([10, 77, 0, 1]),
                PeerAddress::Ipv4([10, 77, 0, 1]),
                PeerAddress::Ipv4([10, 77, 0, 2]),
            )
        }
        Transport::UdpIpv6 => {
            // A global (here unique-local) address is preferred over the link-local one.
            assert_eq!(a.protocol_address(), ULA_A.to_vec());
            (
                PeerAddress::Ipv6(ULA_A),
                // Link-scope multicast leaves from the link-local address.
                PeerAddress::Ipv6(LL_A),
                PeerAddress::Ipv6(ULA_B),
            )
        }
        Transport::L2 => {
            assert_eq!(a.protocol_address(), MAC_A.to_vec());
            (
                PeerAddress::Mac(MAC_A),
                PeerAddress::Mac(MAC_A),
                PeerAddress::Mac(MAC_B),
            )
        }
    };
    // UDP/IPv6 carries the two annex-D trailer octets after the message.
    let trailer = if transport == Transport::UdpIpv6 {
        2
    } else {
        0
    };
    // A second, untagged port on B must not take the tagged frames.
    let mut b_untagged = vlan.map(|_| topo.open(false, &topo.config(false, transport, None)));

    // 0. Warm-up. The kernel switches software RX stamping on system-wide from a work queue
    //    when the first socket asks, so right after open a frame can arrive unstamped.
    let mut warm = 0u64;
    loop {
        warm += 1;
        a.send(
            Destination::Multicast,
            true,
            &message(SYNC, 44, 0),
            false,
            None,
        )
        .expect("send warm-up");
        if recv_wait(&mut b, &mut buf).ns().is_some() {
            break;
        }
        assert!(warm < 100, "software RX time stamps never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    if let Some(u) = b_untagged.as_mut() {
        while u.recv(&mut buf).expect("recv").is_some() {}
    }
    let b_unstamped = b.counters().rx_no_timestamp;

    // 1. Multicast Sync A → B, two-step: RX stamp at B, TX stamp at A under the returned id.
    let sync = message(SYNC, 44, 1);
    let before = realtime_ns();
    let id0 = a
        .send(Destination::Multicast, true, &sync, true, None)
        .expect("send Sync")
        .expect("a TX timestamp id");
    let after_send = realtime_ns();
    let rx = recv_wait(&mut b, &mut buf);
    let after_recv = realtime_ns();
    assert_eq!(rx.len, sync.len() + trailer, "{rx:?}");
    assert_eq!(&buf[..sync.len()], &sync[..]);
    assert!(buf[sync.len()..rx.len].iter().all(|&x| x == 0));
    assert!(rx.multicast && rx.event, "{rx:?}");
    assert_eq!(rx.source, mc_src_a);
    let ts = rx.ns().expect("an RX timestamp on an event message");
    assert_stamp_between("RX Sync", ts, before, after_recv);
    let stamps = tx_stamps(&mut a, 1);
    assert_eq!(stamps.len(), 1);
    assert_eq!(stamps[0].0, id0);
    assert_stamp_between("TX Sync", stamps[0].1, before, after_send);
    if let Some(u) = b_untagged.as_mut() {
        recv_nothing(u, &mut buf);
        assert!(u.counters().drops.rx_other_vlan >= 1, "{:?}", u.counters());
    }

    // 2. A general message (not stamped) does not use an id; the next stamped send does.
    let fup = message(FOLLOW_UP, 44, 1);
    assert_eq!(
        a.send(Destination::Multicast, false, &fup, false, None)
            .expect("send Follow_Up"),
        None
    );
    let rx = recv_wait(&mut b, &mut buf);
    assert!(rx.multicast && !rx.event, "{rx:?}");
    assert_eq!(&buf[..fup.len()], &fup[..]);
    if transport != Transport::L2 {
        assert_eq!(rx.ns(), None, "general messages over UDP are not stamped");
    }
    let before = realtime_ns();
    let id1 = a
        .send(
            Destination::Multicast,
            true,
            &message(SYNC, 44, 2),
            true,
            None,
        )
        .expect("send Sync")
        .expect("id");
    let after_send = realtime_ns();
    assert_eq!(id1, id0.wrapping_add(1));
    let stamps = tx_stamps(&mut a, 1);
    assert_eq!(stamps[0].0, id1, "{stamps:?}");
    assert_stamp_between("TX Sync 2", stamps[0].1, before, after_send);
    let _ = recv_wait(&mut b, &mut buf);

    // 3. Unicast: B answers A at the address it saw (general, port 320)…
    let resp = message(DELAY_RESP, 54, 7);
    b.send(Destination::Unicast(mc_src_a), false, &resp, false, None)
        .expect("send Delay_Resp");
    let rx = recv_wait(&mut a, &mut buf);
    assert!(!rx.multicast && !rx.event, "{rx:?}");
    assert_eq!(&buf[..resp.len()], &resp[..]);
    let b_link = match transport {
        Transport::UdpIpv6 => PeerAddress::Ipv6(LL_B),
        _ => addr_b,
    };
    assert_eq!(rx.source, b_link);
    // … and sends an event message to A's protocol address, stamped on arrival.
    let req = message(DELAY_REQ, 44, 8);
    let before = realtime_ns();
    b.send(Destination::Unicast(addr_a), true, &req, false, None)
        .expect("send Delay_Req");
    let rx = recv_wait(&mut a, &mut buf);
    assert!(!rx.multicast && rx.event, "{rx:?}");
    assert_eq!(rx.source, addr_b);
    assert_stamp_between(
        "RX Delay_Req",
        rx.ns().expect("stamp"),
        before,
        realtime_ns(),
    );
    // A answers with a Delay_Resp stamped on its way out (its residence time): over UDP the
    // general socket numbers its stamps apart, marked with the top bit, so the event
    // socket's next id is unchanged; over L2 one socket numbers both.
    let before = realtime_ns();
    let rid = a
        .send(Destination::Unicast(addr_b), false, &resp, true, None)
        .expect("send a stamped Delay_Resp")
        .expect("a TX timestamp id for the reply");
    let after_send = realtime_ns();
    let l2 = transport == Transport::L2;
    assert_eq!(
        rid,
        if l2 { id1.wrapping_add(1) } else { 1 << 31 },
        "{rid:#x}"
    );
    let stamps = tx_stamps(&mut a, 1);
    assert_eq!(stamps[0].0, rid, "{stamps:?}");
    assert_stamp_between("TX Delay_Resp", stamps[0].1, before, after_send);
    let _ = recv_wait(&mut b, &mut buf);
    let sid = a
        .send(
            Destination::Multicast,
            true,
            &message(SYNC, 44, 9),
            true,
            None,
        )
        .expect("send Sync")
        .expect("id");
    assert_eq!(sid, if l2 { rid + 1 } else { id1 + 1 }, "{sid:#x}");
    assert_eq!(tx_stamps(&mut a, 1)[0].0, sid);
    let _ = recv_wait(&mut b, &mut buf);

    // 4. One-step: the launch time is written at offset 34 just before the send.
    let launch = realtime_ns() + 37_000_000_000;
    let mut calls = 0;
    let mut now = || {
        calls += 1;
        launch
    };
    let r = a
        .send(
            Destination::Multicast,
            true,
            &message(SYNC, 44, 3),
            false,
            Some(&mut now),
        )
        .expect("one-step send");
    assert_eq!(r, None);
    assert_eq!(calls, 1);
    let rx = recv_wait(&mut b, &mut buf);
    let want = Timestamp::from_nanos(launch as u128).expect("in range");
    assert_eq!(
        Timestamp::read(&buf, 34, "origin").expect("timestamp"),
        want
    );
    assert_eq!(&buf[30..32], &3u16.to_be_bytes());
    assert!(rx.multicast);

    // 5. Peer-delay group.
    let pd = message(PDELAY_REQ, 54, 9);
    a.send(Destination::PdelayMulticast, true, &pd, false, None)
        .expect("send Pdelay_Req");
    let rx = recv_wait(&mut b, &mut buf);
    assert!(rx.multicast && rx.event, "{rx:?}");
    assert_eq!(&buf[..pd.len()], &pd[..]);

    // 5b. A PTPv1 subdomain group (_ALT2, 224.0.1.131, joined by v1_groups) on UDP/IPv4;
    // other transports refuse it by name.
    if transport == Transport::UdpIpv4 {
        a.send(Destination::V1Group(2), false, &pd, false, None)
            .expect("send to _ALT2");
        let rx = recv_wait(&mut b, &mut buf);
        assert!(rx.multicast && !rx.event, "{rx:?}");
        assert_eq!(&buf[..pd.len()], &pd[..]);
    } else {
        let e = a
            .send(Destination::V1Group(2), false, &pd, false, None)
            .unwrap_err();
        assert!(e.to_string().contains("PTPv1"), "{e}");
    }

    // 6. A message longer than the caller's buffer is skipped and counted, not returned.
    a.send(
        Destination::Multicast,
        false,
        &message(FOLLOW_UP, 200, 10),
        false,
        None,
    )
    .expect("send long");
    let fds = b.raw_fds();
    let _ = poll_readable(&fds, Some(WAIT.as_nanos() as u64)).expect("poll");
    let mut small = [0u8; 64];
    assert_eq!(b.recv(&mut small).expect("recv"), None);
    assert_eq!(b.counters().rx_truncated, 1, "{:?}", b.counters());

    // Wrong address family for the transport: an error naming the interface.
    let wrong = match transport {
        Transport::L2 => PeerAddress::Ipv4([10, 77, 0, 2]),
        _ => PeerAddress::Mac(MAC_B),
    };
    let e = a
        .send(Destination::Unicast(wrong), false, &fup, false, None)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with(&format!("{}: send:", topo.if_a)), "{e}");

    // 7. A stamped send that fails restarts the id count, the kernel's and ours, at 0.
    let (dest, len) = match transport {
        // Broadcast without SO_BROADCAST: EACCES. (An unrouted address would not do: with
        // SO_BINDTODEVICE, IPv4 assumes it is on the link.)
        Transport::UdpIpv4 => (PeerAddress::Ipv4([255, 255, 255, 255]), 44),
        // No route: ENETUNREACH.
        Transport::UdpIpv6 => {
            let mut doc = [0u8; 16];
            doc[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
            doc[15] = 1;
            (PeerAddress::Ipv6(doc), 44)
        }
        // Larger than the MTU.
        Transport::L2 => (PeerAddress::Mac(MAC_B), 1600),
    };
    let e = a
        .send(
            Destination::Unicast(dest),
            true,
            &message(SYNC, len, 11),
            true,
            None,
        )
        .expect_err("broadcast / no route / too long");
    assert!(!e.is_would_block());
    assert!(
        e.to_string()
            .starts_with(&format!("{}: sendmsg:", topo.if_a)),
        "{e}"
    );
    assert_eq!(a.counters().tx_id_resyncs, 1);
    let id = a
        .send(
            Destination::Multicast,
            true,
            &message(SYNC, 44, 12),
            true,
            None,
        )
        .expect("send Sync")
        .expect("id");
    assert_eq!(id, 0);
    assert_eq!(tx_stamps(&mut a, 1)[0].0, 0);
    let _ = recv_wait(&mut b, &mut buf);

    let ca = *a.counters();
    let cb = *b.counters();
    // Nine sends, the PTPv1-group one on UDP/IPv4, the warm-up.
    let v1 = u64::from(transport == Transport::UdpIpv4);
    assert_eq!(ca.tx_packets, 9 + v1 + warm, "{ca:?}");
    assert_eq!(ca.tx_timestamps, 5, "{ca:?}");
    assert_eq!(
        (ca.tx_errors, ca.tx_eagain, ca.tx_errqueue_other),
        (1, 0, 0),
        "{ca:?}"
    );
    assert_eq!(
        (
            cb.rx_errors,
            cb.drops.rx_non_ptp,
            cb.rx_no_timestamp - b_unstamped
        ),
        (0, 0, 0),
        "{cb:?}"
    );
    assert_eq!(
        ca.drops.rx_own, 0,
        "PACKET_IGNORE_OUTGOING keeps our own frames out: {ca:?}"
    );
}

#[test]
fn udp_ipv4() {
    if netns_available("udp_ipv4") {
        exercise("u4", Transport::UdpIpv4, None);
    }
}

#[test]
fn udp_ipv6() {
    if netns_available("udp_ipv6") {
        exercise("u6", Transport::UdpIpv6, None);
    }
}

#[test]
fn l2() {
    if netns_available("l2") {
        exercise("l2", Transport::L2, None);
    }
}

#[test]
fn l2_vlan_100() {
    if netns_available("l2_vlan_100") {
        exercise("vl", Transport::L2, Some((100, 5)));
    }
}

#[test]
fn hardware_mode_fails_on_veth_and_auto_falls_back() {
    if !netns_available("hardware_mode_fails_on_veth_and_auto_falls_back") {
        return;
    }
    let topo = Topology::new("hw");
    for transport in [Transport::UdpIpv4, Transport::UdpIpv6, Transport::L2] {
        let mut cfg = topo.config(true, transport, None);
        cfg.timestamping = TimestampingMode::Hardware;
        let e = in_netns(&topo.ns_a, || SocketPort::open(&cfg))
            .expect_err("veth has no hardware time stamping")
            .to_string();
        assert!(
            e.starts_with(&format!("{}: hardware time stamping:", topo.if_a)),
            "{e}"
        );
        cfg.timestamping = TimestampingMode::Auto;
        let p = in_netns(&topo.ns_a, || SocketPort::open(&cfg)).expect("auto falls back");
        assert_eq!(p.stamp_source(), StampSource::Software);
    }
    // A missing interface is named too.
    let mut cfg = topo.config(true, Transport::UdpIpv4, None);
    cfg.interface = "mdp-none".into();
    let e = in_netns(&topo.ns_a, || SocketPort::open(&cfg))
        .expect_err("no such interface")
        .to_string();
    assert!(
        e.starts_with("mdp-none: SIOCGIFINDEX: No such device"),
        "{e}"
    );
}
