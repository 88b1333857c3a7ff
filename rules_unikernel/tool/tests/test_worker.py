"""The link tool as a Bazel persistent worker.

The worker is driven the way Bazel drives it (length-delimited WorkRequests
on stdin, WorkResponses on stdout) and compared with the plain process that
Bazel falls back to (``unikernel-link @params``): the outputs must be the
same bytes. The isolation of requests is tested on the worker loop itself.
"""

from __future__ import annotations

import hashlib
import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from unikernel.worker import serve
from unikernel.worker.protocol import (
    WorkRequest,
    WorkResponse,
    decode_response,
    encode_request,
    read_message,
    write_message,
)

BOOT_C = """
extern void app_main(void);
__attribute__((section(".text.boot"))) void _start_pvh(void) { app_main(); for (;;) {} }
"""

APP_C = """
extern void console_write(const char *text);
static const char greeting[] = "hello from the worker";
__attribute__((constructor)) static void announce(void) { console_write("init"); }
void app_main(void) { console_write(greeting); }
"""

CONSOLE_C = """
volatile const char *last_line;
void console_write(const char *text) { last_line = text; }
"""

UNUSED_C = "int never_called(int x) { return x * 7; }\n"

OUTPUTS = ("out/image.elf", "out/image.debug.elf", "out/image.map", "out/image.manifest.json")


@pytest.fixture(scope="module")
def workdir(module_build, zig, tmp_path_factory) -> Path:
    """An execroot-like directory: inputs under in/, outputs to out/, a params file."""
    directory = tmp_path_factory.mktemp("execroot")
    (directory / "in").mkdir()
    (directory / "out").mkdir()
    archives = {
        "boot.a": [module_build.c("w_start.o", BOOT_C)],
        "app.a": [module_build.c("w_app.o", APP_C)],
        "libconsole.a": [module_build.c("w_console.o", CONSOLE_C), module_build.c("w_unused.o", UNUSED_C)],
    }
    for name, members in archives.items():
        (directory / "in" / name).write_bytes(module_build.archive(f"w_{name}", members).read_bytes())
    (directory / "link.params").write_text("\n".join(link_args(zig.ld, "in/app.a")) + "\n")
    return directory


def link_args(ld: Path, app: str) -> list[str]:
    """A link command line as unikernel_image writes it (labels may start with @)."""
    return [
        f"--ld={ld}",
        "--input=@ext//libos/boot:boot=in/boot.a",
        f"--input=//app:app={app}",
        "--input=@ext//drivers/console:console=in/libconsole.a",
        "--guest-name=image",
        "--seed=//app:image",
        "--aslr-padding=16",
        f"--output={OUTPUTS[0]}",
        f"--debug-output={OUTPUTS[1]}",
        f"--map={OUTPUTS[2]}",
        f"--manifest={OUTPUTS[3]}",
    ]


def digests(directory: Path) -> dict[str, str]:
    """sha256 of each output, which are then removed (as Bazel does before an action)."""
    found = {}
    for name in OUTPUTS:
        path = directory / name
        found[name] = hashlib.sha256(path.read_bytes()).hexdigest()
        path.unlink()
    return found


class Worker:
    """A worker process started as Bazel starts it, spoken to as Bazel does."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "unikernel.link", "--persistent_worker"],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    def request(self, arguments: list[str], request_id: int = 0) -> WorkResponse:
        assert self.process.stdin is not None and self.process.stdout is not None
        write_message(self.process.stdin, encode_request(WorkRequest(tuple(arguments), request_id)))
        body = read_message(self.process.stdout)
        assert body is not None, "the worker closed its stdout"
        return decode_response(body)

    def close(self) -> tuple[int, bytes, bytes]:
        out, err = self.process.communicate(timeout=60)
        return self.process.returncode, out, err


def test_worker_and_plain_process_write_identical_outputs(workdir, zig, child_env):
    plain = subprocess.run(
        [sys.executable, "-m", "unikernel.link", "@link.params"],
        cwd=workdir,
        env=child_env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout == plain.stderr == ""
    expected = digests(workdir)

    worker = Worker(workdir, child_env)
    try:
        # Bazel sends the params file's lines as the request's arguments.
        first = worker.request(link_args(zig.ld, "in/app.a"))
        assert first == WorkResponse(0, "", 0)
        assert digests(workdir) == expected

        # A failing link in between: reported, nothing written, worker alive.
        failed = worker.request(link_args(zig.ld, "in/missing.a"), request_id=0)
        assert failed.exit_code == 1
        assert failed.output.startswith("unikernel-link: error: ") and "missing.a" in failed.output
        assert failed.output.count("\n") == 1 and "Traceback" not in failed.output
        assert not list((workdir / "out").iterdir())

        # The same link again, and once more named by its params file.
        assert worker.request(link_args(zig.ld, "in/app.a")) == WorkResponse(0, "", 0)
        assert digests(workdir) == expected
        assert worker.request(["@link.params"]) == WorkResponse(0, "", 0)
        assert digests(workdir) == expected
    finally:
        status, rest, log = worker.close()
    # Closing stdin ends the worker cleanly; it wrote nothing but responses.
    assert status == 0, log.decode()
    assert rest == b""


def test_a_request_leaves_no_state_behind(tmp_path):
    seen: list[str] = []
    start = Path.cwd()

    def handler(argv):
        if argv == ["dirty"]:
            os.environ["UNIKERNEL_WORKER_LEAK"] = "1"
            os.chdir(tmp_path)
            seen.append("dirty")
            return 0
        print(os.environ.get("UNIKERNEL_WORKER_LEAK"), Path.cwd() == start, seen)
        return 0

    responses = run_requests(handler, [["dirty"], ["look"]])

    assert [r.exit_code for r in responses] == [0, 0]
    assert responses[1].output == "None True []\n"
    assert seen == [] and "UNIKERNEL_WORKER_LEAK" not in os.environ and Path.cwd() == start


def test_failing_and_crashing_requests_do_not_end_the_worker():
    def handler(argv):
        match argv:
            case ["segv"]:
                os.kill(os.getpid(), signal.SIGSEGV)
            case ["raise"]:
                raise RuntimeError("boom")
            case ["exit"]:
                sys.exit("leaving early")
            case ["print"]:
                print("to stdout")
                print("to stderr", file=sys.stderr)
                sys.stdout.flush()
                os.write(1, b"to fd 1\n")
                return 3
        return 0

    responses = run_requests(handler, [["segv"], ["raise"], ["exit"], ["print"], ["fine"]])

    assert [r.exit_code for r in responses] == [1, 1, 1, 3, 0]
    assert "killed by SIGSEGV" in responses[0].output
    assert responses[1].output == "unikernel-link: error: internal error: RuntimeError: boom\n"
    assert responses[2].output == "leaving early\n"
    assert responses[3].output == "to stdout\nto stderr\nto fd 1\n"
    assert responses[4] == WorkResponse(0, "", 0)


def test_request_ids_are_echoed_and_cancels_get_no_response():
    stream = io.BytesIO()
    for request in (WorkRequest(("a",), 5), WorkRequest((), 5, cancel=True), WorkRequest(("b",), 6)):
        write_message(stream, encode_request(request))
    stream.seek(0)
    out = io.BytesIO()

    assert serve.serve(stream, out, lambda argv: len(argv[0]), "t", io.StringIO()) == 0
    out.seek(0)
    responses = []
    while (body := read_message(out)) is not None:
        responses.append(decode_response(body))
    assert responses == [WorkResponse(1, "", 5), WorkResponse(1, "", 6)]


def test_a_malformed_stream_ends_the_worker_with_a_message():
    log = io.StringIO()
    out = io.BytesIO()

    assert serve.serve(io.BytesIO(b"\x05ab"), out, lambda argv: 0, "unikernel-link", log) == 1
    assert out.getvalue() == b""
    assert log.getvalue() == (
        "unikernel-link: error: malformed WorkRequest from Bazel: "
        "the stream ended after 2 of a message's 5 bytes\n"
    )


def run_requests(handler, requests: list[list[str]]) -> list[WorkResponse]:
    stream = io.BytesIO()
    for arguments in requests:
        write_message(stream, encode_request(WorkRequest(tuple(arguments))))
    stream.seek(0)
    out = io.BytesIO()
    assert serve.serve(stream, out, handler, "unikernel-link", io.StringIO()) == 0
    out.seek(0)
    responses = []
    while (body := read_message(out)) is not None:
        responses.append(decode_response(body))
    assert len(responses) == len(requests)
    return responses


def test_a_request_the_worker_cannot_fork_for_is_answered(monkeypatch):
    def no_fork():
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(serve.os, "fork", no_fork)

    [response] = run_requests(lambda argv: 0, [["x"]])
    assert response == WorkResponse(
        1, "unikernel-link: error: the worker cannot start a process: Resource temporarily unavailable\n"
    )


def test_the_worker_stops_quietly_when_bazel_goes_away():
    class Closed(io.BytesIO):
        def write(self, data):
            raise BrokenPipeError(32, "Broken pipe")

    stream = io.BytesIO()
    write_message(stream, encode_request(WorkRequest(("x",))))
    stream.seek(0)
    log = io.StringIO()

    assert serve.serve(stream, Closed(), lambda argv: 0, "unikernel-link", log) == 1
    assert log.getvalue() == "unikernel-link: Bazel closed the worker's stdout; stopping\n"
