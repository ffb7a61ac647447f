#!/usr/bin/env bash
# Builds the Debian package of Meridian: target/debian/meridian_<version>_<arch>.deb.
#
# One package. The binary is built with the DPDK data plane when DPDK 22.11 is present
# (libdpdk-dev: `bash scripts/setup.sh`), and then depends on DPDK's runtime libraries; the
# socket backend works either way. Contents:
#   /usr/bin/meridian                          the daemon and its CLI
#   /etc/meridian/meridian.toml                the documented configuration (conffile)
#   /lib/systemd/system/meridian.service       Type=notify, watchdog, reload, hardening
#   /usr/lib/sysusers.d/meridian.conf          the user it runs as
#   /lib/udev/rules.d/60-meridian.rules        PHCs and PPS devices for that user
#   /usr/share/meridian/profiles/*.toml        the profile presets
#   /usr/share/meridian/systemd/dpdk.conf      the drop-in the DPDK backend needs
#   /usr/share/meridian/monitoring/            Prometheus alert rules, scrape example, dashboard
#   /usr/share/man/man1/meridian*.1.gz         generated from the CLI
#   /usr/share/doc/meridian/                   copyright, changelog
#
# Usage: bash scripts/build-deb.sh [--version V] [--out DIR] [--no-dpdk]
#   --version  the package version (default: the workspace's, with revision -1)
#   --out      where the .deb goes (default: target/debian)
#   --no-dpdk  the socket backend only (no DPDK runtime dependencies)
set -euo pipefail
cd "$(dirname "$0")/.."

crate_version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
version="${crate_version}-1"
out=target/debian
dpdk=auto
while [ $# -gt 0 ]; do
    case "$1" in
        --no-dpdk) dpdk=no; shift ;;
        --version) version="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        *) echo "build-deb: unknown argument $1" >&2; exit 2 ;;
    esac
done

features=()
target_dir=target/deb-sockets
if [ "$dpdk" = auto ] && pkg-config --exists libdpdk 2>/dev/null; then
    features=(--features dpdk)
    target_dir=target/deb-dpdk
fi
echo "build-deb: cargo build --release ${features[*]}" >&2
cargo build --release --locked -q -p meridian --bin meridian "${features[@]}" --target-dir "$target_dir"
bin="$target_dir/release/meridian"

arch=$(dpkg --print-architecture)
stage="target/debian/stage/meridian_${version}_${arch}"
rm -rf "$stage"
mkdir -p "$stage/DEBIAN" "$out"

install -D -m 0755 "$bin" "$stage/usr/bin/meridian"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$stage/usr/bin/meridian"
install -D -m 0644 appliance/config/meridian.toml "$stage/etc/meridian/meridian.toml"
install -D -m 0644 appliance/debian/meridian.service "$stage/lib/systemd/system/meridian.service"
install -D -m 0644 appliance/debian/sysusers.conf "$stage/usr/lib/sysusers.d/meridian.conf"
install -D -m 0644 appliance/debian/60-meridian.rules "$stage/lib/udev/rules.d/60-meridian.rules"
for p in appliance/config/profiles/*.toml; do
    install -D -m 0644 "$p" "$stage/usr/share/meridian/profiles/$(basename "$p")"
done
install -D -m 0644 appliance/debian/dpdk.conf "$stage/usr/share/meridian/systemd/dpdk.conf"
for f in monitoring/prometheus/meridian-alerts.yml monitoring/prometheus/prometheus.yml \
         monitoring/grafana/meridian.json; do
    install -D -m 0644 "$f" "$stage/usr/share/meridian/monitoring/$(basename "$f")"
done
mkdir -p "$stage/usr/share/man/man1"
"$bin" manpages "$stage/usr/share/man/man1"
gzip -9n "$stage"/usr/share/man/man1/*.1
chmod 0644 "$stage"/usr/share/man/man1/*.gz
doc="$stage/usr/share/doc/meridian"
install -D -m 0644 appliance/debian/copyright "$doc/copyright"
# The changelog: this version, dated by the last commit (reproducible).
date_r=$(git log -1 --format=%cD 2>/dev/null || date -R)
printf 'meridian (%s) unstable; urgency=medium\n\n  * Meridian %s.\n\n -- Meridian developers <meridian-ptp@users.noreply.github.com>  %s\n' \
    "$version" "$crate_version" "$date_r" | gzip -9n > "$doc/changelog.Debian.gz"
chmod 0644 "$doc/changelog.Debian.gz"

# Shared-library dependencies, as dpkg-shlibdeps computes them for a debian/ tree.
shlib_dir=$(mktemp -d)
mkdir -p "$shlib_dir/debian"
printf 'Source: meridian\n\nPackage: meridian\nArchitecture: any\n' > "$shlib_dir/debian/control"
abs_bin=$(readlink -f "$stage/usr/bin/meridian")
shlibs=$(cd "$shlib_dir" && dpkg-shlibdeps -O -e"$abs_bin" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
rm -rf "$shlib_dir"
[ -n "$shlibs" ] || { echo "build-deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

installed_size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<EOF
Package: meridian
Version: $version
Architecture: $arch
Maintainer: Meridian developers <meridian-ptp@users.noreply.github.com>
Installed-Size: $installed_size
Depends: $shlibs, tzdata, systemd
Recommends: chrony
Section: net
Priority: optional
Homepage: https://github.com/meridian-ptp/meridian
Description: PTP (IEEE 1588-2019) grandmaster appliance
 Meridian is a precision time protocol grandmaster for camera arrays, broadcast
 and audio networks: multicast and unicast (negotiated) PTPv2 with the default,
 SMPTE ST 2059-2, AES67, G.8275.2 and 802.1AS profiles, PTPv1 beside v2 for
 Dante, a Linux socket data plane with hardware or software time stamps and a
 DPDK one, a disciplined clock with honest holdover, and a Prometheus exporter.
EOF
echo /etc/meridian/meridian.toml > "$stage/DEBIAN/conffiles"
for s in postinst prerm postrm; do
    install -m 0755 "appliance/debian/$s" "$stage/DEBIAN/$s"
done
(cd "$stage" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z | xargs -0 md5sum) \
    > "$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/md5sums" "$stage/DEBIAN/control" "$stage/DEBIAN/conffiles"

deb="$out/meridian_${version}_${arch}.deb"
SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s) \
    dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
