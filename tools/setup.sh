#!/usr/bin/env bash
# Installs what building and testing rules_unikernel needs on Debian 12.
# Everything else (zig, the Python packages) is fetched by Bazel itself,
# pinned by hash. Safe to run again.
set -euo pipefail

packages=(
    bazel-bootstrap   # Bazel 4.2.3 (the one Debian ships)
    bazel-platforms   # @platforms for Bazel 4.2.3 offline
    bazel-skylib      # @bazel_skylib for Bazel 4.2.3 offline
    qemu-system-x86   # boots the images
    libxen-dev        # Xen's public headers, the oracle of the ABI tests
    git
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

command -v python3 >/dev/null || { echo "setup: python3 (>= 3.10) is required" >&2; exit 1; }
echo "setup: ok ($(bazel --version 2>/dev/null | head -1), $(qemu-system-x86_64 --version | head -1))"
