//! What `pmc` must read from a Meridian grandmaster: its datasets field by field, and a SET
//! refused. Shared by the socket-backend (`tests/pmc.rs`) and DPDK (`tests/dpdk.rs`) tests.

use std::collections::BTreeMap;

use crate::{Lab, Meridian, Node, Transport};

/// The dataset values pmc must print, from the config or the daemon's status.
#[derive(Clone, Debug)]
pub struct PmcWant {
    /// clockIdentity, `026d69.fffe.000001`.
    pub identity: String,
    /// priority1.
    pub priority1: u64,
    /// priority2.
    pub priority2: u64,
    /// clockClass.
    pub class: u64,
    /// clockAccuracy.
    pub accuracy: u64,
    /// offsetScaledLogVariance.
    pub variance: u64,
    /// timeSource.
    pub time_source: u64,
    /// timeTraceable and frequencyTraceable, if the config sets them (`None`: not checked).
    pub traceable: Option<bool>,
    /// CLOCK_DESCRIPTION protocolAddress as pmc prints it: `1 10.77.0.1` (UDPv4) or
    /// `3 02:6d:69:00:00:01` (IEEE 802.3).
    pub protocol_address: String,
    /// userDescription.
    pub user_description: String,
}

/// Asserts `fields[key] == want` for every pair, listing every mismatch at once.
fn expect(id: &str, fields: &BTreeMap<String, String>, want: &[(&str, String)]) {
    let bad: Vec<String> = want
        .iter()
        .filter(|(k, v)| fields.get(*k) != Some(v))
        .map(|(k, v)| format!("{k}: got {:?}, want {v:?}", fields.get(*k)))
        .collect();
    assert!(
        bad.is_empty(),
        "{id}:\n  {}\nall fields: {fields:#?}",
        bad.join("\n  ")
    );
}

impl Lab {
    /// Reads DEFAULT, CURRENT, PARENT, TIME_PROPERTIES and PORT_DATA_SET, CLOCK_DESCRIPTION and
    /// USER_DESCRIPTION with pmc on `sl` over `t` and checks them against `w`, the domain (0),
    /// the lab's port defaults (see [`crate::MeridianConfig::new`]), the PTP timescale with a UTC
    /// offset of 37 s, and `gm`'s MAC; and that `meridian status` agrees port 1 is MASTER.
    ///
    /// # Panics
    /// Listing every field that differs, or if pmc gets no answer.
    pub fn pmc_check_datasets(
        &self,
        m: &Meridian,
        gm: &Node,
        sl: &Node,
        t: Transport,
        w: &PmcWant,
    ) {
        let get = |id: &str| self.pmc_get(sl, t, id);
        let s = |v: u64| v.to_string();
        let hex2 = |v: u64| format!("{v:#04x}");
        let hex4 = |v: u64| format!("{v:#06x}");

        expect(
            "DEFAULT_DATA_SET",
            &get("DEFAULT_DATA_SET"),
            &[
                ("twoStepFlag", "1".into()),
                ("slaveOnly", "0".into()),
                ("numberPorts", "1".into()),
                ("priority1", s(w.priority1)),
                ("clockClass", s(w.class)),
                ("clockAccuracy", hex2(w.accuracy)),
                ("offsetScaledLogVariance", hex4(w.variance)),
                ("priority2", s(w.priority2)),
                ("clockIdentity", w.identity.clone()),
                ("domainNumber", "0".into()),
            ],
        );
        expect(
            "CURRENT_DATA_SET",
            &get("CURRENT_DATA_SET"),
            &[
                ("stepsRemoved", "0".into()),
                ("offsetFromMaster", "0.0".into()),
                ("meanPathDelay", "0.0".into()),
            ],
        );
        expect(
            "PARENT_DATA_SET",
            &get("PARENT_DATA_SET"),
            &[
                // 1588-2019 8.2.3.2: a grandmaster is its own parent, port number 0.
                ("parentPortIdentity", format!("{}-0", w.identity)),
                ("parentStats", "0".into()),
                ("grandmasterPriority1", s(w.priority1)),
                ("gm.ClockClass", s(w.class)),
                ("gm.ClockAccuracy", hex2(w.accuracy)),
                ("gm.OffsetScaledLogVariance", hex4(w.variance)),
                ("grandmasterPriority2", s(w.priority2)),
                ("grandmasterIdentity", w.identity.clone()),
            ],
        );
        let mut tp = vec![
            ("currentUtcOffset", "37".to_owned()),
            ("leap61", "0".into()),
            ("leap59", "0".into()),
            ("currentUtcOffsetValid", "1".into()),
            ("ptpTimescale", "1".into()),
            ("timeSource", hex2(w.time_source)),
        ];
        if let Some(tr) = w.traceable {
            let v = if tr { "1" } else { "0" };
            tp.push(("timeTraceable", v.into()));
            tp.push(("frequencyTraceable", v.into()));
        }
        expect(
            "TIME_PROPERTIES_DATA_SET",
            &get("TIME_PROPERTIES_DATA_SET"),
            &tp,
        );
        // linuxptp's own: what phc2sys/ts2phc-style tools read from a grandmaster.
        let mut gms = tp.clone();
        gms.extend([
            ("clockClass", s(w.class)),
            ("clockAccuracy", hex2(w.accuracy)),
            ("offsetScaledLogVariance", hex4(w.variance)),
        ]);
        expect(
            "GRANDMASTER_SETTINGS_NP",
            &get("GRANDMASTER_SETTINGS_NP"),
            &gms,
        );
        expect(
            "TIME_STATUS_NP",
            &get("TIME_STATUS_NP"),
            &[
                ("master_offset", "0".into()),
                ("ingress_time", "0".into()),
                ("gmPresent", "false".into()),
                ("gmIdentity", w.identity.clone()),
            ],
        );
        expect(
            "PORT_DATA_SET",
            &get("PORT_DATA_SET"),
            &[
                ("portIdentity", format!("{}-1", w.identity)),
                ("portState", "MASTER".into()),
                ("logMinDelayReqInterval", "-3".into()),
                ("peerMeanPathDelay", "0".into()),
                ("logAnnounceInterval", "0".into()),
                ("announceReceiptTimeout", "3".into()),
                ("logSyncInterval", "-3".into()),
                ("delayMechanism", "1".into()),
                ("versionNumber", "2".into()),
            ],
        );
        let cd = get("CLOCK_DESCRIPTION");
        println!("CLOCK_DESCRIPTION over {t:?}: {cd:?}");
        expect(
            "CLOCK_DESCRIPTION",
            &cd,
            &[
                ("clockType", "0x8000".into()),
                ("physicalLayerProtocol", "IEEE 802.3".into()),
                ("physicalAddress", gm.mac.clone()),
                ("protocolAddress", w.protocol_address.clone()),
                ("userDescription", w.user_description.clone()),
                // The default (E2E) profile's profileIdentifier.
                ("profileId", "00:1b:19:00:01:00".into()),
            ],
        );
        expect(
            "USER_DESCRIPTION",
            &get("USER_DESCRIPTION"),
            &[("userDescription", w.user_description.clone())],
        );
        assert_eq!(
            m.port_state(1).as_deref(),
            Ok("MASTER"),
            "status disagrees with PORT_DATA_SET"
        );
    }

    /// SET is refused with `management-set = false` (the default): an error status comes back
    /// and priority1 is still `priority1`. (pmc 3.1.1 syntax: `SET PRIORITY1 5`;
    /// `SET PRIORITY1 priority1 5` fails locally with "needs 1 value" and sends nothing.)
    ///
    /// # Panics
    /// If no MANAGEMENT_ERROR_STATUS comes back or priority1 changed.
    pub fn pmc_check_set_refused(&self, sl: &Node, t: Transport, priority1: u64) {
        let replies = self.pmc(sl, t, &["SET PRIORITY1 5"]);
        println!("SET PRIORITY1 replies: {replies:?}");
        assert!(
            replies
                .iter()
                .any(|r| r.action == "MANAGEMENT_ERROR_STATUS"),
            "SET PRIORITY1 with management-set = false: want MANAGEMENT_ERROR_STATUS, got \
             {replies:?}"
        );
        let p = self.pmc_get(sl, t, "PRIORITY1");
        assert_eq!(p.get("priority1"), Some(&priority1.to_string()));
    }
}
