# The lab's side-by-side benchmark (run.sh BENCH=1; bench/xen_appliances.py
# makes the table): sourced by dom0-tests.sh instead of its tests, so it
# uses the same helpers (xl_create, exists, again, setup_bridge,
# pvh_tcg_config). Boots each side in turn as a Xen domU of the same type,
# memory and one vcpu on xenbr0, measures it from dom0 and destroys it:
#   httpd  examples/httpd:image         nginx  the Linux guest, bench=httpd
#   dns    examples/dns:image           nsd    the Linux guest, bench=dns
#   iperf  examples/iperf:image         linux-iperf  the Linux guest, bench=iperf
# (the Linux guest: bench/linux-guest/build.sh's kernel and initramfs).
# Writes $R/bench.txt, one "SIDE KEY VALUE" line each (xl_create_s,
# first_answer_s from before `xl create` to the first answer, mem_mib from
# xl list, linux_used_kib, error), and per side the raw outputs the host
# parses: bench-SIDE.ab-cN.txt, bench-SIDE.dnsperf.txt,
# bench-SIDE.answers.txt, bench-SIDE.console.log, bench-SIDE.cfg, and for
# the iperf pair iperf 2's CSV reports (-y C) bench-SIDE.recv.txt (dom0's
# `iperf -c` to the guest's port 5001) and bench-SIDE.send.txt (the guest
# sending to dom0: ours booted with send=10.0.0.1:5002 against dom0's
# `iperf -s -p 5002`, started before it boots; Linux's iperf server made to
# connect back by `iperf -c -r -L 5002`, the reverse run's report). The
# iperf sides' ready_s is `xl create` to the guest's console saying it
# listens (not a first answer: lwiperf counts any connection as a test).
# The profile of each network side (prof_* below; bench/xen_profile.py
# reads it): bench-SIDE.prof-PHASE{0,1}.txt around the idle, load, recv
# and send phases, bench-SIDE.prof-features.txt, and a short second load
# under xentrace (bench-SIDE.xentrace-TAG.bin, bench-SIDE.traced-TAG.txt);
# ours ends by xl shutdown, printing its own counters on its console.
# The block sides (bench_blk below; not in the default BENCH_SIDES):
#   blk-POLICY  bench/blkbench's image per cache policy pair (write_back_lru,
#               write_back_two_q, write_through_lru, write_through_two_q)
#   blk-none    the same image with cache=none, on blkfront itself
#   linux-fio-direct, linux-fio-buffered  the Linux guest's fio (bench=fio,
#               its initrd-fio) with O_DIRECT and through its page cache
# each on a fresh zero-filled BENCH_BLK_DISK_MIB raw file through blkback
# (the blkstore test's disk= line: xvda), BENCH_BLK_MEM MiB (512: the fio
# initramfs needs it; the same for ours), one vcpu, no NIC. Their result is
# the console: the host parses bench-SIDE.console.log (BLKBENCH lines,
# fio's JSON); done_s is `xl create` to the last phase's end.
# Settings (/mnt/share/bench.conf, from run.sh's environment):
BENCH_TYPE=pvh BENCH_MEM=128 BENCH_SIDES="httpd nginx dns nsd iperf linux-iperf"
BENCH_CONCURRENCY="1 10 100" BENCH_REQUESTS=500 BENCH_DNS_SECONDS=10 BENCH_BOOT_LIMIT=300
BENCH_IPERF_SECONDS=10 BENCH_XENTRACE=1 BENCH_XL_CFG=
BENCH_BLK_MEM=512 BENCH_BLK_DISK_MIB=16 BENCH_BLK_LIMIT=600
[ -f /mnt/share/bench.conf ] && . /mnt/share/bench.conf
Q=/mnt/share/bench-queries.txt
if [ ! -s $Q ]; then
  printf '%s\n' "example.test SOA" "web.example.test A" "www.example.test A" "example.test MX" "nope.example.test A" > /tmp/bench-queries.txt
  Q=/tmp/bench-queries.txt
fi

bench_line() { echo "$1 $2 $3" >> $R/bench.txt; echo "XENBENCH $1 $2 $3"; }

# write_cfg N KERNEL RAMDISK_LINE CMDLINE MEM DEVICE_LINE: $R/N.cfg, the
# xl config every side boots with (BENCH_TYPE, one vcpu, destroyed at its
# end; PVH's TCG lines from dom0-tests.sh; then BENCH_XL_CFG's lines, e.g.
# tsc_mode = "native", which xl takes over the earlier ones).
write_cfg() {
  cat > $R/$1.cfg <<EOF
name = "$1"
type = "$BENCH_TYPE"
kernel = "/mnt/share/images/$2"
$3
cmdline = "$4"
memory = $5
vcpus = 1
on_poweroff = "destroy"
on_crash = "destroy"
on_reboot = "destroy"
$6
EOF
  GUEST_TYPE=$BENCH_TYPE pvh_tcg_config >> $R/$1.cfg
  [ -z "$BENCH_XL_CFG" ] || printf '%s\n' "$BENCH_XL_CFG" >> $R/$1.cfg
}

# prof_snap N TAG: the profile's counters now, into $R/N.prof-TAG.txt
# (bench/xen_appliances.py takes the differences between two snapshots):
# the time, every vcpu's CPU time (xl vcpu-list: the guest's and dom0's),
# dom0's interrupt counts of the vif's event channels (the guest's
# notifications to netback), the vif's counters in dom0 (packets and
# bytes each way, drops) and netback's ring indexes (debugfs io_ring: TX
# requests are the guest's transmit slots, RX requests its posted
# receive buffers, RX responses the slots netback filled).
prof_snap() {
  local f=$R/$1.prof-$2.txt v c
  {
    echo "== time $(now)"
    echo "== vcpu-list"; timeout -k 2 20 xl vcpu-list 2>&1
    echo "== interrupts"; grep -E 'vif' /proc/interrupts
    echo "== vif"
    for v in /sys/class/net/vif*; do
      [ -e $v ] || continue
      echo "$(basename $v) $(for c in rx_packets rx_bytes tx_packets tx_bytes rx_dropped tx_dropped; do printf '%s=%s ' $c $(cat $v/statistics/$c); done)"
    done
    echo "== io_ring"
    for v in /sys/kernel/debug/xen-netback/vif*/io_ring_q*; do
      [ -e $v ] && { echo "-- $v"; cat $v; }
    done
  } > $f 2>&1
}

# prof_setup: debugfs, for netback's rings (once is enough).
prof_setup() {
  mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug 2>/dev/null
}

# prof_features N: the vif's features both ways as negotiated (xenstore:
# the frontend's and the backend's feature-* keys: GSO, SG, split event
# channels, ...) into $R/N.prof-features.txt; at the end, when the
# guest's driver has long connected.
prof_features() {
  local d
  d=$(xl domid $1 2>/dev/null) || return 0
  { xenstore-ls -f /local/domain/$d/device/vif 2>&1; xenstore-ls -f /local/domain/0/backend/vif/$d 2>&1; } |
    grep -E 'feature|request-rx|multi-queue|event-channel|/state' > $R/$1.prof-features.txt
}

# prof_trace N TAG COMMAND...: COMMAND (a short second load) under
# xentrace, HVM, PV and scheduler events (mask 0x002af000), into $R/N.xentrace-TAG.bin
# (bench/xentrace.py counts the VM exits per domain and reason). Only
# with BENCH_XENTRACE=1 and xentrace installed; the measured figures
# never come from a traced run.
prof_trace() {
  local n=$1 tag=$2 tp; shift 2
  [ "$BENCH_XENTRACE" = 1 ] && command -v xentrace >/dev/null || return 0
  # Into dom0's /tmp first: xentrace writes straight from Xen's trace
  # pages, which the 9p share refuses ("Bad address").
  xentrace -D -S 256 -e 0x002af000 /tmp/$n.xentrace-$tag.bin > $R/$n.xentrace-$tag.log 2>&1 & tp=$!
  sleep 1
  "$@" > $R/$n.traced-$tag.txt 2>&1
  kill -INT $tp 2>/dev/null; wait $tp
  mv /tmp/$n.xentrace-$tag.bin $R/
  echo "xentrace $tag: $(stat -c %s $R/$n.xentrace-$tag.bin 2>/dev/null) bytes ($(tail -1 $R/$n.xentrace-$tag.log))"
}

# bench_side SIDE: one boot, its measurements, its end.
bench_side() {
  local side=$1 n=bench-$1 kind ip mac kernel ramdisk= cmdline t0 t1 c n_req fa pp sp=
  case $side in
    blk-*|linux-fio-*) bench_blk $side; return ;;
  esac
  case $side in
    httpd|nginx) kind=http ip=10.0.0.80 mac=00:16:3e:00:00:50 ;;
    dns|nsd) kind=dns ip=10.0.0.53 mac=00:16:3e:00:00:35 ;;
    iperf|linux-iperf) kind=iperf ip=10.0.0.50 mac=00:16:3e:00:00:32 ;;
    *) bench_line $side error "unknown side (httpd, nginx, dns, nsd, iperf, linux-iperf, blk-POLICY, blk-none, linux-fio-direct or linux-fio-buffered)"; return 1 ;;
  esac
  case $side in
    httpd|dns) kernel=$side.elf cmdline="ip=$ip/24 gw=10.0.0.1" ;;
    iperf) kernel=iperf.elf cmdline="ip=$ip/24 gw=10.0.0.1 send=10.0.0.1:5002" ;;
    nginx|nsd|linux-iperf)
      kernel=linux-vmlinuz ramdisk="ramdisk = \"/mnt/share/images/linux-initrd.img\""
      cmdline="console=hvc0 quiet panic=-1 ip=$ip/24 gw=10.0.0.1 bench=${kind/http/httpd}" ;;
  esac
  echo "=== XENBENCH-RUN $side"
  write_cfg $n "$kernel" "$ramdisk" "$cmdline" $BENCH_MEM "vif = [ \"bridge=xenbr0,mac=$mac\" ]"
  ip neigh flush dev xenbr0 2>/dev/null
  rm -f /var/log/xen/console/guest-$n.log
  # Ours sends as soon as it is up: dom0's server listens before it boots,
  # and the send's profile starts before xl create (which can return after
  # the guest has sent all: its boot counts in the send phase).
  [ $side = iperf ] && { iperf -s -p 5002 -y C > $R/$n.send.txt 2>&1 & sp=$!; prof_snap $n send0; sleep 0.5; }
  t0=$(now)
  if ! xl_create $R/$n.cfg $R/$n.xl-create.txt; then
    bench_line $side error "xl create failed: $(tail -1 $R/$n.xl-create.txt)"
    xl destroy $n 2>/dev/null
    [ -n "$sp" ] && kill $sp
    return 1
  fi
  t1=$(now)
  bench_line $side xl_create_s $(secs $t0 $t1)
  prof_setup
  if [ $kind = iperf ]; then
    bench_iperf $side $n $ip $t0
    [ -n "$sp" ] && { kill $sp; wait $sp; }
    bench_end $side $n
    return 0
  fi
  # The poll, given up early when the domain is gone (a guest that
  # panicked or crashed answers nothing: no need to wait out the limit).
  python3 /mnt/share/bench-probe.py first $kind $ip $t0 $BENCH_BOOT_LIMIT > $R/$n.first.txt 2>&1 & pp=$!
  while kill -0 $pp 2>/dev/null; do
    exists $n || { sleep 1; kill $pp 2>/dev/null; echo "the domain ended" >> $R/$n.first.txt; break; }
    sleep 3
  done
  wait $pp
  fa=$(sed -n 's/^first_answer_s //p' $R/$n.first.txt)
  bench_line $side first_answer_s ${fa:-none}
  if [ "${fa:-none}" = none ]; then
    bench_line $side error "no answer within $BENCH_BOOT_LIMIT s of xl create ($(tail -1 $R/$n.first.txt))"
  elif [ $kind = http ]; then
    for c in $BENCH_CONCURRENCY; do
      n_req=$BENCH_REQUESTS; [ $n_req -lt $((c * 10)) ] && n_req=$((c * 10))
      timeout -k 5 600 ab -q -s 30 -n $n_req -c $c http://$ip/index.html > $R/$n.ab-c$c.txt 2>&1
      echo "ab c=$c (exit $?): $(grep -E '^Requests per second' $R/$n.ab-c$c.txt)"
    done
  else
    again python3 /mnt/share/bench-probe.py answers $ip $Q > $R/$n.answers.txt
    prof_snap $n idle0; sleep 5; prof_snap $n idle1   # the CPU the domains use without load
    prof_snap $n load0
    again dnsperf -s $ip -d $Q -l $BENCH_DNS_SECONDS -t 2 -q 20 > $R/$n.dnsperf.txt 2>&1
    prof_snap $n load1
    grep -E 'Queries (per second|lost)' $R/$n.dnsperf.txt
    prof_trace $n load dnsperf -s $ip -d $Q -l 3 -t 2 -q 20
  fi
  bench_end $side $n
  return 0
}

# bench_blk SIDE: one block side (the header says which), its console the result.
bench_blk() {
  local side=$1 n=bench-$1 kernel ramdisk= cmdline= disk=/tmp/bench-blk.img t0 rc=0
  case $side in
    blk-none) kernel=blkbench_write_back_lru.elf cmdline=cache=none ;;
    blk-write_back_lru|blk-write_back_two_q|blk-write_through_lru|blk-write_through_two_q)
      kernel=blkbench_${side#blk-}.elf ;;
    linux-fio-direct|linux-fio-buffered)
      kernel=linux-vmlinuz ramdisk="ramdisk = \"/mnt/share/images/linux-initrd-fio.img\""
      cmdline="console=hvc0 quiet panic=-1 bench=fio fio=${side#linux-fio-}" ;;
    *) bench_line $side error "unknown block side (blk-POLICY, blk-none, linux-fio-direct or linux-fio-buffered)"; return 1 ;;
  esac
  echo "=== XENBENCH-RUN $side"
  setup_blk   # dom0-tests.sh's: xen-blkback and loop (xl's block script needs both)
  rm -f $disk; truncate -s ${BENCH_BLK_DISK_MIB}M $disk
  write_cfg $n "$kernel" "$ramdisk" "$cmdline" $BENCH_BLK_MEM "disk = [ \"format=raw,vdev=xvda,access=rw,target=$disk\" ]"
  rm -f /var/log/xen/console/guest-$n.log
  t0=$(now)
  if ! xl_create $R/$n.cfg $R/$n.xl-create.txt; then
    bench_line $side error "xl create failed: $(tail -1 $R/$n.xl-create.txt)"
    xl destroy $n 2>/dev/null; rm -f $disk
    return 1
  fi
  bench_line $side xl_create_s $(secs $t0 $(now))
  # Both end on their own (ours exits, Linux powers off): the domain may be
  # gone before the console's last line is read, so look once more.
  if console_wait $n '^BLKBENCH done|BENCH: fio-json-end' $BENCH_BLK_LIMIT ||
     { sleep 1; grep -qE '^BLKBENCH done|BENCH: fio-json-end' /var/log/xen/console/guest-$n.log 2>/dev/null; }; then
    bench_line $side done_s $(secs $t0 $(now))
  else
    bench_line $side error "no end of the phases on the console within $BENCH_BLK_LIMIT s of xl create"; rc=1
  fi
  bench_end $side $n
  rm -f $disk
  return $rc
}

# console_wait N REGEX LIMIT: 0 once guest N's console has a line matching
# REGEX (extended), 1 after LIMIT seconds or when the domain is gone.
console_wait() {
  local end=$(( $(date +%s) + $3 ))
  while [ $(date +%s) -lt $end ]; do
    grep -qE "$2" /var/log/xen/console/guest-$1.log 2>/dev/null && return 0
    exists $1 || return 1
    sleep 0.2
  done
  return 1
}

# bench_iperf SIDE N IP T0: the iperf pair's measurements (the header above says which).
bench_iperf() {
  local side=$1 n=$2 ip=$3 t0=$4 ready c
  case $side in
    iperf) ready='^iperf: listening on port 5001' ;;
    *) ready='BENCH: ready iperf' ;;
  esac
  if ! console_wait $n "$ready" $BENCH_BOOT_LIMIT; then
    bench_line $side error "the guest's console never said it listens within $BENCH_BOOT_LIMIT s of xl create"
    return 1
  fi
  bench_line $side ready_s $(secs $t0 $(now))
  if [ $side = iperf ]; then
    # lwiperf's client sends for its fixed 10 s, then reports on the console;
    # the server's CSV line follows when the connection closes.
    console_wait $n '^iperf: (sent|aborted)' 60 ||
      bench_line $side error "no 'iperf: sent' on the console within 60 s of being up"
    for c in $(seq 1 50); do [ "$(tr -cd , < $R/$n.send.txt | wc -c)" -ge 8 ] && break; sleep 0.2; done
    prof_snap $n send1
  fi
  prof_snap $n idle0; sleep 5; prof_snap $n idle1   # the CPU the domains use without load
  prof_snap $n recv0
  timeout -k 5 60 iperf -c $ip -t $BENCH_IPERF_SECONDS -y C > $R/$n.recv.txt 2>&1
  echo "iperf -c (exit $?): $(tail -1 $R/$n.recv.txt)"
  prof_snap $n recv1
  if [ $side != iperf ]; then
    prof_snap $n send0
    timeout -k 5 120 iperf -c $ip -t $BENCH_IPERF_SECONDS -r -L 5002 -y C > $R/$n.send.txt 2>&1
    echo "iperf -c -r (exit $?): $(tail -1 $R/$n.send.txt)"
    prof_snap $n send1
  fi
  prof_trace $n recv timeout -k 5 30 iperf -c $ip -t 3 -y C
  echo "send: $(tail -1 $R/$n.send.txt)"
}

# bench_end SIDE N: the domain's memory, its end and its console. Ours
# (httpd, dns, iperf) is asked to shut down first: it prints its profile
# counters ("[xen] profile: ...", "[evtchn] ...") on its way out.
bench_end() {
  local side=$1 n=$2 c used
  bench_line $side mem_mib "$(timeout -k 2 20 xl list $n 2>/dev/null | awk 'NR == 2 { print $3 }')"
  prof_features $n
  case $side in
    httpd|dns|iperf)
      timeout -k 5 30 xl shutdown $n >/dev/null 2>&1 &&
        for c in $(seq 1 80); do exists $n || break; sleep 0.25; done ;;
  esac
  exists $n && timeout -k 5 60 xl destroy $n
  for c in $(seq 1 120); do exists $n || break; sleep 0.25; done
  sleep 0.5   # xenconsoled's last words
  cp /var/log/xen/console/guest-$n.log $R/$n.console.log 2>/dev/null || : > $R/$n.console.log
  used=$(awk '/BENCH: MemTotal:/ { t = $3 } /BENCH: MemAvailable:/ { a = $3 } END { if (t && a) print t - a }' $R/$n.console.log)
  [ -n "$used" ] && bench_line $side linux_used_kib $used
  echo "--- $n: console (last lines)"; tail -15 $R/$n.console.log
}

if [ "${1:-}" = --only ]; then
  shift
  "$@"
  exit
fi

: > $R/summary; : > $R/timings; : > $R/bench.txt
exec > >(tee $R/dom0-bench.log) 2>&1
echo "XENBENCH: sides $BENCH_SIDES as $BENCH_TYPE, $BENCH_MEM MiB, 1 vcpu; dom0 load $(cut -d' ' -f1-3 /proc/loadavg)"
setup_bridge
bad=
for s in $BENCH_SIDES; do
  timeout -k 10 900 bash "$0" --only bench_side $s || bad="$bad $s"
done
bench_line dom0 loadavg "$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)"
if [ -z "$bad" ] && ! grep -q ' error ' $R/bench.txt; then pass bench; else fail bench "sides with errors:${bad:- see bench.txt}"; fi
echo "XENLAB: dom0 bench done"
