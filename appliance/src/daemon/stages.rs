//! Pipeline stages (DPDK): which core polls which RX and TX stages, and the pinned threads
//! that poll them. Stages on the engine's own core are polled by the engine loop between
//! its other work ([`StageSet::poll_rx`] / [`StageSet::poll_tx`]).

use std::sync::atomic::AtomicBool;
#[cfg(feature = "dpdk")]
use std::sync::atomic::Ordering;
use std::sync::Arc;

#[cfg(feature = "dpdk")]
use anyhow::Context as _;
#[cfg(feature = "dpdk")]
use tracing::{info, warn};

use crate::config::Config;
use crate::dataplane::PollCounters;

/// A thread polling pipeline stages on its own core.
#[derive(Debug)]
pub struct StageThread {
    /// `io<core>`.
    pub name: String,
    /// The core it is pinned to.
    pub core: usize,
    /// Its busy and idle polls.
    pub polls: Arc<PollCounters>,
    /// The thread (ends when the stop flag is set).
    pub handle: std::thread::JoinHandle<()>,
}

/// Pipeline stages, by the core that polls them.
#[derive(Default)]
pub struct Stages {
    #[cfg(feature = "dpdk")]
    by_core: std::collections::BTreeMap<usize, StageSet>,
}

/// The stages one core polls, in turn.
#[derive(Default)]
pub struct StageSet {
    #[cfg(feature = "dpdk")]
    rx: Vec<crate::dataplane::pipeline::RxStage>,
    #[cfg(feature = "dpdk")]
    tx: Vec<crate::dataplane::pipeline::TxStage>,
}

impl StageSet {
    /// One RX burst per RX stage; the frames received.
    pub fn poll_rx(&mut self) -> usize {
        #[cfg(feature = "dpdk")]
        {
            self.rx.iter_mut().map(|s| s.poll()).sum()
        }
        #[cfg(not(feature = "dpdk"))]
        0
    }

    /// One TX burst per TX stage; the frames sent.
    pub fn poll_tx(&mut self) -> usize {
        #[cfg(feature = "dpdk")]
        {
            self.tx.iter_mut().map(|s| s.poll()).sum()
        }
        #[cfg(not(feature = "dpdk"))]
        0
    }
}

impl Stages {
    /// Starts a pinned thread for every core other than the engine's; returns the stages the
    /// engine loop polls itself and the threads (which end when `stop` is set), each with
    /// its name, core and poll counters.
    #[cfg_attr(not(feature = "dpdk"), allow(unused_mut, unused_variables))]
    pub fn start(
        mut self,
        cfg: &Config,
        stop: &Arc<AtomicBool>,
    ) -> anyhow::Result<(StageSet, Vec<StageThread>)> {
        let mut threads = Vec::new();
        #[cfg(feature = "dpdk")]
        {
            let (engine_core, _, _) = cfg.dataplane.lcores();
            let inline = self.by_core.remove(&engine_core).unwrap_or_default();
            for (core, mut set) in std::mem::take(&mut self.by_core) {
                let stop = Arc::clone(stop);
                let polls = Arc::new(PollCounters::default());
                let counted = Arc::clone(&polls);
                let t = std::thread::Builder::new()
                    .name(format!("meridian-io{core}"))
                    .spawn(move || {
                        if !core_affinity::set_for_current(core_affinity::CoreId { id: core }) {
                            warn!(core, "could not pin pipeline stages to their core");
                        }
                        // An EAL lcore id gives the stages per-lcore mempool caches.
                        if let Err(e) = crate::dataplane::dpdk::register_thread() {
                            warn!(core, error = %e, "could not register the stage thread with EAL");
                        }
                        info!(
                            core,
                            rx_stages = set.rx.len(),
                            tx_stages = set.tx.len(),
                            "pipeline stages polling"
                        );
                        // Poll mode: spin; the stop flag is looked at every 1024 idle rounds.
                        let mut idle = 0u32;
                        loop {
                            let work = set.poll_rx() + set.poll_tx();
                            counted.count(work > 0);
                            if work == 0 {
                                idle = idle.wrapping_add(1);
                                if idle % 1024 == 0 && stop.load(Ordering::Relaxed) {
                                    break;
                                }
                                std::hint::spin_loop();
                            } else if stop.load(Ordering::Relaxed) {
                                break;
                            }
                        }
                    })
                    .context("starting a pipeline thread")?;
                threads.push(StageThread {
                    name: format!("io{core}"),
                    core,
                    polls,
                    handle: t,
                });
            }
            Ok((inline, threads))
        }
        #[cfg(not(feature = "dpdk"))]
        Ok((StageSet::default(), threads))
    }
}

/// Splits every DPDK port into RX stage → engine → TX stage, placing the stages on the
/// cores of the lcore map.
#[cfg(feature = "dpdk")]
pub fn split_pipelines(
    cfg: &Config,
    ports: &mut [crate::dataplane::dpdk::DpdkPort],
) -> anyhow::Result<Stages> {
    let (engine, rx_core, tx_core) = cfg.dataplane.lcores();
    let mut stages = Stages::default();
    for (i, p) in ports.iter_mut().enumerate() {
        let (rx, tx) = p
            .split_pipeline(cfg.dataplane.ring_size)
            .with_context(|| format!("port {}: pipeline", i + 1))?;
        stages.by_core.entry(rx_core).or_default().rx.push(rx);
        stages.by_core.entry(tx_core).or_default().tx.push(tx);
    }
    info!(
        engine_core = engine,
        rx_core,
        tx_core,
        ring_size = cfg.dataplane.ring_size,
        "DPDK pipeline: RX stage → ring → engine → ring → TX stage"
    );
    Ok(stages)
}
