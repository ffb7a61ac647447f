#!/usr/bin/env bash
# The soak: Meridian serving unicast for SOAK_MINUTES (default 60) while 20 real ptp4l
# clients come and go and forged negotiation from 800 addresses adds and expires slaves; RSS sampled every 10 s (tests/tests/soak.rs). Needs root (namespaces) and
# what scripts/setup.sh installs. Prints the figures; the series goes to SOAK_CSV
# (default /tmp/meridian-soak.csv).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked -q -p meridian --bin meridian --profile test
export SOAK_MINUTES="${SOAK_MINUTES:-60}"
cargo test --locked -q -p meridian-interop --test soak -- --ignored --nocapture
