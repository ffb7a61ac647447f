#!/usr/bin/env bash
# Runs every test of Meridian after installing what they need. This is the README's test
# command and what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo clippy (DPDK data plane and its load generator)"
cargo clippy -p meridian --all-targets --features dpdk --locked -- -D warnings
cargo clippy -p meridian-bench --all-targets --features dpdk --locked -- -D warnings
echo "== fuzz target builds (cargo check)"
(cd proto/fuzz && cargo check --quiet --locked)
echo "== dpdk-sys (DPDK 22.11 bindings and shim; its own workspace)"
(cd dpdk-shim && cargo fmt --check && cargo clippy --all-targets --locked -- -D warnings)
echo "== monitoring: alert rules (promtool check + unit tests), dashboard JSON"
promtool check rules monitoring/prometheus/meridian-alerts.yml
(cd monitoring/prometheus && promtool test rules meridian-alerts.test.yml)
promtool check config --syntax-only monitoring/prometheus/prometheus.yml
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["panels"] and all(t["expr"] for p in d["panels"] for t in p["targets"])' monitoring/grafana/meridian.json
echo "== cargo test"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo build --locked -p meridian --bin meridian
cargo test --workspace --locked --exclude meridian-interop 2>&1 | tee "$log"
# Interop tests run real peers in network namespaces and measure offsets: one at a time, so
# they do not compete for the two cores.
cargo test --locked -p meridian-interop -- --test-threads=1 2>&1 | tee -a "$log"
(cd dpdk-shim && cargo test --locked) 2>&1 | tee -a "$log"
# The appliance with its DPDK data plane (net_pcap/net_null vdevs; each EAL scenario in its
# own process).
cargo test --locked -p meridian --features dpdk 2>&1 | tee -a "$log"
# One closing line for the whole run, summed over every test binary.
awk '/^test result:/ { p += $4; f += $6; i += $8 } END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, i }' "$log"
