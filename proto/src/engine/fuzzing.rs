//! The engine fed arbitrary event sequences, for the `engine` fuzz target and its corpus
//! replay: received frames (arbitrary bytes, or templates of the requests that reach deep
//! states, mutated), timers, time passing, clock steps either way, TX timestamps (late, out
//! of order, never), link changes and clock-status changes. After every event it checks
//! the engine's invariants and panics (for the fuzzer to report) if one breaks:
//!
//! * every message it asks to send parses, and is of a type a grandmaster sends; on a port
//!   with integrity protection it carries a valid AUTHENTICATION TLV;
//! * one received message is answered, to the source it claims, by at most two messages (a
//!   unicast REQUEST: its GRANT and the first message of each granted stream);
//! * a FAULTY port sends nothing but management responses (1588-2019 9.2.5);
//! * the counters never go backwards.

use super::io::{PeerAddress, Recorded, RxMessage, TxStamp, TxToken};
use super::{
    ClockStatus, Engine, EngineConfig, PortConfig, PortState, Profile, Time, TimeProperties,
};
use crate::wire::{
    ClockAccuracy, ClockIdentity, ClockQuality, MessageRepr, MessageType, TimeSource,
};

/// Templates of received messages that reach deep states: a Delay_Req, a unicast REQUEST
/// for Announce, Sync and Delay_Resp, a CANCEL, a better master's Announce, a padded
/// management GET, a Pdelay_Req and a management SET (their sourcePortIdentity, sequenceId
/// and one octet are then changed from the input). Built with the codec.
fn templates(domain: u8) -> Vec<Vec<u8>> {
    use crate::wire::message::AnnounceBody;
    use crate::wire::{
        Flags, HeaderRepr, ManagementAction, ManagementData, ManagementId, MessageBody,
        PortIdentity, TimeInterval, Timestamp, TlvBlock, TlvRepr,
    };
    let header = |mt: MessageType| HeaderRepr {
        major_sdo_id: 0,
        message_type: mt,
        minor_version_ptp: 1,
        version_ptp: 2,
        message_length: 0,
        domain_number: domain,
        minor_sdo_id: 0,
        flags: Flags::default(),
        correction: TimeInterval::ZERO,
        message_type_specific: 0,
        source_port_identity: PortIdentity {
            clock_identity: ClockIdentity([2, 0, 0, 0xff, 0xfe, 0, 0, 1]),
            port_number: 1,
        },
        sequence_id: 1,
        control_field: mt.control_field(),
        log_message_interval: 0x7f,
    };
    let emit = |body: MessageBody, tlvs: &[TlvRepr<'_>]| -> Vec<u8> {
        let mut tb = [0u8; 128];
        let n = TlvBlock::write(&mut tb, tlvs).unwrap_or(0);
        let mt = body.message_type();
        let repr = MessageRepr {
            header: header(mt),
            body,
            tlvs: TlvBlock::new_checked(&tb[..n], 48).unwrap_or(TlvBlock::EMPTY),
        };
        let mut v = vec![0u8; repr.buffer_len()];
        let _ = repr.emit(&mut v);
        v
    };
    let request = |mt, log| TlvRepr::RequestUnicastTransmission {
        message_type: mt,
        log_inter_message_period: log,
        duration: 60,
    };
    let target = PortIdentity::ALL;
    let zeros = [0u8; 20];
    vec![
        emit(
            MessageBody::DelayReq {
                origin_timestamp: Timestamp::default(),
            },
            &[],
        ),
        emit(
            MessageBody::Signaling {
                target_port_identity: target,
            },
            &[
                request(MessageType::Announce, 0),
                request(MessageType::Sync, -3),
                request(MessageType::DelayResp, -3),
            ],
        ),
        emit(
            MessageBody::Signaling {
                target_port_identity: target,
            },
            &[TlvRepr::CancelUnicastTransmission {
                message_type: MessageType::Sync,
            }],
        ),
        emit(
            MessageBody::Announce(AnnounceBody {
                origin_timestamp: Timestamp::default(),
                current_utc_offset: 37,
                grandmaster_priority1: 1,
                grandmaster_clock_quality: locked().clock_quality,
                grandmaster_priority2: 128,
                grandmaster_identity: ClockIdentity([2, 0, 0, 0xff, 0xfe, 0, 0, 1]),
                steps_removed: 0,
                time_source: TimeSource::GNSS,
            }),
            &[],
        ),
        emit(
            MessageBody::Management {
                target_port_identity: target,
                starting_boundary_hops: 1,
                boundary_hops: 1,
                action: ManagementAction::Get,
            },
            &[TlvRepr::Management {
                id: ManagementId::DEFAULT_DATA_SET,
                data: ManagementData::Raw(&zeros),
            }],
        ),
        emit(
            MessageBody::PdelayReq {
                origin_timestamp: Timestamp::default(),
            },
            &[],
        ),
        emit(
            MessageBody::Management {
                target_port_identity: target,
                starting_boundary_hops: 1,
                boundary_hops: 1,
                action: ManagementAction::Set,
            },
            &[TlvRepr::Management {
                id: ManagementId::PRIORITY1,
                data: ManagementData::Priority1(5),
            }],
        ),
        v1_delay_req(),
        v1_management_get(),
    ]
}

/// A PTPv1 management GET_DEFAULT_DATA_SET to every clock, in subdomain `STUDIO`.
fn v1_management_get() -> Vec<u8> {
    use crate::wire::v1::{self, V1Body, V1HeaderRepr, V1MessageRepr, V1PortIdentity};
    let me = V1PortIdentity {
        communication_technology: v1::COMM_ETHER,
        uuid: [2, 0, 0, 0, 0, 9],
        port_id: 1,
    };
    let r = V1MessageRepr {
        header: V1HeaderRepr {
            version_network: v1::VERSION_NETWORK,
            subdomain: v1::Subdomain::named(b"STUDIO"),
            source: me,
            sequence_id: 1,
            flags: v1::V1Flags::default(),
        },
        body: V1Body::Management {
            target: V1PortIdentity {
                communication_technology: v1::COMM_ETHER,
                uuid: [0; 6],
                port_id: 0,
            },
            starting_boundary_hops: 1,
            boundary_hops: 1,
            key: super::v1::key::GET_DEFAULT_DATA_SET,
            parameters: &[],
        },
    };
    let mut v = vec![0u8; r.buffer_len()];
    let _ = r.emit(&mut v);
    v
}

/// A PTPv1 Delay_Req (124 octets) in subdomain `_DFLT`.
fn v1_delay_req() -> Vec<u8> {
    use crate::wire::v1::{self, SyncBody, V1Body, V1HeaderRepr, V1MessageRepr, V1PortIdentity};
    let me = V1PortIdentity {
        communication_technology: v1::COMM_ETHER,
        uuid: [2, 0, 0, 0, 0, 1],
        port_id: 1,
    };
    let r = V1MessageRepr {
        header: V1HeaderRepr {
            version_network: v1::VERSION_NETWORK,
            subdomain: v1::Subdomain::DEFAULT,
            source: me,
            sequence_id: 1,
            flags: v1::V1Flags::default(),
        },
        body: V1Body::DelayReq(SyncBody {
            grandmaster: me,
            parent: me,
            ..SyncBody::default()
        }),
    };
    let mut v = vec![0u8; r.buffer_len()];
    let _ = r.emit(&mut v);
    v
}

/// Reads the input a byte at a time (zeros past its end).
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn take(&mut self, n: usize) -> &[u8] {
        let (a, b) = self.0.split_at(n.min(self.0.len()));
        self.0 = b;
        a
    }
}

fn locked() -> ClockStatus {
    ClockStatus {
        clock_quality: ClockQuality {
            clock_class: 6,
            clock_accuracy: ClockAccuracy::NS_100,
            offset_scaled_log_variance: 0x4e5d,
        },
        time_properties: TimeProperties {
            current_utc_offset: 37,
            current_utc_offset_valid: true,
            leap59: false,
            leap61: false,
            time_traceable: true,
            frequency_traceable: true,
            ptp_timescale: true,
            time_source: TimeSource::GNSS,
        },
    }
}

/// Runs the events `data` describes; panics if an invariant breaks.
#[doc(hidden)]
pub fn fuzz_events(data: &[u8]) {
    let mut input = Input(data);
    let setup = input.byte();
    let mut cfg = EngineConfig {
        clock: super::ClockConfig::new(ClockIdentity([0x00, 0x1b, 0x19, 0xff, 0xfe, 0, 0, 1])),
        ports: vec![PortConfig::new([0x00, 0x1b, 0x19, 0, 0, 1])],
    };
    let profile = match setup % 4 {
        0 => Profile::DefaultE2E,
        1 => Profile::DefaultP2P,
        2 => Profile::G8275_2,
        _ => Profile::Smpte2059_2,
    };
    profile.apply(&mut cfg.clock, &mut cfg.ports);
    cfg.ports[0].unicast = true;
    cfg.ports[0].hybrid_e2e = setup & 0x10 != 0;
    cfg.ports[0].one_step = setup & 0x20 != 0;
    cfg.ports[0].unicast_limits.max_slaves = 64;
    cfg.clock.management_set = setup & 0x40 != 0;
    cfg.clock.max_requests_per_ms = 50;
    // Integrity protection (two-step only): everything sent is signed, what arrives checked.
    if setup & 0x80 != 0 && !cfg.ports[0].one_step {
        if let Ok(db) = super::auth::SecurityDatabase::parse(
            "[security_association]\nspp 0\n1 SHA256-128 ASCII:fuzz\n2 SHA256 ASCII:fuzz2\n",
        ) {
            cfg.clock.security = db;
            cfg.ports[0].auth = Some(super::PortAuth {
                spp: 0,
                key_id: 1 + u32::from(setup & 0x04 != 0),
                required: setup & 0x08 != 0,
            });
        }
    }
    let domain = cfg.clock.domain_number;
    let templates = templates(domain);
    let mut now = Time(1_700_000_037_000_000_000);
    // A PTPv1 master beside v2 on default-profile, two-step, unauthenticated ports.
    if setup % 4 == 0 && !cfg.ports[0].one_step && cfg.ports[0].auth.is_none() {
        cfg.ports[0].v1_log_sync_interval = Some(0);
        // Two subdomains, one named (its group by CRC-32), so v1 messages in either, and in
        // neither, all meet a master.
        cfg.ports[0].v1_subdomains = vec![
            crate::wire::v1::Subdomain::DEFAULT,
            crate::wire::v1::Subdomain::named(b"STUDIO"),
        ];
    }
    let auth = cfg.ports[0].auth;
    let security = cfg.clock.security.clone();
    let Ok(mut e) = Engine::new(cfg, now, locked()) else {
        return;
    };
    let mut out = Recorded::default();
    let mut tokens: Vec<(TxToken, Time)> = Vec::new();
    let mut sent_total = 0u64;
    let mut buf = [0u8; 256];
    let mut steps = 0;
    while !input.0.is_empty() && steps < 4_096 {
        steps += 1;
        let before = e.stats().clone();
        let op = input.byte();
        // What a received message may be answered by: two messages (Delay_Resp; Pdelay_Resp
        // and its follow-up), or for a Signaling REQUEST its GRANT and the first message
        // of each granted stream.
        let mut answer_limit = None;
        match op % 8 {
            0 | 7 => {
                // A received frame: raw bytes, or a template with its identity, sequence and
                // one octet changed.
                let n = if op % 8 == 0 {
                    let n = usize::from(input.byte());
                    let raw = input.take(n);
                    buf[..raw.len()].copy_from_slice(raw);
                    raw.len()
                } else {
                    let t = &templates[usize::from(input.byte()) % templates.len()];
                    buf[..t.len()].copy_from_slice(t);
                    buf[27] = input.byte() % 8; // clock identity
                    buf[31] = input.byte(); // sequenceId
                    let at = usize::from(input.byte()) % t.len();
                    if at >= 34 {
                        buf[at] ^= input.byte();
                    }
                    t.len()
                };
                let who = input.byte();
                let rx = RxMessage {
                    port: 0,
                    source: PeerAddress::Ipv4([10, 0, 0, who % 16]),
                    multicast: who & 0x80 != 0,
                    timestamp: (who & 0x40 == 0).then_some(now),
                    payload: &buf[..n],
                };
                let source = rx.source;
                e.handle_message(now, rx, &mut out);
                let signaling = n > 0 && buf[0] & 0x0f == 0x0c;
                answer_limit = Some((source, if signaling { 4 } else { 2 }));
            }
            1 => e.handle_timeout(now, &mut out),
            2 => {
                let ms = u64::from(input.byte()) << 4 | u64::from(input.byte() >> 4);
                now = now.plus_nanos(ms * 1_000_000);
                e.handle_timeout(now, &mut out);
            }
            3 => {
                // A clock step of up to ±4 h.
                let minutes = i64::from(input.byte() as i8) * 2;
                now = now.shifted(minutes * 60_000_000_000);
                e.handle_timeout(now, &mut out);
            }
            4 => {
                // A TX timestamp for a token handed out, in any order and perhaps late
                // (tokens are not copyable: each is handed back at most once).
                let k = usize::from(input.byte());
                if !tokens.is_empty() {
                    let (token, at) = tokens.swap_remove(k % tokens.len());
                    let late = u64::from(input.byte()) * 1_000_000;
                    e.handle_tx_timestamp(now, token, at.plus_nanos(late), &mut out);
                }
            }
            5 => {
                e.set_port_link(now, 0, input.byte() & 1 == 0);
            }
            _ => {
                let mut s = locked();
                s.clock_quality.clock_class = match input.byte() % 3 {
                    0 => 6,
                    1 => 7,
                    _ => 248,
                };
                e.set_clock_status(now, s);
            }
        }
        let faulty = e
            .port_status(0)
            .is_some_and(|p| p.state == PortState::Faulty);
        if let Some((source, limit)) = answer_limit {
            // What goes to the claimed source (multicast goes to the group, and sends to
            // other slaves or groups that fell due meanwhile are not answers).
            let types: Vec<MessageType> = out
                .sent
                .iter()
                .filter(|t| t.destination == super::io::Destination::Unicast(source))
                .map(|t| t.message_type)
                .collect();
            assert!(
                types.len() <= limit,
                "one received message answered by {types:?}"
            );
        }
        if faulty && op % 8 != 5 {
            // 9.2.5: nothing but the management responses required of it.
            let types: Vec<MessageType> = out
                .sent
                .iter()
                .map(|t| t.message_type)
                .filter(|t| *t != MessageType::Management)
                .collect();
            assert!(types.is_empty(), "a FAULTY port sent {types:?} (op {op})");
        }
        for tx in out.sent.drain(..) {
            if crate::wire::v1::ptp_version(&tx.payload) == Some(1) {
                let m = crate::wire::v1::V1MessageRepr::parse_bytes(&tx.payload).unwrap_or_else(
                    |err| panic!("the engine sent an unparsable v1 message: {err:?}"),
                );
                assert!(
                    !matches!(m.body, crate::wire::v1::V1Body::DelayReq(_)),
                    "a grandmaster sent a v1 Delay_Req"
                );
                // Every v1 message goes to its subdomain's group, never to one address.
                assert_eq!(
                    tx.destination,
                    super::Destination::V1Group(m.header.subdomain.group_index()),
                    "a v1 message off its subdomain's group"
                );
                if let TxStamp::TwoStep(token) = tx.stamp {
                    if tokens.len() < 64 {
                        tokens.push((token, now));
                    }
                }
                sent_total += 1;
                continue;
            }
            let m = MessageRepr::parse_bytes(&tx.payload).unwrap_or_else(|err| {
                panic!(
                    "the engine sent an unparsable {:?}: {err:?}",
                    tx.message_type
                )
            });
            assert!(
                !matches!(
                    m.header.message_type,
                    MessageType::DelayReq | MessageType::PdelayReq
                ),
                "a grandmaster sent {:?}",
                m.header.message_type
            );
            if let Some(a) = auth {
                assert_eq!(
                    super::auth::verify(&security, a.spp, &tx.payload, m.body.fixed_len()),
                    Ok(true),
                    "an unsigned or badly signed {:?} on an authenticated port",
                    tx.message_type
                );
            }
            if let TxStamp::TwoStep(token) = tx.stamp {
                if tokens.len() < 64 {
                    tokens.push((token, now));
                }
            }
            sent_total += 1;
        }
        out.observed.clear();
        let after = e.stats();
        assert!(
            after.rx.iter().sum::<u64>() >= before.rx.iter().sum::<u64>()
                && after.tx.iter().sum::<u64>() >= before.tx.iter().sum::<u64>(),
            "counters went backwards"
        );
    }
    let _ = sent_total;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The templates are the messages they claim to be.
    #[test]
    fn templates_parse() {
        let t = templates(0);
        assert_eq!(t.len(), 9);
        assert!(crate::wire::v1::V1MessageRepr::parse_bytes(&t[7]).is_ok());
        assert!(crate::wire::v1::V1MessageRepr::parse_bytes(&t[8]).is_ok());
        for (k, t) in t[..7].iter().enumerate() {
            let m = MessageRepr::parse_bytes(t).unwrap_or_else(|e| panic!("template {k}: {e:?}"));
            assert_eq!(
                usize::from(m.header.message_length),
                t.len(),
                "template {k}"
            );
        }
    }

    /// Deterministic pseudo-random event sequences (SplitMix64), thousands of them, in
    /// every `cargo test`: the invariants hold.
    #[test]
    fn random_event_sequences_keep_the_invariants() {
        let mut x = 0x5eed_u64;
        let mut next = || {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        for _ in 0..2_000 {
            let len = (next() % 600) as usize;
            let data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            fuzz_events(&data);
        }
    }
}
