//! Shared test support.
#![allow(dead_code)]

pub mod pcap;
pub mod tshark;
