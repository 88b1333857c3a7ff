#!/usr/bin/env python3
"""A BuildGrid REAPI server with a worker on loopback, for rules_unikernel's
remote cache and remote execution (docs/remote.md).

    tools/remote/run_buildgrid.py start --state DIR [--port 50051] [--workers 2]
    tools/remote/run_buildgrid.py stop --state DIR

`start` installs BuildGrid from tools/remote/requirements_lock.txt into a
venv of its own (once per lock file), starts a private PostgreSQL cluster
(BuildGrid's scheduler keeps its jobs there), the BuildGrid server (CAS,
ByteStream, action cache, execution and bots services on 127.0.0.1:PORT)
and tools/remote/bot.py (the worker that runs the actions), then prints the
endpoint. `stop` ends all of them. Everything lives under DIR; delete it to
throw the cache away. Runs with the host's python3 (stdlib only).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
LOCK = HERE / "requirements_lock.txt"
INSTANCE = ""  # the REAPI instance name: Bazel's default (no --remote_instance_name)

CONFIG = """\
server:
  - !channel
    address: "127.0.0.1:{port}"
    insecure-mode: true

# BuildGrid advertises max_batch_total_size_bytes = 4 MiB - 1 KiB, counting blob bytes
# only; Bazel fills a BatchUpdateBlobs call up to that, and with many small files the
# per-blob framing pushed the message past gRPC's default 4 MiB limit (the batch failed
# as "N errors during bulk transfer"). Messages up to 16 MiB are accepted.
grpc-server-options:
  grpc.max_receive_message_length: 16777216
  grpc.max_send_message_length: 16777216

# The gRPC server refuses calls beyond this many at once ("Concurrent RPC limit
# exceeded"); BuildGrid's default is 5 per CPU, fewer than the uploads Bazel starts
# at once plus the executions and bot sessions that wait in long calls.
thread-pool-size: 256

authorization:
  method: none

connections:
  - !sql-connection &sql
    connection-string: "{sql}"
    pool-size: 5
    max-overflow: 10

storages:
  - !disk-storage &cas
    path: "{cas}"

caches:
  - !lru-action-cache &ac
    storage: *cas
    max-cached-refs: 1000000
    allow-updates: true
    cache-failed-actions: false

schedulers:
  - !sql-scheduler &scheduler
    sql: *sql
    storage: *cas
    action-cache: *ac
    bot-session-keepalive-timeout: 120
    property-set: !dynamic-property-set
      match-property-keys: [OSFamily, ISA]

instances:
  - name: "{instance}"
    services:
      - !action-cache
        cache: *ac
      - !execution
        scheduler: *scheduler
      - !cas
        storage: *cas
      - !bytestream
        storage: *cas
"""


class Fail(Exception):
    """A one-line error for the user."""


@dataclass(frozen=True)
class State:
    """The files of one running server, all under one directory."""

    root: Path

    @property
    def pg_data(self) -> Path:
        return self.root / "postgres"

    @property
    def pg_socket(self) -> Path:
        return self.root / "pgsock"

    @property
    def cas(self) -> Path:
        return self.root / "cas"

    @property
    def config(self) -> Path:
        return self.root / "buildgrid.yml"

    def pidfile(self, name: str) -> Path:
        return self.root / f"{name}.pid"

    def log(self, name: str) -> Path:
        return self.root / f"{name}.log"


def venv_dir() -> Path:
    """Where the venv for this lock file lives (outside the source tree)."""
    digest = hashlib.sha256(LOCK.read_bytes()).hexdigest()[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "rules_unikernel" / f"buildgrid-{digest}"


def ensure_venv() -> Path:
    """The venv's python, installing the locked packages on first use."""
    venv = venv_dir()
    python = venv / "bin" / "python"
    done = venv / ".installed"
    if done.exists():
        return python
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--require-hashes", "--only-binary=:all:",
         "--no-deps", "-r", str(LOCK)],
        capture_output=True,
        text=True,
        check=False,
    )
    if pip.returncode != 0:
        last = (pip.stderr.strip().splitlines() or ["no output"])[-1]
        raise Fail(f"installing BuildGrid from {LOCK} failed: {last}. Check access to your package index "
                   "(pip.conf, PIP_INDEX_URL).")
    done.write_text("ok\n")
    return python


def postgres_bin() -> Path:
    """The newest installed PostgreSQL's bin directory."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parent.parent.name))
    if not found:
        raise Fail("no PostgreSQL server (BuildGrid's scheduler needs one): run tools/setup.sh "
                   "(Debian: apt-get install postgresql).")
    return found[-1].parent


def as_postgres(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: drop to its own user then."""
    return ["runuser", "-u", "postgres", "--"] + argv if os.geteuid() == 0 else argv


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_for(what: str, ready, proc: subprocess.Popen | None, log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready():
            return
        if proc is not None and proc.poll() is not None:
            tail = (log.read_text(errors="replace").strip().splitlines() or ["no output"])[-1]
            raise Fail(f"{what} exited with status {proc.returncode}: {tail} (log: {log})")
        time.sleep(0.2)
    raise Fail(f"{what} did not come up within {seconds:.0f} s (log: {log})")


def start_postgres(state: State) -> str:
    """Starts a private cluster reachable only through a socket in the state dir."""
    pg = postgres_bin()
    for d in (state.pg_data, state.pg_socket):
        d.mkdir(mode=0o700, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(d, "postgres", "postgres")
    if not (state.pg_data / "PG_VERSION").exists():
        subprocess.run(as_postgres([str(pg / "initdb"), "-D", str(state.pg_data), "--auth=trust", "-U", "postgres",
                                    "--no-sync"]), check=True, capture_output=True)
    log = state.log("postgres")
    subprocess.run(as_postgres([str(pg / "pg_ctl"), "-D", str(state.pg_data), "-l", "/dev/null", "-w", "-o",
                                f"-c listen_addresses='' -k {state.pg_socket} -c fsync=off", "start"]),
                   check=True, stdout=log.open("w"), stderr=subprocess.STDOUT)
    created = subprocess.run(as_postgres([str(pg / "createdb"), "-h", str(state.pg_socket), "-U", "postgres",
                                          "bgd"]), capture_output=True, text=True, check=False)
    if created.returncode != 0 and "already exists" not in created.stderr:
        raise Fail(f"createdb failed: {created.stderr.strip()}")
    # psycopg2 named explicitly: SQLAlchemy 2.1 defaults to psycopg 3, whose connections
    # lack the poll() BuildGrid's job notifier calls.
    return f"postgresql+psycopg2://postgres@/bgd?host={state.pg_socket}"


def spawn(state: State, name: str, argv: list[str]) -> subprocess.Popen:
    log = state.log(name)
    proc = subprocess.Popen(argv, stdout=log.open("w"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    state.pidfile(name).write_text(f"{proc.pid}\n")
    return proc


def start(state: State, port: int, workers: int) -> None:
    if port_open(port):
        raise Fail(f"127.0.0.1:{port} is already in use: stop what runs there or pass --port.")
    state.root.mkdir(parents=True, exist_ok=True)
    state.cas.mkdir(exist_ok=True)
    python = ensure_venv()
    bgd = python.parent / "bgd"
    sql = start_postgres(state)
    migrate = subprocess.run([str(bgd), "migrate", "apply", sql], capture_output=True, text=True, check=False)
    if migrate.returncode != 0:
        raise Fail(f"BuildGrid's database migration failed: {(migrate.stderr.strip().splitlines() or ['?'])[-1]}")
    state.config.write_text(CONFIG.format(port=port, sql=sql, cas=state.cas, instance=INSTANCE))
    server = spawn(state, "server", [str(bgd), "server", "start", str(state.config)])
    wait_for("the BuildGrid server", lambda: port_open(port), server, state.log("server"), 60)
    endpoint = f"grpc://127.0.0.1:{port}"
    ready = state.root / "bot.ready"
    ready.unlink(missing_ok=True)
    bot = spawn(state, "bot", [str(python), str(HERE / "bot.py"), "--remote", f"127.0.0.1:{port}",
                               "--instance", INSTANCE, "--workers", str(workers), "--work", str(state.root / "bot"),
                               "--ready", str(ready)])
    wait_for("the worker (tools/remote/bot.py)", ready.exists, bot, state.log("bot"), 60)
    print(endpoint)


def stop_pid(state: State, name: str) -> None:
    pidfile = state.pidfile(name)
    if not pidfile.exists():
        return
    pid = int(pidfile.read_text())
    try:
        os.killpg(pid, signal.SIGTERM)
        for _ in range(50):
            os.killpg(pid, 0)
            time.sleep(0.1)
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    pidfile.unlink()


def stop(state: State) -> None:
    stop_pid(state, "bot")
    stop_pid(state, "server")
    if (state.pg_data / "postmaster.pid").exists():
        subprocess.run(as_postgres([str(postgres_bin() / "pg_ctl"), "-D", str(state.pg_data), "-m", "fast", "-w",
                                    "stop"]), capture_output=True, check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_start = sub.add_parser("start", help="start PostgreSQL, the BuildGrid server and the worker; print the endpoint")
    p_start.add_argument("--state", type=Path, required=True, help="directory for the CAS, database and logs")
    p_start.add_argument("--port", type=int, default=50051)
    p_start.add_argument("--workers", type=int, default=2, help="actions the worker runs at once")
    p_stop = sub.add_parser("stop", help="stop what `start` started")
    p_stop.add_argument("--state", type=Path, required=True)
    sub.add_parser("venv", help="install BuildGrid's venv and print its python")
    args = parser.parse_args()
    try:
        if args.command == "start":
            state = State(args.state.resolve())
            try:
                start(state, args.port, args.workers)
            except BaseException:
                stop(state)
                raise
        elif args.command == "stop":
            stop(State(args.state.resolve()))
        else:
            print(ensure_venv())
    except Fail as e:
        print(f"run_buildgrid.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
