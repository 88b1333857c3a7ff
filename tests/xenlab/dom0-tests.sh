#!/bin/bash
# Runs inside the lab's dom0 (started by xenlab-init): boots our images as
# Xen PVH and as Xen PV guests with xl (the same image file: it carries
# both entry points) and checks what they print and how they end.
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

# boot_guest NAME IMAGE CMDLINE [TYPE]: xl create a guest of TYPE (pvh, the
# default, or pv), wait for it to end, collect its logs. Sets CREATE_S and
# LIFETIME_S; returns 1 if xl failed.
boot_guest() {
  local name=$1 image=$2 cmdline=$3 type=${4:-pvh} cfg=$R/$1.cfg t0 t1 t2
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
EOF
  # PVH on TCG-emulated SVM: shadow paging, and no RDTSCP (Xen cannot
  # decode its length without nrip-save). A PV guest needs neither.
  [ "$type" = pvh ] && printf 'hap = 0\ncpuid = "host,rdtscp=0"\n' >> $cfg
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

# (a') hello as a PV guest: the same image, entered at _start_pv. No port
# 0xe9 on PV (port I/O faults in ring 3): the console ring is the output.
t=hello-pv
echo "=== XENLAB-RUN $t"
BAD=
if boot_guest hellopv hello.elf "hello from the xl config" pv; then
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
if boot_guest exit3pv exit_status.elf "" pv; then
  check $t "exit status 3 (console)" $R/exit3pv.console.log '\[boot\] exit status 3'
  check $t "crash shutdown" $R/exit3pv.xl.log 'shut down, reason code 3 '
else
  BAD="xl create failed"
fi
[ -z "$BAD" ] && pass $t || fail $t "${BAD#; }"

# (e) faults, as PVH and as PV: //libos/boot/tests' images end in a fault
# report naming the cause (W^X from the sealed page tables, NULL, the stack
# canary), exit status 126, and a crash shutdown.
fault_test() { # NAME IMAGE CMDLINE CAUSE-REGEX
  local name=$1 image=$2 cmdline=$3 cause=$4 type g
  for type in pvh pv; do
    t=$name-$type; g=$(echo "$name$type" | tr -d -)
    echo "=== XENLAB-RUN $t"
    BAD=
    if boot_guest $g $image "$cmdline" $type; then
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

# (c) udp-echo, as PVH and as PV: examples/udp_echo with a vif on xenbr0 (real netback):
# netfront reaches Connected, dom0 pings it and gets its UDP echoes. The
# guest takes no interrupts (it polls event channels), and runs until
# it is destroyed.
for m in xen-netback bridge; do modprobe $m || echo "modprobe $m failed"; done
ip link show xenbr0 >/dev/null 2>&1 || ip link add xenbr0 type bridge
ip addr replace 10.0.0.1/24 dev xenbr0
ip link set xenbr0 up
udp_echo_test() { # TYPE: pvh or pv
  local type=$1 n t0 t1 t2 D
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
  [ "$type" = pvh ] && printf 'hap = 0\ncpuid = "host,rdtscp=0"\n' >> $R/$n.cfg
  rm -f /var/log/xen/console/guest-$n.log
  xl dmesg -c >/dev/null
  t0=$(now)
  if xl create $R/$n.cfg > $R/$n.xl-create.txt 2>&1; then
    t1=$(now)
    echo "XENLAB-TIME $t: xl create (with the vif hotplug) $(secs $t0 $t1) s"
    echo "$t xl_create $(secs $t0 $t1) s" >> $R/timings
    D=$(xl domid $n)
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
  else
    cat $R/$n.xl-create.txt
    xl destroy $n 2>/dev/null
    BAD="xl create failed"
  fi
  [ -z "$BAD" ] && pass $t || fail $t "${BAD#; }"
}
udp_echo_test pvh
udp_echo_test pv

# (f) blkstore, as PVH and as PV: examples/blkstore on a file-backed disk
# (real blkback, vdev hda = device/vbd/768): it writes its command line's
# key=value to sector 0, flushes, reads it back and prints it; dom0 then
# finds the record in the file. Exit 0, poweroff.
for m in xen-blkback loop; do modprobe $m || echo "modprobe $m failed"; done
blkstore_test() { # TYPE: pvh or pv
  local type=$1 n disk
  t=blkstore-$type; n=blkstore$type; disk=/tmp/$n.img
  echo "=== XENLAB-RUN $t"
  BAD=
  dd if=/dev/zero of=$disk bs=1M count=4 2>/dev/null
  cat > $R/$n.cfg <<EOF
name = "$n"
type = "$type"
kernel = "/mnt/share/images/blkstore.elf"
cmdline = "xenlab=$type-record"
memory = 128
vcpus = 1
disk = [ "format=raw,vdev=hda,access=rw,target=$disk" ]
on_poweroff = "destroy"
on_crash = "destroy"
on_reboot = "destroy"
EOF
  [ "$type" = pvh ] && printf 'hap = 0\ncpuid = "host,rdtscp=0"\n' >> $R/$n.cfg
  rm -f /var/log/xen/console/guest-$n.log
  local t0=$(now) t1 t2
  if xl create $R/$n.cfg > $R/$n.xl-create.txt 2>&1; then
    t1=$(now)
    for i in $(seq 1 240); do xl domid $n >/dev/null 2>&1 || break; sleep 0.25; done
    t2=$(now)
    if xl domid $n >/dev/null 2>&1; then
      echo "$n still running after 60 s; destroying it"; xl destroy $n
    fi
    sleep 0.5
    echo "$t xl_create $(secs $t0 $t1) s" >> $R/timings
    echo "$t create_to_gone $(secs $t0 $t2) s" >> $R/timings
    cp /var/log/xen/console/guest-$n.log $R/$n.console.log 2>/dev/null || : > $R/$n.console.log
    cp /var/log/xen/xl-$n.log $R/$n.xl.log 2>/dev/null || : > $R/$n.xl.log
    dd if=$disk bs=512 count=1 2>/dev/null | tr -c '[:print:]' ' ' > $R/$n.sector0.txt
    echo "--- $n: console ring log"; cat $R/$n.console.log
    echo "--- $n: sector 0"; cat $R/$n.sector0.txt; echo
    check $t "disk connected (console)" $R/$n.console.log '^blkstore: disk of 8192 sectors \(512 bytes each\)'
    check $t "record read back (console)" $R/$n.console.log "^blkstore: xenlab = $type-record"
    check $t "record on the disk (dom0)" $R/$n.sector0.txt "^BLKSTORExenlab +$type-record"
    check $t "exit status 0" $R/$n.console.log '\[boot\] exit status 0'
    check $t "poweroff shutdown" $R/$n.xl.log 'shut down, reason code 0 '
  else
    cat $R/$n.xl-create.txt
    xl destroy $n 2>/dev/null
    BAD="xl create failed"
  fi
  rm -f $disk
  [ -z "$BAD" ] && pass $t || fail $t "${BAD#; }"
}
blkstore_test pvh
blkstore_test pv

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
