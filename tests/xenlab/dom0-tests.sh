#!/bin/bash
# Runs inside the lab's dom0 (started by xenlab-init): boots our images as
# Xen PVH and PV guests with xl and checks what they print and how they end.
# Reads the images from /mnt/share/images, writes /mnt/share/results:
#   summary   one "PASS name" / "FAIL name: why" line per test
#   timings   "name key value unit" lines
#   NAME.*    per guest: console ring log, xl dmesg, xl log, config,
#             backend-states (xenstore state changes of its backends)
R=/mnt/share/results
mkdir -p $R
: > $R/summary; : > $R/timings
exec > >(tee $R/dom0-tests.log) 2>&1
now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.2f}')"; }
pass() { echo "XENLAB-PASS $1"; echo "PASS $1" >> $R/summary; }
fail() { echo "XENLAB-FAIL $1: $2"; echo "FAIL $1: $2" >> $R/summary; }

# watch_backend NAME TYPE DOMID: while domain NAME lives, record each
# change of its TYPE (vif, vbd) backends' xenstore states in
# $R/NAME.backend-states, one line per change: "<uptime> <dev>:<state> ..."
# (state 4 Connected, 5 Closing, 6 Closed; "removed" once the toolstack
# deleted the directory). Runs in the background.
watch_backend() {
  local name=$1 type=$2 d=$3 last= cur dev st
  : > $R/$name.backend-states
  while xl domid $name >/dev/null 2>&1; do
    cur=
    for dev in $(xenstore-list /local/domain/0/backend/$type/$d 2>/dev/null); do
      st=$(xenstore-read /local/domain/0/backend/$type/$d/$dev/state 2>/dev/null || echo removed)
      cur="$cur $dev:$st"
    done
    [ -n "$cur" ] || cur=" removed"
    [ "$cur" != "$last" ] && echo "$(cut -d' ' -f1 /proc/uptime)$cur" >> $R/$name.backend-states
    last=$cur
    sleep 0.1
  done
  sleep 1
  cur=" removed"
  xenstore-list /local/domain/0/backend/$type/$d >/dev/null 2>&1 && cur=" still-there"
  echo "$(cut -d' ' -f1 /proc/uptime)$cur (domain gone)" >> $R/$name.backend-states
}

# boot_guest NAME IMAGE CMDLINE [EXTRA_CFG [BACKEND_TYPE]]: xl create a
# guest of type $GUEST_TYPE (pvh, the default, or pv; e.g.
# `GUEST_TYPE=pv boot_guest ...`), with EXTRA_CFG as more config lines (a
# disk), wait (60 s) for it to end, collect its logs; with BACKEND_TYPE,
# record its backends' states (watch_backend). Sets CREATE_S, LIFETIME_S
# and DOMID; returns 1 if xl failed.
boot_guest() {
  local name=$1 image=$2 cmdline=$3 extra=${4:-} betype=${5:-} cfg=$R/$1.cfg t0 t1 t2 wpid=
  local type=${GUEST_TYPE:-pvh}
  cat > $cfg <<EOF
name = "$name"
type = "$type"
kernel = "/mnt/share/images/$image"
cmdline = "$cmdline"
# 128 MiB: images load below 64 MiB (the linker's default ASLR window).
memory = 128
vcpus = 1
on_poweroff = "destroy"
on_crash = "destroy"
on_reboot = "destroy"
$extra
EOF
  pvh_tcg_config >> $cfg
  rm -f /var/log/xen/console/guest-$name.log
  xl dmesg -c >/dev/null
  t0=$(now)
  xl_create $cfg $R/$name.xl-create.txt || { cat $R/$name.xl-create.txt; xl destroy $name 2>/dev/null; return 1; }
  t1=$(now)
  DOMID=$(xl domid $name 2>/dev/null)
  if [ -n "$betype" ] && [ -n "$DOMID" ]; then watch_backend $name $betype $DOMID & wpid=$!; fi
  for i in $(seq 1 240); do xl domid $name >/dev/null 2>&1 || break; sleep 0.25; done
  t2=$(now)
  CREATE_S=$(secs $t0 $t1); LIFETIME_S=$(secs $t0 $t2)
  if xl domid $name >/dev/null 2>&1; then
    echo "$name still running after 60 s; destroying it"; xl destroy $name
  fi
  # Known flake: dom0's xl can crash after the guest shut down and before
  # it destroyed it; the domain then lingers nameless, shut down ("s") but
  # not dying ("d"). A domain that is dying and never goes (a page still
  # held) is not this, and the sanity test still catches it.
  if [ -n "$DOMID" ] && xl list "$DOMID" 2>/dev/null | awk 'NR == 2 && $5 ~ /s/ && $5 !~ /d/ { found = 1 } END { exit !found }'; then
    echo "XENLAB-RETRY domain $DOMID ($name) shut down but was never destroyed (dom0's xl crashed); destroying it"
    xl destroy "$DOMID"
  fi
  [ -n "$wpid" ] && wait $wpid
  sleep 0.5   # let xenconsoled and xl finish their logs
  xl dmesg > $R/$name.xl-dmesg.txt
  cp /var/log/xen/console/guest-$name.log $R/$name.console.log 2>/dev/null || : > $R/$name.console.log
  cp /var/log/xen/xl-$name.log $R/$name.xl.log 2>/dev/null || : > $R/$name.xl.log
  echo "--- $name: xl dmesg"; grep -a "(d[0-9]*)" $R/$name.xl-dmesg.txt | tail -40
  echo "--- $name: console ring log"; cat $R/$name.console.log
  echo "--- $name: xl log"; cat $R/$name.xl.log
  [ -n "$betype" ] && { echo "--- $name: backend states"; cat $R/$name.backend-states; }
  return 0
}

# xl_create CFG LOG: xl create, up to twice more if dom0's xl itself
# crashed (a known flake of this dom0 under TCG: glibc aborts xl with
# "malloc(): ... corrupted" or "corrupted double-linked list", exit status
# 128+, or libxl's child "died due to fatal signal"); each retry is logged
# as XENLAB-RETRY. Any other failure fails at once. Returns xl's status.
xl_create() {
  local name try rc
  name=$(sed -n 's/^name = "\(.*\)"$/\1/p' $1)
  for try in 1 2 3; do
    # Bounded: once (under a heavily loaded host) xl create never returned
    # and the whole lab ran into QEMU's timeout.
    timeout -k 5 120 xl create $1 > $2 2>&1; rc=$?
    [ $rc = 0 ] && return 0
    if [ $rc = 124 ] || [ $rc = 137 ]; then
      echo "XENLAB-RETRY xl create $name: did not return in 120 s (status $rc)"
    elif [ $rc -ge 128 ] || grep -q -E 'corrupted|died due to fatal signal' $2; then
      echo "XENLAB-RETRY xl create $name: dom0's xl crashed (status $rc, known flake)"
    else
      return $rc
    fi
    cat $2; xl destroy $name 2>/dev/null; sleep 1
  done
  return $rc
}

# PVH on TCG-emulated SVM: shadow paging, and no RDTSCP (Xen cannot decode
# its length without nrip-save). A PV guest needs neither.
pvh_tcg_config() {
  [ "${GUEST_TYPE:-pvh}" = pvh ] && printf 'hap = 0\ncpuid = "host,rdtscp=0"\n'
  return 0
}

# check NAME WHAT FILE REGEX: one requirement of a test.
check() {
  if grep -a -q -E "$4" "$3"; then echo "  ok: $2"; else echo "  MISSING: $2 (/$4/ in $(basename $3))"; BAD="$BAD; $2"; fi
}

# check_not NAME WHAT FILE REGEX: something that must not be there.
check_not() {
  if grep -a -q -E "$4" "$3"; then echo "  UNEXPECTED: $2 (/$4/ in $(basename $3))"; BAD="$BAD; $2"; else echo "  ok: $2"; fi
}

# timings TEST NAME: record the xl create time, create-to-gone time and
# the guest's own entry-to-main time ("[boot] xen: entry to main N us").
timings() {
  local main_us
  main_us=$(sed -n 's/.*\[boot\] xen: entry to main \([0-9]*\) us.*/\1/p' $R/$2.console.log | head -1)
  echo "$1 xl_create $CREATE_S s" >> $R/timings
  echo "$1 create_to_gone $LIFETIME_S s" >> $R/timings
  echo "$1 entry_to_main ${main_us:-unknown} us" >> $R/timings
  echo "XENLAB-TIME $1: xl create ${CREATE_S} s, create to domain gone ${LIFETIME_S} s, entry to main ${main_us:-unknown} us"
  [ -n "$main_us" ] || BAD="$BAD; no entry-to-main time"
}

# check_teardown TEST NAME WHO: the guest closed its device(s) and ended
# every grant (its own accounting), its backends reached Closed (or were
# removed) and xl saw a poweroff.
check_teardown() {
  check $1 "guest: 0 grants outstanding" $R/$2.console.log "$3: .*gnttab: 0 grants outstanding"
  check_not $1 "guest: no grant still mapped by the peer" $R/$2.console.log 'still maps our grants|gnttab: leak'
  check $1 "poweroff shutdown" $R/$2.xl.log 'shut down, reason code 0 '
}

# (a) hello: greeting and command line on both Xen consoles, exit 0, poweroff.
t=hello
echo "=== XENLAB-RUN $t"
BAD=
if boot_guest hello hello.elf "hello from the xl config"; then
  for f in $R/hello.xl-dmesg.txt $R/hello.console.log; do
    w=$(basename $f); w=${w#hello.}
    check $t "greeting ($w)" $f "Hello from a PVH unikernel!"
    check $t "command line ($w)" $f 'command line: "hello from the xl config"'
    check $t "exit status 0 ($w)" $f '\[boot\] exit status 0'
  done
  check $t "found Xen" $R/hello.console.log '\[boot\] xen: Xen 4\.[0-9]+ \(PVH\)'
  check $t "poweroff shutdown" $R/hello.xl.log 'shut down, reason code 0 '
  timings hello hello
else
  BAD="xl create failed"
fi
[ -z "$BAD" ] && pass $t || fail $t "${BAD#; }"

# (b) exit status 3: the status line, and a crash (not poweroff) shutdown.
t=exit-status
echo "=== XENLAB-RUN $t"
BAD=
if boot_guest exit3 exit_status.elf ""; then
  check $t "exit status 3 (console)" $R/exit3.console.log '\[boot\] exit status 3'
  check $t "exit status 3 (xl dmesg)" $R/exit3.xl-dmesg.txt '\[boot\] exit status 3'
  check $t "crash shutdown" $R/exit3.xl.log 'shut down, reason code 3 '
else
  BAD="xl create failed"
fi
[ -z "$BAD" ] && pass $t || fail $t "${BAD#; }"

# (a') hello as a PV guest: the same image, entered at _start_pv. No port
# 0xe9 on PV (port I/O faults in ring 3): the console ring is the output.
t=hello-pv
echo "=== XENLAB-RUN $t"
BAD=
if GUEST_TYPE=pv boot_guest hellopv hello.elf "hello from the xl config"; then
  f=$R/hellopv.console.log
  check $t "greeting (console)" $f "Hello from a PVH unikernel!"
  check $t "command line (console)" $f 'command line: "hello from the xl config"'
  check $t "found Xen as PV" $f '\[boot\] xen: Xen 4\.[0-9]+ \(PV\)'
  check $t "memory map from start_info" $f 'usable RAM: 1[0-9][0-9] MiB'
  check $t "exit status 0 (console)" $f '\[boot\] exit status 0'
  check $t "poweroff shutdown" $R/hellopv.xl.log 'shut down, reason code 0 '
  main_us=$(sed -n 's/.*\[boot\] xen: entry to main \([0-9]*\) us.*/\1/p' $f | head -1)
  echo "hello-pv xl_create $CREATE_S s" >> $R/timings
  echo "hello-pv create_to_gone $LIFETIME_S s" >> $R/timings
  echo "hello-pv entry_to_main ${main_us:-unknown} us" >> $R/timings
  echo "XENLAB-TIME hello-pv: xl create ${CREATE_S} s, create to domain gone ${LIFETIME_S} s, entry to main ${main_us:-unknown} us"
  [ -n "$main_us" ] || BAD="$BAD; no entry-to-main time"
else
  BAD="xl create failed"
fi
[ -z "$BAD" ] && pass $t || fail $t "${BAD#; }"

# (b') exit status 3 as a PV guest.
t=exit-status-pv
echo "=== XENLAB-RUN $t"
BAD=
if GUEST_TYPE=pv boot_guest exit3pv exit_status.elf ""; then
  check $t "exit status 3 (console)" $R/exit3pv.console.log '\[boot\] exit status 3'
  check $t "crash shutdown" $R/exit3pv.xl.log 'shut down, reason code 3 '
else
  BAD="xl create failed"
fi
[ -z "$BAD" ] && pass $t || fail $t "${BAD#; }"

# (e) faults, as PVH and as PV: //libos/boot/tests' images end in a fault
# report naming the cause (W^X from the sealed page tables, NULL, the stack
# canary), exit status 126, and a crash shutdown.
fault_test() { # NAME IMAGE CMDLINE CAUSE-REGEX [TYPES (default: pvh pv)]
  local name=$1 image=$2 cmdline=$3 cause=$4 types=${5:-pvh pv} type g
  for type in $types; do
    t=$name-$type; g=$(echo "$name$type" | tr -d -)
    echo "=== XENLAB-RUN $t"
    BAD=
    if GUEST_TYPE=$type boot_guest $g $image "$cmdline"; then
      check $t "fault report" $R/$g.console.log "$cause"
      check $t "exit status 126" $R/$g.console.log '\[boot\] exit status 126'
      check $t "crash shutdown" $R/$g.xl.log 'shut down, reason code 3 '
    else
      BAD="xl create failed"
    fi
    [ -z "$BAD" ] && pass $t || fail $t "${BAD#; }"
  done
}
fault_test null-deref null_deref.elf "" \
  'panic: CPU exception 14 \(page fault\) .*address 0x0: access to an unmapped page in page 0: a NULL pointer'
fault_test wx-write-text wx_fault.elf write-text \
  'panic: CPU exception 14 \(page fault\) .*: write to a read-only page \(W\^X\) in text'
fault_test wx-jump-data wx_fault.elf jump-data \
  'panic: CPU exception 14 \(page fault\) .*: instruction fetch from a non-executable page \(W\^X\) in bss'
fault_test wx-jump-stack wx_fault.elf jump-stack \
  'panic: CPU exception 14 \(page fault\) .*: instruction fetch from a non-executable page \(W\^X\) in the boot stack'
fault_test stack-smash stack_smash.elf "" \
  'panic: stack smashing detected: the stack canary of the function returning to 0x[0-9a-f]+ was overwritten'
# PVH only: the IDT is sealed read-only (a PV guest has no IDT: its trap
# table lives in Xen, out of reach of the guest's stores).
fault_test wx-write-idt wx_fault.elf write-idt \
  'panic: CPU exception 14 \(page fault\) .*: write to a read-only page \(W\^X\) in the sealed IDT' pvh
# PVH only: the exception stack (IST) takes the overflow's page fault. A PV
# guest has no IST, and Xen crashes it without a report (architecture.md).
fault_test wx-stack-overflow wx_fault.elf stack-overflow \
  "panic: CPU exception 14 \\(page fault\\) .*: access to an unmapped page in the boot stack's guard page: a stack overflow" pvh

# (c) udp-echo, as PVH and as PV (udp-echo-pv): examples/udp_echo with a vif on xenbr0 (real netback):
# netfront reaches Connected, dom0 pings it and gets its UDP echoes, then
# a UDP "quit" makes it close the vif and power off; its grant accounting
# must be clean and netback must reach Closed. The guest's threads wait on
# event channel ports and Xen's upcall vector wakes them (no polling).
for m in xen-netback bridge; do modprobe $m || echo "modprobe $m failed"; done
ip link show xenbr0 >/dev/null 2>&1 || ip link add xenbr0 type bridge
ip addr replace 10.0.0.1/24 dev xenbr0
ip link set xenbr0 up
udp_echo_test() { # TYPE: pvh or pv
  local type=$1 n t0 t1 t2 t3 D wpid
  t=udp-echo; n=udpecho
  [ "$type" = pv ] && { t=udp-echo-pv; n=udpechopv; }
  echo "=== XENLAB-RUN $t"
  BAD=
  cat > $R/$n.cfg <<EOF
name = "$n"
type = "$type"
kernel = "/mnt/share/images/udp_echo.elf"
cmdline = "ip=10.0.0.2"
memory = 128
vcpus = 1
vif = [ "bridge=xenbr0,mac=00:16:3e:00:00:02" ]
on_poweroff = "destroy"
on_crash = "destroy"
on_reboot = "destroy"
EOF
  GUEST_TYPE=$type pvh_tcg_config >> $R/$n.cfg
  rm -f /var/log/xen/console/guest-$n.log
  xl dmesg -c >/dev/null
  t0=$(now)
  if xl_create $R/$n.cfg $R/$n.xl-create.txt; then
    t1=$(now)
    CREATE_S=$(secs $t0 $t1)
    D=$(xl domid $n)
    watch_backend $n vif $D & wpid=$!
    # Wait (60 s) for the driver to say it is connected and echoing.
    for i in $(seq 1 120); do
      grep -a -q 'echoing' /var/log/xen/console/guest-$n.log 2>/dev/null && break
      xl domid $n >/dev/null 2>&1 || break
      sleep 0.5
    done
    t2=$(now)
    echo "XENLAB-TIME $t: create to connected $(secs $t0 $t2) s"
    echo "$t create_to_connected $(secs $t0 $t2) s" >> $R/timings
    echo "backend state: $(xenstore-read /local/domain/0/backend/vif/$D/0/state 2>&1)," \
         "frontend state: $(xenstore-read /local/domain/$D/device/vif/0/state 2>&1)" | tee $R/$n.xenstore.txt
    xenstore-ls -f /local/domain/0/backend/vif/$D >> $R/$n.xenstore.txt 2>&1
    xenstore-ls -f /local/domain/$D/device/vif >> $R/$n.xenstore.txt 2>&1
    ip -br link show | grep -E 'vif|xenbr'
    # ping (ICMP echo): busybox's ping (iputils is not in the dom0).
    PING="ping"; command -v ping >/dev/null || PING="busybox ping"
    $PING -c 3 -w 30 10.0.0.2 > $R/$n.ping.txt 2>&1
    sed 's/^/XENLAB-PING /' $R/$n.ping.txt
    # UDP echo to port 7, from python3 (a datagram socket with a timeout);
    # then "quit", which the guest echoes before it shuts down.
    python3 - > $R/$n.udp.txt 2>&1 <<'PY'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
ok = 0
for i in range(3):
    msg = b"xenlab-udp-echo-%d" % i
    s.sendto(msg, ("10.0.0.2", 7))
    try:
        data, addr = s.recvfrom(2048)
        print("reply from %s:%d: %r" % (addr[0], addr[1], data))
        ok += data == msg
    except socket.timeout:
        print("timeout waiting for reply %d" % i)
print("UDP echo: %d/3 datagrams echoed" % ok)
s.sendto(b"quit", ("10.0.0.2", 7))
try:
    data, addr = s.recvfrom(2048)
    print("quit: %r echoed" % data)
except socket.timeout:
    print("quit: no echo")
PY
    sed 's/^/XENLAB-UDP /' $R/$n.udp.txt
    # It closes the vif and powers off by itself.
    for i in $(seq 1 120); do xl domid $n >/dev/null 2>&1 || break; sleep 0.25; done
    t3=$(now); LIFETIME_S=$(secs $t0 $t3)
    if xl domid $n >/dev/null 2>&1; then
      echo "$n still running 30 s after quit; destroying it"; xl destroy $n
      BAD="$BAD; no poweroff after quit"
    fi
    wait $wpid
    sleep 0.5
    xl dmesg > $R/$n.xl-dmesg.txt
    cp /var/log/xen/console/guest-$n.log $R/$n.console.log 2>/dev/null || : > $R/$n.console.log
    cp /var/log/xen/xl-$n.log $R/$n.xl.log 2>/dev/null || : > $R/$n.xl.log
    echo "--- $n: console ring log"; cat $R/$n.console.log
    echo "--- $n: xl dmesg"; grep -a "(d[0-9]*)" $R/$n.xl-dmesg.txt | tail -20
    echo "--- $n: xl log"; cat $R/$n.xl.log
    echo "--- $n: backend states"; cat $R/$n.backend-states
    sed -n 's/.*udp_echo: tx: \([0-9]*\) frames in \([0-9]*\) ring slots.*/\1 \2/p' $R/$n.console.log |
      awk '$1 > 0 && $2 == 2 * $1 { print "sg ok" }' > $R/$n.sg.txt
    check $t "netfront connected (console)" $R/$n.console.log 'udp_echo: 00:16:3e:00:00:02 10\.0\.0\.2, echoing'
    check $t "netback Connected (xenstore)" $R/$n.xenstore.txt '^backend state: 4,'
    check $t "ping replies" $R/$n.ping.txt ' 3 packets received'
    check $t "ICMP replies (console)" $R/$n.console.log 'udp_echo: icmp reply to 10\.0\.0\.1'
    check $t "UDP echoes" $R/$n.udp.txt '^UDP echo: 3/3 datagrams echoed'
    check $t "UDP replies (console)" $R/$n.console.log 'udp_echo: udp reply to 10\.0\.0\.1'
    # Event channels through the upcall: interrupts taken, events handled,
    # and the domain never blocked in the no-scheduler fallback.
    check $t "upcalls (console)" $R/$n.console.log '\[evtchn\] upcalls [1-9][0-9]* \(interrupts [1-9][0-9]*\), events [1-9][0-9]*, .*domain blocks 0'
    check $t "pvclock (console)" $R/$n.console.log '\[time\] clock: xen-pvclock'
    check $t "timer (console)" $R/$n.console.log 'udp_echo: timer: 5 sleeps of 10 ms'
    # Every reply went out as two fragments in two granted pages.
    check $t "scatter-gather tx (console)" $R/$n.console.log 'udp_echo: tx: ([1-9][0-9]*) frames in [1-9][0-9]* ring slots'
    check $t "two slots per frame" $R/$n.sg.txt '^sg ok$'
    check $t "quit echoed" $R/$n.udp.txt "^quit: b'quit' echoed"
    check $t "guest closed the vif (frontend Closed)" $R/$n.console.log 'udp_echo: closed \(frontend Closed\): 0$'
    check_teardown $t $n udp_echo
    check $t "netback reached Closed (xenstore)" $R/$n.backend-states ' 0:6( |$)'
    timings $t $n
  else
    cat $R/$n.xl-create.txt
    xl destroy $n 2>/dev/null
    BAD="xl create failed"
  fi
  [ -z "$BAD" ] && pass $t || fail $t "${BAD#; }"
}
udp_echo_test pvh
udp_echo_test pv

# (d) blkstore: examples/blkstore on a raw disk image through real blkback
# (loop device). Boot 1 ("write") writes the pattern (a single sector, a
# 3-page request, a 16-page one: indirect), flushes, reads it back,
# closes the disk and powers off; dom0 then finds the same bytes in the
# backing file; boot 2 ("verify", a new domain on the same file) reads
# them back. Each boot: clean grant accounting, blkback reaches Closed.
# As PVH (blkstore) and as PV (blkstore-pv).
for m in xen-blkback loop; do modprobe $m || echo "modprobe $m failed"; done
# The pattern, as examples/blkstore/blkstore.c writes it.
cat > /tmp/blkstore-check.py <<'PY'
import sys
REGIONS = [(0, 1), (8, 24), (64, 128)]
data = open(sys.argv[1], "rb").read()
bad = 0
for first, count in REGIONS:
    for s in range(first, first + count):
        head = b"BLKSTORE sector %010u\n" % s
        want = head + bytes((s * 7 + i) & 0xff for i in range(len(head), 512))
        if data[s * 512:(s + 1) * 512] != want:
            bad += 1
            if bad <= 5:
                print("sector %d differs: %r" % (s, data[s * 512:s * 512 + 32]))
untouched = [s for s in (1, 7, 32, 63, 192, 2047) if data[s * 512:(s + 1) * 512] != bytes(512)]
print("backing file: %d of 153 pattern sectors differ; untouched sectors %s"
      % (bad, "all zero" if not untouched else "changed: %r" % untouched))
PY
blkstore_test() { # TYPE: pvh or pv
  local type=$1 sfx= n mode DISK DISKCFG
  [ "$type" = pv ] && sfx=pv
  t=blkstore; [ "$type" = pv ] && t=blkstore-pv
  echo "=== XENLAB-RUN $t"
  BAD=
  DISK=/tmp/blkstore$sfx.img
  rm -f $DISK; dd if=/dev/zero of=$DISK bs=1M count=4 status=none
  DISKCFG="disk = [ \"format=raw,vdev=xvda,access=rw,target=$DISK\" ]"
  for mode in write verify; do
    n=blk$mode$sfx
    if GUEST_TYPE=$type boot_guest $n blkstore.elf "$mode" "$DISKCFG" vbd; then
      check $t "$mode: connected to blkback" $R/$n.console.log 'blkstore: device/vbd/51712 connected: disk of 8192 sectors \(512 bytes each\)'
      if [ $mode = write ]; then
        check $t "write: pattern written, indirect request" $R/$n.console.log 'blkstore: wrote the pattern in [0-9]+ requests .*indirect\)'
        check $t "write: flushed" $R/$n.console.log 'blkstore: flush \((flush-diskcache|write-barrier)\): 0'
      fi
      check $t "$mode: pattern read back" $R/$n.console.log 'blkstore: verified 153 pattern sectors'
      check $t "$mode: disk closed (frontend Closed)" $R/$n.console.log 'blkstore: closed \(frontend Closed\): 0;'
      # Linux's blkback unmaps before it answers: no bounce page held back.
      check $t "$mode: no bounce page lost" $R/$n.console.log 'blkstore: closed .* [0-9]+ bounce pages, 0 lost$'
      check_teardown $t $n blkstore
      check $t "$mode: blkback reached Closed (xenstore)" $R/$n.backend-states ' 51712:6( |$)'
      check $t "$mode: exit status 0" $R/$n.console.log 'blkstore: ok'
      timings "$t-$mode" $n
    else
      BAD="$BAD; $mode: xl create failed"
    fi
    if [ $mode = write ]; then
      sync
      python3 /tmp/blkstore-check.py $DISK > $R/blkstore$sfx.backing-file.txt 2>&1
      cat $R/blkstore$sfx.backing-file.txt
      check $t "dom0: the same bytes in the backing file" $R/blkstore$sfx.backing-file.txt '^backing file: 0 of 153 pattern sectors differ; untouched sectors all zero'
    fi
  done
  losetup -a
  [ -z "$BAD" ] && pass $t || fail $t "${BAD#; }"
}
blkstore_test pvh
blkstore_test pv

# check_vchan_conversation TEST NAME: the rest of vchan-peer.py's exchange
# as the guest logged it (one line longer than both rings, quit), and
# dom0's verdict on both directions.
check_vchan_conversation() {
  check $1 "guest: the long line" $R/$2.console.log 'vchan_echo: line 4: 20000 bytes'
  check $1 "guest: quit" $R/$2.console.log 'vchan_echo: quit after 4 lines'
  check $1 "dom0: all checks passed (both directions)" $R/$2.peer.txt '^vchan-peer: 6/6 checks passed'
}

# check_vchan_end TEST NAME: clean teardown, vchan_echo's verdict, timings.
check_vchan_end() {
  check_teardown $1 $2 vchan_echo
  check $1 "guest: exit status 0" $R/$2.console.log 'vchan_echo: ok'
  timings $1 $2
}

# (e) vchan: examples/vchan_echo is a vchan server; dom0 is the client,
# through Xen's libxenvchan (vchan-peer.py, python3 ctypes): a greeting
# from the guest, lines echoed back (one longer than both rings), quit.
# Then the guest waits for dom0 to close, closes its end (xenstore nodes
# removed, grants ended once dom0 unmapped them) and powers off.
# As PVH (vchan) and as PV (vchan-pv: the server only grants its pages,
# which works on PV; the client role maps grants, not adapted to PV).
vchan_test() { # TYPE: pvh or pv
  local type=$1 cpid
  t=vchan; n=vchan
  [ "$type" = pv ] && { t=vchan-pv; n=vchanpv; }
  echo "=== XENLAB-RUN $t"
  BAD=
  (
    for i in $(seq 1 240); do
      D=$(xl domid $n 2>/dev/null) && xenstore-read /local/domain/$D/data/vchan-echo/event-channel >/dev/null 2>&1 && break
      sleep 0.25
    done
    echo "vchan-peer: server dom$D announced after $i polls"
    python3 /mnt/share/vchan-peer.py client $D /local/domain/$D/data/vchan-echo
  ) > $R/$n.peer.txt 2>&1 &
  cpid=$!
  if GUEST_TYPE=$type boot_guest $n vchan_echo.elf "peer=0"; then
    wait $cpid
    echo "--- $n: dom0 client"; cat $R/$n.peer.txt
    check $t "guest: console handed to xencons" $R/$n.console.log '^vchan_echo: console through //drivers/xencons'
    check $t "guest: server announced" $R/$n.console.log 'vchan_echo: serving dom0 at /local/domain/[0-9]+/data/vchan-echo'
    check $t "guest: client connected" $R/$n.console.log 'vchan_echo: client connected'
    check $t "guest: lines from dom0 (client -> server)" $R/$n.console.log 'vchan_echo: line 1: "hello from dom0"'
    check_vchan_conversation $t $n
    check $t "guest: saw dom0 close" $R/$n.console.log 'vchan_echo: client closed;'
    check_vchan_end $t $n
  else
    kill $cpid 2>/dev/null
    BAD="xl create failed"
  fi
  [ -z "$BAD" ] && pass $t || fail $t "${BAD#; }"
}
vchan_test pvh
vchan_test pv

# (f) vchan-client: the roles swapped. dom0 serves (libxenvchan, rings of
# one page each way) at /local/domain/0/data/vchan-rev for the new
# domain; the unikernel connects as the client, mapping dom0's grants
# over frames it gave back to Xen (PVH), and speaks the same protocol;
# then it unmaps and repopulates them, and powers off.
t=vchan-client
echo "=== XENLAB-RUN $t"
BAD=
n=vchanc
xenstore-rm /local/domain/0/data/vchan-rev 2>/dev/null
(
  for i in $(seq 1 240); do D=$(xl domid $n 2>/dev/null) && break; sleep 0.25; done
  echo "vchan-peer: serving dom$D (found after $i polls)"
  python3 /mnt/share/vchan-peer.py server $D /local/domain/0/data/vchan-rev
) > $R/$n.peer.txt 2>&1 &
cpid=$!
if boot_guest $n vchan_echo.elf "peer=0 connect=/local/domain/0/data/vchan-rev"; then
  wait $cpid
  echo "--- $n: dom0 server"; cat $R/$n.peer.txt
  check $t "guest: connected as the client" $R/$n.console.log 'vchan_echo: connected to dom0 at /local/domain/0/data/vchan-rev as the client'
  check $t "guest: lines from dom0 (server -> client)" $R/$n.console.log 'vchan_echo: line 1: "hello from dom0"'
  check_vchan_conversation $t $n
  check $t "guest: closed its end (unmapped)" $R/$n.console.log 'vchan_echo: closed the client end'
  check $t "guest: heap pages are memory again after the unmap" $R/$n.console.log 'vchan_echo: heap after the unmap: 16 pages written and read back, 0 bad'
  check_vchan_end $t $n
else
  kill $cpid 2>/dev/null
  BAD="xl create failed"
fi
xenstore-rm /local/domain/0/data/vchan-rev 2>/dev/null
[ -z "$BAD" ] && pass $t || fail $t "${BAD#; }"

# (g) nothing left behind, and the daemons survived.
t=sanity
echo "=== XENLAB-RUN $t"
xl list
if [ "$(xl list | wc -l)" = 2 ] && pgrep -x xenconsoled >/dev/null && pgrep xenstored >/dev/null; then
  pass $t
else
  fail $t "leftover domains or dead xenstored/xenconsoled"
fi
echo "XENLAB: dom0 tests done"
grep -q '^FAIL' $R/summary && exit 1
exit 0
