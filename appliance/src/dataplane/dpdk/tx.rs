//! Sending: routing, framing into mbufs, queueing and bursts, TX stamps, residence.

use super::*;

/// The MAC a frame to IPv4 group `a` goes to (RFC 1112).
pub(super) fn ipv4_multicast_mac(a: [u8; 4]) -> [u8; 6] {
    [0x01, 0x00, 0x5e, a[1] & 0x7f, a[2], a[3]]
}

/// The MAC a frame to IPv6 group `a` goes to (RFC 2464).
pub(super) fn ipv6_multicast_mac(a: [u8; 16]) -> [u8; 6] {
    [0x33, 0x33, a[12], a[13], a[14], a[15]]
}

impl DpdkPort {
    /// Copies a small built frame (ARP, ND) into an mbuf and sends it; `false` if it could
    /// not be sent (counted).
    pub(super) fn transmit_built(&mut self, frame: &[u8]) -> bool {
        let Some(mut m) = self.pool.alloc() else {
            self.counters.tx_no_mbuf += 1;
            return false;
        };
        let Some(out) = m.append(frame.len()) else {
            return false;
        };
        out.copy_from_slice(frame);
        self.transmit(
            m,
            TxMeta {
                layout: None,
                stamp_id: None,
                one_step: false,
                residence: None,
            },
        )
    }

    /// Sends one mbuf (pipeline: hands it to the TX stage); `false` (and counted) if the TX
    /// queue or ring did not take it. Single-core mode: a frame without a TX stamp is queued
    /// for the next [`Self::flush_tx`] (its residence time, if it is a reply, ends there);
    /// a stamped one (`stamp_id` or `one_step`) must be sent with [`Self::send_now`].
    pub(super) fn transmit(&mut self, m: Mbuf, meta: TxMeta) -> bool {
        if let Some(rings) = &self.pipeline {
            if rings.tx.push(TxFrame { mbuf: m, meta }).is_ok() {
                return true;
            }
            self.counters.tx_ring_full += 1;
            return false;
        }
        if self.dev.is_none() {
            return false;
        }
        if self.tx.len() >= TX_FLUSH_AT {
            self.flush_tx();
        }
        if self.tx.push(m).is_err() {
            self.counters.tx_ring_full += 1;
            return false;
        }
        self.tx_residence.push(meta.residence);
        true
    }

    /// Sends the queued frames in one `tx_burst` (single-core mode; nothing to do for a
    /// pipeline, whose TX stage batches). Frames the TX queue does not take are dropped and
    /// counted (`tx_ring_full`); Delay_Resp residence times end at the TSC read before the
    /// burst. Cheap when nothing is queued.
    pub fn flush_tx(&mut self) {
        if self.tx.is_empty() {
            return;
        }
        let Some(dev) = self.dev.as_mut() else {
            return;
        };
        self.stage_counters.tx_burst_sizes.record(self.tx.len());
        let tsc = sys::rdtsc();
        let sent = dev.tx_burst(&mut self.tx);
        self.counters.tx_bursts += 1;
        self.counters.tx_ring_full += self.tx.clear() as u64;
        if let Some(c) = &self.clock {
            let now = c.ns_at(tsc);
            for &(kind, rx) in self.tx_residence.iter().take(sent).flatten() {
                self.recorders.record(kind, pipeline::residence_ns(rx, now));
            }
        }
        self.tx_residence.clear();
    }

    /// Sends `m` alone at once, after the queued frames (single-core mode, stamped frames):
    /// the TSC read immediately before its `tx_burst` is its stamp. `false` (and counted) if
    /// the TX queue did not take it.
    pub(super) fn send_now(&mut self, m: Mbuf) -> bool {
        let Some(dev) = self.dev.as_mut() else {
            return false;
        };
        let mut one = TxBatch::new();
        if one.push(m).is_err() {
            return false;
        }
        self.counters.tx_bursts += 1;
        self.stage_counters.tx_burst_sizes.record(1);
        if dev.tx_burst(&mut one) == 1 {
            return true;
        }
        self.counters.tx_ring_full += one.clear() as u64;
        false
    }

    /// Destination MAC and encapsulation for a message to `dest`.
    pub(super) fn route(
        &mut self,
        dest: Destination,
        event: bool,
    ) -> Result<([u8; 6], NetworkRepr), &'static str> {
        let port = if event {
            frame::PORT_EVENT
        } else {
            frame::PORT_GENERAL
        };
        let ports = UdpPorts {
            src: port,
            dst: port,
        };
        match classify::resolve(self.transport, dest, self.ipv6_scope)? {
            PeerAddress::Mac(mac) => Ok((mac, NetworkRepr::L2)),
            PeerAddress::Ipv4(dst) => {
                let src = self.ipv4.ok_or("the port has no IPv4 address")?;
                let group = classify::is_ipv4_group(dst);
                let mac = if group {
                    ipv4_multicast_mac(dst)
                } else {
                    self.neighbour(IpKey::v4(dst))?
                };
                self.ip_id = self.ip_id.wrapping_add(1);
                let ip = Ipv4Repr {
                    src,
                    dst,
                    dscp_ecn: self.dscp << 2,
                    identification: self.ip_id,
                    flags_fragment: 0x4000,
                    ttl: if group { 1 } else { UNICAST_TTL },
                };
                Ok((mac, NetworkRepr::Udp4(ip, ports)))
            }
            PeerAddress::Ipv6(dst) => {
                let src = self.ipv6.ok_or("the port has no IPv6 address")?;
                let group = classify::is_ipv6_group(dst);
                let mac = if group {
                    ipv6_multicast_mac(dst)
                } else {
                    self.neighbour(IpKey::v6(dst))?
                };
                let ip = Ipv6Repr {
                    src,
                    dst,
                    traffic_class: self.dscp << 2,
                    flow_label: 0,
                    hop_limit: if group { 1 } else { UNICAST_TTL },
                };
                Ok((mac, NetworkRepr::Udp6(ip, ports)))
            }
        }
    }

    pub(super) fn neighbour(&mut self, ip: IpKey) -> Result<[u8; 6], &'static str> {
        self.neighbours.lookup(&ip).ok_or_else(|| {
            self.counters.tx_no_neighbour += 1;
            "the peer's MAC address is unknown (no frame received from it yet)"
        })
    }

    /// Sends one PTP message (`payload`, exactly the message) to `dest`, building the whole
    /// frame in an mbuf: Ethernet (+802.1Q), and for UDP the IP and UDP headers with their
    /// checksums (IPv6: plus the two trailer octets of annex D.3); frames shorter than 60
    /// octets are zero-padded. Multicast goes to the PTP group MACs; unicast to the MAC
    /// learnt from the peer's frames (unknown: counted, error).
    ///
    /// A message without a stamp (no `want_tx_timestamp`, no `one_step_now`) is queued and
    /// leaves with the next flush (see [`Self::flush_tx`]). For a stamped one, the queue is
    /// flushed first and the TSC is read immediately before its own `rte_eth_tx_burst`. With
    /// `one_step_now`, the launch time it returns for that reading (ns on the PTP timescale)
    /// is written into the originTimestamp (offset 34), keeping the UDP checksum valid. With
    /// `want_tx_timestamp` (event messages only) returns `Some(id)`, and
    /// [`Self::drain_tx_timestamps`] later reports `(id, tsc)`.
    ///
    /// A full TX ring or an empty mbuf pool drops the message with an error for which
    /// [`DataplaneError::is_would_block`] is true (a queued message the TX queue refuses at the
    /// flush is counted in `tx_ring_full`).
    pub fn send(
        &mut self,
        dest: Destination,
        event: bool,
        payload: &[u8],
        want_tx_timestamp: bool,
        one_step_now: Option<&mut dyn FnMut(u64) -> i128>,
    ) -> Result<Option<u32>, DataplaneError> {
        self.send_reply(dest, event, payload, want_tx_timestamp, one_step_now, None)
    }

    /// [`Self::send`] for a reply of `residence.0` kind whose request arrived at `residence.1`
    /// (ns on the PTP timescale, as stamped): its residence time (TX stamp − that time) is
    /// recorded.
    pub fn send_reply(
        &mut self,
        dest: Destination,
        event: bool,
        payload: &[u8],
        want_tx_timestamp: bool,
        one_step_now: Option<&mut dyn FnMut(u64) -> i128>,
        residence: Option<(ReplyKind, i128)>,
    ) -> Result<Option<u32>, DataplaneError> {
        if want_tx_timestamp && !event {
            return Err(self.invalid("a TX timestamp was asked for a general message"));
        }
        if one_step_now.is_some() && payload.len() < ORIGIN_TIMESTAMP + Timestamp::LEN {
            return Err(self.invalid("one-step message too short for an originTimestamp"));
        }
        let (m, layout) = self.build_frame(dest, event, payload)?;
        let stamp_id = want_tx_timestamp.then_some(self.next_tx_id);
        if self.pipeline.is_some() || (stamp_id.is_none() && one_step_now.is_none()) {
            // Pipeline: the TX stage stamps, writes the launch time and measures residence.
            // Single core without a stamp: queued, leaves with the next flush.
            let meta = TxMeta {
                layout: Some(layout),
                stamp_id,
                one_step: one_step_now.is_some(),
                residence: residence.filter(|_| self.clock.is_some()),
            };
            self.send_queued(m, meta)?;
        } else {
            self.send_stamped(m, &layout, stamp_id, one_step_now, residence)?;
        }
        self.counters.tx_packets += 1;
        if stamp_id.is_some() {
            self.next_tx_id = self.next_tx_id.wrapping_add(1);
        }
        Ok(stamp_id)
    }

    fn invalid(&self, reason: &'static str) -> DataplaneError {
        DataplaneError::InvalidSend {
            interface: self.name.clone(),
            reason,
        }
    }

    /// Builds the whole frame for `payload` to `dest` in a new mbuf: Ethernet (+802.1Q),
    /// for UDP the IP and UDP headers with checksums (and the IPv6 trailer), zero padding to
    /// 60 octets. Returns the mbuf and where the PTP message lies in it.
    fn build_frame(
        &mut self,
        dest: Destination,
        event: bool,
        payload: &[u8],
    ) -> Result<(Mbuf, FrameLayout), DataplaneError> {
        let (dst, network) = self.route(dest, event).map_err(|r| self.invalid(r))?;
        let repr = FrameRepr {
            ethernet: EthernetRepr {
                dst: MacAddress(dst),
                src: MacAddress(self.mac),
                vlan: self.vlan,
            },
            network,
        };
        let hl = repr.header_len();
        let plen = payload.len() + repr.trailer_len(true);
        let frame_len = hl + plen;
        let Some(mut m) = self.pool.alloc() else {
            self.counters.tx_no_mbuf += 1;
            return Err(would_block(&self.name, "rte_pktmbuf_alloc"));
        };
        let Some(data) = m.append(frame_len.max(MIN_FRAME)) else {
            return Err(self.invalid("message too long for an mbuf"));
        };
        data[hl..hl + payload.len()].copy_from_slice(payload);
        data[hl + payload.len()..].fill(0);
        let layout = repr
            .emit_headers(&mut data[..frame_len], plen)
            .map_err(|_| self.invalid("message too long"))?;
        Ok((m, layout))
    }

    /// Queues `m` for the next flush (single core) or hands it to the TX stage (pipeline).
    fn send_queued(&mut self, m: Mbuf, meta: TxMeta) -> Result<(), DataplaneError> {
        if self.transmit(m, meta) {
            return Ok(());
        }
        let op = if self.pipeline.is_some() {
            "pipeline tx ring"
        } else {
            "rte_eth_tx_burst"
        };
        Err(would_block(&self.name, op))
    }

    /// Single core, a stamped frame: what is queued goes first, then `m` alone with the TSC
    /// read right before its `tx_burst` as its stamp (one-step: the launch time written from
    /// it; two-step: the stamp queued for [`Self::drain_tx_timestamps`], or the NIC's latch
    /// register asked for it).
    fn send_stamped(
        &mut self,
        mut m: Mbuf,
        layout: &FrameLayout,
        stamp_id: Option<u32>,
        one_step_now: Option<&mut dyn FnMut(u64) -> i128>,
        residence: Option<(ReplyKind, i128)>,
    ) -> Result<(), DataplaneError> {
        self.flush_tx();
        // One hardware TX stamp at a time (see hwstamp); the others keep the TSC stamp.
        let hw_reserved = stamp_id.is_some() && self.hw.as_mut().is_some_and(|h| h.tx.reserve());
        if hw_reserved {
            m.request_tx_timesync();
        }
        let tsc = sys::rdtsc();
        if let Some(now) = one_step_now {
            let origin = match &self.launch {
                // The device sends it at the device time for TSC tsc + lead: say that time.
                Some(l) => {
                    let at = tsc.wrapping_add(l.lead_ticks);
                    let dev = l.map.shared().ns_at(at).clamp(0, u64::MAX as i128) as u64;
                    m.set_launch_time(l.field, dev);
                    now(at)
                }
                None => now(tsc),
            };
            pipeline::write_launch_time(m.data_mut(), layout, origin)
                .map_err(|()| self.invalid("one-step launch time out of range"))?;
        }
        if !self.send_now(m) {
            if let Some(h) = self.hw.as_mut().filter(|_| hw_reserved) {
                h.tx.not_sent();
            }
            return Err(would_block(&self.name, "rte_eth_tx_burst"));
        }
        if let (Some((kind, rx)), Some(c)) = (residence, &self.clock) {
            self.recorders
                .record(kind, pipeline::residence_ns(rx, c.ns_at(tsc)));
        }
        match (stamp_id, self.hw.as_mut().filter(|_| hw_reserved)) {
            (Some(id), Some(h)) => h.tx.sent(id, tsc),
            (Some(id), None) => {
                if self.tx_stamps.len() >= TX_STAMP_QUEUE {
                    self.tx_stamps.pop_front();
                    self.counters.tx_timestamp_overflow += 1;
                }
                self.tx_stamps.push_back((id, tsc));
            }
            (None, _) => {}
        }
        Ok(())
    }

    /// Calls `f(id, tsc)` for every TX timestamp not yet drained (`id` as returned by
    /// [`Self::send`], `tsc` the TSC read just before the frame was handed to the PMD).
    pub fn drain_tx_timestamps(&mut self, f: &mut dyn FnMut(u32, u64)) {
        if let Some(rings) = &self.pipeline {
            while let Some((id, tsc)) = rings.stamps.pop() {
                self.counters.tx_timestamps += 1;
                f(id, tsc);
            }
        }
        while let Some((id, tsc)) = self.tx_stamps.pop_front() {
            self.counters.tx_timestamps += 1;
            f(id, tsc);
        }
        if let Some(h) = &mut self.hw {
            if let Some((id, tsc)) = h.tx.poll(sys::rdtsc()) {
                self.counters.tx_timestamps += 1;
                f(id, tsc);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multicast_macs() {
        assert_eq!(
            ipv4_multicast_mac(frame::IPV4_PRIMARY),
            [1, 0, 0x5e, 0, 1, 0x81]
        );
        assert_eq!(
            ipv4_multicast_mac(frame::IPV4_PDELAY),
            [1, 0, 0x5e, 0, 0, 0x6b]
        );
        assert_eq!(
            ipv6_multicast_mac(frame::ipv6_primary(0xe)),
            [0x33, 0x33, 0, 0, 1, 0x81]
        );
        assert_eq!(
            ipv6_multicast_mac(frame::IPV6_PDELAY),
            [0x33, 0x33, 0, 0, 0, 0x6b]
        );
    }
}
