//! # meridian-proto
//!
//! The sans-IO core of Meridian, an IEEE 1588-2019 (PTP) grandmaster.
//!
//! This crate performs no I/O, reads no clock and contains no `unsafe`: it takes bytes and
//! timestamps in and gives bytes and decisions out. The appliance crate owns sockets, DPDK
//! ports, threads and hardware clocks.
//!
//! * [`wire`] — zero-copy views over PTP messages, TLVs and their L2/UDP framing, plus plain
//!   `Repr` structs to build them. Parsing never panics and never allocates.
//! * [`engine`] — datasets, BMCA, port states, unicast grants and the scheduling of
//!   thousands of slaves: events with timestamps in, messages to send and timers out.
//! * [`servo`] — clock servos (offsets in, steps and frequency corrections out) and a
//!   simulated clock to judge them by.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod engine;
pub mod servo;
pub mod wire;
