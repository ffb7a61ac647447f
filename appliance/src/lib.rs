//! # meridian
//!
//! The Meridian PTP grandmaster appliance: everything that touches the outside world around
//! the sans-IO core in `meridian-proto`.
//!
//! * [`config`] — the TOML configuration, checked with errors naming the key and line.
//! * [`clock`] — the reference clock: TAI from the system clock and the leap-second table,
//!   and the honest clock quality the grandmaster announces.
//! * [`dataplane`] — one port trait and one frame classifier; the Linux socket backend
//!   (UDP/IPv4, UDP/IPv6 and L2 with SO_TIMESTAMPING) and the DPDK backend (`dpdk`).
//! * [`daemon`] — `meridian run`: wiring, then the engine loop over any backend.
//! * [`metrics`] — histograms (residence time) and the Prometheus exporter (`/metrics`).
//! * [`control`] — the status socket (`meridian status`).
//!
//! All `unsafe` (libc calls, and DPDK calls with the `dpdk` feature) lives in one private
//! module, `sys`.
#![deny(unsafe_code)]

pub mod clock;
pub mod config;
pub mod control;
pub mod daemon;
pub mod dataplane;
pub mod metrics;
#[allow(unsafe_code)]
mod sys;
