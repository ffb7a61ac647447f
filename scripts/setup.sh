#!/usr/bin/env bash
# Installs everything Meridian's build and tests need on Debian 12. Idempotent: when every
# package is present it does nothing (no apt-get update), so it costs well under a second.
set -euo pipefail

# System packages:
#   build-essential pkg-config  - C toolchain for -sys crates
#   tshark                      - third-party decoder check of everything we emit
#   linuxptp ptpd               - real PTP peers for fixtures and interop tests
#   tcpdump iproute2 ethtool    - capture and namespace/veth plumbing for tests
#   libdpdk-dev dpdk clang libclang-dev - DPDK 22.11 and bindgen for the dpdk-sys crate
#   tzdata                      - the IERS leap-second list (TAI - UTC)
#   prometheus                  - promtool and a real server for the metrics tests
#   python3                     - the NMEA receiver played on a pty (GNSS reference test), JSON checks
#   lintian groff-base          - the Debian package's checks (scripts/build-deb.sh)
#   debootstrap systemd-container python3-venv - the deployment test: a Debian root provisioned
#                                 by Ansible (in a venv) and booted with systemd-nspawn
#   fonts-dejavu-core           - the font of the side-by-side benchmark's PNG plots
PACKAGES=(build-essential pkg-config tshark linuxptp ptpd tcpdump iproute2 ethtool
          libdpdk-dev dpdk clang libclang-dev tzdata prometheus python3 lintian groff-base
          debootstrap systemd-container python3-venv fonts-dejavu-core)

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    # tshark asks whether non-root users may capture; answer no without a prompt.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The IERS leap-second list (tzdata) tells Meridian TAI - UTC and upcoming leap seconds. An
# expired list makes Meridian announce currentUtcOffsetValid = false, honestly; keep it fresh.
leap=/usr/share/zoneinfo/leap-seconds.list
expiry_ntp=$(awk '/^#@/ {print $2}' "$leap" 2>/dev/null || true)
now_ntp=$(( $(date +%s) + 2208988800 ))
if [ -z "$expiry_ntp" ] || [ "$expiry_ntp" -le "$now_ntp" ]; then
    echo "setup: $leap is missing or expired; updating tzdata"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tzdata >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "setup: Rust is not installed. Install it with rustup (https://rustup.rs), then re-run." >&2
    exit 1
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true
