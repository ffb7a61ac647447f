#!/usr/bin/env bash
# Meridian and ptp4l side by side in one run (bench/README.md, "Side by side"): builds the
# release daemons (socket build; the DPDK build too unless --no-dpdk), the swarm and the
# comparison, then runs it as root. Arguments go to `compare` (--quick: one point per
# system; --out DIR; --rounds N). Needs what scripts/setup.sh installs.
set -euo pipefail
cd "$(dirname "$0")/.."
dpdk=1
args=()
for a in "$@"; do
  case "$a" in
    --no-dpdk) dpdk=0 ;;
    *) args+=("$a") ;;
  esac
done
cargo build --quiet --release -p meridian --bin meridian -p meridian-bench --bin swarm --bin compare
if [[ $dpdk == 1 ]]; then
  cargo build --quiet --release -p meridian --bin meridian --features dpdk --target-dir target/dpdk
  args+=(--dpdk)
fi
exec target/release/compare "${args[@]}"
