//! # meridian
//!
//! The Meridian PTP grandmaster appliance: everything that touches the outside world around
//! the sans-IO core in `meridian-proto`.
//!
//! * [`config`] — the TOML configuration, checked with errors naming the key and line.
//! * [`clock`] — the reference clock: TAI from the system clock and the leap-second table,
//!   and the honest clock quality the grandmaster announces.
//! * [`dataplane`] — the Linux socket backend: UDP/IPv4, UDP/IPv6 and L2 with
//!   SO_TIMESTAMPING (hardware where the NIC has it, software otherwise).
//! * [`runtime`] — the daemon loop (`meridian run`).
//! * [`control`] — the status socket (`meridian status`).
//!
//! All `unsafe` (libc calls, and DPDK calls with the `dpdk` feature) lives in one private
//! module, `sys`.
#![deny(unsafe_code)]

pub mod clock;
pub mod config;
pub mod control;
pub mod dataplane;
pub mod metrics;
pub mod runtime;
#[allow(unsafe_code)]
mod sys;
