//! DPDK scenarios against real EAL and real vdevs (no NIC, no hugepages).
//!
//! `rte_eal_init` works once per process, so each test re-executes this test
//! binary with [`SCENARIO_ENV`] naming itself, and the child process runs the
//! scenario. The parent checks the child's exit status and forwards its output.
//!
//! Set `MERIDIAN_SKIP_DPDK=1` to skip them; nothing else skips them: without a
//! working DPDK they fail.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::ptr;
use std::time::{Duration, Instant};

use dpdk_sys::*;

/// Set in the child: the name of the test whose scenario it runs.
const SCENARIO_ENV: &str = "DPDK_SYS_TEST_SCENARIO";
/// `MERIDIAN_SKIP_DPDK=1` skips every scenario.
const SKIP_ENV: &str = "MERIDIAN_SKIP_DPDK";

/// Linux errno values DPDK reports (positive in `rte_errno`, negated in returns).
const EALREADY: c_int = 114;
const ENOTSUP: c_int = 95;

/// EAL arguments that work on a machine without hugepages or PCI devices.
/// (`--in-memory` together with `--no-huge` is rejected by 22.11.)
const EAL_ARGS: &[&str] = &[
    "dpdk-sys-test",
    "--no-huge",
    "--no-pci",
    "--no-shconf",
    "-m",
    "256",
    "-l",
    "0",
];

const NB_DESC: u16 = 128;
const BURST: usize = 32;

#[test]
fn null_vdev_rx_tx_and_shim() {
    in_own_process("null_vdev_rx_tx_and_shim", scenario_null_vdev);
}

#[test]
fn pcap_vdev_roundtrip_and_rx_timestamp() {
    in_own_process("pcap_vdev_roundtrip_and_rx_timestamp", scenario_pcap_vdev);
}

#[test]
fn timesync_is_unsupported_on_null_vdev() {
    in_own_process("timesync_is_unsupported_on_null_vdev", scenario_timesync);
}

/// Runs `scenario` in a fresh child process, or runs it here if this process
/// is that child.
fn in_own_process(test_name: &str, scenario: fn()) {
    if std::env::var(SCENARIO_ENV).as_deref() == Ok(test_name) {
        scenario();
        return;
    }
    if std::env::var(SKIP_ENV).as_deref() == Ok("1") {
        eprintln!("{test_name}: skipped ({SKIP_ENV}=1)");
        return;
    }
    let exe = std::env::current_exe().expect("path of the test binary");
    let output = Command::new(exe)
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(SCENARIO_ENV, test_name)
        .output()
        .expect("re-execute the test binary");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    print!("{stdout}");
    eprint!("{stderr}");
    // A filter matching nothing would also exit 0: require that it ran.
    assert!(
        output.status.success() && stdout.contains("test result: ok. 1 passed"),
        "scenario {test_name} failed in its child process ({})",
        output.status
    );
}

// ---------------------------------------------------------------- scenarios

fn scenario_null_vdev() {
    eal_init(&["net_null0"]);
    let port = only_port("net_null0");
    let pool = create_pool("null_pool", 1023);
    setup_and_start(port, pool);

    // SAFETY: `pool` is a valid mempool.
    let pool_full = unsafe { rte_mempool_avail_count(pool) };

    // TX: 32 hand-written frames; net_null frees what it "sends".
    let mut tx = [ptr::null_mut::<rte_mbuf>(); BURST];
    for (i, slot) in tx.iter_mut().enumerate() {
        let frame: Vec<u8> = (0..60).map(|k| (i * 7 + k) as u8).collect();
        *slot = mbuf_from_bytes(pool, &frame);
        // SAFETY: `*slot` was just allocated from `pool` and is owned here.
        unsafe {
            assert_eq!(shim_rte_pktmbuf_data_len(*slot), 60);
            assert_eq!(shim_rte_pktmbuf_pkt_len(*slot), 60);
            assert_eq!(shim_rte_mbuf_refcnt_read(*slot), 1);
            assert_eq!(mbuf_bytes(*slot), &frame[..]);
        }
    }
    // SAFETY: `tx` holds BURST valid mbufs owned here; tx_burst takes
    // ownership of the first `sent` of them.
    let sent = unsafe { shim_rte_eth_tx_burst(port, 0, tx.as_mut_ptr(), BURST as u16) };
    assert_eq!(sent as usize, BURST, "net_null accepts every packet");
    // SAFETY: `pool` is a valid mempool.
    assert_eq!(unsafe { rte_mempool_avail_count(pool) }, pool_full);

    // RX: net_null makes up 64-byte packets from our pool.
    let mut rx = [ptr::null_mut::<rte_mbuf>(); BURST];
    // SAFETY: `rx` has room for BURST pointers; the port is started.
    let got = unsafe { shim_rte_eth_rx_burst(port, 0, rx.as_mut_ptr(), BURST as u16) };
    assert_eq!(got as usize, BURST, "net_null fills the whole burst");
    for &m in &rx[..usize::from(got)] {
        // SAFETY: rx_burst returned `got` valid mbufs, now owned here.
        unsafe {
            assert_eq!(shim_rte_pktmbuf_pkt_len(m), 64);
            assert_eq!(shim_rte_mbuf_port(m), port);
            shim_rte_pktmbuf_free(m);
        }
    }
    // SAFETY: `pool` is a valid mempool.
    assert_eq!(unsafe { rte_mempool_avail_count(pool) }, pool_full);

    check_mbuf_helpers(pool);
    check_ring();
    check_cpu_and_errno();

    stop_and_close(port);
    // SAFETY: every mbuf of `pool` has been returned and no port uses it.
    unsafe { rte_mempool_free(pool) };
    eal_cleanup();
}

fn scenario_pcap_vdev() {
    let dir = ScratchDir::new("pcap");
    let rx_path = dir.join("in.pcap");
    let tx_path = dir.join("out.pcap");
    let frames = test_frames();
    write_pcap_usec(&rx_path, &frames);

    // net_pcap opens the files while probing, i.e. inside rte_eal_init.
    eal_init(&[&format!(
        "net_pcap0,rx_pcap={},tx_pcap={}",
        rx_path.display(),
        tx_path.display()
    )]);
    let port = only_port("net_pcap0");
    let pool = create_pool("pcap_pool", 511);
    // net_pcap does not advertise RTE_ETH_RX_OFFLOAD_TIMESTAMP (requesting it
    // fails rte_eth_dev_configure) yet always fills the timestamp dynfield.
    setup_and_start(port, pool);

    // net_pcap registers the standard RX timestamp dynfield and dynflag.
    // SAFETY: the names are NUL-terminated; NULL asks for no parameters back.
    let ts_offset = unsafe {
        rte_mbuf_dynfield_lookup(RTE_MBUF_DYNFIELD_TIMESTAMP_NAME.as_ptr(), ptr::null_mut())
    };
    // SAFETY: as above.
    let ts_bit = unsafe {
        rte_mbuf_dynflag_lookup(RTE_MBUF_DYNFLAG_RX_TIMESTAMP_NAME.as_ptr(), ptr::null_mut())
    };
    assert!(ts_offset >= 0, "timestamp dynfield registered");
    assert!((0..64).contains(&ts_bit), "timestamp dynflag registered");
    let ts_flag = 1u64 << ts_bit;

    let mut rx = [ptr::null_mut::<rte_mbuf>(); BURST];
    let mut got = 0usize;
    for _ in 0..100 {
        let room = (BURST - got) as u16;
        // SAFETY: `rx[got..]` has room for `room` pointers; port started.
        let n = unsafe { shim_rte_eth_rx_burst(port, 0, rx[got..].as_mut_ptr(), room) };
        got += usize::from(n);
        if got >= frames.len() {
            break;
        }
    }
    assert_eq!(
        got,
        frames.len(),
        "every frame of the pcap is received once"
    );
    for (i, (&m, (ts, frame))) in rx[..got].iter().zip(&frames).enumerate() {
        // SAFETY: rx_burst returned valid single-segment mbufs, owned here;
        // the dynfield at `ts_offset` is a u64 (rte_mbuf_timestamp_t), and
        // is written by the PMD when the dynflag is set.
        unsafe {
            assert_eq!(mbuf_bytes(m), &frame[..], "frame {i} bytes");
            assert_eq!(shim_rte_pktmbuf_pkt_len(m) as usize, frame.len());
            let flags = shim_rte_mbuf_ol_flags(m);
            assert_ne!(flags & ts_flag, 0, "frame {i} has the RX timestamp flag");
            let stamp = shim_rte_mbuf_dynfield(m, ts_offset)
                .cast::<u64>()
                .read_unaligned();
            let expect_us = ts.0 as u64 * 1_000_000 + ts.1 as u64;
            assert_eq!(stamp, expect_us, "frame {i}: pcap time in µs");
            println!(
                "pcap frame {i}: {} bytes, rx timestamp dynfield = {stamp} µs",
                frame.len()
            );
            shim_rte_pktmbuf_free(m);
        }
    }

    let reply: Vec<u8> = ptp_like_frame(0x0d, 72);
    let mut tx = [mbuf_from_bytes(pool, &reply)];
    // SAFETY: `tx` holds one valid mbuf owned here; tx_burst takes it.
    let sent = unsafe { shim_rte_eth_tx_burst(port, 0, tx.as_mut_ptr(), 1) };
    assert_eq!(sent, 1);

    // Stopping closes the pcap dumper, which flushes the file.
    stop_and_close(port);
    let written = read_pcap(&tx_path);
    assert_eq!(written, vec![reply], "the transmitted frame is in tx_pcap");

    // SAFETY: every mbuf has been returned and the port is closed.
    unsafe { rte_mempool_free(pool) };
    eal_cleanup();
}

fn scenario_timesync() {
    eal_init(&["net_null0"]);
    let port = only_port("net_null0");
    let pool = create_pool("ts_pool", 255);
    setup_and_start(port, pool);

    // SAFETY: `port` is a valid, started port; out-parameters point to locals.
    let (enable, read_clock, read_time, adjust) = unsafe {
        let mut clock = 0u64;
        let mut ts: timespec = std::mem::zeroed();
        (
            rte_eth_timesync_enable(port),
            rte_eth_read_clock(port, &mut clock),
            rte_eth_timesync_read_time(port, &mut ts),
            rte_eth_timesync_adjust_time(port, 1),
        )
    };
    println!(
        "net_null timesync: enable={enable} read_clock={read_clock} \
         read_time={read_time} adjust_time={adjust} (-ENOTSUP is -{ENOTSUP})"
    );
    for (what, rc) in [
        ("rte_eth_timesync_enable", enable),
        ("rte_eth_read_clock", read_clock),
        ("rte_eth_timesync_read_time", read_time),
        ("rte_eth_timesync_adjust_time", adjust),
    ] {
        assert_eq!(rc, -ENOTSUP, "{what} on net_null");
    }

    stop_and_close(port);
    // SAFETY: no mbuf is outstanding and the port is closed.
    unsafe { rte_mempool_free(pool) };
    eal_cleanup();
}

// ------------------------------------------------------------- sub-checks

/// append/prepend/adj/trim, ol_flags, alloc_bulk and the dynfield accessor.
fn check_mbuf_helpers(pool: *mut rte_mempool) {
    // SAFETY: `pool` is a valid mempool; every mbuf used is allocated here,
    // checked non-null, and freed exactly once; the registered dynfield is a
    // u64 inside the mbuf.
    unsafe {
        let m = shim_rte_pktmbuf_alloc(pool);
        assert!(!m.is_null());
        let headroom = shim_rte_pktmbuf_headroom(m);
        assert_eq!(u32::from(headroom), RTE_PKTMBUF_HEADROOM);
        let start = shim_rte_pktmbuf_append(m, 10);
        assert_eq!(start.cast::<c_void>(), shim_rte_pktmbuf_mtod(m));
        assert_eq!(
            shim_rte_pktmbuf_mtod_offset(m, 4),
            start.add(4).cast::<c_void>()
        );
        assert!(
            shim_rte_pktmbuf_append(m, u16::MAX).is_null(),
            "no room: NULL"
        );
        assert_eq!(shim_rte_pktmbuf_data_len(m), 10);
        let front = shim_rte_pktmbuf_prepend(m, 14);
        assert_eq!(front, start.sub(14));
        assert_eq!(shim_rte_pktmbuf_adj(m, 14), start);
        assert_eq!(shim_rte_pktmbuf_trim(m, 4), 0);
        assert_eq!(shim_rte_pktmbuf_pkt_len(m), 6);
        assert_eq!(shim_rte_pktmbuf_trim(m, 7), -1);
        assert_eq!(
            shim_rte_pktmbuf_tailroom(m),
            (RTE_MBUF_DEFAULT_BUF_SIZE - RTE_PKTMBUF_HEADROOM - 6) as u16
        );

        let flags = RTE_MBUF_F_TX_IEEE1588_TMST | RTE_MBUF_F_RX_IEEE1588_PTP;
        shim_rte_mbuf_set_ol_flags(m, flags);
        assert_eq!(shim_rte_mbuf_ol_flags(m), flags);

        let mut offset: c_int = -1;
        let mut rx_flag = 0u64;
        assert_eq!(
            rte_mbuf_dyn_rx_timestamp_register(&mut offset, &mut rx_flag),
            0
        );
        assert!(offset > 0 && rx_flag.count_ones() == 1);
        let field = shim_rte_mbuf_dynfield(m, offset);
        assert_eq!(field as usize, m as usize + offset as usize);
        field.cast::<u64>().write_unaligned(0x0123_4567_89ab_cdef);
        assert_eq!(field.cast::<u64>().read_unaligned(), 0x0123_4567_89ab_cdef);

        shim_rte_pktmbuf_reset(m);
        assert_eq!(shim_rte_pktmbuf_pkt_len(m), 0);
        shim_rte_pktmbuf_free(m);

        let mut bulk = [ptr::null_mut::<rte_mbuf>(); 8];
        assert_eq!(
            shim_rte_pktmbuf_alloc_bulk(pool, bulk.as_mut_ptr(), bulk.len() as u32),
            0
        );
        for m in bulk {
            assert!(!m.is_null());
            shim_rte_pktmbuf_free(m);
        }
    }
}

fn check_ring() {
    let name = CString::new("shim_ring").expect("no NUL");
    // SAFETY: EAL is initialised; the ring holds plain pointers we never
    // dereference; it is freed before returning.
    unsafe {
        let ring = rte_ring_create(
            name.as_ptr(),
            64,
            SOCKET_ID_ANY,
            RING_F_SP_ENQ | RING_F_SC_DEQ,
        );
        assert!(!ring.is_null(), "rte_ring_create: {}", errno_text());
        let objs: Vec<*mut c_void> = (1..=8usize).map(|i| i as *mut c_void).collect();
        let mut free_space = 0u32;
        let n = shim_rte_ring_enqueue_burst(ring, objs.as_ptr(), 8, &mut free_space);
        assert_eq!(n, 8);
        assert_eq!(free_space, 63 - 8, "a 64-slot ring holds 63");
        assert_eq!(shim_rte_ring_count(ring), 8);
        let mut out = [ptr::null_mut::<c_void>(); 16];
        let mut left = u32::MAX;
        let n = shim_rte_ring_dequeue_burst(ring, out.as_mut_ptr(), 16, &mut left);
        assert_eq!(n, 8);
        assert_eq!(left, 0);
        assert_eq!(&out[..8], &objs[..]);
        rte_ring_free(ring);
    }
}

/// TSC, lcore id, rte_pause and the thread-local rte_errno.
fn check_cpu_and_errno() {
    // SAFETY: these read CPU state or EAL's per-thread data; EAL is initialised
    // and this thread is the main lcore.
    unsafe {
        let mut last = shim_rte_rdtsc();
        for _ in 0..10_000 {
            let now = shim_rte_rdtsc();
            assert!(now >= last, "TSC went backwards: {last} -> {now}");
            last = now;
            shim_rte_pause();
        }
        assert!(shim_rte_rdtsc_precise() >= last);

        let hz = rte_get_tsc_hz();
        assert!(
            (1e8..1e10).contains(&(hz as f64)),
            "implausible TSC rate {hz}"
        );
        // Against the OS's monotonic clock over a short interval.
        let (t0, c0) = (Instant::now(), shim_rte_rdtsc_precise());
        std::thread::sleep(Duration::from_millis(50));
        let (c1, t1) = (shim_rte_rdtsc_precise(), Instant::now());
        let measured = (c1 - c0) as f64 / (t1 - t0).as_secs_f64();
        let ratio = measured / hz as f64;
        println!(
            "rte_get_tsc_hz = {hz}, measured {measured:.0} Hz ({:+.0} ppm)",
            (ratio - 1.0) * 1e6
        );
        // Loose on purpose: when EAL measures the rate itself it rounds it to
        // 10 MHz (here 2.6e9 for a 2.596 GHz TSC, about -1500 ppm).
        assert!(
            (0.95..1.05).contains(&ratio),
            "TSC rate disagrees with the OS clock"
        );

        assert_eq!(shim_rte_lcore_id(), 0, "main lcore of `-l 0`");

        // A second rte_eal_init fails with rte_errno = EALREADY.
        let mut argv = leaked_argv(&[EAL_ARGS[0]]);
        assert_eq!(rte_eal_init(1, argv.as_mut_ptr()), -1);
        assert_eq!(shim_rte_errno(), EALREADY, "{}", errno_text());
    }
}

// ---------------------------------------------------------------- helpers

/// Initialises EAL with [`EAL_ARGS`] plus one `--vdev` per entry.
fn eal_init(vdevs: &[&str]) {
    let mut args: Vec<&str> = EAL_ARGS.to_vec();
    for vdev in vdevs {
        args.extend(["--vdev", vdev]);
    }
    let mut argv = leaked_argv(&args);
    let started = Instant::now();
    // SAFETY: argv holds `args.len()` pointers to NUL-terminated strings that
    // live for the rest of the process (EAL may keep them), plus a NULL.
    let rc = unsafe { rte_eal_init(args.len() as c_int, argv.as_mut_ptr()) };
    assert!(rc >= 0, "rte_eal_init({args:?}): {}", errno_text());
    println!("rte_eal_init took {:?}", started.elapsed());
}

/// A NULL-terminated argv whose strings are never freed.
fn leaked_argv(args: &[&str]) -> Vec<*mut c_char> {
    args.iter()
        .map(|a| CString::new(*a).expect("no NUL in EAL args").into_raw())
        .chain([ptr::null_mut()])
        .collect()
}

fn eal_cleanup() {
    // SAFETY: EAL is initialised and no DPDK object is used afterwards.
    assert_eq!(unsafe { rte_eal_cleanup() }, 0);
}

/// Asserts that exactly one port exists (a vdev that fails to probe does not
/// fail rte_eal_init) and that it is `name`; returns its id.
fn only_port(name: &str) -> u16 {
    // SAFETY: EAL is initialised.
    assert_eq!(unsafe { rte_eth_dev_count_avail() }, 1, "ports probed");
    let c_name = CString::new(name).expect("no NUL");
    let mut port = u16::MAX;
    // SAFETY: c_name is NUL-terminated; `port` is a valid out-parameter.
    let rc = unsafe { rte_eth_dev_get_port_by_name(c_name.as_ptr(), &mut port) };
    assert_eq!(rc, 0, "port {name}");
    port
}

fn create_pool(name: &str, n: u32) -> *mut rte_mempool {
    let c_name = CString::new(name).expect("no NUL");
    // SAFETY: EAL is initialised; c_name is NUL-terminated.
    let pool = unsafe {
        rte_pktmbuf_pool_create(
            c_name.as_ptr(),
            n,
            32,
            0,
            RTE_MBUF_DEFAULT_BUF_SIZE as u16,
            SOCKET_ID_ANY,
        )
    };
    assert!(!pool.is_null(), "rte_pktmbuf_pool_create: {}", errno_text());
    pool
}

/// One RX and one TX queue, default configuration, no offloads.
fn setup_and_start(port: u16, pool: *mut rte_mempool) {
    let conf = rte_eth_conf::default();
    // SAFETY: `port` exists and is stopped; `conf` and `pool` are valid; NULL
    // queue configurations select the PMD's defaults.
    unsafe {
        assert_eq!(rte_eth_dev_configure(port, 1, 1, &conf), 0, "configure");
        let socket = SOCKET_ID_ANY as u32;
        let rc = rte_eth_rx_queue_setup(port, 0, NB_DESC, socket, ptr::null(), pool);
        assert_eq!(rc, 0, "rx queue setup");
        let rc = rte_eth_tx_queue_setup(port, 0, NB_DESC, socket, ptr::null());
        assert_eq!(rc, 0, "tx queue setup");
        assert_eq!(rte_eth_dev_start(port), 0, "start");
    }
}

fn stop_and_close(port: u16) {
    // SAFETY: `port` is a started port; no queue is in use by another thread.
    unsafe {
        assert_eq!(rte_eth_dev_stop(port), 0, "stop");
        assert_eq!(rte_eth_dev_close(port), 0, "close");
    }
}

/// A fresh mbuf from `pool` holding `bytes`.
fn mbuf_from_bytes(pool: *mut rte_mempool, bytes: &[u8]) -> *mut rte_mbuf {
    let len = u16::try_from(bytes.len()).expect("frame fits an mbuf");
    // SAFETY: `pool` is a valid mempool. append returns either NULL or `len`
    // writable bytes inside the mbuf's data room.
    unsafe {
        let m = shim_rte_pktmbuf_alloc(pool);
        assert!(!m.is_null(), "mbuf pool exhausted");
        let dst = shim_rte_pktmbuf_append(m, len);
        assert!(!dst.is_null(), "frame larger than the tailroom");
        ptr::copy_nonoverlapping(bytes.as_ptr(), dst.cast::<u8>(), bytes.len());
        m
    }
}

/// The data of a single-segment mbuf.
///
/// # Safety
/// `m` is a valid single-segment mbuf that outlives the returned slice and is
/// not written meanwhile.
unsafe fn mbuf_bytes<'a>(m: *const rte_mbuf) -> &'a [u8] {
    // SAFETY: per the contract, mtod points to data_len initialised bytes.
    unsafe {
        let len = usize::from(shim_rte_pktmbuf_data_len(m));
        std::slice::from_raw_parts(shim_rte_pktmbuf_mtod(m).cast::<u8>(), len)
    }
}

/// `rte_errno` of this thread, with DPDK's description.
fn errno_text() -> String {
    // SAFETY: reading this thread's rte_errno; rte_strerror returns a static
    // or thread-local NUL-terminated string.
    unsafe {
        let code = shim_rte_errno();
        let text = CStr::from_ptr(rte_strerror(code)).to_string_lossy();
        format!("rte_errno {code} ({text})")
    }
}

/// A directory under the system temp dir, removed when dropped (also when
/// the scenario panics).
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("dpdk-sys-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Self(dir)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ------------------------------------------------------------------- pcap

/// (seconds, microseconds) and bytes of each frame of the RX pcap.
type PcapFrame = ((u32, u32), Vec<u8>);

/// Three Ethernet frames of different types and sizes, each with a distinct
/// payload, and pcap times with distinct microseconds.
fn test_frames() -> Vec<PcapFrame> {
    let mut ipv4 = vec![0u8; 102];
    ipv4[..6].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x02]);
    ipv4[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x01]);
    ipv4[12..14].copy_from_slice(&[0x08, 0x00]);
    for (k, b) in ipv4[14..].iter_mut().enumerate() {
        *b = (k * 3) as u8;
    }
    vec![
        ((1_700_000_000, 1), ptp_like_frame(0x00, 60)),
        ((1_700_000_000, 999_999), ipv4),
        ((1_700_000_123, 456_789), ptp_like_frame(0x08, 1514)),
    ]
}

/// A frame to the PTP L2 multicast address with EtherType 0x88F7, whose first
/// payload byte is `message_type`, `len` bytes long.
fn ptp_like_frame(message_type: u8, len: usize) -> Vec<u8> {
    let mut f = vec![0u8; len];
    f[..6].copy_from_slice(&[0x01, 0x1b, 0x19, 0x00, 0x00, 0x00]);
    f[6..12].copy_from_slice(&[0x02, 0x00, 0x00, 0x00, 0x00, 0x01]);
    f[12..14].copy_from_slice(&[0x88, 0xf7]);
    f[14] = message_type;
    f[15] = 0x02; // versionPTP 2
    for (k, b) in f[16..].iter_mut().enumerate() {
        *b = (k as u8).wrapping_mul(31).wrapping_add(message_type);
    }
    f
}

/// Classic little-endian pcap, microsecond timestamps, LINKTYPE_ETHERNET.
fn write_pcap_usec(path: &Path, frames: &[PcapFrame]) {
    let mut out = Vec::new();
    out.extend(0xa1b2_c3d4u32.to_le_bytes());
    out.extend(2u16.to_le_bytes());
    out.extend(4u16.to_le_bytes());
    out.extend(0i32.to_le_bytes()); // thiszone
    out.extend(0u32.to_le_bytes()); // sigfigs
    out.extend(65_535u32.to_le_bytes()); // snaplen
    out.extend(1u32.to_le_bytes()); // LINKTYPE_ETHERNET
    for ((sec, usec), bytes) in frames {
        let len = bytes.len() as u32;
        for field in [*sec, *usec, len, len] {
            out.extend(field.to_le_bytes());
        }
        out.extend(bytes);
    }
    std::fs::write(path, out).expect("write rx pcap");
}

/// The frames of a little-endian pcap file (µs or ns timestamps).
fn read_pcap(path: &Path) -> Vec<Vec<u8>> {
    let data = std::fs::read(path).expect("read tx pcap");
    let u32_at = |off: usize| u32::from_le_bytes(data[off..off + 4].try_into().expect("4 bytes"));
    assert!(data.len() >= 24, "pcap header");
    assert!(
        matches!(u32_at(0), 0xa1b2_c3d4 | 0xa1b2_3c4d),
        "little-endian pcap magic, got {:#x}",
        u32_at(0)
    );
    let mut frames = Vec::new();
    let mut off = 24;
    while off < data.len() {
        let caplen = u32_at(off + 8) as usize;
        let start = off + 16;
        frames.push(data[start..start + caplen].to_vec());
        off = start + caplen;
    }
    frames
}
