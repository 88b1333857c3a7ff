# The lab's side-by-side benchmark (run.sh BENCH=1; bench/xen_appliances.py
# makes the table): sourced by dom0-tests.sh instead of its tests, so it
# uses the same helpers (xl_create, exists, again, setup_bridge,
# pvh_tcg_config). Boots each side in turn as a Xen domU of the same type,
# memory and one vcpu on xenbr0, measures it from dom0 and destroys it:
#   httpd  examples/httpd:image         nginx  the Linux guest, bench=httpd
#   dns    examples/dns:image           nsd    the Linux guest, bench=dns
# (the Linux guest: bench/linux-guest/build.sh's kernel and initramfs).
# Writes $R/bench.txt, one "SIDE KEY VALUE" line each (xl_create_s,
# first_answer_s from before `xl create` to the first answer, mem_mib from
# xl list, linux_used_kib, error), and per side the raw outputs the host
# parses: bench-SIDE.ab-cN.txt, bench-SIDE.dnsperf.txt,
# bench-SIDE.answers.txt, bench-SIDE.console.log, bench-SIDE.cfg.
# Settings (/mnt/share/bench.conf, from run.sh's environment):
BENCH_TYPE=pvh BENCH_MEM=128 BENCH_SIDES="httpd nginx dns nsd"
BENCH_CONCURRENCY="1 10 100" BENCH_REQUESTS=500 BENCH_DNS_SECONDS=10 BENCH_BOOT_LIMIT=300
[ -f /mnt/share/bench.conf ] && . /mnt/share/bench.conf
Q=/mnt/share/bench-queries.txt
if [ ! -s $Q ]; then
  printf '%s\n' "example.test SOA" "web.example.test A" "www.example.test A" "example.test MX" "nope.example.test A" > /tmp/bench-queries.txt
  Q=/tmp/bench-queries.txt
fi

bench_line() { echo "$1 $2 $3" >> $R/bench.txt; echo "XENBENCH $1 $2 $3"; }

# bench_side SIDE: one boot, its measurements, its end.
bench_side() {
  local side=$1 n=bench-$1 kind ip mac kernel ramdisk= cmdline t0 t1 c n_req fa pp used
  case $side in
    httpd|nginx) kind=http ip=10.0.0.80 mac=00:16:3e:00:00:50 ;;
    dns|nsd) kind=dns ip=10.0.0.53 mac=00:16:3e:00:00:35 ;;
    *) bench_line $side error "unknown side (httpd, nginx, dns or nsd)"; return 1 ;;
  esac
  case $side in
    httpd|dns) kernel=$side.elf cmdline="ip=$ip/24 gw=10.0.0.1" ;;
    nginx|nsd)
      kernel=linux-vmlinuz ramdisk="ramdisk = \"/mnt/share/images/linux-initrd.img\""
      cmdline="console=hvc0 quiet panic=-1 ip=$ip/24 gw=10.0.0.1 bench=${kind/http/httpd}" ;;
  esac
  echo "=== XENBENCH-RUN $side"
  cat > $R/$n.cfg <<EOF
name = "$n"
type = "$BENCH_TYPE"
kernel = "/mnt/share/images/$kernel"
$ramdisk
cmdline = "$cmdline"
memory = $BENCH_MEM
vcpus = 1
on_poweroff = "destroy"
on_crash = "destroy"
on_reboot = "destroy"
vif = [ "bridge=xenbr0,mac=$mac" ]
EOF
  GUEST_TYPE=$BENCH_TYPE pvh_tcg_config >> $R/$n.cfg
  ip neigh flush dev xenbr0 2>/dev/null
  rm -f /var/log/xen/console/guest-$n.log
  t0=$(now)
  if ! xl_create $R/$n.cfg $R/$n.xl-create.txt; then
    bench_line $side error "xl create failed: $(tail -1 $R/$n.xl-create.txt)"
    xl destroy $n 2>/dev/null
    return 1
  fi
  t1=$(now)
  bench_line $side xl_create_s $(secs $t0 $t1)
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
    again dnsperf -s $ip -d $Q -l $BENCH_DNS_SECONDS -t 2 -q 20 > $R/$n.dnsperf.txt 2>&1
    grep -E 'Queries (per second|lost)' $R/$n.dnsperf.txt
  fi
  bench_line $side mem_mib "$(timeout -k 2 20 xl list $n 2>/dev/null | awk 'NR == 2 { print $3 }')"
  timeout -k 5 60 xl destroy $n
  for c in $(seq 1 120); do exists $n || break; sleep 0.25; done
  sleep 0.5   # xenconsoled's last words
  cp /var/log/xen/console/guest-$n.log $R/$n.console.log 2>/dev/null || : > $R/$n.console.log
  used=$(awk '/BENCH: MemTotal:/ { t = $3 } /BENCH: MemAvailable:/ { a = $3 } END { if (t && a) print t - a }' $R/$n.console.log)
  [ -n "$used" ] && bench_line $side linux_used_kib $used
  echo "--- $n: console (last lines)"; tail -15 $R/$n.console.log
  return 0
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
