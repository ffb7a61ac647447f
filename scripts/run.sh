#!/usr/bin/env bash
# The README's run command. The grandmaster daemon (`meridian run`) is not written yet: this
# script says so honestly instead of pretending, and exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cat <<'MSG'
Meridian: the grandmaster daemon does not exist yet.

What exists is the IEEE 1588-2019 wire codec (crate meridian-proto). To see it work:
  bash scripts/test.sh                 # every test, incl. real ptp4l/pmc/ptpd frames and tshark
  cargo bench -p meridian-bench        # codec throughput
The daemon (`meridian run`, with a namespace demo against a real ptp4l slave) is the next step.
MSG
exit 1
