//! The management responder (IEEE 1588-2019 clause 15), answering what linuxptp's `pmc` asks
//! a grandmaster.
//!
//! * GET of every ID in [`answer_get`] returns RESPONSE with the value from the datasets,
//!   linuxptp's TIME_STATUS_NP and GRANDMASTER_SETTINGS_NP included.
//!   `pmc` fills GET requests with zeros of the response's size; a GET's data is ignored.
//! * SET of PRIORITY1, PRIORITY2, DOMAIN, LOG_ANNOUNCE_INTERVAL, LOG_SYNC_INTERVAL,
//!   ANNOUNCE_RECEIPT_TIMEOUT and GRANDMASTER_SETTINGS_NP (as ptp4l: the quality and time
//!   properties announced, pinned from then on over the clock discipline's until a restart —
//!   see [`Engine::clock_status_pinned`]) is honoured only when [`ClockConfig::management_set`] is on
//!   (off by default): otherwise NOT_SETABLE. Malformed SET data is WRONG_LENGTH; an
//!   out-of-range value is WRONG_VALUE.
//! * Unknown IDs are NO_SUCH_ID; known but unanswered IDs and other actions are
//!   NOT_SUPPORTED, as `ptp4l` does.
//! * The reply goes back the way the request came (multicast or unicast), addressed to the
//!   requester in targetPortIdentity, with the request's sequenceId (15.4.1).

use super::{
    ClockConfig, ClockStatus, Ctx, Destination, Engine, Output, RxMessage, Time, TimeProperties,
    TxStamp,
};
use crate::wire::management::{
    ClockDescription, CurrentDataSet, DefaultDataSet, GrandmasterSettingsNp, ParentDataSet,
    PortDataSet, TimePropertiesDataSet, TimeStatusNp,
};
use crate::wire::tlv::management_error;
use crate::wire::{
    ManagementAction, ManagementData, ManagementId, MessageBody, MessageRepr, MessageType,
    PortIdentity, PtpText, TimeInterval, TlvBlock, TlvRepr,
};

/// Text of productDescription: manufacturer;model;serial.
const PRODUCT: &str = concat!(
    "Meridian;Meridian PTP grandmaster;",
    env!("CARGO_PKG_VERSION")
);
/// Text of revisionData: hardware;firmware;software.
const REVISION: &str = concat!(";;", env!("CARGO_PKG_VERSION"));

type Answer<'a> = Result<ManagementData<'a>, u16>;

/// A management message's length before its TLVs: header (34) and the management fields
/// (targetPortIdentity 10, hops 2, action 1, reserved 1).
const REPLY_FIXED_LEN: usize = 48;

impl Engine {
    pub(super) fn on_management(
        &mut self,
        now: Time,
        i: usize,
        rx: &RxMessage<'_>,
        msg: &MessageRepr<'_>,
        out: &mut dyn Output,
    ) {
        let MessageBody::Management {
            target_port_identity: target,
            starting_boundary_hops,
            boundary_hops,
            action,
        } = msg.body
        else {
            return;
        };
        let me = self.ports[i].identity;
        let clock_matches = target.clock_identity == crate::wire::ClockIdentity::ALL
            || target.clock_identity == me.clock_identity;
        let port_matches = target.port_number == 0xffff || target.port_number == me.port_number;
        if !clock_matches || !port_matches {
            self.stats.rx_ignored += 1;
            return;
        }
        // One management TLV per message (15.4.1.1).
        let Some(TlvRepr::Management { id, data }) = msg.tlvs.iter().next() else {
            self.stats.rx_ignored += 1;
            return;
        };
        let reply_action = match action {
            ManagementAction::Get | ManagementAction::Set => ManagementAction::Response,
            ManagementAction::Command => ManagementAction::Acknowledge,
            _ => {
                // Responses and acknowledgements from other nodes are not for us.
                self.stats.rx_ignored += 1;
                return;
            }
        };
        let answer: Answer<'_> = match action {
            ManagementAction::Get => Ok(ManagementData::Empty),
            ManagementAction::Set => self.apply_set(now, i, id, data),
            _ => Err(management_error::NOT_SUPPORTED),
        };
        // GET (and a successful SET) answer with the current value. The TLV is written
        // into `tb` so the borrow of the datasets ends before the counters change.
        let mut pa_buf = [0u8; 16];
        let mut tb = [0u8; 400];
        let (written, ok) = {
            let answer = answer.and_then(|_| answer_get(self, i, id, &mut pa_buf, now));
            let ok = answer.is_ok();
            let tlv = match answer {
                Ok(data) => TlvRepr::Management { id, data },
                Err(error_id) => TlvRepr::ManagementErrorStatus {
                    error_id,
                    id,
                    display_data: None,
                },
            };
            (TlvBlock::write(&mut tb, &[tlv]), ok)
        };
        let Ok(written) = written else {
            return;
        };
        let Ok(tlvs) = TlvBlock::new_checked(&tb[..written], 48) else {
            return;
        };
        // No amplification towards a claimed address: a unicast request whose answer would
        // be longer than itself gets none (pmc pads its GETs to the answer's size; multicast
        // answers go to the group, not to a claimed source).
        let request_len = usize::from(msg.header.message_length).min(rx.payload.len());
        let auth_len = self.port_cfg[i]
            .auth
            .and_then(|a| self.clock.security.signer(a.spp, a.key_id))
            .map_or(0, |s| s.tlv_len());
        if !rx.multicast && REPLY_FIXED_LEN + written + auth_len > request_len {
            self.stats.management_reply_too_large += 1;
            return;
        }
        if ok {
            self.stats.management_responses += 1;
        } else {
            self.stats.management_errors += 1;
        }
        let seq = msg.header.sequence_id;
        let ctx: Ctx<'_> = self.ctx(i);
        let unicast = !rx.multicast;
        let repr = MessageRepr {
            header: ctx.header(MessageType::Management, seq, 0x7f, unicast),
            body: MessageBody::Management {
                target_port_identity: msg.header.source_port_identity,
                starting_boundary_hops: starting_boundary_hops.saturating_sub(boundary_hops),
                boundary_hops: starting_boundary_hops.saturating_sub(boundary_hops),
                action: reply_action,
            },
            tlvs,
        };
        let dest = if unicast {
            Destination::Unicast(rx.source)
        } else {
            Destination::Multicast
        };
        self.transmit(i, out, dest, &repr, TxStamp::None);
    }

    /// Applies a SET; Ok means "answer with the (new) current value".
    fn apply_set(
        &mut self,
        now: Time,
        i: usize,
        id: ManagementId,
        data: ManagementData<'_>,
    ) -> Answer<'static> {
        let settable = matches!(
            id,
            ManagementId::PRIORITY1
                | ManagementId::PRIORITY2
                | ManagementId::DOMAIN
                | ManagementId::LOG_ANNOUNCE_INTERVAL
                | ManagementId::LOG_SYNC_INTERVAL
                | ManagementId::ANNOUNCE_RECEIPT_TIMEOUT
                | ManagementId::GRANDMASTER_SETTINGS_NP
        );
        if id.name().is_none() {
            return Err(management_error::NO_SUCH_ID);
        }
        if !settable {
            return Err(management_error::NOT_SUPPORTED);
        }
        if !self.clock.management_set {
            return Err(management_error::NOT_SETABLE);
        }
        let data = match data {
            ManagementData::Raw(raw) => {
                ManagementData::parse(id, raw).map_err(|_| management_error::WRONG_LENGTH)?
            }
            d => d,
        };
        let cfg = &mut self.port_cfg[i];
        match data {
            ManagementData::Priority1(v) => self.clock.priority1 = v,
            ManagementData::Priority2(v) => self.clock.priority2 = v,
            ManagementData::Domain(v) => {
                if v > 239 {
                    return Err(management_error::WRONG_VALUE);
                }
                self.clock.domain_number = v;
            }
            ManagementData::LogAnnounceInterval(v) if (-3..=6).contains(&v) => {
                cfg.log_announce_interval = v;
            }
            ManagementData::LogSyncInterval(v) if (-7..=6).contains(&v) => {
                cfg.log_sync_interval = v
            }
            ManagementData::AnnounceReceiptTimeout(v) if v >= 2 => cfg.announce_receipt_timeout = v,
            ManagementData::GrandmasterSettingsNp(g) => {
                let q = g.clock_quality;
                let tp = g.time_properties;
                // clockClass 0 is reserved; the accuracy must be an enumerated value (Table
                // 5: 0x17..=0x31, 0xFE unknown).
                if q.clock_class == 0
                    || !((0x17..=0x31).contains(&q.clock_accuracy.0) || q.clock_accuracy.0 == 0xfe)
                {
                    return Err(management_error::WRONG_VALUE);
                }
                self.status = ClockStatus {
                    clock_quality: q,
                    time_properties: TimeProperties {
                        current_utc_offset: tp.current_utc_offset,
                        current_utc_offset_valid: tp.current_utc_offset_valid,
                        leap59: tp.leap59,
                        leap61: tp.leap61 && !tp.leap59,
                        time_traceable: tp.time_traceable,
                        frequency_traceable: tp.frequency_traceable,
                        ptp_timescale: tp.ptp_timescale,
                        time_source: tp.time_source,
                    },
                };
                self.pinned = true;
            }
            ManagementData::Empty => return Err(management_error::WRONG_LENGTH),
            _ => return Err(management_error::WRONG_VALUE),
        }
        self.run_bmca(now);
        Ok(ManagementData::Empty)
    }
}

/// The current value of `id` for port `i`.
fn answer_get<'a>(
    e: &'a Engine,
    i: usize,
    id: ManagementId,
    pa_buf: &'a mut [u8; 16],
    now: Time,
) -> Answer<'a> {
    let c: &ClockConfig = &e.clock;
    let cfg = &e.port_cfg[i];
    let port = &e.ports[i];
    let tp = &e.status.time_properties;
    let q = e.status.clock_quality;
    Ok(match id {
        ManagementId::NULL_MANAGEMENT => ManagementData::Empty,
        ManagementId::CLOCK_DESCRIPTION => {
            let n = cfg.protocol_address.len().min(16);
            pa_buf[..n].copy_from_slice(&cfg.protocol_address[..n]);
            ManagementData::ClockDescription(ClockDescription {
                clock_type: ClockDescription::CLOCK_TYPE_ORDINARY,
                physical_layer_protocol: PtpText(b"IEEE 802.3"),
                physical_address: &cfg.mac,
                network_protocol: cfg.network_protocol.wire(),
                protocol_address: &pa_buf[..n],
                manufacturer_identity: [0; 3],
                product_description: PtpText(PRODUCT.as_bytes()),
                revision_data: PtpText(REVISION.as_bytes()),
                user_description: PtpText(c.user_description.as_bytes()),
                profile_identity: c.profile_identity,
            })
        }
        ManagementId::USER_DESCRIPTION => {
            ManagementData::UserDescription(PtpText(c.user_description.as_bytes()))
        }
        ManagementId::DEFAULT_DATA_SET => ManagementData::DefaultDataSet(DefaultDataSet {
            two_step_flag: !cfg.one_step,
            slave_only: false,
            number_ports: e.ports.len() as u16,
            priority1: c.priority1,
            clock_quality: q,
            priority2: c.priority2,
            clock_identity: c.clock_identity,
            domain_number: c.domain_number,
        }),
        ManagementId::CURRENT_DATA_SET => ManagementData::CurrentDataSet(CurrentDataSet {
            steps_removed: 0,
            offset_from_master: TimeInterval::ZERO,
            mean_path_delay: TimeInterval::ZERO,
        }),
        ManagementId::PARENT_DATA_SET => ManagementData::ParentDataSet(ParentDataSet {
            // A grandmaster is its own parent (8.2.3.2: port number 0 for the clock).
            parent_port_identity: PortIdentity {
                clock_identity: c.clock_identity,
                port_number: 0,
            },
            parent_stats: false,
            observed_parent_offset_scaled_log_variance: 0xffff,
            observed_parent_clock_phase_change_rate: 0x7fff_ffff,
            grandmaster_priority1: c.priority1,
            grandmaster_clock_quality: q,
            grandmaster_priority2: c.priority2,
            grandmaster_identity: c.clock_identity,
        }),
        ManagementId::TIME_PROPERTIES_DATA_SET => {
            ManagementData::TimePropertiesDataSet(TimePropertiesDataSet {
                current_utc_offset: tp.current_utc_offset,
                leap61: tp.leap61,
                leap59: tp.leap59,
                current_utc_offset_valid: tp.current_utc_offset_valid,
                ptp_timescale: tp.ptp_timescale,
                time_traceable: tp.time_traceable,
                frequency_traceable: tp.frequency_traceable,
                time_source: tp.time_source,
            })
        }
        ManagementId::PORT_DATA_SET => ManagementData::PortDataSet(PortDataSet {
            port_identity: port.identity,
            port_state: port.state as u8,
            log_min_delay_req_interval: cfg.log_min_delay_req_interval,
            peer_mean_path_delay: TimeInterval::ZERO,
            log_announce_interval: cfg.log_announce_interval,
            announce_receipt_timeout: cfg.announce_receipt_timeout,
            log_sync_interval: cfg.log_sync_interval,
            delay_mechanism: cfg.delay_mechanism.wire(),
            log_min_pdelay_req_interval: cfg.log_min_pdelay_req_interval,
            version_number: 2,
        }),
        ManagementId::PRIORITY1 => ManagementData::Priority1(c.priority1),
        ManagementId::PRIORITY2 => ManagementData::Priority2(c.priority2),
        ManagementId::DOMAIN => ManagementData::Domain(c.domain_number),
        ManagementId::SLAVE_ONLY => ManagementData::SlaveOnly(false),
        ManagementId::LOG_ANNOUNCE_INTERVAL => {
            ManagementData::LogAnnounceInterval(cfg.log_announce_interval)
        }
        ManagementId::ANNOUNCE_RECEIPT_TIMEOUT => {
            ManagementData::AnnounceReceiptTimeout(cfg.announce_receipt_timeout)
        }
        ManagementId::LOG_SYNC_INTERVAL => ManagementData::LogSyncInterval(cfg.log_sync_interval),
        ManagementId::VERSION_NUMBER => ManagementData::VersionNumber {
            version_ptp: 2,
            minor_version_ptp: 1,
        },
        ManagementId::DELAY_MECHANISM => ManagementData::DelayMechanism(cfg.delay_mechanism.wire()),
        ManagementId::LOG_MIN_PDELAY_REQ_INTERVAL => {
            ManagementData::LogMinPdelayReqInterval(cfg.log_min_pdelay_req_interval)
        }
        ManagementId::CLOCK_ACCURACY => ManagementData::ClockAccuracy(q.clock_accuracy),
        ManagementId::TRACEABILITY_PROPERTIES => ManagementData::TraceabilityProperties {
            time_traceable: tp.time_traceable,
            frequency_traceable: tp.frequency_traceable,
        },
        ManagementId::TIMESCALE_PROPERTIES => ManagementData::TimescaleProperties {
            ptp_timescale: tp.ptp_timescale,
            time_source: tp.time_source,
        },
        ManagementId::UTC_PROPERTIES => ManagementData::UtcProperties {
            current_utc_offset: tp.current_utc_offset,
            leap61: tp.leap61,
            leap59: tp.leap59,
            current_utc_offset_valid: tp.current_utc_offset_valid,
        },
        ManagementId::TIME => ManagementData::Time(now.to_timestamp()),
        // A grandmaster is its own master: no offset, no other grandmaster present.
        ManagementId::TIME_STATUS_NP => ManagementData::TimeStatusNp(TimeStatusNp {
            gm_identity: c.clock_identity,
            ..TimeStatusNp::default()
        }),
        ManagementId::GRANDMASTER_SETTINGS_NP => {
            ManagementData::GrandmasterSettingsNp(GrandmasterSettingsNp {
                clock_quality: q,
                time_properties: TimePropertiesDataSet {
                    current_utc_offset: tp.current_utc_offset,
                    leap61: tp.leap61,
                    leap59: tp.leap59,
                    current_utc_offset_valid: tp.current_utc_offset_valid,
                    ptp_timescale: tp.ptp_timescale,
                    time_traceable: tp.time_traceable,
                    frequency_traceable: tp.frequency_traceable,
                    time_source: tp.time_source,
                },
            })
        }
        other if other.name().is_some() => return Err(management_error::NOT_SUPPORTED),
        _ => return Err(management_error::NO_SUCH_ID),
    })
}
