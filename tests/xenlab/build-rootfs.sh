#!/bin/bash
# Builds (or reuses) the cached Debian bookworm dom0 for the Xen lab:
# Xen 4.17 + Linux 6.1 + xl/xenstored/xenconsoled, booted with our own fast
# init (dom0-init). Outputs in $CACHE/out: xen (ELF32 multiboot, for
# `qemu -kernel`), vmlinuz, initrd.img, rootfs.img (ext4 made with
# `mkfs.ext4 -d`, no loop mount). Needs root and access to a Debian mirror:
# $MIRROR, or else the one this machine's apt uses for bookworm (apt's own
# sources, read by tools/apt_sources.py).
#
# The debootstrap result is cached in $CACHE/rootfs (keyed by the package
# list); the image is rebuilt only when it or dom0-init changes.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${XENLAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rules_unikernel-xenlab}
ROOT=$CACHE/rootfs
OUT=$CACHE/out
if [ -z "${MIRROR:-}" ]; then
  MIRROR=$(python3 "$HERE/../../tools/apt_sources.py" mirror --suite bookworm) || exit 1
fi
mkdir -p "$OUT"

# The appliances' clients in dom0: dig and dnsperf (examples/dns), curl and
# ab (examples/httpd), iperf 2 (examples/iperf).
PKGS=linux-image-amd64,xen-hypervisor-4.17-amd64,xen-utils-4.17,xen-utils-common,systemd-sysv,udev,kmod,iproute2,procps,busybox,python3-minimal,e2fsprogs,bind9-dnsutils,dnsperf,curl,apache2-utils,iperf
KEY=$(printf '%s\n' "$PKGS" "$MIRROR" | sha256sum | cut -c1-16)

t0=$(date +%s)
if [ "$(cat "$ROOT/.xenlab-debootstrap" 2>/dev/null)" != "$KEY" ]; then
  echo "debootstrap bookworm into $ROOT"
  rm -rf "$ROOT"
  debootstrap --variant=minbase --include="$PKGS" bookworm "$ROOT" "$MIRROR"
  rm -rf "$ROOT/var/cache/apt/archives/"*.deb
  echo "$KEY" > "$ROOT/.xenlab-debootstrap"
else
  echo "reusing cached dom0 rootfs $ROOT"
fi
t1=$(date +%s); echo "debootstrap: $((t1-t0)) s"

# Image key: the rootfs key plus our init; skip the image when unchanged.
IKEY=$(cat "$ROOT/.xenlab-debootstrap" "$HERE/dom0-init" | sha256sum | cut -c1-16)
if [ "$(cat "$OUT/.image-key" 2>/dev/null)" = "$IKEY" ] && [ -s "$OUT/rootfs.img" ]; then
  echo "reusing cached dom0 image $OUT/rootfs.img"
  exit 0
fi

echo xenlab-dom0 > "$ROOT/etc/hostname"
mkdir -p "$ROOT/mnt/share" "$ROOT/var/log/xen/console"
chroot "$ROOT" passwd -d root >/dev/null
# xenconsoled writes every guest console to /var/log/xen/console/guest-NAME.log
grep -q '^XENCONSOLED_ARGS' "$ROOT/etc/default/xen" 2>/dev/null ||
  echo 'XENCONSOLED_ARGS="--log=guest --log-dir=/var/log/xen/console"' >> "$ROOT/etc/default/xen"
install -m 0755 "$HERE/dom0-init" "$ROOT/usr/local/sbin/xenlab-init"

cp -L "$ROOT"/boot/xen-4.17-amd64.gz "$OUT/xen.gz"
zcat "$OUT/xen.gz" > "$OUT/xen"      # ELF32 with multiboot headers: qemu -kernel loads it
cp -L "$ROOT"/vmlinuz "$OUT/vmlinuz"
cp -L "$ROOT"/initrd.img "$OUT/initrd.img"

rm -f "$OUT/rootfs.img"
USED_MB=$(du -sm --exclude=./proc --exclude=./sys "$ROOT" | cut -f1)
IMG_MB=$(( USED_MB + 512 ))
mkfs.ext4 -q -F -L xenlab -d "$ROOT" "$OUT/rootfs.img" "${IMG_MB}M"
echo "$IKEY" > "$OUT/.image-key"
t2=$(date +%s); echo "image: $((t2-t1)) s; rootfs ${USED_MB} MiB, image ${IMG_MB} MiB"
