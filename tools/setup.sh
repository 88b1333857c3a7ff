#!/usr/bin/env bash
# Installs what building and testing rules_unikernel needs on Debian 12.
# Everything else (zig, the Python packages, lwIP, littlefs) is fetched by
# Bazel itself through pip and apt, pinned by hash (docs/dependencies.md).
# Safe to run again.
set -euo pipefail

packages=(
    bazel-bootstrap   # Bazel 4.2.3 (the one Debian ships)
    bazel-platforms   # @platforms for Bazel 4.2.3 offline
    bazel-skylib      # @bazel_skylib for Bazel 4.2.3 offline
    qemu-system-x86   # boots the images
    libxen-dev        # Xen's public headers, the oracle of the ABI tests
    check             # libcheck: lwIP's own unit tests run on it
    iproute2          # ip: the bad-traffic test's tap in a network namespace
    bind9-dnsutils    # dig: examples/dns's client test
    bind9-utils       # named-compilezone: that test's independent reading of the zone
    dnsperf           # examples/dns's bounded load test
    curl              # examples/httpd's host tests: a real HTTP client
    apache2-utils     # examples/httpd's host tests: ab, 5,000 requests at concurrency 50
    iperf             # examples/iperf's host test: iperf 2's client and server against lwiperf
    chromium          # inspect --html's test: renders the page headless, checks what it shows
    postgresql        # tools/remote/run_buildgrid.py: BuildGrid's scheduler keeps its jobs there
    reprotest         # tests/repro/reprotest.sh: Debian's reproducibility checker
    diffoscope-minimal # its report on a mismatch (the metapackage only adds recommends)
    binutils          # readelf/objdump: diffoscope's view of ELF images
    xxd               # diffoscope's hex view of files it cannot parse
    disorderfs        # reprotest's file-order variation (FUSE)
    faketime          # reprotest's time variation
    locales-all       # reprotest's locale variation: the locales it switches to exist
    sudo              # reprotest's user and host-name variations run the build through it
    git
)

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
here=$(cd "$(dirname "$0")" && pwd)
command -v python3 >/dev/null || { echo "setup: python3 (>= 3.10) is required" >&2; exit 1; }

# `apt-get source` (Bazel's @lwip) needs deb-src entries: a copy of this
# machine's own deb entries, so the same mirror serves both.
src_list=/etc/apt/sources.list.d/rules-unikernel-src.sources
updated=0
wanted=$(python3 "$here/apt_sources.py" deb-src --exclude "$src_list")
if [ "$wanted" != "$(cat "$src_list" 2>/dev/null)" ]; then
    printf '%s\n' "$wanted" | $SUDO tee "$src_list" >/dev/null
    $SUDO apt-get update -q
    updated=1
fi

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    [ "$updated" -eq 1 ] || $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

echo "setup: ok ($(bazel --version 2>/dev/null | head -1), $(qemu-system-x86_64 --version | head -1))"
