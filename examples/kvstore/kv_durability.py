#!/usr/bin/env python3
"""Kill a kvstore under load, boot it again, and check nothing acknowledged was lost.

Standalone: Python 3.10+ and its standard library only, so a lab machine
(Debian bookworm's python3) runs it as it is. Each round boots the
appliance (a shell command), checks the console said the volume mounted
clean, checks every key against what the appliance acknowledged, puts it
under load (client threads writing and deleting keys), and kills it (a
shell command, or SIGKILL to the boot command's process group) at a
random moment. The moments come from a seed; the seed and every kill
point are printed, so a failing run can be repeated with --seed (the
requests in flight at a kill depend on timing, so a replay kills at the
same moments, not necessarily between the same two requests).

    kv_durability.py --target 127.0.0.1:8080 --kills 10 \\
        --boot 'qemu-system-x86_64 ... -drive file=disk.img,...'

    kv_durability.py --target 10.0.0.2:80 --kills 10 \\
        --boot 'xl create -c kvstore.xl.cfg' --kill 'xl destroy kvstore'

What is checked after every boot:
- the console has "kvstore: volume clean:" and no "volume damaged";
- every key whose last acknowledged request was a PUT holds exactly that
  value, every key whose last acknowledged request was a DELETE is
  absent: unless a request on that key was in flight at the kill, in
  which case the key may also be as that request would leave it;
- GET /k/ lists exactly the keys present.

Exit status 0 when every round passed, 1 on a lost write (the report
says which key, which round, and the seed), 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

CLEAN = "kvstore: volume clean:"
DAMAGED = "kvstore: volume damaged"
READY = "kvstore: listening on port"
VALUE_MAX = 8192  # bytes of a value the load writes, at most (the store takes 64 KiB)


class DurabilityError(Exception):
    """An acknowledged write lost, a deleted key back, or a volume not clean."""


@dataclass
class Reply:
    status: int
    body: bytes


class Client:
    """One keep-alive HTTP connection to the store; reconnects after an error."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: bytes | None = None) -> Reply:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            headers = {"Content-Length": str(len(body))} if body is not None else {}
            self.conn.request(method, path, body=body, headers=headers)
            resp = self.conn.getresponse()
            return Reply(resp.status, resp.read())
        except (OSError, http.client.HTTPException):
            self.close()
            raise

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


@dataclass
class KeyState:
    """What the store must hold for one key: its last acknowledged value
    (None: absent), and what a request that got no answer would have left."""

    acked: bytes | None = None
    unanswered: list[bytes | None] = field(default_factory=list)


@dataclass
class Ledger:
    keys: dict[str, KeyState]
    lock: threading.Lock = field(default_factory=threading.Lock)
    acknowledged_puts: int = 0
    acknowledged_deletes: int = 0


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    timeout: float = 10.0


def parse_target(text: str) -> Target:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--target {text!r} is not HOST:PORT (e.g. 127.0.0.1:8080)")
    return Target(host, int(port))


def load(target: Target, ledger: Ledger, keys: list[str], rng: random.Random, stop: threading.Event) -> None:
    """PUTs and DELETEs on `keys` (this thread's own) until `stop` or the
    store goes away; every answer updates the ledger."""
    client = Client(target.host, target.port, target.timeout)
    try:
        while not stop.is_set():
            key = rng.choice(keys)
            if rng.random() < 0.25:
                intent: bytes | None = None
                method, body = "DELETE", None
            else:
                intent = rng.randbytes(rng.choice((0, rng.randrange(1, 64), rng.randrange(1, VALUE_MAX + 1))))
                method, body = "PUT", intent
            state = ledger.keys[key]
            with ledger.lock:
                state.unanswered.append(intent)
            try:
                reply = client.request(method, f"/k/{key}", body)
            except (OSError, http.client.HTTPException):
                return  # the store is gone: the request stays unanswered
            ok = reply.status in (201, 204) if method == "PUT" else reply.status in (204, 404)
            if not ok:
                raise DurabilityError(f"{method} /k/{key} answered {reply.status}: {reply.body[:200]!r}")
            with ledger.lock:
                state.unanswered.pop()
                state.acked = intent
                if method == "PUT":
                    ledger.acknowledged_puts += 1
                else:
                    ledger.acknowledged_deletes += 1
    finally:
        client.close()


def verify(target: Target, ledger: Ledger, round_no: int, seed: int) -> None:
    """Every key as the ledger allows; then the ledger takes what is there."""
    client = Client(target.host, target.port, target.timeout)
    try:
        present = set()
        for key, state in sorted(ledger.keys.items()):
            reply = client.request("GET", f"/k/{key}")
            if reply.status not in (200, 404):
                raise DurabilityError(f"round {round_no}: GET /k/{key} answered {reply.status} (seed {seed})")
            actual = reply.body if reply.status == 200 else None
            allowed = [state.acked, *state.unanswered]
            if actual not in allowed:
                what = "absent" if actual is None else f"{len(actual)} bytes"
                want = "absent" if state.acked is None else f"its {len(state.acked)} acknowledged bytes"
                raise DurabilityError(
                    f"round {round_no}: key {key} is {what}, expected {want}"
                    f" ({len(state.unanswered)} request(s) unanswered at the kill) (seed {seed})"
                )
            state.acked, state.unanswered = actual, []
            if actual is not None:
                present.add(key)
        reply = client.request("GET", "/k/")
        listed = set(reply.body.decode().split())
        ours = {k for k in listed if k in ledger.keys}
        if reply.status != 200 or ours != present:
            raise DurabilityError(
                f"round {round_no}: GET /k/ lists {sorted(ours)}, the keys present are {sorted(present)}"
                f" (seed {seed})"
            )
    finally:
        client.close()


def adopt(target: Target, ledger: Ledger) -> None:
    """The ledger takes every key as the store holds it now."""
    client = Client(target.host, target.port, target.timeout)
    try:
        for key, state in ledger.keys.items():
            reply = client.request("GET", f"/k/{key}")
            state.acked = reply.body if reply.status == 200 else None
    finally:
        client.close()


def answers(target: Target) -> bool:
    """True if the store answers GET /k/ with 200 now."""
    client = Client(target.host, target.port, 1.0)
    try:
        return client.request("GET", "/k/").status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        client.close()


@dataclass
class ConsoleSource:
    """Where a boot's console is read: the boot command's output (file
    None), or a file the platform appends it to (xenconsoled's log of the
    guest), read from where it ended when the boot started."""

    file: Path | None = None
    offset: int = 0


class Appliance:
    """The store as the shell commands run it: boot (its output is the
    console unless a console file is given), kill (a command, or SIGKILL to
    the boot's process group). A boot command may also return at once
    (`xl create` without -c): the store is then up when it answers HTTP."""

    def __init__(  # noqa: PLR0917 - the CLI's options, one each
        self,
        boot: list[str],
        kill: str | None,
        log_dir: Path,
        boot_timeout: float,
        target: Target | None = None,
        console_file: Path | None = None,
    ) -> None:
        self.boot_argv, self.kill_cmd, self.log_dir, self.boot_timeout = boot, kill, log_dir, boot_timeout
        self.target = target
        self.source = ConsoleSource(console_file)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log: Path | None = None
        self.boots = 0

    def boot(self) -> str:
        """Boots and waits until it listens (its console says so, or it
        answers HTTP); the console so far."""
        self.boots += 1
        self.log = self.log_dir / f"console-{self.boots:03d}.log"
        if self.source.file is not None:
            self.source.offset = self.source.file.stat().st_size if self.source.file.exists() else 0
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                self.boot_argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + self.boot_timeout
        while True:
            text = self.console()
            # Listening on the console is not yet reachable: on Xen the
            # vif's bridge port and dom0's neighbour entry may lag behind
            # the guest (a client then gets "No route to host"), so with
            # a target the store must also answer before the round starts.
            if DAMAGED in text or (
                READY in text and (self.target is None or answers(self.target))
            ):
                return text
            status = self.proc.poll()
            if self.target is not None and status in (None, 0) and answers(self.target):
                return self.console()
            if (
                status not in (None, 0)
                or (status == 0 and self.target is None)
                or time.monotonic() > deadline
            ):
                where = (
                    f"its console says {READY!r} but {self.target.host}:{self.target.port} does not answer"
                    if READY in text and self.target is not None
                    else f"did not reach {READY!r}"
                )
                raise DurabilityError(
                    f"boot {self.boots} {where} (status {status}); console:\n{text[-3000:]}"
                )
            time.sleep(0.1)

    def console(self) -> str:
        if self.source.file is not None:
            if not self.source.file.exists():
                return ""
            with self.source.file.open("rb") as f:
                # An appended log (xenconsoled's) is read from where this boot
                # began; a file the boot rewrote from the start, from 0.
                size = f.seek(0, os.SEEK_END)
                f.seek(self.source.offset if size >= self.source.offset else 0)
                data = f.read()
        else:
            data = self.log.read_bytes() if self.log else b""
        return data.decode(errors="replace").replace("\r\n", "\n")

    def kill(self) -> None:
        if self.kill_cmd:
            subprocess.run(self.kill_cmd, shell=True, check=False)
        if self.proc is not None:
            if not self.kill_cmd:
                os.killpg(self.proc.pid, signal.SIGKILL)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            self.proc = None


@dataclass(frozen=True)
class Campaign:
    target: Target
    kills: int
    seed: int
    threads: int = 4
    keys_per_thread: int = 6
    load_min: float = 0.1  # seconds of load before a kill, at least
    load_max: float = 2.0
    console: bool = True  # False: no console to read; answering HTTP proves the mount was clean


@dataclass
class Result:
    kill_points: list[float]
    acknowledged_puts: int
    acknowledged_deletes: int
    boots: int


def _worker(  # noqa: PLR0917 - a thread's target takes positional arguments
    target: Target,
    ledger: Ledger,
    keys: list[str],
    rng: random.Random,
    stop: threading.Event,
    errors: list[Exception],
) -> None:
    """load(), its failure kept for the round to report."""
    try:
        load(target, ledger, keys, rng, stop)
    except Exception as e:  # noqa: BLE001 - any failure of a client thread fails the round
        errors.append(e)


def run(
    c: Campaign, boot: Callable[[], str], kill: Callable[[], None], say: Callable[[str], None] = print
) -> Result:
    """The rounds: boot, check the volume and every key, load, kill at a
    seeded moment; then one last boot and check. Raises DurabilityError."""
    rng = random.Random(c.seed)
    points = [round(rng.uniform(c.load_min, c.load_max), 3) for _ in range(c.kills)]
    say(
        f"kv_durability: seed {c.seed}, {c.kills} kills at (s of load):"
        f" {' '.join(f'{p:.3f}' for p in points)}"
    )
    names = [[f"t{t}-k{i}" for i in range(c.keys_per_thread)] for t in range(c.threads)]
    ledger = Ledger({k: KeyState() for group in names for k in group})
    first = True
    for round_no in range(c.kills + 1):
        console = boot()
        if DAMAGED in console or (c.console and CLEAN not in console):
            tail = "\n".join(console.splitlines()[-15:])
            raise DurabilityError(
                f"round {round_no}: the volume did not mount clean (seed {c.seed}); console (give"
                f" --console-file or --no-console if this is not the guest's console):\n{tail}"
            )
        if first:  # the volume may hold keys already: start from them
            adopt(c.target, ledger)
            first = False
        verify(c.target, ledger, round_no, c.seed)
        clean = next((line for line in console.splitlines() if CLEAN in line), "it answers HTTP (no console)")
        if round_no == c.kills:
            say(f"kv_durability: final boot: all {len(ledger.keys)} keys as acknowledged; {clean}")
            break
        stop = threading.Event()
        errors: list[Exception] = []
        workers = [
            threading.Thread(
                target=_worker,
                args=(c.target, ledger, g, random.Random(rng.getrandbits(64)), stop, errors),
                daemon=True,
            )
            for g in names
        ]
        before = ledger.acknowledged_puts + ledger.acknowledged_deletes
        for w in workers:
            w.start()
        time.sleep(points[round_no])
        kill()
        stop.set()
        for w in workers:
            w.join(timeout=c.target.timeout + 5)
        if errors:
            raise DurabilityError(f"round {round_no}: {errors[0]} (seed {c.seed})")
        in_flight = sum(len(s.unanswered) for s in ledger.keys.values())
        done = ledger.acknowledged_puts + ledger.acknowledged_deletes - before
        say(
            f"kv_durability: kill {round_no + 1}/{c.kills} after {points[round_no]:.3f} s of load: "
            f"{done} requests acknowledged, {in_flight} in flight; {clean}"
        )
    return Result(points, ledger.acknowledged_puts, ledger.acknowledged_deletes, c.kills + 1)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--target", required=True, help="HOST:PORT the store serves HTTP on")
    p.add_argument(
        "--boot", required=True, help="shell command that boots the store; its output is the console"
    )
    p.add_argument(
        "--kill",
        help="shell command that kills the store (e.g. 'xl destroy kvstore'); default: SIGKILL to --boot",
    )
    p.add_argument("--kills", type=int, default=50, help="kill points (default 50)")
    p.add_argument("--seed", type=int, help="seed of the kill points and the load (default: random, printed)")
    p.add_argument(
        "--load-max", type=float, default=2.0, help="seconds of load before a kill, at most (default 2)"
    )
    p.add_argument("--boot-timeout", type=float, default=120.0, help="seconds a boot may take (default 120)")
    p.add_argument("--logs", type=Path, help="directory for the consoles (default: a temporary one)")
    p.add_argument(
        "--console-file",
        type=Path,
        help="read the guest's console from this file (e.g. xenconsoled's log of the domain) "
        "instead of --boot's output",
    )
    p.add_argument(
        "--no-console",
        action="store_true",
        help="no console to read: the store answering HTTP is the proof it mounted clean "
        "(it serves only after its check)",
    )
    a = p.parse_args(argv)
    try:
        target = parse_target(a.target)
    except ValueError as e:
        p.error(str(e))
    if a.kills < 1:
        p.error(f"--kills {a.kills}: give at least 1")
    if not 0.1 <= a.load_max <= 600:
        p.error(f"--load-max {a.load_max}: give 0.1 to 600 seconds")
    seed = a.seed if a.seed is not None else random.SystemRandom().randrange(1 << 32)
    with tempfile.TemporaryDirectory(prefix="kv-durability-") as tmp:
        logs = a.logs or Path(tmp)
        logs.mkdir(parents=True, exist_ok=True)
        app = Appliance(shlex.split(a.boot), a.kill, logs, a.boot_timeout, target, a.console_file)
        campaign = Campaign(target, a.kills, seed, load_max=a.load_max, console=not a.no_console)
        try:
            r = run(campaign, app.boot, app.kill)
        except (DurabilityError, OSError, http.client.HTTPException) as e:
            what = e if isinstance(e, DurabilityError) else f"the store stopped answering: {e!r}"
            print(f"kv_durability: FAILED: {what}\nkv_durability: replay with --seed {seed}", file=sys.stderr)
            return 1
        finally:
            app.kill()
    print(
        f"kv_durability: passed: {a.kills} kills, {r.acknowledged_puts} PUTs and "
        f"{r.acknowledged_deletes} DELETEs acknowledged, none lost (seed {seed})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
