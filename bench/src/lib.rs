//! Benchmarks and load generators for Meridian. The benchmarks live in `benches/` and
//! `src/bin/`; see `bench/README.md` for the figures and the commands that produced them.
//!
//! The modules are the parts of the DPDK pipeline benchmark (`dpdk_loadgen`, feature
//! `dpdk`) that need no DPDK, so they are tested by a plain `cargo test`:
//! * [`hist`] — latency histograms (`hdrhistogram`);
//! * [`ptp`] — emulated slaves' Delay_Req frames and the classification of replies;
//! * [`residence`] — a phase's residence-time percentiles from two `meridian status` snapshots;
//! * [`search`] — the ramp-then-bisect search for the maximum sustained rate.
//! * [`swarm`] — the slave swarm's frames (unicast negotiation, Delay_Req) and the classification of replies.

pub mod hist;
pub mod ptp;
pub mod residence;
pub mod search;
pub mod swarm;
