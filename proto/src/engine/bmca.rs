//! The Best Master Clock Algorithm (IEEE 1588-2019 clause 9.3).
//!
//! Three independent pieces, all pure functions of their inputs:
//!
//! * [`compare`] — the data set comparison algorithm: 1588-2019 9.3.4 (Figure 34 for two
//!   different grandmasters, Figure 35 for the topology tie-break), or the ITU-T
//!   G.8275.1/G.8275.2 alternate BMCA ([`BmcaVariant::G8275`]).
//! * [`state_decision`] — the state decision algorithm (9.3.3, Figure 33), which yields a
//!   [`Recommendation`] (M1, M2, M3, P1, P2, S1); [`apply_policy`] then turns it into the
//!   [`PortState`] a grandmaster appliance actually takes.
//! * [`ForeignMasterTable`] — one port's foreign master data set (9.3.2.4.5) with the
//!   qualification rules of 9.3.2.5.
//!
//! # How the engine drives it
//!
//! 1. For every Announce that passes the caller's filters (domain, own clock identity,
//!    acceptable master table, …), build a [`ComparisonDataset`] with
//!    [`ComparisonDataset::from_announce`] and [`ForeignMasterTable::record`] it on the
//!    receiving port.
//! 2. At each state decision event, take each port's Erbest with
//!    [`ForeignMasterTable::best`], pick Ebest among them with [`select_best`], and call
//!    [`state_decision`] for every port.
//! 3. Arm a timer at [`ForeignMasterTable::next_deadline`] and call
//!    [`ForeignMasterTable::expire`] when it fires; if it reports a change, rerun step 2.
//!
//! # LISTENING with no foreign master
//!
//! Figure 33 starts with "Erbest is empty and the port is LISTENING → remain LISTENING". That
//! test exists so that a port which has heard nothing keeps listening until its
//! announceReceiptTimeout expires. [`state_decision`] does **not** implement it: the engine
//! owns the LISTENING timing. It must not act on a decision for a LISTENING port whose Erbest
//! is empty until that port's announce receipt timeout has expired; after the timeout it
//! calls [`state_decision`], which, with no foreign master anywhere, returns M1 (clockClass
//! ≤ 127) or M2 (otherwise) — the same outcome linuxptp reaches when its
//! ANNOUNCE_RECEIPT_TIMEOUT_EXPIRES event moves a LISTENING port to MASTER. Keeping the
//! timer out of this module lets a decision be a function of data sets only.
//! [`Recommendation::Listening`] is returned only for a slave-only clock (clockClass 255),
//! whose ports may never be MASTER or PASSIVE.

use core::cmp::Ordering;

use super::time::{log_interval_nanos, Time};
use super::PortState;
use crate::wire::message::AnnounceBody;
use crate::wire::{ClockIdentity, ClockQuality, PortIdentity};

/// FOREIGN_MASTER_THRESHOLD (9.3.2.4.4): Announces a foreign master must have sent within
/// [`FOREIGN_MASTER_TIME_WINDOW`] to be qualified.
pub const FOREIGN_MASTER_THRESHOLD: u8 = 2;

/// FOREIGN_MASTER_TIME_WINDOW (9.3.2.4.4), in announce intervals of the foreign master.
pub const FOREIGN_MASTER_TIME_WINDOW: u8 = 4;

/// clockClass of a slave-only PTP Instance (7.6.2.5, Table 4).
pub const SLAVE_ONLY_CLOCK_CLASS: u8 = 255;

/// Announces with a stepsRemoved of this or more are not qualified (9.3.2.5).
pub const MAX_STEPS_REMOVED: u16 = 255;

/// localPriority when none is configured (G.8275.1, G.8275.2).
pub const DEFAULT_LOCAL_PRIORITY: u8 = 128;

/// What BMCA compares (the "data set" of 9.3.4): built from an Announce, or D0 built from our
/// defaultDS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ComparisonDataset {
    /// grandmasterPriority1.
    pub grandmaster_priority1: u8,
    /// grandmasterIdentity.
    pub grandmaster_identity: ClockIdentity,
    /// grandmasterClockQuality.
    pub grandmaster_clock_quality: ClockQuality,
    /// grandmasterPriority2.
    pub grandmaster_priority2: u8,
    /// stepsRemoved (0 for D0).
    pub steps_removed: u16,
    /// sourcePortIdentity of the Announce (for D0: our clock identity, port number 0).
    pub identity_of_senders: PortIdentity,
    /// portIdentity of the port that received it (for D0: our clock identity, port number 0).
    pub identity_of_receiver: PortIdentity,
    /// G.8275.x localPriority (of the receiving port / of the foreign master entry; for D0
    /// defaultDS.localPriority); 128 by default. The default BMCA ignores it.
    pub local_priority: u8,
}

impl ComparisonDataset {
    /// The data set of an Announce from `sender` (its header's sourcePortIdentity) received
    /// on the port `receiver`, whose localPriority (or the foreign master entry's) is
    /// `local_priority` ([`DEFAULT_LOCAL_PRIORITY`] when not configured).
    pub fn from_announce(
        a: &AnnounceBody,
        sender: PortIdentity,
        receiver: PortIdentity,
        local_priority: u8,
    ) -> Self {
        ComparisonDataset {
            grandmaster_priority1: a.grandmaster_priority1,
            grandmaster_identity: a.grandmaster_identity,
            grandmaster_clock_quality: a.grandmaster_clock_quality,
            grandmaster_priority2: a.grandmaster_priority2,
            steps_removed: a.steps_removed,
            identity_of_senders: sender,
            identity_of_receiver: receiver,
            local_priority,
        }
    }

    /// D0 (9.3.4): our own defaultDS as a data set, with stepsRemoved 0 and our clock identity
    /// with port number 0 as both sender and receiver.
    pub fn from_default_ds(
        clock_identity: ClockIdentity,
        priority1: u8,
        clock_quality: ClockQuality,
        priority2: u8,
        local_priority: u8,
    ) -> Self {
        let own = PortIdentity {
            clock_identity,
            port_number: 0,
        };
        ComparisonDataset {
            grandmaster_priority1: priority1,
            grandmaster_identity: clock_identity,
            grandmaster_clock_quality: clock_quality,
            grandmaster_priority2: priority2,
            steps_removed: 0,
            identity_of_senders: own,
            identity_of_receiver: own,
            local_priority,
        }
    }
}

/// Result of comparing data set A with data set B, stated for A (Figures 34 and 35).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Comparison {
    /// A is better than B.
    Better,
    /// A and B describe the same grandmaster and A is reached by a better path.
    BetterByTopology,
    /// A and B describe the same grandmaster and B is reached by a better path.
    WorseByTopology,
    /// B is better than A.
    Worse,
    /// Error-1: the receiver and sender of the data set one step further from the grandmaster
    /// are the same port (a port hearing its own Announce).
    Error1,
    /// Error-2: A and B are the same data set (same sender, same receiving port number).
    Error2,
}

impl Comparison {
    /// Whether A wins: [`Comparison::Better`] or [`Comparison::BetterByTopology`]. The error
    /// results are not wins.
    pub const fn is_better(self) -> bool {
        matches!(self, Comparison::Better | Comparison::BetterByTopology)
    }

    /// The same comparison stated for B: `compare(v, b, a) == compare(v, a, b).reverse()`.
    pub const fn reverse(self) -> Self {
        match self {
            Comparison::Better => Comparison::Worse,
            Comparison::BetterByTopology => Comparison::WorseByTopology,
            Comparison::WorseByTopology => Comparison::BetterByTopology,
            Comparison::Worse => Comparison::Better,
            Comparison::Error1 => Comparison::Error1,
            Comparison::Error2 => Comparison::Error2,
        }
    }
}

/// Which data set comparison a profile uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BmcaVariant {
    /// IEEE 1588-2019 9.3.4: priority1, clockClass, clockAccuracy, offsetScaledLogVariance,
    /// priority2, grandmasterIdentity; then stepsRemoved and topology for one grandmaster.
    #[default]
    Default,
    /// ITU-T G.8275.1/G.8275.2 alternate BMCA: clockClass, clockAccuracy,
    /// offsetScaledLogVariance, priority2, localPriority; then, only when the clockClass is
    /// above 127, grandmasterIdentity; then stepsRemoved and topology. priority1 is not used.
    /// With clockClass ≤ 127 equally good grandmasters are told apart by distance, so each
    /// clock follows the nearest one (G.8275.x allows several active grandmasters).
    G8275,
}

/// Compares data set `a` with `b` by `variant`; the result is stated for `a`.
pub fn compare(variant: BmcaVariant, a: &ComparisonDataset, b: &ComparisonDataset) -> Comparison {
    match variant {
        BmcaVariant::Default => compare_default(a, b),
        BmcaVariant::G8275 => compare_g8275(a, b),
    }
}

/// Maps an ordering where smaller is better to a decision, `None` if still tied.
fn decided(order: Ordering) -> Option<Comparison> {
    match order {
        Ordering::Less => Some(Comparison::Better),
        Ordering::Greater => Some(Comparison::Worse),
        Ordering::Equal => None,
    }
}

/// clockClass, clockAccuracy, offsetScaledLogVariance: smaller is better for each. The
/// accuracy enumeration grows as accuracy gets worse, so its raw value compares directly.
fn quality_order(a: &ClockQuality, b: &ClockQuality) -> Ordering {
    a.clock_class
        .cmp(&b.clock_class)
        .then(a.clock_accuracy.cmp(&b.clock_accuracy))
        .then(
            a.offset_scaled_log_variance
                .cmp(&b.offset_scaled_log_variance),
        )
}

/// 1588-2019 Figure 34.
fn compare_default(a: &ComparisonDataset, b: &ComparisonDataset) -> Comparison {
    // Same grandmaster: only the path to it can differ (Figure 35).
    if a.grandmaster_identity == b.grandmaster_identity {
        return compare_topology(a, b);
    }
    let order = a
        .grandmaster_priority1
        .cmp(&b.grandmaster_priority1)
        .then(quality_order(
            &a.grandmaster_clock_quality,
            &b.grandmaster_clock_quality,
        ))
        .then(a.grandmaster_priority2.cmp(&b.grandmaster_priority2))
        .then(a.grandmaster_identity.cmp(&b.grandmaster_identity));
    // The identities differ, so the chain always decides; the fallback is unreachable.
    decided(order).unwrap_or_else(|| compare_topology(a, b))
}

/// The G.8275.1/G.8275.2 alternate data set comparison, part 1 (part 2 is Figure 35).
fn compare_g8275(a: &ComparisonDataset, b: &ComparisonDataset) -> Comparison {
    let order = quality_order(&a.grandmaster_clock_quality, &b.grandmaster_clock_quality)
        .then(a.grandmaster_priority2.cmp(&b.grandmaster_priority2))
        .then(a.local_priority.cmp(&b.local_priority));
    if let Some(c) = decided(order) {
        return c;
    }
    // Both have the same clockClass here. A grandmaster-grade class (≤ 127) goes straight to
    // the topology comparison; otherwise the grandmaster identity decides first.
    if a.grandmaster_clock_quality.clock_class > 127 {
        if let Some(c) = decided(a.grandmaster_identity.cmp(&b.grandmaster_identity)) {
            return c;
        }
    }
    compare_topology(a, b)
}

/// 1588-2019 Figure 35 (also part 2 of the G.8275.x comparison).
///
/// Identities are compared as whole portIdentity values (clockIdentity first, then
/// portNumber), as linuxptp does; this only differs from a clockIdentity-only comparison when
/// both belong to one clock.
fn compare_topology(a: &ComparisonDataset, b: &ComparisonDataset) -> Comparison {
    let steps_a = u32::from(a.steps_removed);
    let steps_b = u32::from(b.steps_removed);

    // "A > B + 1" / "A + 1 < B": the nearer one wins outright.
    if steps_a > steps_b + 1 {
        return Comparison::Worse;
    }
    if steps_a + 1 < steps_b {
        return Comparison::Better;
    }

    // Within one step: compare the receiver and the sender of the farther data set.
    if steps_a > steps_b {
        return match a.identity_of_receiver.cmp(&a.identity_of_senders) {
            Ordering::Less => Comparison::Worse,
            Ordering::Greater => Comparison::WorseByTopology,
            Ordering::Equal => Comparison::Error1,
        };
    }
    if steps_a < steps_b {
        return match b.identity_of_receiver.cmp(&b.identity_of_senders) {
            Ordering::Less => Comparison::Better,
            Ordering::Greater => Comparison::BetterByTopology,
            Ordering::Equal => Comparison::Error1,
        };
    }

    // Equal steps: the lower sender wins, then the lower receiving port number.
    let order = a.identity_of_senders.cmp(&b.identity_of_senders).then(
        a.identity_of_receiver
            .port_number
            .cmp(&b.identity_of_receiver.port_number),
    );
    match order {
        Ordering::Less => Comparison::BetterByTopology,
        Ordering::Greater => Comparison::WorseByTopology,
        Ordering::Equal => Comparison::Error2,
    }
}

/// The best of several data sets by `variant`, with its position: Ebest from the ports'
/// Erbest values (9.3.2.2), given in port order, `None` for a port without one.
///
/// Ties and error results keep the earlier candidate. Per 1588-2019 and G.8275.x, the Erbest
/// of a port with masterOnly set must be passed as `None`.
pub fn select_best<'a, I>(
    variant: BmcaVariant,
    candidates: I,
) -> Option<(usize, &'a ComparisonDataset)>
where
    I: IntoIterator<Item = Option<&'a ComparisonDataset>>,
{
    let mut best: Option<(usize, &'a ComparisonDataset)> = None;
    for (i, c) in candidates.into_iter().enumerate() {
        let Some(c) = c else { continue };
        best = match best {
            Some((_, b)) if !compare(variant, c, b).is_better() => best,
            _ => Some((i, c)),
        };
    }
    best
}

/// The recommended state of Figure 33, named by its decision code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Recommendation {
    /// BMC_MASTER, D0 (clockClass ≤ 127) beats this port's Erbest: we are grandmaster.
    M1,
    /// BMC_MASTER, D0 (clockClass > 127) beats Ebest: we are grandmaster.
    M2,
    /// BMC_MASTER, Ebest is on another port and this port's path is no better: master
    /// toward this port's segment, relaying another grandmaster.
    M3,
    /// BMC_PASSIVE, D0 (clockClass ≤ 127) loses to this port's Erbest.
    P1,
    /// BMC_PASSIVE, Ebest is better by topology than this port's Erbest (loop avoidance).
    P2,
    /// BMC_SLAVE, Ebest was received on this port.
    S1,
    /// Stay in or go to LISTENING: the clock is slave-only and the decision was not S1.
    Listening,
}

impl Recommendation {
    /// The port state the standard attaches to the recommendation (no appliance policy; see
    /// [`apply_policy`]). MASTER stands for BMC_MASTER: the port state machine goes through
    /// PRE_MASTER for M3 (see [`Recommendation::qualification_intervals`]).
    pub const fn state(self) -> PortState {
        match self {
            Recommendation::M1 | Recommendation::M2 | Recommendation::M3 => PortState::Master,
            Recommendation::P1 | Recommendation::P2 => PortState::Passive,
            Recommendation::S1 => PortState::Slave,
            Recommendation::Listening => PortState::Listening,
        }
    }

    /// Whether this is M1, M2 or M3.
    pub const fn is_master(self) -> bool {
        matches!(
            self,
            Recommendation::M1 | Recommendation::M2 | Recommendation::M3
        )
    }

    /// Announce intervals a port spends in PRE_MASTER before MASTER (the
    /// QUALIFICATION_TIMEOUT_EXPIRES event, 9.2.6): `currentDS.stepsRemoved + 1` for M3,
    /// zero for M1 and M2 (and for the non-master recommendations).
    pub const fn qualification_intervals(self, current_steps_removed: u16) -> u32 {
        match self {
            Recommendation::M3 => current_steps_removed as u32 + 1,
            _ => 0,
        }
    }
}

/// What a grandmaster appliance does when the BMCA says another master is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BetterMasterPolicy {
    /// Go PASSIVE instead of SLAVE on S1, as an appliance that cannot (yet) discipline its
    /// clock to PTP must: it stops serving time but does not claim to follow.
    #[default]
    Passive,
    /// Follow the standard: S1 → SLAVE (the engine goes through UNCALIBRATED).
    Slave,
    /// Never leave MASTER (masterOnly on every port): P1, P2 and S1 all stay MASTER.
    IgnoreAndStayMaster,
}

/// The state decision algorithm for one port (1588-2019 9.3.3, Figure 33).
///
/// * `d0`: our own data set ([`ComparisonDataset::from_default_ds`]); `d0_clock_class`:
///   defaultDS.clockClass.
/// * `ebest`: the best Erbest over all ports ([`select_best`]); `erbest`: this port's best
///   qualified foreign master ([`ForeignMasterTable::best`]); `ebest_on_this_port`: whether
///   Ebest is this port's Erbest.
/// * `_port_state`: the port's current state. Figure 33's first test (Erbest empty and
///   LISTENING → stay LISTENING) is left to the engine, which owns the LISTENING timing; see
///   the [module documentation](self). The parameter is kept so the inputs match the figure.
///
/// Error-1 and Error-2 comparison results count as "not better", as in the figure.
/// For a slave-only clock (`d0_clock_class` 255) every outcome but S1 becomes
/// [`Recommendation::Listening`]: its ports are never MASTER or PASSIVE.
pub fn state_decision(
    variant: BmcaVariant,
    d0: &ComparisonDataset,
    d0_clock_class: u8,
    ebest: Option<&ComparisonDataset>,
    erbest: Option<&ComparisonDataset>,
    ebest_on_this_port: bool,
    _port_state: PortState,
) -> Recommendation {
    let rec = decide(
        variant,
        d0,
        d0_clock_class,
        ebest,
        erbest,
        ebest_on_this_port,
    );
    if d0_clock_class == SLAVE_ONLY_CLOCK_CLASS && rec != Recommendation::S1 {
        Recommendation::Listening
    } else {
        rec
    }
}

/// Figure 33 past its LISTENING test.
fn decide(
    variant: BmcaVariant,
    d0: &ComparisonDataset,
    d0_clock_class: u8,
    ebest: Option<&ComparisonDataset>,
    erbest: Option<&ComparisonDataset>,
    ebest_on_this_port: bool,
) -> Recommendation {
    // "D0 is class 1 through 127": a grandmaster-grade clock never becomes a slave; it only
    // looks at what this port hears.
    if d0_clock_class <= 127 {
        return match erbest {
            Some(e) if !compare(variant, d0, e).is_better() => Recommendation::P1,
            _ => Recommendation::M1,
        };
    }

    // An empty Ebest loses to D0.
    let Some(best) = ebest else {
        return Recommendation::M2;
    };
    if compare(variant, d0, best).is_better() {
        return Recommendation::M2;
    }
    if ebest_on_this_port {
        return Recommendation::S1;
    }
    match erbest {
        Some(e) if compare(variant, best, e) == Comparison::BetterByTopology => Recommendation::P2,
        _ => Recommendation::M3,
    }
}

/// The state a port takes for recommendation `rec` under the appliance's `policy` and the
/// port's portDS.masterOnly (`master_only`: every recommendation but LISTENING gives MASTER).
///
/// MASTER stands for "master": the engine inserts PRE_MASTER for M3
/// ([`Recommendation::qualification_intervals`]) and UNCALIBRATED before SLAVE.
pub fn apply_policy(
    rec: Recommendation,
    policy: BetterMasterPolicy,
    master_only: bool,
) -> PortState {
    match rec {
        Recommendation::Listening => PortState::Listening,
        _ if master_only => PortState::Master,
        Recommendation::M1 | Recommendation::M2 | Recommendation::M3 => PortState::Master,
        Recommendation::P1 | Recommendation::P2 => match policy {
            BetterMasterPolicy::IgnoreAndStayMaster => PortState::Master,
            BetterMasterPolicy::Passive | BetterMasterPolicy::Slave => PortState::Passive,
        },
        Recommendation::S1 => match policy {
            BetterMasterPolicy::Passive => PortState::Passive,
            BetterMasterPolicy::Slave => PortState::Slave,
            BetterMasterPolicy::IgnoreAndStayMaster => PortState::Master,
        },
    }
}

/// One foreign master (9.3.2.4.5): a sender port heard on this port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForeignMaster {
    /// sourcePortIdentity of its Announces: the key of the entry.
    pub sender: PortIdentity,
    /// The data set of its latest Announce.
    pub data: ComparisonDataset,
    /// logMessageInterval of its latest Announce: the interval the window is measured in.
    pub log_announce_interval: i8,
    /// When its latest Announce arrived.
    pub last_receipt: Time,
    /// When the Announce before that arrived; `None` after a single one.
    pub previous_receipt: Option<Time>,
    /// sequenceId of the latest Announce, when the caller gave it.
    last_sequence_id: Option<u16>,
    /// Qualification as of the last `record` or `expire`, for change reports and deadlines.
    qualified: bool,
}

impl ForeignMaster {
    /// FOREIGN_MASTER_TIME_WINDOW in nanoseconds, in this master's announce interval.
    pub fn window_nanos(&self) -> u64 {
        log_interval_nanos(self.log_announce_interval)
            .saturating_mul(u64::from(FOREIGN_MASTER_TIME_WINDOW))
    }

    /// Whether the entry is qualified at `now` (9.3.2.5): FOREIGN_MASTER_THRESHOLD (two)
    /// Announces within the most recent FOREIGN_MASTER_TIME_WINDOW.
    pub fn is_qualified(&self, now: Time) -> bool {
        self.previous_receipt
            .is_some_and(|p| now.saturating_since(p) < self.window_nanos())
    }

    /// How long after its latest Announce the entry is dropped: the longer of the window and
    /// `announce_receipt_timeout` intervals.
    fn keep_nanos(&self, announce_receipt_timeout: u8) -> u64 {
        let intervals = u64::from(announce_receipt_timeout.max(FOREIGN_MASTER_TIME_WINDOW));
        log_interval_nanos(self.log_announce_interval).saturating_mul(intervals)
    }

    /// Whether even its latest Announce has left the window: whatever it sends next, it
    /// starts from one Announce again, exactly like a new entry.
    fn is_stale(&self, now: Time) -> bool {
        now.saturating_since(self.last_receipt) >= self.window_nanos()
    }
}

/// The foreign master data set of one port (9.3.2.4.5) with Announce qualification
/// (9.3.2.5), of fixed capacity: its storage is allocated once, in [`ForeignMasterTable::new`].
///
/// Each entry keeps the latest data set and the receipt times of the last two Announces;
/// FOREIGN_MASTER_THRESHOLD is two, so that is all qualification needs. The window is four
/// announce intervals of the foreign master, from the logMessageInterval of its Announce
/// header, as in linuxptp.
///
/// The caller applies the other rules of 9.3.2.5 before [`ForeignMasterTable::record`]:
/// Announces from our own clock, from other domains or from unacceptable masters never reach
/// the table. Sequence ids are not needed; [`ForeignMasterTable::record_with_sequence_id`]
/// additionally keeps a duplicated frame from counting twice.
#[derive(Debug, Clone)]
pub struct ForeignMasterTable {
    entries: Vec<ForeignMaster>,
    capacity: usize,
    full_drops: u64,
}

impl ForeignMasterTable {
    /// Moves every receipt time by `delta` ns (a clock step).
    pub fn shift(&mut self, delta: i64) {
        for e in &mut self.entries {
            e.last_receipt = e.last_receipt.shifted(delta);
            e.previous_receipt = e.previous_receipt.map(|t| t.shifted(delta));
        }
    }

    /// An empty table for up to `capacity` foreign masters (1588-2019 requires room for at
    /// least five). A capacity of zero records nothing.
    pub fn new(capacity: usize) -> Self {
        ForeignMasterTable {
            entries: Vec::with_capacity(capacity),
            capacity,
            full_drops: 0,
        }
    }

    /// Records an Announce received at `now` from `sender` (its sourcePortIdentity, normally
    /// `data.identity_of_senders`), whose header carried `log_announce_interval`. The caller
    /// has already filtered it (own clock identity, domain, …).
    ///
    /// Returns whether it was recorded: `false` if stepsRemoved ≥ 255 (not qualified,
    /// 9.3.2.5; not counted) or if the table is full of other masters that may still qualify
    /// (counted in [`ForeignMasterTable::full_drops`]). A full table reuses the slot of a
    /// master whose latest Announce has left its window.
    pub fn record(
        &mut self,
        now: Time,
        sender: PortIdentity,
        data: ComparisonDataset,
        log_announce_interval: i8,
    ) -> bool {
        self.insert(now, sender, data, log_announce_interval, None)
    }

    /// As [`ForeignMasterTable::record`], with the Announce's sequenceId: a repeat of the
    /// sender's previous sequenceId (a duplicated frame) refreshes the data set but does not
    /// count as a second Announce.
    pub fn record_with_sequence_id(
        &mut self,
        now: Time,
        sender: PortIdentity,
        data: ComparisonDataset,
        log_announce_interval: i8,
        sequence_id: u16,
    ) -> bool {
        self.insert(now, sender, data, log_announce_interval, Some(sequence_id))
    }

    fn insert(
        &mut self,
        now: Time,
        sender: PortIdentity,
        data: ComparisonDataset,
        log_announce_interval: i8,
        sequence_id: Option<u16>,
    ) -> bool {
        if data.steps_removed >= MAX_STEPS_REMOVED {
            return false;
        }

        if let Some(e) = self.entries.iter_mut().find(|e| e.sender == sender) {
            let duplicate = sequence_id.is_some() && sequence_id == e.last_sequence_id;
            e.data = data;
            e.log_announce_interval = log_announce_interval;
            if !duplicate {
                e.previous_receipt = Some(e.last_receipt);
                e.last_receipt = now;
                e.last_sequence_id = sequence_id;
            }
            e.qualified = e.is_qualified(now);
            return true;
        }

        let entry = ForeignMaster {
            sender,
            data,
            log_announce_interval,
            last_receipt: now,
            previous_receipt: None,
            last_sequence_id: sequence_id,
            qualified: false,
        };
        if self.entries.len() < self.capacity {
            self.entries.push(entry);
            return true;
        }
        if let Some(slot) = self.entries.iter_mut().find(|e| e.is_stale(now)) {
            *slot = entry;
            return true;
        }
        self.full_drops = self.full_drops.saturating_add(1);
        false
    }

    /// Drops entries whose latest Announce is older than the longer of
    /// FOREIGN_MASTER_TIME_WINDOW and `announce_receipt_timeout` announce intervals (of each
    /// master), and re-evaluates qualification. Returns true if an entry was dropped or one
    /// gained or lost qualification since the last `record`/`expire`: Erbest may have changed.
    pub fn expire(&mut self, now: Time, announce_receipt_timeout: u8) -> bool {
        let before = self.entries.len();
        let mut changed = false;
        self.entries.retain_mut(|e| {
            if now.saturating_since(e.last_receipt) >= e.keep_nanos(announce_receipt_timeout) {
                return false;
            }
            let qualified = e.is_qualified(now);
            if qualified != e.qualified {
                e.qualified = qualified;
                changed = true;
            }
            true
        });
        changed || self.entries.len() != before
    }

    /// Erbest (9.3.2.3): the best entry qualified at `now`, by `variant`. Ties and error
    /// results keep the earlier entry.
    pub fn best(&self, variant: BmcaVariant, now: Time) -> Option<ComparisonDataset> {
        let mut best: Option<&ComparisonDataset> = None;
        for e in self.entries.iter().filter(|e| e.is_qualified(now)) {
            best = match best {
                Some(b) if !compare(variant, &e.data, b).is_better() => Some(b),
                _ => Some(&e.data),
            };
        }
        best.copied()
    }

    /// The earliest time at which an entry expires or stops being qualified, for the engine's
    /// timer; `None` if the table is empty. Call [`ForeignMasterTable::expire`] at that time.
    /// Qualification is taken as of the last `record`/`expire`, so the deadline is never one
    /// that `expire` has already handled.
    pub fn next_deadline(&self, announce_receipt_timeout: u8) -> Option<Time> {
        self.entries
            .iter()
            .map(|e| {
                let expiry = e
                    .last_receipt
                    .plus_nanos(e.keep_nanos(announce_receipt_timeout));
                match e.previous_receipt {
                    Some(p) if e.qualified => expiry.min(p.plus_nanos(e.window_nanos())),
                    _ => expiry,
                }
            })
            .min()
    }

    /// The entries, in no particular order (for the foreignMasterDS of management).
    pub fn iter(&self) -> impl Iterator<Item = &ForeignMaster> {
        self.entries.iter()
    }

    /// Number of foreign masters held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no foreign master is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The capacity given to [`ForeignMasterTable::new`].
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Forgets every foreign master (e.g. when the port is disabled); keeps the drop counter.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Announces from new masters dropped because the table was full.
    pub fn full_drops(&self) -> u64 {
        self.full_drops
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{ClockAccuracy, TimeSource, Timestamp};

    const OUR_CLOCK: u8 = 0x50;

    fn clock(n: u8) -> ClockIdentity {
        ClockIdentity([0, 0, 0, 0, 0, 0, 0, n])
    }

    fn port(n: u8, port_number: u16) -> PortIdentity {
        PortIdentity {
            clock_identity: clock(n),
            port_number,
        }
    }

    fn quality(clock_class: u8, accuracy: ClockAccuracy, variance: u16) -> ClockQuality {
        ClockQuality {
            clock_class,
            clock_accuracy: accuracy,
            offset_scaled_log_variance: variance,
        }
    }

    /// A foreign grandmaster `gm` heard directly (sender is port 1 of the GM) on our port 1.
    fn ds(gm: u8) -> ComparisonDataset {
        ComparisonDataset {
            grandmaster_priority1: 128,
            grandmaster_identity: clock(gm),
            grandmaster_clock_quality: quality(248, ClockAccuracy::UNKNOWN, 0xffff),
            grandmaster_priority2: 128,
            steps_removed: 0,
            identity_of_senders: port(gm, 1),
            identity_of_receiver: port(OUR_CLOCK, 1),
            local_priority: DEFAULT_LOCAL_PRIORITY,
        }
    }

    /// Asserts `compare(a, b) == expected` and the mirrored result for `compare(b, a)`.
    #[track_caller]
    fn check(v: BmcaVariant, a: &ComparisonDataset, b: &ComparisonDataset, expected: Comparison) {
        assert_eq!(compare(v, a, b), expected, "compare(a, b)");
        assert_eq!(compare(v, b, a), expected.reverse(), "compare(b, a)");
    }

    const D: BmcaVariant = BmcaVariant::Default;
    const G: BmcaVariant = BmcaVariant::G8275;

    // ---- Figure 34 -------------------------------------------------------------------

    #[test]
    fn figure_34_each_attribute_decides_in_order() {
        // Work up the chain; each step flips the winner so a stale result cannot pass.
        let mut a = ds(1);
        let mut b = ds(2);
        // grandmasterIdentity: lower wins.
        check(D, &a, &b, Comparison::Better);
        // priority2 beats identity.
        b.grandmaster_priority2 = 127;
        check(D, &a, &b, Comparison::Worse);
        // offsetScaledLogVariance beats priority2.
        a.grandmaster_clock_quality.offset_scaled_log_variance = 0x4e5d;
        check(D, &a, &b, Comparison::Better);
        // clockAccuracy beats variance (0x21 = 100 ns is better than 0xfe unknown).
        b.grandmaster_clock_quality.clock_accuracy = ClockAccuracy::NS_100;
        check(D, &a, &b, Comparison::Worse);
        // clockClass beats accuracy.
        a.grandmaster_clock_quality.clock_class = 6;
        check(D, &a, &b, Comparison::Better);
        // priority1 beats clockClass.
        b.grandmaster_priority1 = 127;
        check(D, &a, &b, Comparison::Worse);
    }

    #[test]
    fn figure_34_realistic_grandmasters() {
        // A GNSS-locked grandmaster (class 6, 100 ns) against a free-running one (248).
        let mut locked = ds(9);
        locked.grandmaster_clock_quality = quality(6, ClockAccuracy::NS_100, 0x4e5d);
        let free = ds(1);
        check(D, &locked, &free, Comparison::Better);
        // Holdover (class 7) still beats class 248, but loses to a locked peer.
        let mut holdover = ds(2);
        holdover.grandmaster_clock_quality = quality(7, ClockAccuracy::US_1, 0x4e5d);
        check(D, &holdover, &free, Comparison::Better);
        check(D, &holdover, &locked, Comparison::Worse);
        // Steps removed do not matter between different grandmasters.
        locked.steps_removed = 10;
        check(D, &locked, &holdover, Comparison::Better);
        // localPriority is ignored by the default BMCA.
        holdover.local_priority = 1;
        check(D, &locked, &holdover, Comparison::Better);
    }

    // ---- Figure 35 -------------------------------------------------------------------

    #[test]
    fn figure_35_steps_differ_by_more_than_one() {
        let mut a = ds(1);
        let mut b = ds(1);
        a.steps_removed = 1;
        b.steps_removed = 3;
        check(D, &a, &b, Comparison::Better);
        // No overflow at the ends of the range.
        a.steps_removed = 0;
        b.steps_removed = u16::MAX;
        check(D, &a, &b, Comparison::Better);
        a.steps_removed = u16::MAX;
        b.steps_removed = u16::MAX - 2;
        check(D, &a, &b, Comparison::Worse);
    }

    #[test]
    fn figure_35_steps_differ_by_one() {
        // A is one step nearer. The verdict depends on B's receiver and sender.
        let mut a = ds(1);
        a.steps_removed = 1;
        a.identity_of_senders = port(0x20, 2);
        let mut b = ds(1);
        b.steps_removed = 2;

        // Receiver of B < sender of B → A better.
        b.identity_of_senders = port(0x60, 1);
        b.identity_of_receiver = port(OUR_CLOCK, 1);
        check(D, &a, &b, Comparison::Better);

        // Receiver of B > sender of B → A better by topology.
        b.identity_of_senders = port(0x30, 1);
        check(D, &a, &b, Comparison::BetterByTopology);

        // Same clock, the port number decides.
        b.identity_of_senders = port(OUR_CLOCK, 2);
        check(D, &a, &b, Comparison::Better);
        b.identity_of_senders = port(OUR_CLOCK, 0);
        check(D, &a, &b, Comparison::BetterByTopology);

        // Receiver of B = sender of B: a port hearing itself → Error-1, both ways.
        b.identity_of_senders = b.identity_of_receiver;
        check(D, &a, &b, Comparison::Error1);
    }

    #[test]
    fn figure_35_equal_steps() {
        let mut a = ds(1);
        let mut b = ds(1);
        a.steps_removed = 2;
        b.steps_removed = 2;

        // Different senders: the lower sender wins by topology, whatever the receivers.
        a.identity_of_senders = port(0x20, 1);
        b.identity_of_senders = port(0x21, 1);
        a.identity_of_receiver = port(OUR_CLOCK, 7);
        b.identity_of_receiver = port(OUR_CLOCK, 1);
        check(D, &a, &b, Comparison::BetterByTopology);

        // Same sender clock, different sender ports.
        b.identity_of_senders = port(0x20, 2);
        check(D, &a, &b, Comparison::BetterByTopology);

        // Same sender heard on two of our ports: the lower receiving port number wins.
        b.identity_of_senders = a.identity_of_senders;
        check(D, &a, &b, Comparison::WorseByTopology);
        a.identity_of_receiver.port_number = 1;
        b.identity_of_receiver.port_number = 2;
        check(D, &a, &b, Comparison::BetterByTopology);

        // Same sender, same receiving port → Error-2.
        b.identity_of_receiver.port_number = 1;
        check(D, &a, &b, Comparison::Error2);
    }

    #[test]
    fn d0_against_its_own_grandmaster_relayed_back() {
        // A downstream clock announcing our own grandmaster identity one step away.
        let d0 = ComparisonDataset::from_default_ds(
            clock(OUR_CLOCK),
            128,
            quality(6, ClockAccuracy::NS_100, 0x4e5d),
            128,
            128,
        );
        let mut relayed = d0;
        relayed.steps_removed = 1;
        relayed.identity_of_senders = port(0x70, 1);
        relayed.identity_of_receiver = port(OUR_CLOCK, 1);
        // Receiver (ours, 0x50) < sender (0x70) → D0 better.
        check(D, &d0, &relayed, Comparison::Better);
        relayed.identity_of_senders = port(0x10, 1);
        check(D, &d0, &relayed, Comparison::BetterByTopology);
        relayed.steps_removed = 2;
        check(D, &d0, &relayed, Comparison::Better);
    }

    #[test]
    fn comparison_is_antisymmetric() {
        // Every pair from a grid of data sets differing in the deciding attributes.
        let mut sets = Vec::new();
        for gm in [1u8, 2] {
            for p1 in [127u8, 128] {
                for steps in [0u16, 1, 2, 3] {
                    for sender in [0x20u8, 0x60] {
                        for rx_port in [1u16, 2] {
                            let mut d = ds(gm);
                            d.grandmaster_priority1 = p1;
                            d.steps_removed = steps;
                            d.identity_of_senders = port(sender, 1);
                            d.identity_of_receiver = port(OUR_CLOCK, rx_port);
                            d.local_priority = 100 + rx_port as u8;
                            sets.push(d);
                        }
                    }
                }
            }
        }
        for v in [D, G] {
            for a in &sets {
                for b in &sets {
                    assert_eq!(compare(v, a, b), compare(v, b, a).reverse(), "{a:?} {b:?}");
                }
                assert_eq!(compare(v, a, a), Comparison::Error2);
            }
        }
    }

    // ---- G.8275 ----------------------------------------------------------------------

    #[test]
    fn g8275_ignores_priority1() {
        let mut a = ds(1);
        let mut b = ds(2);
        a.grandmaster_priority1 = 1;
        b.grandmaster_priority1 = 255;
        b.grandmaster_clock_quality.clock_class = 165;
        check(D, &a, &b, Comparison::Better);
        check(G, &a, &b, Comparison::Worse);
    }

    #[test]
    fn g8275_order_class_accuracy_variance_priority2_local_priority() {
        let mut a = ds(2);
        let mut b = ds(1);
        // All equal at class 248: the grandmaster identity decides.
        check(G, &a, &b, Comparison::Worse);
        // localPriority beats identity (the default BMCA ignores it).
        a.local_priority = 100;
        check(G, &a, &b, Comparison::Better);
        check(D, &a, &b, Comparison::Worse);
        // priority2 beats localPriority.
        b.grandmaster_priority2 = 100;
        check(G, &a, &b, Comparison::Worse);
        // Variance beats priority2.
        a.grandmaster_clock_quality.offset_scaled_log_variance = 0x4e5d;
        check(G, &a, &b, Comparison::Better);
        // Accuracy beats variance.
        b.grandmaster_clock_quality.clock_accuracy = ClockAccuracy::NS_25;
        check(G, &a, &b, Comparison::Worse);
        // Class beats accuracy.
        a.grandmaster_clock_quality.clock_class = 165;
        check(G, &a, &b, Comparison::Better);
    }

    #[test]
    fn g8275_grandmaster_grade_picks_nearest_grandmaster() {
        // Two class-6 grandmasters of equal quality: the nearer one wins, not the lower id.
        let mut near = ds(9);
        let mut far = ds(1);
        for d in [&mut near, &mut far] {
            d.grandmaster_clock_quality = quality(6, ClockAccuracy::NS_100, 0x4e5d);
        }
        near.steps_removed = 1;
        near.identity_of_senders = port(0x30, 1);
        far.steps_removed = 3;
        far.identity_of_senders = port(0x31, 1);
        check(G, &near, &far, Comparison::Better);
        check(D, &near, &far, Comparison::Worse);
        // At equal distance the lower sender wins by topology.
        far.steps_removed = 1;
        check(G, &near, &far, Comparison::BetterByTopology);
        // localPriority still comes before distance.
        far.local_priority = 1;
        check(G, &near, &far, Comparison::Worse);
    }

    #[test]
    fn g8275_degraded_class_compares_identity_before_distance() {
        // Above class 127 (e.g. 165, a T-BC in holdover) the identity comes first.
        let mut near = ds(9);
        let mut far = ds(1);
        for d in [&mut near, &mut far] {
            d.grandmaster_clock_quality = quality(165, ClockAccuracy::UNKNOWN, 0xffff);
        }
        near.steps_removed = 1;
        far.steps_removed = 3;
        check(G, &near, &far, Comparison::Worse);
        // Same grandmaster: the topology decides.
        far.grandmaster_identity = near.grandmaster_identity;
        check(G, &near, &far, Comparison::Better);
    }

    // ---- Figure 33 -------------------------------------------------------------------

    fn d0(class: u8) -> ComparisonDataset {
        ComparisonDataset::from_default_ds(
            clock(OUR_CLOCK),
            128,
            quality(class, ClockAccuracy::NS_100, 0x4e5d),
            128,
            DEFAULT_LOCAL_PRIORITY,
        )
    }

    fn decision(
        d0: &ComparisonDataset,
        ebest: Option<&ComparisonDataset>,
        erbest: Option<&ComparisonDataset>,
        on_this_port: bool,
    ) -> Recommendation {
        state_decision(
            D,
            d0,
            d0.grandmaster_clock_quality.clock_class,
            ebest,
            erbest,
            on_this_port,
            PortState::Master,
        )
    }

    #[test]
    fn grandmaster_grade_clock_goes_passive_or_master() {
        let own = d0(6);
        let mut better = ds(1);
        better.grandmaster_clock_quality = quality(6, ClockAccuracy::NS_25, 0x4e5d);
        let worse = ds(2);
        assert_eq!(
            decision(&own, Some(&better), Some(&better), true),
            Recommendation::P1
        );
        assert_eq!(
            decision(&own, Some(&worse), Some(&worse), true),
            Recommendation::M1
        );
        // Only this port's Erbest counts for class ≤ 127: a better master elsewhere is ignored.
        assert_eq!(
            decision(&own, Some(&better), Some(&worse), false),
            Recommendation::M1
        );
        assert_eq!(
            decision(&own, Some(&better), None, false),
            Recommendation::M1
        );
        // P1 under the policies.
        for (policy, state) in [
            (BetterMasterPolicy::Passive, PortState::Passive),
            (BetterMasterPolicy::Slave, PortState::Passive),
            (BetterMasterPolicy::IgnoreAndStayMaster, PortState::Master),
        ] {
            assert_eq!(apply_policy(Recommendation::P1, policy, false), state);
        }
    }

    #[test]
    fn free_running_clock_with_better_master_on_this_port() {
        let own = d0(248);
        let mut gm = ds(1);
        gm.grandmaster_clock_quality = quality(6, ClockAccuracy::NS_100, 0x4e5d);
        let rec = decision(&own, Some(&gm), Some(&gm), true);
        assert_eq!(rec, Recommendation::S1);
        assert_eq!(rec.state(), PortState::Slave);
        assert_eq!(
            apply_policy(rec, BetterMasterPolicy::Passive, false),
            PortState::Passive
        );
        assert_eq!(
            apply_policy(rec, BetterMasterPolicy::default(), false),
            PortState::Passive
        );
        assert_eq!(
            apply_policy(rec, BetterMasterPolicy::Slave, false),
            PortState::Slave
        );
        assert_eq!(
            apply_policy(rec, BetterMasterPolicy::IgnoreAndStayMaster, false),
            PortState::Master
        );
        assert_eq!(
            apply_policy(rec, BetterMasterPolicy::Slave, true),
            PortState::Master
        );
    }

    #[test]
    fn no_foreign_master_at_all_is_m1_or_m2_even_when_listening() {
        for state in [PortState::Listening, PortState::Master, PortState::Passive] {
            let own = d0(6);
            let rec = state_decision(D, &own, 6, None, None, false, state);
            assert_eq!(rec, Recommendation::M1);
            let own = d0(248);
            let rec = state_decision(D, &own, 248, None, None, false, state);
            assert_eq!(rec, Recommendation::M2);
            assert_eq!(
                apply_policy(rec, BetterMasterPolicy::Passive, false),
                PortState::Master
            );
        }
    }

    #[test]
    fn free_running_clock_m2_m3_p2() {
        let own = d0(248);
        let worse = ds(0xf0); // class 248, same quality, higher identity than ours
        assert_eq!(
            decision(&own, Some(&worse), Some(&worse), true),
            Recommendation::M2
        );

        // A better grandmaster heard on another port.
        let mut gm = ds(1);
        gm.grandmaster_clock_quality = quality(6, ClockAccuracy::NS_100, 0x4e5d);
        gm.steps_removed = 1;
        gm.identity_of_senders = port(0x30, 1);
        gm.identity_of_receiver = port(OUR_CLOCK, 1);
        // Nothing on this port, or something worse: M3.
        assert_eq!(decision(&own, Some(&gm), None, false), Recommendation::M3);
        assert_eq!(
            decision(&own, Some(&gm), Some(&worse), false),
            Recommendation::M3
        );

        // The same grandmaster on this port through a higher sender: Ebest better by
        // topology → P2.
        let mut same_gm_here = gm;
        same_gm_here.identity_of_senders = port(0x31, 1);
        same_gm_here.identity_of_receiver = port(OUR_CLOCK, 2);
        assert_eq!(
            decision(&own, Some(&gm), Some(&same_gm_here), false),
            Recommendation::P2
        );
        // The same grandmaster two steps further here: Ebest simply better → M3.
        same_gm_here.steps_removed = 3;
        assert_eq!(
            decision(&own, Some(&gm), Some(&same_gm_here), false),
            Recommendation::M3
        );
        assert_eq!(Recommendation::M3.qualification_intervals(1), 2);
        assert_eq!(Recommendation::M2.qualification_intervals(1), 0);
    }

    #[test]
    fn slave_only_clock_never_masters() {
        let own = d0(SLAVE_ONLY_CLOCK_CLASS);
        let gm = ds(1);
        assert_eq!(decision(&own, None, None, false), Recommendation::Listening);
        assert_eq!(
            decision(&own, Some(&gm), None, false),
            Recommendation::Listening
        );
        assert_eq!(
            decision(&own, Some(&gm), Some(&gm), true),
            Recommendation::S1
        );
        assert_eq!(
            apply_policy(Recommendation::Listening, BetterMasterPolicy::Slave, true),
            PortState::Listening
        );
    }

    #[test]
    fn g8275_decision_uses_local_priority() {
        // Two class-6 grandmasters, equal but for localPriority.
        let mut own = d0(6);
        own.local_priority = 128;
        let mut peer = ds(0x60);
        peer.grandmaster_clock_quality = own.grandmaster_clock_quality;
        peer.local_priority = 100;
        let rec = state_decision(
            G,
            &own,
            6,
            Some(&peer),
            Some(&peer),
            true,
            PortState::Master,
        );
        assert_eq!(rec, Recommendation::P1);
        peer.local_priority = 200;
        let rec = state_decision(
            G,
            &own,
            6,
            Some(&peer),
            Some(&peer),
            true,
            PortState::Master,
        );
        assert_eq!(rec, Recommendation::M1);
        // masterOnly keeps the port MASTER whatever the recommendation.
        assert_eq!(
            apply_policy(Recommendation::P1, BetterMasterPolicy::Passive, true),
            PortState::Master
        );
    }

    #[test]
    fn select_best_returns_ebest_and_its_port() {
        let a = ds(3);
        let b = ds(1);
        let c = ds(2);
        let best = select_best(D, [Some(&a), None, Some(&b), Some(&c)]);
        assert_eq!(best, Some((2, &b)));
        assert_eq!(select_best(D, [None, None]), None);
        // Ties keep the first.
        assert_eq!(select_best(D, [Some(&b), Some(&b)]), Some((0, &b)));
    }

    #[test]
    fn from_announce_maps_fields() {
        let a = AnnounceBody {
            origin_timestamp: Timestamp::default(),
            current_utc_offset: 37,
            grandmaster_priority1: 1,
            grandmaster_clock_quality: quality(6, ClockAccuracy::NS_25, 0x4e5d),
            grandmaster_priority2: 2,
            grandmaster_identity: clock(9),
            steps_removed: 3,
            time_source: TimeSource::GNSS,
        };
        let d = ComparisonDataset::from_announce(&a, port(0x30, 4), port(OUR_CLOCK, 1), 90);
        assert_eq!(d.grandmaster_priority1, 1);
        assert_eq!(d.grandmaster_priority2, 2);
        assert_eq!(d.grandmaster_identity, clock(9));
        assert_eq!(d.grandmaster_clock_quality, a.grandmaster_clock_quality);
        assert_eq!(d.steps_removed, 3);
        assert_eq!(d.identity_of_senders, port(0x30, 4));
        assert_eq!(d.identity_of_receiver, port(OUR_CLOCK, 1));
        assert_eq!(d.local_priority, 90);
    }

    // ---- Foreign masters (9.3.2.5) ---------------------------------------------------

    const S: u64 = 1_000_000_000;

    fn t(ns: u64) -> Time {
        Time(1_700_000_000 * S + ns)
    }

    #[test]
    fn one_announce_is_not_qualified_two_are() {
        let mut fm = ForeignMasterTable::new(5);
        let d = ds(1);
        assert!(fm.record(t(0), d.identity_of_senders, d, 0));
        assert_eq!(fm.len(), 1);
        assert_eq!(fm.best(D, t(0)), None);
        assert!(fm.record(t(S), d.identity_of_senders, d, 0));
        assert_eq!(fm.len(), 1);
        assert_eq!(fm.best(D, t(S)), Some(d));
        // Qualified while the older of the two is within 4 intervals (4 s).
        assert_eq!(fm.best(D, t(4 * S - 1)), Some(d));
        assert_eq!(fm.best(D, t(4 * S)), None);
    }

    #[test]
    fn two_announces_further_apart_than_the_window_are_not_qualified() {
        let mut fm = ForeignMasterTable::new(5);
        let d = ds(1);
        fm.record(t(0), d.identity_of_senders, d, 0);
        fm.record(t(4 * S), d.identity_of_senders, d, 0);
        assert_eq!(fm.best(D, t(4 * S)), None);
        // The third one, one interval later, qualifies it.
        fm.record(t(5 * S), d.identity_of_senders, d, 0);
        assert_eq!(fm.best(D, t(5 * S)), Some(d));
    }

    #[test]
    fn window_uses_the_announced_interval() {
        let mut fm = ForeignMasterTable::new(5);
        let d = ds(1);
        // logMessageInterval -3: 125 ms, window 500 ms.
        fm.record(t(0), d.identity_of_senders, d, -3);
        fm.record(t(S / 4), d.identity_of_senders, d, -3);
        assert_eq!(fm.best(D, t(S / 2 - 1)), Some(d));
        assert_eq!(fm.best(D, t(S / 2)), None);
        // logMessageInterval 1: 2 s, window 8 s.
        let e = ds(2);
        fm.record(t(0), e.identity_of_senders, e, 1);
        fm.record(t(6 * S), e.identity_of_senders, e, 1);
        assert_eq!(fm.best(D, t(7 * S)), Some(e));
    }

    #[test]
    fn duplicate_sequence_ids_do_not_qualify() {
        let mut fm = ForeignMasterTable::new(5);
        let d = ds(1);
        let s = d.identity_of_senders;
        assert!(fm.record_with_sequence_id(t(0), s, d, 0, 7));
        assert!(fm.record_with_sequence_id(t(1_000), s, d, 0, 7));
        assert_eq!(fm.best(D, t(2_000)), None);
        assert!(fm.record_with_sequence_id(t(S), s, d, 0, 8));
        assert_eq!(fm.best(D, t(S)), Some(d));
    }

    #[test]
    fn expire_drops_after_window_or_timeout_and_reports_changes() {
        let mut fm = ForeignMasterTable::new(5);
        let d = ds(1);
        fm.record(t(0), d.identity_of_senders, d, 0);
        fm.record(t(S), d.identity_of_senders, d, 0);
        assert!(!fm.expire(t(2 * S), 3));
        assert_eq!(fm.next_deadline(3), Some(t(4 * S)));

        // Qualification lapses at 4 s (older announce at 0 s leaves the window).
        assert!(fm.expire(t(4 * S), 3));
        assert_eq!(fm.len(), 1);
        assert_eq!(fm.best(D, t(4 * S)), None);
        // Nothing new at the same instant; the next deadline is the expiry.
        assert!(!fm.expire(t(4 * S), 3));
        assert_eq!(fm.next_deadline(3), Some(t(5 * S)));

        // announceReceiptTimeout 3 < window 4: dropped 4 intervals after the last one.
        assert!(!fm.expire(t(5 * S - 1), 3));
        assert!(fm.expire(t(5 * S), 3));
        assert!(fm.is_empty());
        assert_eq!(fm.next_deadline(3), None);
        assert!(!fm.expire(t(6 * S), 3));
    }

    #[test]
    fn longer_receipt_timeout_keeps_entries_longer() {
        let mut fm = ForeignMasterTable::new(5);
        let d = ds(1);
        fm.record(t(0), d.identity_of_senders, d, 0);
        assert_eq!(fm.next_deadline(6), Some(t(6 * S)));
        assert!(!fm.expire(t(5 * S), 6));
        assert_eq!(fm.len(), 1);
        assert!(fm.expire(t(6 * S), 6));
        assert!(fm.is_empty());
    }

    #[test]
    fn full_table_drops_and_counts_then_reuses_stale_slots() {
        let mut fm = ForeignMasterTable::new(2);
        let (a, b, c) = (ds(1), ds(2), ds(3));
        assert!(fm.record(t(0), a.identity_of_senders, a, 0));
        assert!(fm.record(t(0), b.identity_of_senders, b, 0));
        assert!(!fm.record(t(0), c.identity_of_senders, c, 0));
        assert!(!fm.record(t(S), c.identity_of_senders, c, 0));
        assert_eq!(fm.full_drops(), 2);
        assert_eq!(fm.len(), 2);
        // Known masters are still updated when full.
        assert!(fm.record(t(S), a.identity_of_senders, a, 0));
        assert_eq!(fm.best(D, t(S)), Some(a));
        // b's last Announce (0 s) leaves its window at 4 s: its slot goes to c.
        assert!(fm.record(t(4 * S), c.identity_of_senders, c, 0));
        assert_eq!(fm.full_drops(), 2);
        assert!(fm.iter().any(|e| e.sender == c.identity_of_senders));
        assert!(!fm.iter().any(|e| e.sender == b.identity_of_senders));

        let mut none = ForeignMasterTable::new(0);
        assert!(!none.record(t(0), a.identity_of_senders, a, 0));
        assert_eq!(none.full_drops(), 1);
        assert_eq!(none.capacity(), 0);
    }

    #[test]
    fn steps_removed_255_is_ignored() {
        let mut fm = ForeignMasterTable::new(5);
        let mut d = ds(1);
        d.steps_removed = 255;
        assert!(!fm.record(t(0), d.identity_of_senders, d, 0));
        assert!(fm.is_empty());
        assert_eq!(fm.full_drops(), 0);
        d.steps_removed = 254;
        assert!(fm.record(t(0), d.identity_of_senders, d, 0));
    }

    #[test]
    fn best_considers_only_qualified_entries_by_variant() {
        let mut fm = ForeignMasterTable::new(5);
        // `strong` wins by priority1, `local` by localPriority (G.8275 only).
        let mut strong = ds(2);
        strong.grandmaster_priority1 = 1;
        let mut local = ds(3);
        local.local_priority = 1;
        let mut best_unqualified = ds(1);
        best_unqualified.grandmaster_clock_quality.clock_class = 6;

        for d in [strong, local] {
            fm.record(t(0), d.identity_of_senders, d, 0);
            fm.record(t(S), d.identity_of_senders, d, 0);
        }
        fm.record(
            t(S),
            best_unqualified.identity_of_senders,
            best_unqualified,
            0,
        );
        assert_eq!(fm.best(D, t(S)), Some(strong));
        assert_eq!(fm.best(G, t(S)), Some(local));

        // The latest data set is the one compared.
        strong.grandmaster_priority1 = 200;
        fm.record(t(2 * S), strong.identity_of_senders, strong, 0);
        assert_eq!(fm.best(D, t(2 * S)), Some(local));

        fm.clear();
        assert!(fm.is_empty());
        assert_eq!(fm.best(D, t(2 * S)), None);
    }

    #[test]
    fn time_going_backwards_does_not_panic_or_disqualify() {
        let mut fm = ForeignMasterTable::new(5);
        let d = ds(1);
        fm.record(t(10 * S), d.identity_of_senders, d, 0);
        fm.record(t(11 * S), d.identity_of_senders, d, 0);
        assert_eq!(fm.best(D, t(0)), Some(d));
        assert!(!fm.expire(t(0), 3));
        assert_eq!(fm.len(), 1);
    }
}
