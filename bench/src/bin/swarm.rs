//! `swarm`: N emulated PTP slaves (up to tens of thousands) against one grandmaster, from one
//! interface, through AF_PACKET sockets with batched `sendmmsg`/`recvmmsg`.
//!
//! * `--mode unicast`: every slave negotiates Announce, Sync and Delay_Resp grants
//!   (REQUEST_UNICAST_TRANSMISSION), renews them at 0.8 × the duration, retries a request
//!   unanswered for 1 s, sends unicast Delay_Req once its Delay_Resp grant is in, and cancels
//!   its grants at the end.
//! * `--mode multicast`: every slave sends Delay_Req to 224.0.1.129.
//!
//! Slave `k` sends from `prefix + k` with the interface's MAC; the grandmaster's side needs a
//! route for the prefix and permanent neighbour entries (the harness sets them). Delay_Req go
//! out at `--rate` a second in all (default: each slave at its `--log-delay-req` interval),
//! round-robin over the slaves holding a Delay_Resp grant.
//!
//! Measured: offered and received messages per type, Delay_Req loss, request → Delay_Resp
//! latency (send time read before `sendmmsg`, receive time the kernel's SO_TIMESTAMPNS),
//! Sync inter-arrival deviation per slave and Syncs missed, grants and denials. It reports
//! when it, not the grandmaster, was the limit (TX behind schedule, packet-socket drops).
//! A progress line each second on stderr; the report on stdout; `--json FILE` for tools.

#![allow(unsafe_code)] // AF_PACKET sockets, sendmmsg/recvmmsg, control messages: libc calls.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use meridian_bench::hist::Histogram;
use meridian_bench::swarm::{
    classify, grant_bit, grants, Addressing, Mode, Rates, Rx, SwarmFrames, ALL_GRANTED,
};
use meridian_proto::wire::MessageType;
use serde_json::json;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ModeArg {
    Unicast,
    Multicast,
}

/// N emulated PTP slaves against one grandmaster (see the module documentation).
#[derive(Debug, Parser)]
#[command(name = "swarm")]
struct Opts {
    /// Interface to send and receive on (inside the generator's namespace).
    #[arg(long)]
    iface: String,
    /// The grandmaster's IPv4 address.
    #[arg(long)]
    gm_ip: Ipv4Addr,
    /// The grandmaster's MAC address (unicast frames).
    #[arg(long, value_parser = parse_mac)]
    gm_mac: [u8; 6],
    /// Slave k sends from PREFIX + k.
    #[arg(long, default_value = "10.78.0.0")]
    prefix: Ipv4Addr,
    /// Slaves emulated (1 ..= 1,000,000).
    #[arg(long, default_value_t = 1000)]
    slaves: u32,
    #[arg(long, value_enum, default_value_t = ModeArg::Unicast)]
    mode: ModeArg,
    /// Delay_Req a second, all slaves together (default: slaves × 2^-log-delay-req).
    #[arg(long)]
    rate: Option<f64>,
    /// log2 of the Delay_Req interval requested and used per slave.
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    log_delay_req: i8,
    /// log2 of the Sync interval requested (unicast).
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    log_sync: i8,
    /// log2 of the Announce interval requested (unicast).
    #[arg(long, default_value_t = 1, allow_hyphen_values = true)]
    log_announce: i8,
    /// Grant duration requested, seconds (unicast).
    #[arg(long, default_value_t = 60)]
    grant_duration: u32,
    /// Negotiation is spread over this many seconds at the start (unicast; default: one
    /// second per 5,000 slaves).
    #[arg(long)]
    ramp: Option<f64>,
    /// Seconds of load, after the ramp.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Unicast: the load window opens this many seconds after 99 % of the slaves hold their
    /// grants (a grandmaster may need a cycle to spread newcomers evenly).
    #[arg(long, default_value_t = 2.0)]
    settle: f64,
    /// Replies are awaited this long after the last request, ms.
    #[arg(long, default_value_t = 300)]
    drain_ms: u64,
    /// PTP domain.
    #[arg(long, default_value_t = 0)]
    domain: u8,
    /// Frames per sendmmsg / recvmmsg.
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Also write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// No progress line.
    #[arg(long)]
    quiet: bool,
}

fn parse_mac(s: &str) -> Result<[u8; 6], String> {
    let v: Vec<u8> = s
        .split(':')
        .map(|p| u8::from_str_radix(p, 16))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("MAC {s:?}: {e}"))?;
    v.try_into().map_err(|_| format!("MAC {s:?}: six octets"))
}

/// CLOCK_REALTIME in ns: the clock SO_TIMESTAMPNS stamps received frames with.
fn realtime_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec to write into.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Send times kept per slave, indexed by sequenceId mod this.
const SLOTS: usize = 16;
/// Re-request a grant unanswered this long, ns.
const RETRY_NS: u64 = 1_000_000_000;

/// What the TX and RX threads share.
struct Shared {
    slaves: u32,
    /// Per slave, its types granted and not denied since ([`grant_bit`]).
    granted: Vec<AtomicU8>,
    /// Per slave, when (monotonic ns since start) a grant with a nonzero duration last came.
    grant_seen: Vec<AtomicU64>,
    /// Per slave × [`SLOTS`], the CLOCK_REALTIME send time of an unanswered Delay_Req.
    sent: Vec<AtomicU64>,
    stop_rx: AtomicBool,
    /// CLOCK_REALTIME ns when the load began (0: not yet); Sync, Follow_Up and Announce are
    /// counted from then on.
    load_start_real: AtomicU64,
    /// CLOCK_REALTIME ns when the load ended (0: not yet); nothing later is counted.
    load_end_real: AtomicU64,
    // Live counters for the progress line.
    tx_delay_req: AtomicU64,
    rx_delay_resp: AtomicU64,
    rx_sync: AtomicU64,
}

impl Shared {
    fn granted_slaves(&self) -> u32 {
        self.granted
            .iter()
            .filter(|g| g.load(Ordering::Relaxed) == ALL_GRANTED)
            .count() as u32
    }
}

struct PacketSocket {
    fd: i32,
}

impl Drop for PacketSocket {
    fn drop(&mut self) {
        // SAFETY: our own descriptor, closed once.
        unsafe { libc::close(self.fd) };
    }
}

fn cvt(r: i32, what: &str) -> io::Result<i32> {
    if r < 0 {
        let e = io::Error::last_os_error();
        Err(io::Error::new(e.kind(), format!("{what}: {e}")))
    } else {
        Ok(r)
    }
}

fn setopt<T>(fd: i32, level: i32, name: i32, v: &T, what: &str) -> io::Result<()> {
    // SAFETY: `v` is a live value of the size passed.
    cvt(
        unsafe {
            libc::setsockopt(
                fd,
                level,
                name,
                (v as *const T).cast(),
                std::mem::size_of::<T>() as u32,
            )
        },
        what,
    )
    .map(drop)
}

const PACKET_IGNORE_OUTGOING: i32 = 23;
const PACKET_QDISC_BYPASS: i32 = 20;

impl PacketSocket {
    /// A packet socket on `ifindex`: receiving IPv4 frames (not our own) when `rx`, else
    /// send-only.
    fn open(ifindex: i32, rx: bool) -> io::Result<PacketSocket> {
        let proto = if rx {
            (libc::ETH_P_IP as u16).to_be()
        } else {
            0
        };
        // SAFETY: plain socket call.
        let fd = cvt(
            unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, i32::from(proto)) },
            "socket(AF_PACKET)",
        )?;
        let s = PacketSocket { fd };
        // SAFETY: zeroed sockaddr_ll is valid; fields set below.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = proto;
        sll.sll_ifindex = ifindex;
        // SAFETY: a sockaddr_ll of the size passed.
        cvt(
            unsafe {
                libc::bind(
                    fd,
                    (&sll as *const libc::sockaddr_ll).cast(),
                    std::mem::size_of::<libc::sockaddr_ll>() as u32,
                )
            },
            "bind(AF_PACKET)",
        )?;
        if rx {
            setopt(
                fd,
                libc::SOL_PACKET,
                PACKET_IGNORE_OUTGOING,
                &1i32,
                "PACKET_IGNORE_OUTGOING",
            )?;
            setopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_RCVBUFFORCE,
                &(64i32 << 20),
                "SO_RCVBUFFORCE",
            )?;
            setopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_TIMESTAMPNS,
                &1i32,
                "SO_TIMESTAMPNS",
            )?;
            let tv = libc::timeval {
                tv_sec: 0,
                tv_usec: 50_000,
            };
            setopt(fd, libc::SOL_SOCKET, libc::SO_RCVTIMEO, &tv, "SO_RCVTIMEO")?;
        } else {
            setopt(
                fd,
                libc::SOL_PACKET,
                PACKET_QDISC_BYPASS,
                &1i32,
                "PACKET_QDISC_BYPASS",
            )?;
            setopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_SNDBUFFORCE,
                &(16i32 << 20),
                "SO_SNDBUFFORCE",
            )?;
        }
        Ok(s)
    }

    /// Frames dropped by the kernel for want of room in this socket since the last call.
    fn drops(&self) -> u64 {
        let mut st = libc::tpacket_stats {
            tp_packets: 0,
            tp_drops: 0,
        };
        let mut len = std::mem::size_of::<libc::tpacket_stats>() as u32;
        // SAFETY: a tpacket_stats of the size passed.
        let r = unsafe {
            libc::getsockopt(
                self.fd,
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                (&mut st as *mut libc::tpacket_stats).cast(),
                &mut len,
            )
        };
        if r < 0 {
            0
        } else {
            u64::from(st.tp_drops)
        }
    }
}

/// A batch of outgoing frames for one `sendmmsg`.
struct TxBatch {
    bufs: Vec<[u8; 128]>,
    lens: Vec<usize>,
    iov: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
}

impl TxBatch {
    fn new(n: usize) -> TxBatch {
        TxBatch {
            bufs: vec![[0u8; 128]; n],
            lens: Vec::with_capacity(n),
            // SAFETY: zeroed iovec / mmsghdr are valid (null pointers, zero lengths).
            iov: vec![unsafe { std::mem::zeroed() }; n],
            hdrs: vec![unsafe { std::mem::zeroed() }; n],
        }
    }

    fn is_full(&self) -> bool {
        self.lens.len() == self.bufs.len()
    }

    fn next_buf(&mut self) -> &mut [u8] {
        let i = self.lens.len();
        &mut self.bufs[i]
    }

    fn push(&mut self, len: usize) {
        self.lens.push(len);
    }

    /// Sends the batch; returns (sent, failed).
    fn flush(&mut self, fd: i32) -> (u64, u64) {
        let n = self.lens.len();
        let mut done = 0;
        let mut failed = 0;
        while done < n {
            for i in done..n {
                self.iov[i] = libc::iovec {
                    iov_base: self.bufs[i].as_mut_ptr().cast(),
                    iov_len: self.lens[i],
                };
                // SAFETY: zeroed msghdr, then the iovec pointer set.
                self.hdrs[i].msg_hdr = unsafe { std::mem::zeroed() };
                self.hdrs[i].msg_hdr.msg_iov = &mut self.iov[i];
                self.hdrs[i].msg_hdr.msg_iovlen = 1;
            }
            // SAFETY: `n - done` initialised headers pointing at live buffers.
            let r =
                unsafe { libc::sendmmsg(fd, self.hdrs[done..].as_mut_ptr(), (n - done) as u32, 0) };
            if r <= 0 {
                let e = io::Error::last_os_error();
                if e.raw_os_error() == Some(libc::ENOBUFS) || e.kind() == io::ErrorKind::WouldBlock
                {
                    std::thread::sleep(Duration::from_micros(50));
                    continue;
                }
                failed += (n - done) as u64;
                break;
            }
            done += r as usize;
        }
        self.lens.clear();
        (done as u64, failed)
    }
}

/// What the TX thread did.
#[derive(Default)]
struct TxReport {
    delay_req: u64,
    delay_req_skipped_ungranted: u64,
    requests: u64,
    renewals: u64,
    retries: u64,
    cancels: u64,
    send_errors: u64,
    /// Most Delay_Req behind schedule at any moment, in seconds of load.
    max_behind_s: f64,
    load_ns: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Send,
    Check,
}

fn tx_thread(
    o: &Opts,
    mode: Mode,
    frames: &SwarmFrames,
    sh: &Shared,
    fd: i32,
    epoch: Instant,
    ramp_ns: u64,
) -> TxReport {
    let n = sh.slaves;
    let mono = || epoch.elapsed().as_nanos() as u64;
    let mut rep = TxReport::default();
    let mut batch = TxBatch::new(o.batch.max(1));
    let rate = o
        .rate
        .unwrap_or(f64::from(n) * 2f64.powi(-i32::from(o.log_delay_req)));
    // Unicast: the load starts once 99 % of the slaves hold a Delay_Resp grant, or 5 s after
    // the ramp at the latest.
    let mut load_start = u64::MAX;
    let mut load_end = u64::MAX;
    let mut next_grant_scan = ramp_ns;
    let renew_ns = (f64::from(o.grant_duration) * 0.8e9) as u64;
    let mut seq_dr = vec![0u16; n as usize];
    let mut seq_sig = vec![0u16; n as usize];
    let mut last_req = vec![0u64; n as usize];
    let mut heap: BinaryHeap<Reverse<(u64, Event, u32)>> = BinaryHeap::new();
    if mode == Mode::Unicast {
        for k in 0..n {
            heap.push(Reverse((
                ramp_ns * u64::from(k) / u64::from(n),
                Event::Send,
                k,
            )));
        }
    }
    let mut cursor: u64 = 0; // Delay_Req slots consumed
    let mut rr: u32 = 0; // next slave for a Delay_Req
    loop {
        let now = mono();
        if now >= load_end {
            break;
        }
        if load_start == u64::MAX && now >= next_grant_scan {
            let ready = mode == Mode::Multicast
                || now >= ramp_ns + 5_000_000_000
                || sh
                    .granted
                    .iter()
                    .filter(|g| g.load(Ordering::Relaxed) & grant_bit(MessageType::DelayResp) != 0)
                    .count() as f64
                    >= 0.99 * f64::from(n);
            if ready {
                let settle = if mode == Mode::Unicast {
                    (o.settle.max(0.0) * 1e9) as u64
                } else {
                    0
                };
                load_start = now + settle;
                load_end = load_start + (o.duration * 1e9) as u64;
                sh.load_start_real
                    .store(realtime_ns() + settle, Ordering::Release);
            } else {
                next_grant_scan = now + 100_000_000;
            }
        }
        // Negotiation due.
        while let Some(&Reverse((due, ev, k))) = heap.peek() {
            if due > now || batch.is_full() {
                break;
            }
            heap.pop();
            let send = match ev {
                Event::Send => true,
                Event::Check => {
                    if sh.grant_seen[k as usize].load(Ordering::Acquire) >= last_req[k as usize] {
                        heap.push(Reverse((last_req[k as usize] + renew_ns, Event::Send, k)));
                        false
                    } else {
                        rep.retries += 1;
                        true
                    }
                }
            };
            if send {
                let req = frames.request.as_ref().expect("unicast frames");
                let s = &mut seq_sig[k as usize];
                let len = req.write(k, *s, batch.next_buf());
                *s = s.wrapping_add(1);
                batch.push(len);
                if last_req[k as usize] == 0 {
                    rep.requests += 1;
                } else if ev == Event::Send {
                    rep.renewals += 1;
                }
                last_req[k as usize] = now.max(1);
                heap.push(Reverse((now + RETRY_NS, Event::Check, k)));
            }
        }
        // Delay_Req due.
        if now >= load_start {
            let due = ((now - load_start) as f64 * rate / 1e9) as u64;
            let behind = due.saturating_sub(cursor);
            rep.max_behind_s = rep.max_behind_s.max(behind as f64 / rate);
            let t_send = realtime_ns();
            let mut tries = 0u32;
            while cursor < due && !batch.is_full() {
                cursor += 1;
                let k = rr;
                rr = if rr + 1 == n { 0 } else { rr + 1 };
                if mode == Mode::Unicast
                    && sh.granted[k as usize].load(Ordering::Relaxed)
                        & grant_bit(MessageType::DelayResp)
                        == 0
                {
                    rep.delay_req_skipped_ungranted += 1;
                    tries += 1;
                    if tries > 4 * o.batch as u32 {
                        break;
                    }
                    continue;
                }
                let s = &mut seq_dr[k as usize];
                let len = frames.delay_req.write(k, *s, batch.next_buf());
                // The send time is recorded before sendmmsg: a fast reply can be read first.
                sh.sent[k as usize * SLOTS + usize::from(*s) % SLOTS]
                    .store(t_send, Ordering::Release);
                *s = s.wrapping_add(1);
                batch.push(len);
                rep.delay_req += 1;
            }
        }
        if !batch.lens.is_empty() {
            let (_, failed) = batch.flush(fd);
            rep.send_errors += failed;
            continue;
        }
        // Nothing due: sleep until the next thing is.
        let next_neg = heap.peek().map_or(u64::MAX, |r| r.0 .0);
        let next_dr = if load_start == u64::MAX {
            next_grant_scan
        } else if rate > 0.0 {
            load_start + ((cursor + 1) as f64 * 1e9 / rate) as u64
        } else {
            u64::MAX
        };
        let wake = next_neg.min(next_dr).min(load_end);
        let now = mono();
        if wake > now + 60_000 {
            std::thread::sleep(Duration::from_nanos((wake - now - 50_000).min(1_000_000)));
        } else {
            std::hint::spin_loop();
        }
    }
    rep.load_ns = mono().saturating_sub(load_start.min(mono()));
    sh.load_end_real.store(realtime_ns(), Ordering::Release);
    // Cancel what was granted, paced at ~50 k/s.
    if mode == Mode::Unicast {
        let cancel = frames.cancel.as_ref().expect("unicast frames");
        for k in 0..n {
            if sh.granted[k as usize].load(Ordering::Relaxed) == 0 {
                continue;
            }
            let s = &mut seq_sig[k as usize];
            let len = cancel.write(k, *s, batch.next_buf());
            *s = s.wrapping_add(1);
            batch.push(len);
            rep.cancels += 1;
            if batch.is_full() {
                rep.send_errors += batch.flush(fd).1;
                std::thread::sleep(Duration::from_micros(1200));
            }
        }
        rep.send_errors += batch.flush(fd).1;
    }
    rep
}

/// What the RX thread saw.
struct RxReport {
    delay_resp: u64,
    delay_resp_late_or_duplicate: u64,
    sync: u64,
    follow_up: u64,
    announce: u64,
    signaling: u64,
    /// Sync, Follow_Up and Announce outside the load window (not counted above).
    outside_load: u64,
    grants: u64,
    denied: u64,
    other: u64,
    not_ptp: u64,
    latency: Histogram,
    sync_jitter: Histogram,
    syncs_missed: u64,
    socket_drops: u64,
    /// Syncs received per slave in the load window (unicast).
    per_slave_sync: Vec<u32>,
}

fn rx_thread(o: &Opts, sh: &Shared, sock: &PacketSocket, epoch: Instant) -> RxReport {
    let n = sh.slaves;
    let prefix = o.prefix.octets();
    let b = o.batch.max(1);
    let mut bufs = vec![[0u8; 2048]; b];
    let mut ctl = vec![[0u8; 64]; b];
    // SAFETY: zeroed iovec / mmsghdr are valid.
    let mut iov: Vec<libc::iovec> = vec![unsafe { std::mem::zeroed() }; b];
    let mut hdrs: Vec<libc::mmsghdr> = vec![unsafe { std::mem::zeroed() }; b];
    let nominal_sync = 1e9 * 2f64.powi(i32::from(o.log_sync));
    let mut last_sync = vec![0u64; n as usize + 1];
    let mut r = RxReport {
        delay_resp: 0,
        delay_resp_late_or_duplicate: 0,
        sync: 0,
        follow_up: 0,
        announce: 0,
        signaling: 0,
        outside_load: 0,
        grants: 0,
        denied: 0,
        other: 0,
        not_ptp: 0,
        latency: Histogram::new(),
        sync_jitter: Histogram::new(),
        syncs_missed: 0,
        socket_drops: 0,
        per_slave_sync: vec![0; n as usize],
    };
    sock.drops(); // resets the kernel's counter
    let mut multicast_nominal: Option<f64> = None;
    loop {
        for i in 0..b {
            iov[i] = libc::iovec {
                iov_base: bufs[i].as_mut_ptr().cast(),
                iov_len: bufs[i].len(),
            };
            // SAFETY: zeroed msghdr, pointers set to live buffers below.
            hdrs[i].msg_hdr = unsafe { std::mem::zeroed() };
            hdrs[i].msg_hdr.msg_iov = &mut iov[i];
            hdrs[i].msg_hdr.msg_iovlen = 1;
            hdrs[i].msg_hdr.msg_control = ctl[i].as_mut_ptr().cast();
            hdrs[i].msg_hdr.msg_controllen = ctl[i].len();
        }
        // SAFETY: `b` headers pointing at live buffers.
        let got = unsafe {
            libc::recvmmsg(
                sock.fd,
                hdrs.as_mut_ptr(),
                b as u32,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            )
        };
        if got <= 0 {
            if sh.stop_rx.load(Ordering::Acquire) {
                break;
            }
            continue;
        }
        let fallback = realtime_ns();
        for i in 0..got as usize {
            let len = hdrs[i].msg_len as usize;
            let ts = cmsg_timestamp(&hdrs[i].msg_hdr).unwrap_or(fallback);
            let f = &bufs[i][..len];
            match classify(f, prefix, n) {
                Rx::DelayResp { slave, seq } => {
                    let sent = sh.sent[slave as usize * SLOTS + usize::from(seq) % SLOTS]
                        .swap(0, Ordering::AcqRel);
                    if sent == 0 {
                        r.delay_resp_late_or_duplicate += 1;
                    } else {
                        r.delay_resp += 1;
                        sh.rx_delay_resp.fetch_add(1, Ordering::Relaxed);
                        r.latency.record(ts.saturating_sub(sent));
                    }
                }
                // Unicast swarm: the grandmaster's multicast service is someone else's.
                Rx::Service { slave: None, .. } if matches!(o.mode, ModeArg::Unicast) => {
                    r.other += 1;
                }
                // Outside the load window (negotiation, settling, cancels, drain).
                Rx::Service { .. } if !in_window(sh, ts) => {
                    r.outside_load += 1;
                }
                Rx::Service {
                    message_type,
                    slave,
                } => match message_type {
                    MessageType::Sync => {
                        r.sync += 1;
                        sh.rx_sync.fetch_add(1, Ordering::Relaxed);
                        let (slot, nominal) = match slave {
                            Some(k) => {
                                r.per_slave_sync[k as usize] += 1;
                                (k as usize, nominal_sync)
                            }
                            // Multicast: one stream; its interval is learned from the
                            // first two Syncs (the grandmaster's configured rate).
                            None => (n as usize, multicast_nominal.unwrap_or(0.0)),
                        };
                        let last = last_sync[slot];
                        last_sync[slot] = ts;
                        if last != 0 && ts > last {
                            let d = (ts - last) as f64;
                            if slave.is_none() && multicast_nominal.is_none() {
                                multicast_nominal = Some(2f64.powf((d / 1e9).log2().round()) * 1e9);
                                continue;
                            }
                            if nominal > 0.0 {
                                r.sync_jitter.record((d - nominal).abs() as u64);
                                let periods = (d / nominal).round();
                                if periods >= 2.0 {
                                    r.syncs_missed += periods as u64 - 1;
                                }
                            }
                        }
                    }
                    MessageType::FollowUp => r.follow_up += 1,
                    _ => r.announce += 1,
                },
                Rx::Signaling { slave } => {
                    r.signaling += 1;
                    let g = &sh.granted[slave as usize];
                    let mut any = false;
                    for gr in grants(f) {
                        let bit = grant_bit(gr.message_type);
                        if gr.duration == 0 {
                            r.denied += 1;
                            g.fetch_and(!bit, Ordering::Relaxed);
                        } else {
                            r.grants += 1;
                            g.fetch_or(bit, Ordering::Relaxed);
                            any = true;
                        }
                    }
                    if any {
                        sh.grant_seen[slave as usize]
                            .store(epoch.elapsed().as_nanos() as u64, Ordering::Release);
                    }
                }
                Rx::Other(_) => r.other += 1,
                Rx::NotPtp => r.not_ptp += 1,
            }
        }
    }
    r.socket_drops = sock.drops();
    r
}

/// Whether a frame received at `ts` (CLOCK_REALTIME ns) is inside the load window.
fn in_window(sh: &Shared, ts: u64) -> bool {
    let start = sh.load_start_real.load(Ordering::Relaxed);
    let end = sh.load_end_real.load(Ordering::Relaxed);
    start != 0 && ts >= start && (end == 0 || ts < end)
}

/// The SO_TIMESTAMPNS stamp of a received message, if the kernel attached one.
fn cmsg_timestamp(h: &libc::msghdr) -> Option<u64> {
    // SAFETY: walking the control buffer the kernel filled, with the libc macros.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(h);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMPNS {
                let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                return Some(ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64);
            }
            c = libc::CMSG_NXTHDR(h, c);
        }
    }
    None
}

fn ifindex(name: &str) -> io::Result<i32> {
    let c = std::ffi::CString::new(name).map_err(|e| io::Error::other(e.to_string()))?;
    // SAFETY: a NUL-terminated name.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if i == 0 {
        Err(io::Error::other(format!("interface {name}: not found")))
    } else {
        Ok(i as i32)
    }
}

fn own_mac(name: &str) -> io::Result<[u8; 6]> {
    let s = std::fs::read_to_string(format!("/sys/class/net/{name}/address"))?;
    parse_mac(s.trim()).map_err(io::Error::other)
}

fn quantiles(h: &Histogram) -> serde_json::Value {
    json!({
        "count": h.count(),
        "mean": h.mean().round(),
        "p50": h.quantile(0.5),
        "p90": h.quantile(0.9),
        "p99": h.quantile(0.99),
        "p999": h.quantile(0.999),
        "max": h.max(),
    })
}

fn main() -> std::process::ExitCode {
    let o = Opts::parse();
    match run(&o) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("swarm: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(o: &Opts) -> io::Result<()> {
    if !(1..=1_000_000).contains(&o.slaves) {
        return Err(io::Error::other("--slaves: 1 ..= 1000000"));
    }
    if o.duration <= 0.0 || o.duration > 3600.0 {
        return Err(io::Error::other("--duration: (0, 3600] s"));
    }
    let mode = match o.mode {
        ModeArg::Unicast => Mode::Unicast,
        ModeArg::Multicast => Mode::Multicast,
    };
    let idx = ifindex(&o.iface)?;
    let addressing = Addressing {
        own_mac: own_mac(&o.iface)?,
        gm_mac: o.gm_mac,
        gm_ip: o.gm_ip.octets(),
        prefix: o.prefix.octets(),
        domain: o.domain,
    };
    let rates = Rates {
        log_announce: o.log_announce,
        log_sync: o.log_sync,
        log_delay_resp: o.log_delay_req,
        duration: o.grant_duration,
    };
    let frames = SwarmFrames::new(o.slaves, mode, &addressing, &rates)
        .map_err(|e| io::Error::other(format!("building frames: {e:?}")))?;
    let n = o.slaves as usize;
    let sh = Arc::new(Shared {
        slaves: o.slaves,
        granted: (0..n).map(|_| AtomicU8::new(0)).collect(),
        grant_seen: (0..n).map(|_| AtomicU64::new(0)).collect(),
        sent: (0..n * SLOTS).map(|_| AtomicU64::new(0)).collect(),
        stop_rx: AtomicBool::new(false),
        load_start_real: AtomicU64::new(0),
        load_end_real: AtomicU64::new(0),
        tx_delay_req: AtomicU64::new(0),
        rx_delay_resp: AtomicU64::new(0),
        rx_sync: AtomicU64::new(0),
    });
    let rx_sock = PacketSocket::open(idx, true)?;
    let tx_sock = PacketSocket::open(idx, false)?;
    let ramp_ns = if mode == Mode::Unicast {
        (o.ramp.unwrap_or(f64::from(o.slaves) / 5000.0).max(0.2) * 1e9) as u64
    } else {
        0
    };
    let epoch = Instant::now();
    let total_s = ramp_ns as f64 / 1e9 + o.duration;
    let rate = o
        .rate
        .unwrap_or(f64::from(o.slaves) * 2f64.powi(-i32::from(o.log_delay_req)));
    let done = AtomicBool::new(false);
    let (tx, rx) = std::thread::scope(|s| {
        let rx = s.spawn(|| rx_thread(o, &sh, &rx_sock, epoch));
        let tx = s.spawn(|| {
            let r = tx_thread(o, mode, &frames, &sh, tx_sock.fd, epoch, ramp_ns);
            sh.tx_delay_req.store(r.delay_req, Ordering::Relaxed);
            done.store(true, Ordering::Release);
            r
        });
        // Progress, once a second.
        let mut last = (0u64, 0u64);
        while !done.load(Ordering::Acquire) {
            std::thread::sleep(Duration::from_millis(200));
            let t = epoch.elapsed().as_secs_f64();
            if !o.quiet && (t as u64) != last.0 {
                let dr = sh.rx_delay_resp.load(Ordering::Relaxed);
                eprint!(
                    "\r[{t:5.1}/{total_s:.0} s] granted {:>6}/{} · Delay_Resp {:>8}/s · Sync {:>8} total   ",
                    if mode == Mode::Unicast { sh.granted_slaves() } else { o.slaves },
                    o.slaves,
                    dr - last.1,
                    sh.rx_sync.load(Ordering::Relaxed),
                );
                last = (t as u64, dr);
            }
        }
        std::thread::sleep(Duration::from_millis(o.drain_ms));
        sh.stop_rx.store(true, Ordering::Release);
        (tx.join().expect("tx thread"), rx.join().expect("rx thread"))
    });
    if !o.quiet {
        eprintln!();
    }
    let load_s = tx.load_ns as f64 / 1e9;
    let granted_at_end = sh.granted_slaves();
    // A slave is served when it got at least 90 % of the Syncs its grant asked for in the
    // window, allowing one lost at the window's edges (a Sync due right at the start or end).
    let expected_syncs = load_s / 2f64.powi(i32::from(o.log_sync));
    let slaves_served = rx
        .per_slave_sync
        .iter()
        .filter(|&&c| f64::from(c) + 1.0 >= (0.9 * expected_syncs).floor())
        .count();
    let lost = tx.delay_req.saturating_sub(rx.delay_resp);
    let loss_pct = if tx.delay_req > 0 {
        100.0 * lost as f64 / tx.delay_req as f64
    } else {
        0.0
    };
    let offered_rate = tx.delay_req as f64 / load_s;
    // The generator, not the grandmaster, was the limit when it fell behind its schedule by
    // more than 1 % of the run or its receive socket overflowed.
    let target_sent = if mode == Mode::Unicast {
        tx.delay_req + tx.delay_req_skipped_ungranted
    } else {
        tx.delay_req
    };
    let tx_limited = (target_sent as f64) < 0.99 * rate * load_s;
    let rx_limited = rx.socket_drops > 0;
    let report = json!({
        "mode": match mode { Mode::Unicast => "unicast", Mode::Multicast => "multicast" },
        "slaves": o.slaves,
        "load_s": load_s,
        "elapsed_s": epoch.elapsed().as_secs_f64(),
        "ramp_s": ramp_ns as f64 / 1e9,
        "target_delay_req_rate": rate,
        "offered": {
            "delay_req": tx.delay_req,
            "delay_req_rate": offered_rate,
            "delay_req_skipped_ungranted": tx.delay_req_skipped_ungranted,
            "requests": tx.requests,
            "renewals": tx.renewals,
            "retries": tx.retries,
            "cancels": tx.cancels,
            "send_errors": tx.send_errors,
        },
        "received": {
            "delay_resp": rx.delay_resp,
            "delay_resp_rate": rx.delay_resp as f64 / load_s,
            "delay_resp_late_or_duplicate": rx.delay_resp_late_or_duplicate,
            "sync": rx.sync,
            "sync_rate": rx.sync as f64 / load_s,
            "follow_up": rx.follow_up,
            "announce": rx.announce,
            "service_outside_load": rx.outside_load,
            "signaling": rx.signaling,
            "grants": rx.grants,
            "denied": rx.denied,
            "other": rx.other,
            "not_ptp": rx.not_ptp,
        },
        "slaves_granted_at_end": granted_at_end,
        "slaves_served": if mode == Mode::Unicast { slaves_served } else { 0 },
        "delay_req_lost": lost,
        "loss_pct": loss_pct,
        "latency_ns": quantiles(&rx.latency),
        "sync_interval_error_ns": quantiles(&rx.sync_jitter),
        "syncs_missed": rx.syncs_missed,
        "generator": {
            "max_behind_s": tx.max_behind_s,
            "rx_socket_drops": rx.socket_drops,
            "tx_limited": tx_limited,
            "rx_limited": rx_limited,
        },
    });
    println!(
        "swarm {}: {} slaves, {:.1} s load; Delay_Req offered {} ({:.0}/s), answered {} ({:.0}/s), \
         lost {:.3} %; latency p50 {} µs, p99 {} µs, max {} µs",
        report["mode"].as_str().unwrap_or(""),
        o.slaves,
        load_s,
        tx.delay_req,
        offered_rate,
        rx.delay_resp,
        rx.delay_resp as f64 / load_s,
        loss_pct,
        rx.latency.quantile(0.5) / 1000,
        rx.latency.quantile(0.99) / 1000,
        rx.latency.max() / 1000,
    );
    if mode == Mode::Unicast {
        println!(
            "  grants: {} slaves served (≥ 90 % of their Syncs, ±1 at the window's edges), {} holding all three grants at the end; {} granted, {} denied; requests {} \
             renewals {} retries {} cancels {}",
            slaves_served, granted_at_end, rx.grants, rx.denied, tx.requests, tx.renewals, tx.retries, tx.cancels
        );
    }
    println!(
        "  Sync {} ({:.0}/s), Follow_Up {}, Announce {}; Sync interval error p50 {} µs, p99 {} µs; \
         missed {}",
        rx.sync,
        rx.sync as f64 / load_s,
        rx.follow_up,
        rx.announce,
        rx.sync_jitter.quantile(0.5) / 1000,
        rx.sync_jitter.quantile(0.99) / 1000,
        rx.syncs_missed
    );
    if tx_limited || rx_limited {
        println!(
            "  GENERATOR-LIMITED: {}{}",
            if tx_limited {
                format!("sent {target_sent} of {:.0} scheduled; ", rate * load_s)
            } else {
                String::new()
            },
            if rx_limited {
                format!(
                    "{} replies dropped at the generator's socket",
                    rx.socket_drops
                )
            } else {
                String::new()
            }
        );
    }
    if let Some(p) = &o.json {
        std::fs::write(p, serde_json::to_string_pretty(&report)? + "\n")?;
    }
    Ok(())
}
