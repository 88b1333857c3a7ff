#!/usr/bin/env python3
"""Counts what a `xentrace` capture holds, per domain: VM exits by reason
(PVH/HVM guests on AMD SVM, the lab's emulated CPU), PV hypercalls by
number, PV traps and page faults, and scheduler runstate changes.

    python3 bench/xentrace.py FILE [--json]

Written from the facts of Xen's public trace.h (4.17) and of xentrace's
file layout, not from xenalyze (which Debian does not ship):

- the file is a sequence of records from the per-cpu trace buffers; before
  each cpu's chunk, xentrace writes a TRC_TRACE_CPU_CHANGE record (event
  0x0001f003, two extra words: the cpu in the low 16 bits of the first,
  the chunk's byte count in the second);
- a record is a 32-bit header (event in bits 0-27, the number of extra
  32-bit words in bits 28-30, bit 31 set when a 64-bit cycle count
  follows), then the cycle count's two words if any, then the extra words;
- TRC_SCHED_SWITCH (0x0002800a): four extra words, the previous and the
  next domain and unit on this cpu; from then on the cpu's records belong
  to the next domain;
- TRC_SCHED_RUNSTATE_CHANGE (0x00021001), two forms: Xen 4.17 (the lab's)
  puts the old and the new runstate into the event itself (bits 8-11 and
  4-7) with one extra word, domain (high 16 bits) and vcpu (low 16);
  older Xens use the plain event with a second word holding both states
  (4 bits each; which nibble is which is taken from the data: the one
  under which each vcpu's records chain). A vcpu becoming running (state
  0) also tells whose the cpu's next records are;
- TRC_HVM_VMEXIT (0x00081002) and TRC_HVM_VMEXIT64 (0x00081102), with
  TRC_HVM_NESTEDFLAG (0x400) possibly set: first extra word the exit
  reason (SVM's exit code: names below from AMD's manual);
- TRC_PV_HYPERCALL_V2 (0x0020100d): the hypercall number in the low 20
  bits of the first extra word; TRC_PV_TRAP (0x00201003) and
  TRC_PV_PAGE_FAULT (0x00201004), TRC_PV_EMULATE_PRIVOP (0x00201006: a
  privileged instruction Xen emulated, e.g. RDTSC when it traps the
  TSC), each also with TRC_64_FLAG (0x100);
- TRC_LOST_RECORDS (0x0001f001): Xen's buffer overflowed; counted, so a
  reader knows the counts are a lower bound.
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

TRC_LOST_RECORDS = 0x0001F001
TRC_TRACE_CPU_CHANGE = 0x0001F003
TRC_SCHED_RUNSTATE_CHANGE = 0x00021001
TRC_SCHED_SWITCH = 0x0002800A
TRC_HVM_VMEXIT = 0x00081002
TRC_64_FLAG = 0x100
TRC_HVM_NESTEDFLAG = 0x400
TRC_PV_HYPERCALL_V2 = 0x0020100D
TRC_PV_TRAP = 0x00201003
TRC_PV_PAGE_FAULT = 0x00201004
TRC_PV_EMULATE_PRIVOP = 0x00201006
IDLE_DOMAIN = 0x7FFF

# AMD SVM exit codes (AMD64 Architecture Programmer's Manual, vol. 2, appendix C).
SVM_EXITS = {
    0x60: "intr", 0x61: "nmi", 0x62: "smi", 0x63: "init", 0x64: "vintr", 0x65: "cr0_sel_write",
    0x6E: "rdtsc", 0x6F: "rdpmc", 0x70: "pushf", 0x71: "popf", 0x72: "cpuid", 0x74: "iret",
    0x75: "swint", 0x77: "pause", 0x78: "hlt", 0x79: "invlpg", 0x7A: "invlpga", 0x7B: "ioio",
    0x7C: "msr", 0x7D: "task_switch", 0x7F: "shutdown", 0x80: "vmrun", 0x81: "vmmcall",
    0x87: "rdtscp", 0x89: "wbinvd", 0x8D: "xsetbv", 0x400: "npf",
}
EXCEPTIONS = {1: "db", 3: "bp", 6: "ud", 7: "nm", 13: "gp", 14: "pf", 17: "ac", 18: "mc"}
# The hypercall numbers a PV guest or dom0 makes most (xen/include/public/xen.h).
HYPERCALLS = {
    1: "mmu_update", 3: "stack_switch", 12: "memory_op", 13: "multicall", 14: "update_va_mapping", 15: "set_timer_op",
    17: "xen_version", 18: "console_io", 20: "grant_table_op", 23: "iret", 24: "vcpu_op", 25: "set_segment_base",
    26: "mmuext_op", 29: "sched_op", 30: "callback_op", 32: "event_channel_op", 33: "physdev_op",
    34: "hvm_op", 35: "sysctl", 36: "domctl", 41: "dm_op",
}


def exit_name(code: int) -> str:
    if code < 0x10:
        return f"cr{code}_read"
    if code < 0x20:
        return f"cr{code - 0x10}_write"
    if code < 0x40:
        return f"dr{(code - 0x20) % 16}_{'read' if code < 0x30 else 'write'}"
    if code < 0x60:
        vec = code - 0x40
        return f"exception_{EXCEPTIONS.get(vec, vec)}"
    return SVM_EXITS.get(code, hex(code))


class TraceError(Exception):
    """The file is not a xentrace capture (or is cut short mid-record)."""


@dataclass
class Record:
    cpu: int
    event: int
    tsc: int | None
    extra: tuple[int, ...]


def records(data: bytes) -> list[Record]:
    """Every record, in file order, with the cpu its chunk came from."""
    out: list[Record] = []
    at, cpu = 0, -1
    while at + 4 <= len(data):
        (hdr,) = struct.unpack_from("<I", data, at)
        event, n, has_tsc = hdr & 0x0FFFFFFF, (hdr >> 28) & 7, hdr >> 31
        size = 4 + (8 if has_tsc else 0) + 4 * n
        if at + size > len(data):
            raise TraceError(f"a record at byte {at} runs past the end of the file ({len(data)} bytes): cut short?")
        tsc = None
        body = at + 4
        if has_tsc:
            lo, hi = struct.unpack_from("<II", data, body)
            tsc, body = hi << 32 | lo, body + 8
        extra = struct.unpack_from(f"<{n}I", data, body)
        if event == TRC_TRACE_CPU_CHANGE:
            if n < 1:
                raise TraceError(f"a cpu change record at byte {at} has no cpu: not a xentrace file?")
            cpu = extra[0] & 0xFFFF
        elif cpu < 0:
            raise TraceError("the file does not start with xentrace's cpu change record: not a xentrace file?")
        else:
            out.append(Record(cpu, event, tsc, extra))
        at += size
    if at != len(data):
        raise TraceError(f"{len(data) - at} stray bytes at the end of the file: cut short?")
    return out


def runstate_order(recs: list[Record]) -> bool:
    """True if the new runstate is the low nibble of the second word (else
    the old one is): the layout under which each vcpu's changes chain."""
    last: dict[int, tuple[int, int]] = {}
    score = [0, 0]  # chains under (new low) and (old low)
    for r in recs:
        if r.event != TRC_SCHED_RUNSTATE_CHANGE or len(r.extra) < 2:
            continue  # (the 4.17 form carries its states in the event)
        lo, hi = r.extra[1] & 0xF, (r.extra[1] >> 4) & 0xF
        prev = last.get(r.extra[0])
        if prev is not None:
            score[0] += prev[0] == hi  # new = lo, old = hi: previous new == this old
            score[1] += prev[1] == lo  # old = lo, new = hi
        last[r.extra[0]] = (lo, hi)
    return score[0] >= score[1]


@dataclass
class DomainCounts:
    vmexits: Counter = field(default_factory=Counter)
    hypercalls: Counter = field(default_factory=Counter)
    traps: int = 0
    page_faults: int = 0
    privops: int = 0
    scheduled_in: int = 0


@dataclass
class Summary:
    records: int
    lost_records: int
    cycles: int  # first to last timestamp, all cpus
    domains: dict[int, DomainCounts]
    unattributed: int  # records on a cpu before any runstate change told whose they are


def summarize(recs: list[Record]) -> Summary:
    new_low = runstate_order(recs)
    running: dict[int, int] = {}
    doms: dict[int, DomainCounts] = {}
    lost = unattributed = 0
    tscs = [r.tsc for r in recs if r.tsc is not None]
    for r in recs:
        e = r.event
        if e == TRC_LOST_RECORDS:
            lost += r.extra[0] if r.extra else 1
            continue
        if e == TRC_SCHED_SWITCH and len(r.extra) >= 4:
            running[r.cpu] = r.extra[2]
            continue
        if (e & 0x0FFFF00F) == TRC_SCHED_RUNSTATE_CHANGE and r.extra:
            if e != TRC_SCHED_RUNSTATE_CHANGE:  # Xen 4.17: the states in the event
                new = (e >> 4) & 0xF
            elif len(r.extra) >= 2:
                new = (r.extra[1] & 0xF) if new_low else (r.extra[1] >> 4) & 0xF
            else:
                continue
            dom = r.extra[0] >> 16
            if new == 0:
                running[r.cpu] = dom
                if dom != IDLE_DOMAIN:
                    doms.setdefault(dom, DomainCounts()).scheduled_in += 1
            continue
        base = e & ~(TRC_64_FLAG | TRC_HVM_NESTEDFLAG)
        if base not in (TRC_HVM_VMEXIT, TRC_PV_HYPERCALL_V2, TRC_PV_TRAP, TRC_PV_PAGE_FAULT, TRC_PV_EMULATE_PRIVOP):
            continue
        dom = running.get(r.cpu)
        if dom is None:
            unattributed += 1
            continue
        d = doms.setdefault(dom, DomainCounts())
        if base == TRC_HVM_VMEXIT and r.extra:
            d.vmexits[exit_name(r.extra[0])] += 1
        elif base == TRC_PV_HYPERCALL_V2 and r.extra:
            op = r.extra[0] & 0xFFFFF
            d.hypercalls[HYPERCALLS.get(op, str(op))] += 1
        elif base == TRC_PV_TRAP:
            d.traps += 1
        elif base == TRC_PV_PAGE_FAULT:
            d.page_faults += 1
        elif base == TRC_PV_EMULATE_PRIVOP:
            d.privops += 1
    return Summary(len(recs), lost, (max(tscs) - min(tscs)) if tscs else 0, doms, unattributed)


def read(path: Path) -> Summary:
    return summarize(records(path.read_bytes()))


def as_dict(s: Summary) -> dict[str, object]:
    return {
        "records": s.records,
        "lost_records": s.lost_records,
        "cycles": s.cycles,
        "unattributed": s.unattributed,
        "domains": {
            str(dom): {
                "vmexits": dict(d.vmexits.most_common()),
                "vmexits_total": sum(d.vmexits.values()),
                "hypercalls": dict(d.hypercalls.most_common()),
                "hypercalls_total": sum(d.hypercalls.values()),
                "pv_traps": d.traps,
                "pv_page_faults": d.page_faults,
                "pv_emulated_privops": d.privops,
                "scheduled_in": d.scheduled_in,
            }
            for dom, d in sorted(s.domains.items())
        },
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("file", type=Path)
    p.add_argument("--json", action="store_true", help="print the counts as JSON")
    args = p.parse_args(argv)
    try:
        s = read(args.file)
    except OSError as e:
        print(f"bench/xentrace.py: cannot read {args.file}: {e.strerror}", file=sys.stderr)
        return 1
    except TraceError as e:
        print(f"bench/xentrace.py: {args.file}: {e}", file=sys.stderr)
        return 1
    d = as_dict(s)
    if args.json:
        print(json.dumps(d, indent=1))
        return 0
    print(f"{s.records} records, {s.lost_records} lost, {s.unattributed} unattributed")
    for dom, c in d["domains"].items():  # type: ignore[union-attr]
        print(f"domain {dom}: scheduled in {c['scheduled_in']} times; {c['vmexits_total']} VM exits, "
              f"{c['hypercalls_total']} PV hypercalls, {c['pv_traps']} PV traps, {c['pv_page_faults']} PV page faults, "
              f"{c['pv_emulated_privops']} PV privileged instructions emulated")
        for what in ("vmexits", "hypercalls"):
            if c[what]:
                print(f"  {what}: " + ", ".join(f"{k} {v}" for k, v in c[what].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
