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
# Environment: ONLY (run only these tests, "NAME[*N] ...", each N times),
# KV_KILLS (kv-durability's kills: 4 as PVH, 2 as PV), TEST_LIMIT (each test's
# bound in dom0, 300 s),
# MEM (QEMU MiB, 1536), DOM0_MEM (512M), TIMEOUT (QEMU seconds,
# 1500; each test in dom0 is bounded by 300 s), CPU (QEMU -cpu, "max,-smap": with SMAP, the Debian 6.1.0-50 PV dom0
# dies at its first instruction under TCG, "d0v0 Unhandled: vec 14,
# #PF[0001]" then "domain_crash_sync ... create_bounce_frame"), BAZEL (bazel), BAZEL_STARTUP_FLAGS (e.g. --output_base=/tmp/ob),
# MIRROR (Debian mirror; default: the one apt uses for bookworm). Needs root (debootstrap) and ~2 GB RAM, ~2 GB disk.
# BENCH=1: instead of the tests, the side-by-side benchmark (dom0-bench.sh;
# bench/xen_appliances.py runs this and makes the table): examples/httpd,
# examples/dns and examples/iperf against nginx, NSD and iperf 2 in a Linux domU
# (bench/linux-guest/build.sh, cached in $BENCH_LINUX_CACHE, default $CACHE/linux),
# and, only when BENCH_SIDES names them, bench/blkbench per cache policy against
# fio in that domU on a disk file through blkback (blk-POLICY, blk-none,
# linux-fio-direct, linux-fio-buffered; BENCH_BLK_MEM, BENCH_BLK_DISK_MIB,
# BENCH_BLK_LIMIT go to dom0).
# BENCH_TYPE (pvh|pv), BENCH_MEM (MiB), BENCH_SIDES (e.g. "iperf linux-iperf"),
# BENCH_CONCURRENCY, BENCH_REQUESTS, BENCH_DNS_SECONDS, BENCH_BOOT_LIMIT,
# BENCH_IPERF_SECONDS, BENCH_XENTRACE (1: a short xentrace run per side), BENCH_XL_CFG (lines added to
# every side's xl config) go to dom0; BENCH_QUERIES is a file
# of "owner TYPE" lines (dnsperf's and the byte-for-byte comparison's).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
WS=$(cd "$HERE/../.." && pwd)
CACHE=${XENLAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rules_unikernel-xenlab}
export XENLAB_CACHE=$CACHE
OUT=$CACHE/out SHARE=$CACHE/share RESULTS=$CACHE/results
MEM=${MEM:-1536} DOM0_MEM=${DOM0_MEM:-512M} TIMEOUT=${TIMEOUT:-1500} CPU=${CPU:-max,-smap}
BAZEL=${BAZEL:-bazel}
T0=$(date +%s)
step() { echo "xenlab: [$(( $(date +%s) - T0 ))s] $*"; }
die() { echo "xenlab: ERROR: $*"; echo "xenlab: 0 passed, 1 failed"; exit 1; }
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo

step "host packages"
need=
for c in debootstrap:debootstrap mkfs.ext4:e2fsprogs qemu-system-x86_64:qemu-system-x86 \
         zcat:gzip timeout:coreutils ${BENCH:+cpio:cpio}; do
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
if [ -z "${MIRROR:-}" ]; then
  MIRROR=$(python3 "$WS/tools/apt_sources.py" mirror --suite bookworm) ||
    die "no Debian mirror: set MIRROR or give apt a bookworm source"
fi
step "Debian mirror: $MIRROR"
$SUDO env XENLAB_CACHE="$CACHE" MIRROR="$MIRROR" \
  "$HERE/build-rootfs.sh" > "$CACHE/build-rootfs.log" 2>&1 ||
  { tail -20 "$CACHE/build-rootfs.log"; die "dom0 rootfs build failed (log: $CACHE/build-rootfs.log)"; }
grep -E '^(debootstrap|image|reusing)' "$CACHE/build-rootfs.log" | sed 's/^/  /'

step "bazel build the test images"
# NAME=LABEL: each image is copied to the share as NAME.elf, with its
# NAME.debug.elf beside it (for `unikernel symbolize` on the host, below).
IMAGES="hello=//examples/hello:image exit_status=//libos/boot/tests:exit_status_image
        udp_echo=//examples/udp_echo:image tcp_echo=//examples/tcp_echo:image
        stream_echo_vchan=//examples/stream_echo:image_vchan dns=//examples/dns:image
        httpd=//examples/httpd:image
        blkstore=//examples/blkstore:image
        vchan_echo=//examples/vchan_echo:image null_deref=//libos/boot/tests:null_deref_image
        wx_fault=//libos/boot/tests:wx_fault_image stack_smash=//libos/boot/tests:stack_smash_image"
# The benchmark's own images (no test boots them): iperf, and bench/blkbench
# per cache policy pair for the block sides.
[ -n "${BENCH:-}" ] && IMAGES="$IMAGES iperf=//examples/iperf:image
        blkbench_write_back_lru=//bench/blkbench:write_back_lru blkbench_write_back_two_q=//bench/blkbench:write_back_two_q
        blkbench_write_through_lru=//bench/blkbench:write_through_lru blkbench_write_through_two_q=//bench/blkbench:write_through_two_q"
# kvstore (the kv-durability tests) is booted from what a user gets: its
# image, the xl config unikernel_image generated and its littlefs volume.
KVSTORE=examples/kvstore
(cd "$WS" && $BAZEL ${BAZEL_STARTUP_FLAGS:-} build --symlink_prefix=/ //rules_unikernel/tool:cli \
   $(for i in $IMAGES; do echo "${i#*=}"; done) //$KVSTORE:image //$KVSTORE:data) ||
  die "bazel build failed"
BIN=$(cd "$WS" && $BAZEL ${BAZEL_STARTUP_FLAGS:-} info --symlink_prefix=/ bazel-bin 2>/dev/null) ||
  die "bazel info bazel-bin failed"
rm -rf "$SHARE" "$RESULTS"; mkdir -p "$SHARE/images" "$RESULTS"
for i in $IMAGES; do
  name=${i%%=*} label=${i#*=}
  out=$BIN/$(echo "${label#//}" | tr : /)   # //a/b:c -> $BIN/a/b/c
  cp "$out.elf" "$SHARE/images/$name.elf" && cp "$out.debug.elf" "$SHARE/images/$name.debug.elf" ||
    die "image outputs of $label not found under $BIN"
done
mkdir -p "$SHARE/kvstore"
cp "$BIN/$KVSTORE/image.elf" "$BIN/$KVSTORE/image.xl.cfg" "$BIN/$KVSTORE/data.img" "$SHARE/kvstore/" ||
  die "kvstore's image, image.xl.cfg or data.img not found under $BIN/$KVSTORE"
install -m 0755 "$WS/$KVSTORE/kv_durability.py" "$SHARE/kv_durability.py"
install -m 0755 "$HERE/dom0-tests.sh" "$SHARE/dom0-tests.sh"
# httpd's site as the image serves it (examples/httpd/BUILD: every file
# under site/) and the files' sha256s: dom0's client compares each answer
# with them.
cp -r "$WS/examples/httpd/site" "$SHARE/httpd-site" &&
  (cd "$SHARE/httpd-site" && find . -type f | LC_ALL=C sort | xargs sha256sum) > "$SHARE/httpd-site.sha256" ||
  die "copying examples/httpd/site to the share failed"
# ONLY="NAME[*N] ...": run only those tests (and sanity), each N times
# (e.g. ONLY="vchan-client*20" to chase a flake).
if [ -n "${ONLY:-}" ]; then printf '%s\n' "$ONLY" > "$SHARE/only"; fi
# KV_KILLS=N: kv-durability's kills per guest type (default 4 as PVH, 2 as PV; README.md).
if [ -n "${KV_KILLS:-}" ]; then
  case $KV_KILLS in ''|*[!0-9]*|0) die "KV_KILLS=$KV_KILLS: give a number of kills, 1 or more";; esac
  echo "$KV_KILLS" > "$SHARE/kv-kills"
fi
# TEST_LIMIT=S: each test's bound in dom0 (default 300 s; 10 kills of
# kv-durability take 300-450 s each as PVH and PV).
if [ -n "${TEST_LIMIT:-}" ]; then
  case $TEST_LIMIT in ''|*[!0-9]*|0) die "TEST_LIMIT=$TEST_LIMIT: give seconds, 1 or more";; esac
  echo "$TEST_LIMIT" > "$SHARE/test-limit"
fi
install -m 0755 "$HERE/vchan-peer.py" "$SHARE/vchan-peer.py"
install -m 0755 "$HERE/stream-client.py" "$SHARE/stream-client.py"
if [ -n "${BENCH:-}" ]; then
  step "the Linux guest for the benchmark (bench/linux-guest/build.sh)"
  BENCH_LINUX_CACHE=${BENCH_LINUX_CACHE:-$CACHE/linux}
  $SUDO env BENCH_LINUX_CACHE="$BENCH_LINUX_CACHE" MIRROR="$MIRROR" \
    "$WS/bench/linux-guest/build.sh" > "$CACHE/build-linux-guest.log" 2>&1 ||
    { tail -20 "$CACHE/build-linux-guest.log"; die "Linux guest build failed (log: $CACHE/build-linux-guest.log)"; }
  tail -1 "$CACHE/build-linux-guest.log" | sed 's/^/  /'
  cp "$BENCH_LINUX_CACHE/out/vmlinuz" "$SHARE/images/linux-vmlinuz"
  cp "$BENCH_LINUX_CACHE/out/initrd.img" "$SHARE/images/linux-initrd.img"
  cp "$BENCH_LINUX_CACHE/out/initrd-fio.img" "$SHARE/images/linux-initrd-fio.img"
  install -m 0644 "$HERE/dom0-bench.sh" "$SHARE/dom0-bench.sh"
  install -m 0755 "$HERE/bench-probe.py" "$SHARE/bench-probe.py"
  if [ -n "${BENCH_QUERIES:-}" ]; then
    cp "$BENCH_QUERIES" "$SHARE/bench-queries.txt" || die "BENCH_QUERIES=$BENCH_QUERIES: no such file"
  fi
  for v in BENCH_TYPE BENCH_MEM BENCH_SIDES BENCH_CONCURRENCY BENCH_REQUESTS BENCH_DNS_SECONDS BENCH_BOOT_LIMIT \
           BENCH_IPERF_SECONDS BENCH_XENTRACE BENCH_XL_CFG BENCH_BLK_MEM BENCH_BLK_DISK_MIB BENCH_BLK_LIMIT; do
    [ -n "${!v:-}" ] && printf '%s=%q\n' "$v" "${!v}"
  done > "$SHARE/bench.conf"
fi

step "boot Xen + dom0 in QEMU (TCG, -m $MEM, dom0 $DOM0_MEM) and run the tests"
# spec-ctrl=eager-fpu=1: Xen saves and restores each vcpu's FPU/SSE state at
# every switch. Its default on QEMU's emulated AMD CPU is lazy switching
# (CR0.TS, restore at the #NM trap), under which guests and dom0 got back
# stale vector registers: corrupted echoes, crashing dom0 programs (README.md).
XEN_ARGS="console=com1 com1=115200,8n1 dom0_mem=$DOM0_MEM,max:$DOM0_MEM dom0_max_vcpus=2 loglvl=all guest_loglvl=all spec-ctrl=eager-fpu=1"
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
# Fault reports on Xen carry raw addresses: name them from the debug twins
# (NAME.console.symbolized.log), as the QEMU runner does.
for cfg in "$RESULTS"/*.cfg; do
  [ -e "$cfg" ] || continue
  guest=$(basename "$cfg" .cfg)
  image=$(sed -n 's|^kernel = "/mnt/share/images/\(.*\)"$|\1|p' "$cfg")
  log=$RESULTS/$guest.console.log
  [ -n "$image" ] && grep -a -q 'backtrace:' "$log" 2>/dev/null || continue
  "$BIN/rules_unikernel/tool/cli" symbolize "$SHARE/images/$image" "$log" > "$RESULTS/$guest.console.symbolized.log" 2>&1
  grep -a -E 'panic:|backtrace:' "$RESULTS/$guest.console.symbolized.log" | sed "s/^/  $guest: /"
done
echo "xenlab: results in $RESULTS"
sed 's/^/  /' "$RESULTS/summary"
[ -s "$RESULTS/timings" ] && sed 's/^/  timing: /' "$RESULTS/timings"
[ -s "$RESULTS/bench.txt" ] && sed 's/^/  bench: /' "$RESULTS/bench.txt"
np=$(grep -c '^PASS' "$RESULTS/summary"); nf=$(grep -c '^FAIL' "$RESULTS/summary")
if [ "$qrc" != 0 ]; then
  # The end of the serial log says where it stopped (CI shows only the end).
  echo "xenlab: the last lines of $RESULTS/serial.log:"
  tr -d '\r' < "$RESULTS/serial.log" | tail -25 | sed 's/^/  | /'
  echo "  FAIL qemu: exit code $qrc (timeout is 124)"; nf=$((nf + 1))
fi
echo "xenlab: $np passed, $nf failed ($(( $(date +%s) - T0 )) s)"
[ "$nf" = 0 ]
