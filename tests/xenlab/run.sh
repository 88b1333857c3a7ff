#!/bin/bash
# rules_unikernel Xen lab: boots our images as Xen PVH and PV guests on real Xen.
#
#   tests/xenlab/run.sh
#
# 1. installs the host packages it needs (apt: debootstrap, qemu-system-x86, ...);
# 2. builds, or reuses from the cache, a Debian bookworm dom0 with Xen 4.17
#    (build-rootfs.sh);
# 3. builds the test images with Bazel and puts them in a 9p share;
# 4. boots Xen + dom0 in QEMU (TCG), where dom0-tests.sh boots each image
#    with `xl create` (type "pvh", and type "pv" for the same image file)
#    and checks its console and shutdown;
# 5. prints "xenlab: N passed, M failed" and exits non-zero on any failure.
#
# Cache: ${XENLAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rules_unikernel-xenlab}
#   rootfs/, out/   the dom0 (kept between runs)
#   share/          what dom0 sees at /mnt/share (rebuilt every run)
#   results/        this run's logs: serial.log (Xen + dom0 console), per
#                   guest console/xl logs, summary, timings
# Environment: MEM (QEMU MiB, 1536), DOM0_MEM (512M), TIMEOUT (QEMU seconds,
# 900), CPU (QEMU -cpu, "max,-smap": with SMAP, the Debian 6.1.0-50 PV dom0
# dies at its first instruction under TCG, "d0v0 Unhandled: vec 14,
# #PF[0001]" then "domain_crash_sync ... create_bounce_frame"), BAZEL (bazel), BAZEL_STARTUP_FLAGS (e.g. --output_base=/tmp/ob),
# MIRROR (Debian mirror). Needs root (debootstrap) and ~2 GB RAM, ~2 GB disk.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
WS=$(cd "$HERE/../.." && pwd)
CACHE=${XENLAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rules_unikernel-xenlab}
export XENLAB_CACHE=$CACHE
OUT=$CACHE/out SHARE=$CACHE/share RESULTS=$CACHE/results
MEM=${MEM:-1536} DOM0_MEM=${DOM0_MEM:-512M} TIMEOUT=${TIMEOUT:-900} CPU=${CPU:-max,-smap}
BAZEL=${BAZEL:-bazel}
T0=$(date +%s)
step() { echo "xenlab: [$(( $(date +%s) - T0 ))s] $*"; }
die() { echo "xenlab: ERROR: $*"; echo "xenlab: 0 passed, 1 failed"; exit 1; }
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo

step "host packages"
need=
for c in debootstrap:debootstrap mkfs.ext4:e2fsprogs qemu-system-x86_64:qemu-system-x86 \
         zcat:gzip timeout:coreutils; do
  command -v "${c%%:*}" >/dev/null || need="$need ${c#*:}"
done
if [ -n "$need" ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y --no-install-recommends $need >/dev/null ||
    { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y --no-install-recommends $need >/dev/null; } ||
    die "apt-get install$need failed"
fi

step "dom0 rootfs (cache: $CACHE)"
mkdir -p "$CACHE"
$SUDO env XENLAB_CACHE="$CACHE" MIRROR="${MIRROR:-http://deb.debian.org/debian}" \
  "$HERE/build-rootfs.sh" > "$CACHE/build-rootfs.log" 2>&1 ||
  { tail -20 "$CACHE/build-rootfs.log"; die "dom0 rootfs build failed (log: $CACHE/build-rootfs.log)"; }
grep -E '^(debootstrap|image|reusing)' "$CACHE/build-rootfs.log" | sed 's/^/  /'

step "bazel build the test images"
IMAGES="//examples/hello:image //libos/boot/tests:exit_status_image //examples/udp_echo:image
        //libos/boot/tests:null_deref_image //libos/boot/tests:wx_fault_image //libos/boot/tests:stack_smash_image
        //examples/blkstore:image //examples/vchan_echo:image"
(cd "$WS" && $BAZEL ${BAZEL_STARTUP_FLAGS:-} build --symlink_prefix=/ $IMAGES) ||
  die "bazel build failed"
BIN=$(cd "$WS" && $BAZEL ${BAZEL_STARTUP_FLAGS:-} info --symlink_prefix=/ bazel-bin 2>/dev/null) ||
  die "bazel info bazel-bin failed"
rm -rf "$SHARE" "$RESULTS"; mkdir -p "$SHARE/images" "$RESULTS"
cp "$BIN/examples/hello/image.elf" "$SHARE/images/hello.elf" &&
  cp "$BIN/libos/boot/tests/exit_status_image.elf" "$SHARE/images/exit_status.elf" &&
  cp "$BIN/examples/udp_echo/image.elf" "$SHARE/images/udp_echo.elf" &&
  cp "$BIN/examples/blkstore/image.elf" "$SHARE/images/blkstore.elf" &&
  cp "$BIN/examples/vchan_echo/image.elf" "$SHARE/images/vchan_echo.elf" ||
  die "image outputs not found under $BIN"
for i in null_deref wx_fault stack_smash; do
  cp "$BIN/libos/boot/tests/${i}_image.elf" "$SHARE/images/$i.elf" ||
    die "image outputs not found under $BIN"
done
install -m 0755 "$HERE/dom0-tests.sh" "$SHARE/dom0-tests.sh"
install -m 0755 "$HERE/vchan-peer.py" "$SHARE/vchan-peer.py"

step "boot Xen + dom0 in QEMU (TCG, -m $MEM, dom0 $DOM0_MEM) and run the tests"
XEN_ARGS="console=com1 com1=115200,8n1 dom0_mem=$DOM0_MEM,max:$DOM0_MEM dom0_max_vcpus=2 loglvl=all guest_loglvl=all"
# QEMU's multiboot loader: "-initrd 'module args,module args'".
DOM0_ARGS="root=/dev/vda ro console=hvc0 earlyprintk=xen init=/usr/local/sbin/xenlab-init"
q0=$(date +%s)
timeout --foreground -k 10 "$TIMEOUT" qemu-system-x86_64 \
  -machine pc -accel tcg,thread=multi -cpu "$CPU" -smp 2 -m "$MEM" \
  -nographic -no-reboot \
  -kernel "$OUT/xen" -append "$XEN_ARGS" \
  -initrd "$OUT/vmlinuz $DOM0_ARGS,$OUT/initrd.img" \
  -drive file="$OUT/rootfs.img",if=virtio,format=raw,snapshot=on \
  -virtfs local,path="$SHARE",mount_tag=share,security_model=none,id=share \
  < /dev/null > "$RESULTS/serial.log" 2>&1
qrc=$?
step "QEMU exited with $qrc after $(( $(date +%s) - q0 )) s"
[ -d "$SHARE/results" ] && cp -r "$SHARE/results/." "$RESULTS/"
tr -d '\r' < "$RESULTS/serial.log" | grep -a -E 'XENLAB|Panic|panic' | sed 's/^/  /'
if [ ! -s "$RESULTS/summary" ]; then
  tail -40 "$RESULTS/serial.log"
  die "no results from dom0 (boot failed?); serial log: $RESULTS/serial.log"
fi
echo "xenlab: results in $RESULTS"
sed 's/^/  /' "$RESULTS/summary"
[ -s "$RESULTS/timings" ] && sed 's/^/  timing: /' "$RESULTS/timings"
np=$(grep -c '^PASS' "$RESULTS/summary"); nf=$(grep -c '^FAIL' "$RESULTS/summary")
[ "$qrc" = 0 ] || { echo "  FAIL qemu: exit code $qrc (timeout is 124)"; nf=$((nf + 1)); }
echo "xenlab: $np passed, $nf failed ($(( $(date +%s) - T0 )) s)"
[ "$nf" = 0 ]
