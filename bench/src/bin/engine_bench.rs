//! Engine throughput and memory, printed as figures (run in release):
//!
//! `cargo run --release -p meridian-bench --bin engine_bench`
//!
//! * Delay_Req → Delay_Resp: requests handled per second on one core (parse, checks, build,
//!   emit into the sink).
//! * Scheduled unicast service: Sync + Follow_Up (+ Announce) messages per second for 10 000
//!   slaves at 128 Hz Sync, TX timestamps fed back as the data plane would.
//! * Heap bytes of engine state per unicast slave (counting allocator).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Instant;

use meridian::config::MAX_PER_SLAVE_LIMIT;
use meridian::control::SlaveSample;

use meridian_proto::engine::{
    auth::SecurityDatabase, ClockConfig, ClockStatus, Engine, EngineConfig, Output, PeerAddress,
    PortAuth, PortConfig, Profile, RxMessage, Time, Transmit, TxStamp, TxToken,
};
use meridian_proto::wire::{
    ClockIdentity, Flags, HeaderRepr, MessageBody, MessageRepr, MessageType, PortIdentity,
    TimeInterval, Timestamp, TlvBlock, TlvRepr,
};

struct Counting;
static ALLOCATED: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator and only counts bytes.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(l.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        ALLOCATED.fetch_sub(l.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCATED.fetch_add(n as isize - l.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const T0: Time = Time(1_700_000_037_000_000_000);

/// Counts messages; keeps TX tokens to hand back.
struct Sink {
    messages: u64,
    tokens: Vec<TxToken>,
}

impl Output for Sink {
    fn transmit(&mut self, tx: Transmit<'_>) {
        self.messages += 1;
        std::hint::black_box(tx.payload);
        if let TxStamp::TwoStep(t) = tx.stamp {
            self.tokens.push(t);
        }
    }
}

fn header(mt: MessageType, seq: u16, id: u32, domain: u8) -> HeaderRepr {
    let b = id.to_be_bytes();
    HeaderRepr {
        major_sdo_id: 0,
        message_type: mt,
        minor_version_ptp: 1,
        version_ptp: 2,
        message_length: 0,
        domain_number: domain,
        minor_sdo_id: 0,
        flags: Flags {
            unicast: true,
            ..Flags::default()
        },
        correction: TimeInterval::ZERO,
        message_type_specific: 0,
        source_port_identity: PortIdentity {
            clock_identity: ClockIdentity([2, b[0], b[1], 0xff, 0xfe, b[2], b[3], 1]),
            port_number: 1,
        },
        sequence_id: seq,
        control_field: mt.control_field(),
        log_message_interval: 0x7f,
    }
}

fn emit(r: &MessageRepr<'_>) -> Vec<u8> {
    let mut v = vec![0; r.buffer_len()];
    r.emit(&mut v).expect("emit");
    v
}

/// The security association of the authenticated figure (HMAC-SHA256-128).
const SA: &str = "[security_association]\nspp 0\n1 SHA256-128 HEX:F8ADC6B8B8E9AA709106BA42481EC9E29607334DE2C3C737A11A12931DB27F8C\n";

fn engine(profile: Profile, max_slaves: u32) -> Engine {
    engine_with(profile, max_slaves, false)
}

fn engine_with(profile: Profile, max_slaves: u32, auth: bool) -> Engine {
    let mut clock = ClockConfig::new(ClockIdentity([0, 0x1b, 0x19, 0xff, 0xfe, 0, 0, 1]));
    let mut ports = vec![PortConfig::new([0, 0x1b, 0x19, 0, 0, 1])];
    profile.apply(&mut clock, &mut ports);
    if auth {
        clock.security = SecurityDatabase::parse(SA).expect("sa");
        ports[0].auth = Some(PortAuth {
            spp: 0,
            key_id: 1,
            required: true,
        });
    }
    ports[0].unicast = true;
    ports[0].unicast_limits.max_slaves = max_slaves;
    ports[0].unicast_limits.max_total_rate = 10_000_000;
    clock.max_requests_per_ms = u32::MAX;
    clock.max_requests_per_source_per_s = u32::MAX;
    clock.max_pending_tx_timestamps = 1 << 20;
    let mut e = Engine::new(
        EngineConfig { clock, ports },
        T0,
        ClockStatus::free_running(37, true),
    )
    .expect("config");
    let mut sink = Sink {
        messages: 0,
        tokens: Vec::new(),
    };
    e.handle_timeout(T0.plus_nanos(10_000_000_000), &mut sink);
    for t in sink.tokens.drain(..) {
        e.handle_tx_timestamp_lost(t);
    }
    e
}

/// Seconds for `n` Delay_Reqs through `e`, every one answered.
fn delay_reqs(e: &mut Engine, req: &[u8], n: u64) -> f64 {
    let mut sink = Sink {
        messages: 0,
        tokens: Vec::new(),
    };
    let mut now = T0.plus_nanos(11_000_000_000);
    let start = Instant::now();
    for _ in 0..n {
        now = now.plus_nanos(100);
        let rx = RxMessage {
            port: 0,
            source: PeerAddress::Ipv4([10, 0, 0, 2]),
            multicast: true,
            timestamp: Some(now),
            payload: req,
        };
        e.handle_message(now, rx, &mut sink);
    }
    let el = start.elapsed().as_secs_f64();
    assert_eq!(sink.messages, n, "every Delay_Req answered");
    el
}

fn main() {
    // 1. Delay_Req -> Delay_Resp, plain and authenticated (check the request's ICV, sign the
    // answer), alternated.
    let req = emit(&MessageRepr {
        header: header(MessageType::DelayReq, 1, 1, 0),
        body: MessageBody::DelayReq {
            origin_timestamp: Timestamp::default(),
        },
        tlvs: TlvBlock::EMPTY,
    });
    let db = SecurityDatabase::parse(SA).expect("sa");
    let signer = db.signer(0, 1).expect("key");
    let mut signed = req.clone();
    signed.resize(req.len() + signer.tlv_len(), 0);
    assert!(signer.sign(&mut signed, req.len()));
    let n = 5_000_000u64;
    let (mut plain, mut auth) = (Vec::new(), Vec::new());
    for _ in 0..2 {
        plain.push(delay_reqs(&mut engine(Profile::DefaultE2E, 16), &req, n));
        auth.push(delay_reqs(
            &mut engine_with(Profile::DefaultE2E, 16, true),
            &signed,
            n / 5,
        ));
    }
    let el = plain.iter().copied().fold(f64::MAX, f64::min);
    println!(
        "delay_req_to_delay_resp: {:.2} M requests/s on one core ({:.0} ns each, {n} requests)",
        n as f64 / el / 1e6,
        el * 1e9 / n as f64
    );
    let ea = auth.iter().copied().fold(f64::MAX, f64::min);
    println!(
        "authenticated delay_req_to_delay_resp (require-auth, HMAC-SHA256-128 checked and \
         signed): {:.2} M requests/s on one core ({:.0} ns each, {} requests)",
        (n / 5) as f64 / ea / 1e6,
        ea * 1e9 / (n / 5) as f64,
        n / 5
    );

    // 2. Memory per slave and scheduled unicast service for 10 000 slaves.
    let slaves = 10_000u32;
    let mut sink = Sink {
        messages: 0,
        tokens: Vec::with_capacity(1 << 20),
    };
    let mut tokens: Vec<TxToken> = Vec::with_capacity(1 << 20);
    let before = ALLOCATED.load(Ordering::Relaxed);
    let small = engine(Profile::G8275_2, 1);
    let base_small = ALLOCATED.load(Ordering::Relaxed) - before;
    drop(small);
    let before = ALLOCATED.load(Ordering::Relaxed);
    let mut e = engine(Profile::G8275_2, slaves);
    let base = ALLOCATED.load(Ordering::Relaxed) - before;
    let mut now = T0.plus_nanos(11_000_000_000);
    let mut tb = [0u8; 64];
    for k in 0..slaves {
        let tlvs = [
            TlvRepr::RequestUnicastTransmission {
                message_type: MessageType::Announce,
                log_inter_message_period: 0,
                duration: 300,
            },
            TlvRepr::RequestUnicastTransmission {
                message_type: MessageType::Sync,
                log_inter_message_period: -7,
                duration: 300,
            },
            TlvRepr::RequestUnicastTransmission {
                message_type: MessageType::DelayResp,
                log_inter_message_period: -7,
                duration: 300,
            },
        ];
        let block = TlvBlock::build(&mut tb, &tlvs).expect("tlvs");
        let sig = emit(&MessageRepr {
            header: header(MessageType::Signaling, 1, k, 44),
            body: MessageBody::Signaling {
                target_port_identity: PortIdentity::ALL,
            },
            tlvs: block,
        });
        let b = k.to_be_bytes();
        let rx = RxMessage {
            port: 0,
            source: PeerAddress::Ipv4([10, b[1], b[2], b[3]]),
            multicast: false,
            timestamp: Some(now),
            payload: &sig,
        };
        e.handle_message(now, rx, &mut sink);
    }
    std::mem::swap(&mut tokens, &mut sink.tokens);
    for t in tokens.drain(..) {
        e.handle_tx_timestamp(now, t, now, &mut sink);
    }
    let grown = ALLOCATED.load(Ordering::Relaxed) - before - base;
    assert_eq!(e.unicast(0).map(|u| u.len()), Some(slaves as usize));
    println!(
        "engine state per unicast slave: {} B ({} B reserved up front for max_slaves = {slaves}, \
         +{grown} B once {slaves} slaves are granted; Slave struct {} B)",
        (base - base_small + grown) / slaves as isize,
        base - base_small,
        std::mem::size_of::<meridian_proto::engine::unicast::Slave>()
    );

    let secs = 5u64;
    let end = now.plus_nanos(secs * 1_000_000_000);
    sink.messages = 0;
    let start = Instant::now();
    while now < end {
        now = e.poll_timeout().min(end);
        e.handle_timeout(now, &mut sink);
        std::mem::swap(&mut tokens, &mut sink.tokens);
        for t in tokens.drain(..) {
            e.handle_tx_timestamp(now, t, now, &mut sink);
        }
    }
    let el = start.elapsed().as_secs_f64();
    let st = e.stats();
    let syncs = st.tx[0];
    println!(
        "scheduled unicast service: {slaves} slaves at 128 Sync/s + 1 Announce/s, {secs} simulated s: \
         {} messages in {el:.2} s wall = {:.2} M messages/s on one core ({syncs} Sync, {} Follow_Up, {} Announce; \
         {:.1}x real time)",
        sink.messages,
        sink.messages as f64 / el / 1e6,
        st.tx[8],
        st.tx[11],
        secs as f64 / el
    );

    // 3. What `[metrics] per-slave` costs the engine loop per status report: copying every
    //    listed slave (as `meridian::daemon::report::Reporter::report` does).
    let u = e.unicast(0).expect("port 0");
    let rounds = 50;
    let start = Instant::now();
    let mut listed = 0usize;
    for _ in 0..rounds {
        let copy: Vec<SlaveSample> = u
            .iter()
            .take(MAX_PER_SLAVE_LIMIT as usize)
            .map(|(_, s)| SlaveSample::of(s, now))
            .collect();
        listed += std::hint::black_box(copy).len();
    }
    let per_report = start.elapsed().as_secs_f64() / rounds as f64;
    println!(
        "per-slave status copy: {} slaves in {:.0} µs per report ({:.0} ns per slave)",
        listed / rounds,
        per_report * 1e6,
        per_report * 1e9 / (listed / rounds) as f64
    );
}
