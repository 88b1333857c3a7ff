"""The smallest REAPI worker: takes leases from BuildGrid's Bots service and
runs their actions on this machine (docs/remote.md).

Why ours: BuildGrid's own workers (buildbox-worker with buildbox-run) are C++
programs that neither PyPI nor Debian ships, and BuildGrid's Python releases
have no bot any more. This one speaks the Remote Workers API (v1test2
BotSession/Lease) and REAPI v2's CAS with the protobuf modules BuildGrid
ships, and runs each action the way Bazel's remote execution expects:

- the input root is staged from the CAS into a fresh directory (files
  hard-linked read-only from a local blob store, so a blob is fetched once);
- the Command's arguments run there with exactly its environment variables
  (nothing of this process's environment leaks in) and a timeout;
- declared outputs, stdout and stderr are uploaded; the ActionResult is
  the lease's result. BuildGrid writes it to the action cache.

Each of --workers threads holds a bot session of capacity one, so a finished
action is reported at once rather than after another thread's long poll.
Run with BuildGrid's venv (tools/remote/run_buildgrid.py starts it).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from buildgrid._protos.build.bazel.remote.execution.v2 import remote_execution_pb2 as re_pb2
from buildgrid._protos.build.bazel.remote.execution.v2 import remote_execution_pb2_grpc as re_grpc
from buildgrid._protos.google.bytestream import bytestream_pb2, bytestream_pb2_grpc
from buildgrid._protos.google.devtools.remoteworkers.v1test2 import bots_pb2, bots_pb2_grpc, worker_pb2
from buildgrid._protos.google.rpc import code_pb2, status_pb2

# Lease states of the Remote Workers API (bots.proto).
PENDING, ACTIVE, COMPLETED = 1, 2, 4
BOT_OK = 1
BATCH_LIMIT = 2 * 1024 * 1024  # bytes per Batch{Read,Update}Blobs call; larger blobs go through ByteStream
CHUNK = 1024 * 1024
POLL_SECONDS = 30.0
CREATE_SECONDS = 3.5


def sha256_digest(data: bytes) -> re_pb2.Digest:
    return re_pb2.Digest(hash=hashlib.sha256(data).hexdigest(), size_bytes=len(data))


@dataclass
class Cas:
    """A CAS client with a local blob store of what it has seen."""

    channel: grpc.Channel
    instance: str
    store: Path
    _directories: dict[str, re_pb2.Directory] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.cas = re_grpc.ContentAddressableStorageStub(self.channel)
        self.bytestream = bytestream_pb2_grpc.ByteStreamStub(self.channel)
        self.store.mkdir(parents=True, exist_ok=True)

    def _resource(self, digest: re_pb2.Digest) -> str:
        prefix = f"{self.instance}/" if self.instance else ""
        return f"{prefix}blobs/{digest.hash}/{digest.size_bytes}"

    def blob_path(self, digest: re_pb2.Digest, executable: bool) -> Path:
        return self.store / (digest.hash + (".x" if executable else ""))

    def read(self, digest: re_pb2.Digest) -> bytes:
        if digest.size_bytes == 0:
            return b""
        if digest.size_bytes <= BATCH_LIMIT:
            got = self.cas.BatchReadBlobs(re_pb2.BatchReadBlobsRequest(instance_name=self.instance, digests=[digest]))
            response = got.responses[0]
            if response.status.code != code_pb2.OK:
                raise RuntimeError(f"CAS has no blob {digest.hash}/{digest.size_bytes}: {response.status.message}")
            data = response.data
        else:
            data = b"".join(r.data for r in self.bytestream.Read(
                bytestream_pb2.ReadRequest(resource_name=self._resource(digest))))
        if hashlib.sha256(data).hexdigest() != digest.hash:
            raise RuntimeError(f"CAS blob {digest.hash} arrived with other bytes")
        return data

    def fetch_files(self, wanted: list[tuple[re_pb2.Digest, bool]]) -> None:
        """Puts every (digest, executable) blob into the local store, read-only."""
        missing: dict[tuple[str, bool], re_pb2.Digest] = {}
        for digest, executable in wanted:
            if not self.blob_path(digest, executable).exists():
                missing[(digest.hash, executable)] = digest
        small = [d for d in {d.hash: d for d in missing.values()}.values() if d.size_bytes <= BATCH_LIMIT]
        data: dict[str, bytes] = {}
        batch: list[re_pb2.Digest] = []
        size = 0
        for digest in small + [re_pb2.Digest()]:  # the empty digest flushes the last batch
            if batch and (size + digest.size_bytes > BATCH_LIMIT or not digest.hash):
                got = self.cas.BatchReadBlobs(re_pb2.BatchReadBlobsRequest(instance_name=self.instance, digests=batch))
                for r in got.responses:
                    if r.status.code != code_pb2.OK or hashlib.sha256(r.data).hexdigest() != r.digest.hash:
                        raise RuntimeError(f"CAS blob {r.digest.hash} missing or corrupt: {r.status.message}")
                    data[r.digest.hash] = r.data
                batch, size = [], 0
            if digest.hash:
                batch.append(digest)
                size += digest.size_bytes
        for (hash_, executable), digest in missing.items():
            blob = data.get(hash_)
            if blob is None:
                blob = self.read(digest)
            self._install(digest, executable, blob)

    def _install(self, digest: re_pb2.Digest, executable: bool, blob: bytes) -> None:
        final = self.blob_path(digest, executable)
        tmp = final.with_name(f"{final.name}.{uuid.uuid4().hex}")
        tmp.write_bytes(blob)
        tmp.chmod(0o555 if executable else 0o444)
        tmp.replace(final)

    def directory(self, digest: re_pb2.Digest) -> re_pb2.Directory:
        with self._lock:
            known = self._directories.get(digest.hash)
        if known is not None:
            return known
        d = re_pb2.Directory()
        d.ParseFromString(self.read(digest))
        with self._lock:
            self._directories[digest.hash] = d
        return d

    def upload(self, blobs: dict[str, bytes]) -> None:
        """Uploads the blobs (by hash) the CAS does not have yet."""
        if not blobs:
            return
        digests = [re_pb2.Digest(hash=h, size_bytes=len(b)) for h, b in blobs.items()]
        missing = self.cas.FindMissingBlobs(re_pb2.FindMissingBlobsRequest(instance_name=self.instance,
                                                                           blob_digests=digests))
        batch: list[re_pb2.BatchUpdateBlobsRequest.Request] = []
        size = 0
        for digest in list(missing.missing_blob_digests) + [re_pb2.Digest()]:
            if batch and (size + digest.size_bytes > BATCH_LIMIT or not digest.hash):
                got = self.cas.BatchUpdateBlobs(re_pb2.BatchUpdateBlobsRequest(instance_name=self.instance,
                                                                               requests=batch))
                for r in got.responses:
                    if r.status.code != code_pb2.OK:
                        raise RuntimeError(f"CAS refused blob {r.digest.hash}: {r.status.message}")
                batch, size = [], 0
            if not digest.hash:
                continue
            data = blobs[digest.hash]
            if digest.size_bytes > BATCH_LIMIT:
                self._write(digest, data)
            else:
                batch.append(re_pb2.BatchUpdateBlobsRequest.Request(digest=digest, data=data))
                size += digest.size_bytes

    def _write(self, digest: re_pb2.Digest, data: bytes) -> None:
        prefix = f"{self.instance}/" if self.instance else ""
        name = f"{prefix}uploads/{uuid.uuid4()}/blobs/{digest.hash}/{digest.size_bytes}"

        def chunks() -> Iterator[bytestream_pb2.WriteRequest]:
            for offset in range(0, len(data), CHUNK):
                yield bytestream_pb2.WriteRequest(resource_name=name if offset == 0 else "", write_offset=offset,
                                                  data=data[offset:offset + CHUNK],
                                                  finish_write=offset + CHUNK >= len(data))

        self.bytestream.Write(chunks())


def stage(cas: Cas, root_digest: re_pb2.Digest, dest: Path) -> None:
    """Recreates the input root at dest: directories, hard links to blobs, symlinks."""
    files: list[tuple[Path, re_pb2.FileNode]] = []
    symlinks: list[tuple[Path, re_pb2.SymlinkNode]] = []
    pending = [(dest, root_digest)]
    while pending:
        path, digest = pending.pop()
        path.mkdir(parents=True, exist_ok=True)
        d = cas.directory(digest)
        files += [(path / f.name, f) for f in d.files]
        symlinks += [(path / s.name, s) for s in d.symlinks]
        pending += [(path / sub.name, sub.digest) for sub in d.directories]
    cas.fetch_files([(f.digest, f.is_executable) for _, f in files])
    for path, f in files:
        os.link(cas.blob_path(f.digest, f.is_executable), path)
    for path, s in symlinks:
        path.symlink_to(s.target)


def file_node(path: Path, name: str, blobs: dict[str, bytes]) -> re_pb2.FileNode:
    data = path.read_bytes()
    digest = sha256_digest(data)
    blobs[digest.hash] = data
    return re_pb2.FileNode(name=name, digest=digest, is_executable=bool(path.stat().st_mode & stat.S_IXUSR))


def tree_of(path: Path, blobs: dict[str, bytes]) -> tuple[re_pb2.Directory, list[re_pb2.Directory]]:
    """A Directory message for path (children first in the returned list)."""
    d = re_pb2.Directory()
    children: list[re_pb2.Directory] = []
    for entry in sorted(path.iterdir(), key=lambda p: p.name):
        if entry.is_dir():
            sub, below = tree_of(entry, blobs)
            children += below + [sub]
            data = sub.SerializeToString()
            digest = sha256_digest(data)
            blobs[digest.hash] = data
            d.directories.add(name=entry.name, digest=digest)
        else:
            d.files.append(file_node(entry, entry.name, blobs))
    return d, children


def run_action(cas: Cas, action: re_pb2.Action, work: Path) -> re_pb2.ActionResult:
    command = re_pb2.Command()
    command.ParseFromString(cas.read(action.command_digest))
    root = work / uuid.uuid4().hex
    try:
        stage(cas, action.input_root_digest, root)
        cwd = root / command.working_directory
        outputs = list(command.output_paths) or list(command.output_files) + list(command.output_directories)
        for out in outputs:
            (cwd / out).parent.mkdir(parents=True, exist_ok=True)
        env = {v.name: v.value for v in command.environment_variables}
        tmp = root / ".tmp"
        tmp.mkdir()
        env.setdefault("TMPDIR", str(tmp))
        timeout = action.timeout.seconds or None
        try:
            proc = subprocess.run(list(command.arguments), cwd=cwd, env=env, capture_output=True, timeout=timeout, check=False,
                                  stdin=subprocess.DEVNULL)
            exit_code, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
        except subprocess.TimeoutExpired as e:
            exit_code, stdout, stderr = 124, e.stdout or b"", (e.stderr or b"") + b"\nbot.py: action timed out\n"
        except OSError as e:
            exit_code, stdout, stderr = 127, b"", f"bot.py: cannot run {command.arguments[0]}: {e}\n".encode()
        blobs: dict[str, bytes] = {}
        result = re_pb2.ActionResult(exit_code=exit_code)
        result.stdout_digest.CopyFrom(sha256_digest(stdout))
        result.stderr_digest.CopyFrom(sha256_digest(stderr))
        blobs[result.stdout_digest.hash] = stdout
        blobs[result.stderr_digest.hash] = stderr
        for out in outputs:
            path = cwd / out
            if path.is_dir():
                top, children = tree_of(path, blobs)
                tree = re_pb2.Tree(root=top, children=children)
                data = tree.SerializeToString()
                digest = sha256_digest(data)
                blobs[digest.hash] = data
                result.output_directories.add(path=out, tree_digest=digest)
            elif path.is_file():
                node = file_node(path, out, blobs)
                result.output_files.add(path=out, digest=node.digest, is_executable=node.is_executable)
        cas.upload(blobs)
        return result
    finally:
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Worker:
    """One bot session of capacity one."""

    cas: Cas
    bots: bots_pb2_grpc.BotsStub
    instance: str
    bot_id: str
    work: Path
    stopping: threading.Event

    def session(self) -> bots_pb2.BotSession:
        device = worker_pb2.Device(handle=self.bot_id, properties=[
            worker_pb2.Device.Property(key="OSFamily", value="linux"),
            worker_pb2.Device.Property(key="ISA", value="x86-64"),
        ])
        return bots_pb2.BotSession(bot_id=self.bot_id, status=BOT_OK, worker=worker_pb2.Worker(
            devices=[device], configs=[worker_pb2.Worker.Config(key="capacity", value="1")]))

    def execute(self, lease: bots_pb2.Lease) -> None:
        try:
            action = re_pb2.Action()
            if lease.payload.Is(re_pb2.Action.DESCRIPTOR):
                lease.payload.Unpack(action)
            else:
                digest = re_pb2.Digest()
                lease.payload.Unpack(digest)
                action.ParseFromString(self.cas.read(digest))
            result = run_action(self.cas, action, self.work)
            lease.result.Pack(result)
            lease.status.CopyFrom(status_pb2.Status(code=code_pb2.OK))
        except Exception as e:  # noqa: BLE001 (any failure is reported as the action's, not lost)
            print(f"bot.py: lease {lease.id}: {e!r}", file=sys.stderr, flush=True)
            lease.status.CopyFrom(status_pb2.Status(code=code_pb2.INTERNAL, message=f"bot.py: {e}"))
        lease.state = COMPLETED

    def run(self, opened: threading.Event) -> None:
        while not self.stopping.is_set():
            try:
                self.serve(opened)
            except Exception as e:  # noqa: BLE001 (e.g. the server restarted: open a new session)
                print(f"bot.py: {self.bot_id}: {e!r}; reconnecting", file=sys.stderr, flush=True)
                self.stopping.wait(1.0)

    def serve(self, opened: threading.Event) -> None:
        # BuildGrid long-polls for leases until 80% of the call's deadline unless that is
        # under its network timeout (3 s): this deadline makes it answer at once.
        session = self.bots.CreateBotSession(bots_pb2.CreateBotSessionRequest(parent=self.instance,
                                                                              bot_session=self.session()),
                                             timeout=CREATE_SECONDS)
        opened.set()
        while not self.stopping.is_set():
            for lease in session.leases:
                if lease.state == PENDING:
                    lease.state = ACTIVE
                elif lease.state == ACTIVE:
                    self.execute(lease)
            try:
                session = self.bots.UpdateBotSession(
                    bots_pb2.UpdateBotSessionRequest(name=session.name, bot_session=session),
                    timeout=POLL_SECONDS)
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
                    raise
            # Completed leases the server acknowledged are gone from its reply.
            kept = [lease for lease in session.leases if lease.state != COMPLETED]
            del session.leases[:]
            session.leases.extend(kept)


def main() -> int:
    parser = argparse.ArgumentParser(description="A REAPI worker for BuildGrid's Bots service.")
    parser.add_argument("--remote", required=True, help="host:port of the BuildGrid server")
    parser.add_argument("--instance", default="")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--work", type=Path, required=True, help="directory for the blob store and action roots")
    parser.add_argument("--ready", type=Path, help="file created once every session is open")
    args = parser.parse_args()
    channel = grpc.insecure_channel(args.remote, options=[("grpc.max_receive_message_length", 64 << 20),
                                                          ("grpc.max_send_message_length", 64 << 20)])
    cas = Cas(channel, args.instance, args.work / "blobs")
    (args.work / "actions").mkdir(parents=True, exist_ok=True)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    workers = [Worker(cas, bots_pb2_grpc.BotsStub(channel), args.instance, f"{os.uname().nodename}-{os.getpid()}-{i}",
                      args.work / "actions", stopping) for i in range(args.workers)]
    opened = [threading.Event() for _ in workers]
    threads = [threading.Thread(target=w.run, args=(o,), daemon=True) for w, o in zip(workers, opened)]
    for t in threads:
        t.start()
    for o in opened:
        o.wait()
    if args.ready:
        args.ready.write_text("ready\n")
    for t in threads:
        t.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
