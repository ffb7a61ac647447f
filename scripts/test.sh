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
echo "== cargo test"
cargo test --workspace --locked
echo "== fuzz target builds (cargo check)"
(cd proto/fuzz && cargo check --quiet --locked)
