#!/bin/bash
# Builds (or reuses) the Linux guest the appliance benchmarks compare against:
# Debian bookworm's kernel (linux-image-amd64's vmlinuz) and a small initramfs
# holding nginx-light, nsd and iperf (2) (and one more with fio) with the binaries' own shared
# libraries, busybox for the shell, and the few kernel modules a QEMU microvm
# guest needs (virtio-mmio found through ACPI, virtio-net, virtio-blk) or a
# Xen domU (netfront; the same kernel boots as a PVH or PV guest).
# The site and the zone are the appliances' own (examples/httpd/site,
# examples/dns/test.zone), copied in at build time.
#
# Needs root and a Debian mirror: $MIRROR, or else the one this machine's apt
# uses for bookworm (tools/apt_sources.py, as tests/xenlab does). The
# debootstrap result is cached in $CACHE/rootfs keyed by the package list;
# the initramfs in $CACHE/out is rebuilt when the root, init or content change.
# Outputs: $CACHE/out/vmlinuz, $CACHE/out/initrd.img (nginx, nsd, iperf) and
# $CACHE/out/initrd-fio.img (the same and fio), gzip cpio archives.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
CACHE=${BENCH_LINUX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rules_unikernel-bench-linux}
ROOT=$CACHE/rootfs
OUT=$CACHE/out
if [ "$(id -u)" -ne 0 ]; then
  echo "bench/linux-guest/build.sh: debootstrap and chroot need root; run it as root (sudo)" >&2
  exit 1
fi
for t in debootstrap cpio; do
  command -v $t >/dev/null || {
    echo "bench/linux-guest/build.sh: $t is missing; install it: apt-get install $t" >&2
    exit 1
  }
done
if [ -z "${MIRROR:-}" ]; then
  MIRROR=$(python3 "$TOP/tools/apt_sources.py" mirror --suite bookworm) || exit 1
fi
mkdir -p "$OUT"

PKGS=linux-image-amd64,nginx-light,nsd,fio,iperf,busybox
KEY=$(printf '%s\n' "$PKGS" "$MIRROR" | sha256sum | cut -c1-16)
if [ "$(cat "$ROOT/.bench-debootstrap" 2>/dev/null)" != "$KEY" ]; then
  echo "debootstrap bookworm into $ROOT"
  rm -rf "$ROOT"
  debootstrap --variant=minbase --include="$PKGS" bookworm "$ROOT" "$MIRROR"
  rm -rf "$ROOT/var/cache/apt/archives/"*.deb
  echo "$KEY" > "$ROOT/.bench-debootstrap"
else
  echo "reusing cached debootstrap root $ROOT"
fi

CONTENT=("$HERE/init" "$HERE/build.sh" "$TOP/examples/dns/test.zone")
IKEY=$( (cat "$ROOT/.bench-debootstrap" "${CONTENT[@]}"; find "$TOP/examples/httpd/site" -type f | sort | xargs cat) | sha256sum | cut -c1-16)
if [ "$(cat "$OUT/.key" 2>/dev/null)" = "$IKEY" ] && [ -s "$OUT/initrd.img" ]; then
  echo "reusing cached initramfs $OUT/initrd.img"
  exit 0
fi

KVER=$(basename "$(ls -d "$ROOT"/lib/modules/*)")
STAGE=$(mktemp -d /tmp/bench-linux-initrd.XXXXXX)
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE"/{bin,sbin,etc,proc,sys,dev,tmp,run,var/log/nginx,var/lib/nginx,var/lib/nsd,srv/www,srv/zone,lib/modules}

# A program and every shared library it loads (resolved inside the root).
add_program() {
  cp -L "$ROOT$1" "$STAGE/bin/"
  chroot "$ROOT" ldd "$1" | awk '/=>/ {print $3} /^\t\/lib|^\t\/usr/ {print $1}' | while read -r lib; do
    [ -n "$lib" ] || continue
    mkdir -p "$STAGE$(dirname "$lib")"
    cp -L "$ROOT$lib" "$STAGE$lib"
  done
}
for b in /usr/sbin/nginx /usr/sbin/nsd /usr/bin/iperf /bin/busybox; do
  add_program "$b"
done
mkdir -p "$STAGE/lib64"
cp -L "$ROOT/lib64/ld-linux-x86-64.so.2" "$STAGE/lib64/"
for a in sh ip mount insmod cat echo sleep ls dd poweroff mkdir free ps kill awk cut grep; do
  ln -sf busybox "$STAGE/bin/$a"
done
ln -sf ../bin/busybox "$STAGE/sbin/poweroff"

# Kernel modules, in load order (dependencies first): QEMU's virtio devices
# (order), and Xen's netfront and blkfront (order-xen, loaded only on Xen:
# tests/xenlab's BENCH=1 boots this guest as a Xen domU, bench/xen_appliances.py).
MODS="virtio virtio_ring virtio_mmio failover net_failover virtio_net virtio_blk"
XEN_MODS="xen-netfront xen-blkfront"
for m in $MODS $XEN_MODS; do
  f=$(find "$ROOT/lib/modules/$KVER/kernel" -name "$m.ko*" | head -1)
  [ -n "$f" ] || { echo "build.sh: module $m not found in $KVER" >&2; exit 1; }
  case "$f" in
    *.xz) xz -dc "$f" > "$STAGE/lib/modules/$m.ko" ;;
    *) cp "$f" "$STAGE/lib/modules/$m.ko" ;;
  esac
done
echo "$MODS" > "$STAGE/lib/modules/order"
echo "$XEN_MODS" > "$STAGE/lib/modules/order-xen"

# nginx: the httpd appliance's site, served as the appliance serves it.
cp -L "$ROOT/etc/nginx/mime.types" "$STAGE/etc/"
cp -r "$TOP/examples/httpd/site/." "$STAGE/srv/www/"
cat > "$STAGE/etc/nginx.conf" <<'NGX'
user root;
worker_processes 1;
error_log /dev/console warn;
pid /run/nginx.pid;
events { worker_connections 1024; }
http {
  include /etc/mime.types;
  access_log off;
  sendfile on;
  keepalive_requests 100000;
  server {
    listen 80 default_server;
    root /srv/www;
    index index.html;
  }
}
NGX
# nsd: the dns appliance's zone.
ORIGIN=$(awk '$1=="$ORIGIN" {print $2; exit}' "$TOP/examples/dns/test.zone")
[ -n "$ORIGIN" ] || { echo "build.sh: examples/dns/test.zone has no \$ORIGIN line" >&2; exit 1; }
cp "$TOP/examples/dns/test.zone" "$STAGE/srv/zone/test.zone"
cat > "$STAGE/etc/nsd.conf" <<NSD
server:
  ip-address: 0.0.0.0
  port: 53
  server-count: 1
  username: ""
  chroot: ""
  zonesdir: "/srv/zone"
  database: ""
  zonelistfile: "/var/lib/nsd/zone.list"
  xfrdfile: "/var/lib/nsd/xfrd.state"
  pidfile: "/run/nsd.pid"
  logfile: "/dev/console"
  verbosity: 0
  # In the appliance's 128 MiB: NSD's defaults (a million response-rate-
  # limit buckets, 100 TCP slots, 128 xfrd TCP connections) run it out of
  # memory; none of them serves this benchmark's queries.
  rrl-size: 1024
  rrl-ratelimit: 0
  tcp-count: 16
  xfrd-tcp-max: 2
  xfrd-tcp-pipeline: 2
remote-control:
  control-enable: no
zone:
  name: "$ORIGIN"
  zonefile: "test.zone"
NSD
echo 'root:x:0:0:root:/:/bin/sh' > "$STAGE/etc/passwd"
echo 'root:x:0:' > "$STAGE/etc/group"
install -m 0755 "$HERE/init" "$STAGE/init"

cp -L "$ROOT/boot/vmlinuz-$KVER" "$OUT/vmlinuz"
pack() {
  (cd "$STAGE" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -9n) > "$OUT/$1.tmp"
  mv "$OUT/$1.tmp" "$OUT/$1"
}
# initrd.img: the network servers (what the image sizes compare against).
# initrd-fio.img: the same plus fio, whose libraries (ceph's among them,
# ~40 MB) would otherwise weigh on the servers' memory and size.
pack initrd.img
add_program /usr/bin/fio
pack initrd-fio.img
echo "$IKEY" > "$OUT/.key"
echo "linux guest: kernel $KVER, vmlinuz $(stat -c %s "$OUT/vmlinuz") bytes," \
  "initrd.img $(stat -c %s "$OUT/initrd.img") bytes, initrd-fio.img $(stat -c %s "$OUT/initrd-fio.img") bytes"
