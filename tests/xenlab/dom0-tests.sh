#!/bin/bash
# Runs inside the lab's dom0 (started by xenlab-init): boots our images as
# Xen PVH guests with xl and checks what they print and how they end.
# Reads the images from /mnt/share/images, writes /mnt/share/results:
#   summary   one "PASS name" / "FAIL name: why" line per test
#   timings   "name key value unit" lines
#   NAME.*    per guest: console ring log, xl dmesg, xl log, config
R=/mnt/share/results
mkdir -p $R
: > $R/summary; : > $R/timings
exec > >(tee $R/dom0-tests.log) 2>&1
now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.2f}')"; }
pass() { echo "XENLAB-PASS $1"; echo "PASS $1" >> $R/summary; }
fail() { echo "XENLAB-FAIL $1: $2"; echo "FAIL $1: $2" >> $R/summary; }

# boot_guest NAME IMAGE CMDLINE: xl create a PVH guest, wait for it to end,
# collect its logs. Sets CREATE_S and LIFETIME_S; returns 1 if xl failed.
boot_guest() {
  local name=$1 image=$2 cmdline=$3 cfg=$R/$1.cfg t0 t1 t2
  cat > $cfg <<EOF
name = "$name"
type = "pvh"
kernel = "/mnt/share/images/$image"
cmdline = "$cmdline"
# 128 MiB: images load below 64 MiB (the linker's default ASLR window).
memory = 128
vcpus = 1
# TCG-emulated SVM: shadow paging, and no RDTSCP (Xen cannot decode its
# length without nrip-save).
hap = 0
cpuid = "host,rdtscp=0"
on_poweroff = "destroy"
on_crash = "destroy"
on_reboot = "destroy"
EOF
  xl dmesg -c >/dev/null
  t0=$(now)
  xl create $cfg > $R/$name.xl-create.txt 2>&1 || { cat $R/$name.xl-create.txt; return 1; }
  t1=$(now)
  for i in $(seq 1 240); do xl domid $name >/dev/null 2>&1 || break; sleep 0.25; done
  t2=$(now)
  CREATE_S=$(secs $t0 $t1); LIFETIME_S=$(secs $t0 $t2)
  if xl domid $name >/dev/null 2>&1; then
    echo "$name still running after 60 s; destroying it"; xl destroy $name
  fi
  sleep 0.5   # let xenconsoled and xl finish their logs
  xl dmesg > $R/$name.xl-dmesg.txt
  cp /var/log/xen/console/guest-$name.log $R/$name.console.log 2>/dev/null || : > $R/$name.console.log
  cp /var/log/xen/xl-$name.log $R/$name.xl.log 2>/dev/null || : > $R/$name.xl.log
  echo "--- $name: xl dmesg"; grep -a "(d[0-9]*)" $R/$name.xl-dmesg.txt | tail -40
  echo "--- $name: console ring log"; cat $R/$name.console.log
  echo "--- $name: xl log"; cat $R/$name.xl.log
}

# check NAME WHAT FILE REGEX: one requirement of a test.
check() {
  if grep -a -q -E "$4" "$3"; then echo "  ok: $2"; else echo "  MISSING: $2 (/$4/ in $(basename $3))"; BAD="$BAD; $2"; fi
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
  main_us=$(sed -n 's/.*\[boot\] xen: entry to main \([0-9]*\) us.*/\1/p' $R/hello.console.log | head -1)
  echo "hello xl_create $CREATE_S s" >> $R/timings
  echo "hello create_to_gone $LIFETIME_S s" >> $R/timings
  echo "hello entry_to_main ${main_us:-unknown} us" >> $R/timings
  echo "XENLAB-TIME hello: xl create ${CREATE_S} s, create to domain gone ${LIFETIME_S} s, entry to main ${main_us:-unknown} us"
  [ -n "$main_us" ] || BAD="$BAD; no entry-to-main time"
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

# (c) udp-echo: examples/udp_echo with a vif on xenbr0 (real netback):
# netfront reaches Connected, dom0 pings it and gets its UDP echoes. The
# guest's threads wait on event channel ports and Xen's upcall vector
# wakes them (no polling); it runs until it is destroyed.
t=udp-echo
echo "=== XENLAB-RUN $t"
BAD=
n=udpecho
for m in xen-netback bridge; do modprobe $m || echo "modprobe $m failed"; done
ip link show xenbr0 >/dev/null 2>&1 || ip link add xenbr0 type bridge
ip addr replace 10.0.0.1/24 dev xenbr0
ip link set xenbr0 up
cat > $R/$n.cfg <<EOF
name = "$n"
type = "pvh"
kernel = "/mnt/share/images/udp_echo.elf"
cmdline = "ip=10.0.0.2"
memory = 128
vcpus = 1
hap = 0
cpuid = "host,rdtscp=0"
vif = [ "bridge=xenbr0,mac=00:16:3e:00:00:02" ]
on_poweroff = "destroy"
on_crash = "destroy"
on_reboot = "destroy"
EOF
rm -f /var/log/xen/console/guest-$n.log
xl dmesg -c >/dev/null
t0=$(now)
if xl create $R/$n.cfg > $R/$n.xl-create.txt 2>&1; then
  t1=$(now)
  echo "XENLAB-TIME $t: xl create (with the vif hotplug) $(secs $t0 $t1) s"
  echo "udp-echo xl_create $(secs $t0 $t1) s" >> $R/timings
  D=$(xl domid $n)
  # Wait (60 s) for the driver to say it is connected and echoing.
  for i in $(seq 1 120); do
    grep -a -q 'echoing' /var/log/xen/console/guest-$n.log 2>/dev/null && break
    xl domid $n >/dev/null 2>&1 || break
    sleep 0.5
  done
  t2=$(now)
  echo "XENLAB-TIME $t: create to connected $(secs $t0 $t2) s"
  echo "udp-echo create_to_connected $(secs $t0 $t2) s" >> $R/timings
  echo "backend state: $(xenstore-read /local/domain/0/backend/vif/$D/0/state 2>&1)," \
       "frontend state: $(xenstore-read /local/domain/$D/device/vif/0/state 2>&1)" | tee $R/$n.xenstore.txt
  xenstore-ls -f /local/domain/0/backend/vif/$D >> $R/$n.xenstore.txt 2>&1
  xenstore-ls -f /local/domain/$D/device/vif >> $R/$n.xenstore.txt 2>&1
  ip -br link show | grep -E 'vif|xenbr'
  # ping (ICMP echo): busybox's ping (iputils is not in the dom0).
  PING="ping"; command -v ping >/dev/null || PING="busybox ping"
  $PING -c 3 -w 30 10.0.0.2 > $R/$n.ping.txt 2>&1
  sed 's/^/XENLAB-PING /' $R/$n.ping.txt
  # UDP echo to port 7, from python3 (a datagram socket with a timeout).
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
PY
  sed 's/^/XENLAB-UDP /' $R/$n.udp.txt
  xl list
  xl destroy $n 2>/dev/null
  sleep 1
  xl dmesg > $R/$n.xl-dmesg.txt
  cp /var/log/xen/console/guest-$n.log $R/$n.console.log 2>/dev/null || : > $R/$n.console.log
  cp /var/log/xen/xl-$n.log $R/$n.xl.log 2>/dev/null || : > $R/$n.xl.log
  echo "--- $n: console ring log"; cat $R/$n.console.log
  echo "--- $n: xl dmesg"; grep -a "(d[0-9]*)" $R/$n.xl-dmesg.txt | tail -20
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
else
  cat $R/$n.xl-create.txt
  xl destroy $n 2>/dev/null
  BAD="xl create failed"
fi
[ -z "$BAD" ] && pass $t || fail $t "${BAD#; }"

# (d) nothing left behind, and the daemons survived.
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
