"""The profile of the lab's benchmark sides (tests/xenlab/dom0-bench.sh's
prof_snap / prof_trace files and the guests' own counters), per unit of
work: per query answered (dns, nsd) or per MB moved on the vif (iperf,
linux-iperf). bench/xen_appliances.py prints it under the table.

From dom0, for both sides alike (bench-SIDE.prof-PHASE0.txt and
-PHASE1.txt, taken around the measured load):
  - CPU time of the guest's vcpu and of dom0's (xl vcpu-list);
  - dom0's interrupts on the vif's event channels: the guest's
    notifications to netback;
  - the vif's packets and bytes each way (to the guest is the vif's tx);
    bytes per packet above 1514 mean segmentation offload (GSO/GRO);
  - netback's ring indexes (debugfs io_ring): the guest's transmit
    requests (TX req), its posted receive buffers (RX req) and the slots
    netback filled (RX rsp).
From our guest (its console after `xl shutdown`: "[xen] profile: ..." and
"[evtchn] ..."): hypercalls by op over its whole life, event-channel
upcalls and events, netfront's frames and slots.
From xentrace (bench-SIDE.xentrace-TAG.bin, a short second load, never the
measured one): VM exits by reason, PV hypercalls, per domain
(bench/xentrace.py).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from bench import xentrace

# The phases dom0-bench.sh snapshots around, per side, and what a unit is.
# "idle" is 5 s without load just before (the CPU the domains use anyway).
PHASES = {
    "dns": ("idle", "load"), "nsd": ("idle", "load"), "httpd": (), "nginx": (),
    "iperf": ("idle", "recv", "send"), "linux-iperf": ("idle", "recv", "send"),
}


@dataclass
class Snapshot:
    time: float
    vcpu_s: dict[str, float] = field(default_factory=dict)  # domain name: its vcpus' seconds
    irqs: int = 0  # interrupts of the vif event channels, all cpus
    vif: dict[str, int] = field(default_factory=dict)  # rx_packets ... summed over vifs
    ring: dict[str, int] = field(default_factory=dict)  # tx_req, tx_rsp, rx_req, rx_rsp


def parse_snapshot(text: str) -> Snapshot:
    """One prof_snap file."""
    section = ""
    snap = Snapshot(float("nan"))
    ring_dir = ""
    for line in text.splitlines():
        if line.startswith("== "):
            section = line[3:].split()[0]
            if section == "time":
                snap.time = float(line.split()[2])
            continue
        f = line.split()
        if not f:
            continue
        if section == "vcpu-list" and len(f) >= 6 and f[0] != "Name":
            try:
                snap.vcpu_s[f[0]] = snap.vcpu_s.get(f[0], 0.0) + float(f[5])
            except ValueError:
                pass
        elif section == "interrupts" and f[0].endswith(":"):
            snap.irqs += sum(int(x) for x in f[1:] if x.isdigit())
        elif section == "vif":
            for kv in f[1:]:
                k, _, v = kv.partition("=")
                if v.isdigit():
                    snap.vif[k] = snap.vif.get(k, 0) + int(v)
        elif section == "io_ring":
            if f[0] in ("TX:", "RX:"):
                ring_dir = f[0][:2].lower()
            elif ring_dir and f[0] in ("req", "rsp") and len(f) >= 3 and f[1] == "prod" and f[2].isdigit():
                key = f"{ring_dir}_{f[0]}"
                snap.ring[key] = snap.ring.get(key, 0) + int(f[2])
    return snap


@dataclass
class Phase:
    """What one side's phase cost, from two snapshots."""

    side: str
    phase: str
    unit: str  # "query" or "MB"
    units: float
    seconds: float
    guest_cpu_s: float
    dom0_cpu_s: float
    notifications: int  # the guest's to netback (dom0's vif interrupts)
    to_guest_packets: int
    to_guest_bytes: int
    from_guest_packets: int
    from_guest_bytes: int
    tx_req: int  # the guest's transmit slots
    rx_req: int  # receive buffers the guest posted
    rx_rsp: int  # receive slots netback filled
    dropped: int
    # CPU seconds per second of the guest and of dom0 without load (the
    # side's idle phase), NaN if it was not measured
    idle_guest: float = float("nan")
    idle_dom0: float = float("nan")

    def per(self, value: float) -> float:
        return value / self.units if self.units else float("nan")

    def above_idle(self, cpu_s: float, idle_rate: float) -> float:
        """CPU ms per unit beyond what the domain used without load."""
        return self.per((cpu_s - idle_rate * self.seconds) * 1000)


def _delta32(a: int, b: int) -> int:
    return (b - a) % (1 << 32)


def phase(side: str, name: str, before: Snapshot, after: Snapshot, queries: float | None) -> Phase:
    dom = f"bench-{side}"
    vif = {k: after.vif.get(k, 0) - before.vif.get(k, 0) for k in after.vif}
    moved = vif.get("tx_bytes", 0) + vif.get("rx_bytes", 0)
    if name == "idle":
        unit, units = "s", after.time - before.time
    elif queries is not None:
        unit, units = "query", queries
    else:
        unit, units = "MB", moved / 1e6
    return Phase(
        side, name, unit, units, after.time - before.time,
        after.vcpu_s.get(dom, 0.0) - before.vcpu_s.get(dom, 0.0),
        after.vcpu_s.get("Domain-0", 0.0) - before.vcpu_s.get("Domain-0", 0.0),
        after.irqs - before.irqs,
        vif.get("tx_packets", 0), vif.get("tx_bytes", 0), vif.get("rx_packets", 0), vif.get("rx_bytes", 0),
        _delta32(before.ring.get("tx_req", 0), after.ring.get("tx_req", 0)),
        _delta32(before.ring.get("rx_req", 0), after.ring.get("rx_req", 0)),
        _delta32(before.ring.get("rx_rsp", 0), after.ring.get("rx_rsp", 0)),
        vif.get("rx_dropped", 0) + vif.get("tx_dropped", 0),
    )


def queries_completed(text: str) -> float | None:
    m = re.search(r"Queries completed:\s+(\d+)", text)
    return float(m.group(1)) if m else None


def read_phases(results: Path, side: str) -> list[Phase]:
    out = []
    for name in PHASES.get(side, ()):
        tag = "load" if name == "load" else name
        a, b = results / f"bench-{side}.prof-{tag}0.txt", results / f"bench-{side}.prof-{tag}1.txt"
        if not (a.is_file() and b.is_file()):
            continue
        q = None
        if name == "idle":
            pass
        elif name == "load":
            f = results / f"bench-{side}.dnsperf.txt"
            q = queries_completed(f.read_text(errors="replace")) if f.is_file() else None
            q = q if q is not None else 0.0
        out.append(phase(side, name, parse_snapshot(a.read_text(errors="replace")), parse_snapshot(b.read_text(errors="replace")), q))
    idle = [p for p in out if p.phase == "idle" and p.seconds > 0]
    for p in out:
        if idle:
            p.idle_guest, p.idle_dom0 = idle[0].guest_cpu_s / idle[0].seconds, idle[0].dom0_cpu_s / idle[0].seconds
    return out


# ---- our guest's own counters (its console after xl shutdown) -------------

# The guest prints hypercalls as numbers ("29.1 800": hypercall.first
# argument); these are the names (Xen's public headers). The first
# argument is a sub-command only for the multiplexed ones; the others'
# counts are added up under the hypercall's name.
SUBCOMMANDS = {
    12: ("memory_op", {7: "add_to_physmap"}),
    17: ("xen_version", {}),
    20: ("grant_table_op", {0: "map_grant_ref", 1: "unmap_grant_ref", 2: "setup_table"}),
    24: ("vcpu_op", {8: "set_singleshot_timer", 9: "stop_singleshot_timer", 10: "register_vcpu_info"}),
    29: ("sched_op", {0: "yield", 1: "block", 2: "shutdown", 3: "poll"}),
    30: ("callback_op", {}),
    32: ("event_channel_op", {3: "close", 4: "send", 6: "alloc_unbound", 9: "unmask"}),
    34: ("hvm_op", {0: "set_param", 1: "get_param"}),
}


def hypercall_name(nr: int, sub: int) -> str:
    if nr in SUBCOMMANDS:
        name, subs = SUBCOMMANDS[nr]
        return f"{name}.{subs.get(sub, sub)}"
    return xentrace.HYPERCALLS.get(nr, f"hypercall_{nr}")


def guest_counters(console: str) -> dict[str, float]:
    """The last "[xen] profile:" and "[evtchn]" lines' counts, flat:
    hypercalls, hc.sched_op.block, hc.event_channel_op.send, ...,
    upcalls, upcall_interrupts, events, nf.rx_frames, nf.rx_copied,
    nf.tx_frames, nf.tx_slots. Empty when the guest printed none (it was
    destroyed, or is not ours)."""
    out: dict[str, float] = {}
    for line in console.splitlines():
        line = line.strip()
        m = re.search(r"\[xen\] profile: hypercalls (\d+)(?:: (.*))?$", line)
        if m:
            out = {k: v for k, v in out.items() if not (k == "hypercalls" or k.startswith("hc."))}
            out["hypercalls"] = float(m.group(1))
            for part in (m.group(2) or "").split(", "):
                c = re.fullmatch(r"(\d+)\.(\d+) (\d+)", part.strip())
                if c:
                    key = "hc." + hypercall_name(int(c.group(1)), int(c.group(2)))
                    out[key] = out.get(key, 0.0) + float(c.group(3))
            continue
        m = re.search(r"\[evtchn\] upcalls (\d+) \(interrupts (\d+)\), events (\d+)", line)
        if m:
            out["upcalls"], out["upcall_interrupts"], out["events"] = (float(x) for x in m.groups())
            continue
        m = re.search(r"netfront: rx (\d+) frames: (\d+) lent \(no copy\), (\d+) copied, (\d+) dropped; tx (\d+) frames in (\d+) slots", line)
        if m:
            for k, v in zip(("nf.rx_frames", "nf.rx_lent", "nf.rx_copied", "nf.rx_dropped", "nf.tx_frames", "nf.tx_slots"), m.groups()):
                out[k] = float(v)
    return out


# ---- xentrace -------------------------------------------------------------

@dataclass
class Traced:
    side: str
    tag: str
    unit: str
    units: float
    guest: dict[str, object]  # bench/xentrace.py's counts of the guest's domain
    dom0: dict[str, object]
    lost_records: int
    records: int


def read_traces(results: Path, side: str) -> list[Traced]:
    from bench.appliances import parse_iperf_csv  # noqa: PLC0415 (no cycle at import)
    from bench.benchlib import BenchError  # noqa: PLC0415

    out = []
    for f in sorted(results.glob(f"bench-{side}.xentrace-*.bin")):
        tag = f.name.split(".xentrace-")[1][: -len(".bin")]
        try:
            s = xentrace.as_dict(xentrace.read(f))
        except (xentrace.TraceError, OSError):
            continue
        traced = results / f"bench-{side}.traced-{tag}.txt"
        text = traced.read_text(errors="replace") if traced.is_file() else ""
        if side in ("dns", "nsd"):
            unit, units = "query", queries_completed(text) or 0.0
        else:
            try:
                unit, units = "MB", parse_iperf_csv(text, 5001).bytes / 1e6
            except (BenchError, AttributeError):
                unit, units = "MB", 0.0
        doms = s["domains"]  # type: ignore[index]
        guests = [d for d in doms if d != "0"]  # type: ignore[union-attr]
        # The guest is the one domain besides dom0 that ran (one at a time).
        guest = max(guests, key=lambda d: doms[d]["scheduled_in"]) if guests else None  # type: ignore[index]
        out.append(Traced(side, tag, unit, units, doms.get(guest, {}) if guest else {}, doms.get("0", {}),  # type: ignore[union-attr]
                          int(s["lost_records"]), int(s["records"])))  # type: ignore[arg-type]
    return out


# ---- the tables -------------------------------------------------------------

def _fmt(v: float) -> str:
    if v != v or math.isinf(v):
        return "-"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def render_phases(phases: list[Phase], guests: dict[str, dict[str, float]]) -> str:
    """One column per side and phase, one row per figure, per unit of work."""
    if not phases:
        return ""
    cols = [f"{p.side} {p.phase}" for p in phases]
    rows: list[tuple[str, list[float]]] = [
        ("units of work (queries, MB both ways, idle s)", [p.units for p in phases]),
        ("seconds", [p.seconds for p in phases]),
        ("guest CPU ms per unit", [p.per(p.guest_cpu_s * 1000) for p in phases]),
        ("dom0 CPU ms per unit", [p.per(p.dom0_cpu_s * 1000) for p in phases]),
        ("guest CPU ms per unit above idle", [p.above_idle(p.guest_cpu_s, p.idle_guest) for p in phases]),
        ("dom0 CPU ms per unit above idle", [p.above_idle(p.dom0_cpu_s, p.idle_dom0) for p in phases]),
        ("guest+dom0 CPU share of wall time (of 2 cpus)", [(p.guest_cpu_s + p.dom0_cpu_s) / p.seconds if p.seconds else float("nan") for p in phases]),
        ("packets to the guest per unit", [p.per(p.to_guest_packets) for p in phases]),
        ("packets from the guest per unit", [p.per(p.from_guest_packets) for p in phases]),
        ("bytes per packet to the guest", [p.to_guest_bytes / p.to_guest_packets if p.to_guest_packets else float("nan") for p in phases]),
        ("bytes per packet from the guest", [p.from_guest_bytes / p.from_guest_packets if p.from_guest_packets else float("nan") for p in phases]),
        ("guest notifications to netback per unit", [p.per(p.notifications) for p in phases]),
        ("netback TX requests (guest sends) per unit", [p.per(p.tx_req) for p in phases]),
        ("netback RX requests (buffers posted) per unit", [p.per(p.rx_req) for p in phases]),
        ("netback RX responses per unit", [p.per(p.rx_rsp) for p in phases]),
        ("TX requests per packet from the guest", [p.tx_req / p.from_guest_packets if p.from_guest_packets else float("nan") for p in phases]),
        ("RX responses per packet to the guest", [p.rx_rsp / p.to_guest_packets if p.to_guest_packets else float("nan") for p in phases]),
        ("vif drops", [float(p.dropped) for p in phases]),
    ]
    width = max(len(r[0]) for r in rows)
    out = ["| " + "figure".ljust(width) + " | " + " | ".join(cols) + " |",
           "|" + "-" * (width + 2) + "|" + "|".join("-" * (len(c) + 2) for c in cols) + "|"]
    for what, vals in rows:
        out.append("| " + what.ljust(width) + " | " + " | ".join(_fmt(v).rjust(len(c)) for v, c in zip(vals, cols)) + " |")
    for side, g in sorted(guests.items()):
        if g:
            out.append(f"{side} (its own counters, whole life): " + ", ".join(f"{k} {v:.0f}" for k, v in g.items()))
    return "\n".join(out)


def render_traces(traces: list[Traced]) -> str:
    out = []
    for t in traces:
        g = t.guest
        per = (lambda n: n / t.units) if t.units else (lambda n: float("nan"))  # noqa: E731
        top = lambda d: ", ".join(f"{k} {_fmt(per(v))}" for k, v in list(d.items())[:8])  # noqa: E731
        units = {"query": "queries", "MB": "MB"}.get(t.unit, t.unit)
        line = f"{t.side} {t.tag} (xentrace, {_fmt(t.units)} {units} traced, {t.lost_records} records lost):"
        if not t.records:
            out.append(line + " no trace records (xentrace's log: bench-SIDE.xentrace-TAG.log)")
            continue
        if g:
            line += f" guest VM exits per {t.unit} {_fmt(per(g.get('vmexits_total', 0)))} [{top(g.get('vmexits', {}))}];"
            line += f" guest PV hypercalls per {t.unit} {_fmt(per(g.get('hypercalls_total', 0)))} [{top(g.get('hypercalls', {}))}];"
            line += f" guest PV privileged instructions emulated per {t.unit} {_fmt(per(g.get('pv_emulated_privops', 0)))};"
            line += f" guest scheduled in per {t.unit} {_fmt(per(g.get('scheduled_in', 0)))};"
        if t.dom0:
            line += f" dom0 PV hypercalls per {t.unit} {_fmt(per(t.dom0.get('hypercalls_total', 0)))} [{top(t.dom0.get('hypercalls', {}))}]"
        out.append(line)
    return "\n".join(out)
