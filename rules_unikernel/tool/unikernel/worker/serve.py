"""A Bazel persistent worker around a command-line ``main``.

The worker process imports the tool once (for the linker, lief alone takes
most of a second to import) and then answers WorkRequests for as long as
Bazel keeps it. Each request runs in a child forked from the worker: it
starts with every module already imported, but nothing it does (module
state, the environment, the working directory, a crash in a C extension)
reaches the worker or the next request. Its stdout and stderr become the
response's output; its exit status the response's exit code.
"""

from __future__ import annotations

import faulthandler
import io
import os
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import BinaryIO, TextIO

from .protocol import ProtocolError, WorkResponse, read_request, write_response

# ``main(argv) -> exit status``, the command line the worker serves.
Handler = Callable[[Sequence[str]], int]

FLAG = "--persistent_worker"

# A request's output is shown in Bazel's console; more than this is cut.
MAX_OUTPUT = 1 << 20


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    output: str


def serve(requests: BinaryIO, responses: BinaryIO, handler: Handler, program: str, log: TextIO) -> int:
    """Answer requests until Bazel closes the stream; the worker's exit status.

    A request that fails, raises or crashes gets exit code 1 and its message;
    only a broken stream (which cannot be resynchronised) ends the worker.
    """
    while True:
        try:
            request = read_request(requests)
        except ProtocolError as error:
            log.write(f"{program}: error: malformed WorkRequest from Bazel: {error}\n")
            log.flush()
            return 1
        if request is None:
            return 0
        if request.cancel:
            # Requests are answered one at a time, so the one being cancelled
            # has been answered already; a cancel gets no response of its own.
            continue
        outcome = run_isolated(handler, request.arguments, program)
        try:
            write_response(responses, WorkResponse(outcome.exit_code, outcome.output, request.request_id))
        except BrokenPipeError:
            log.write(f"{program}: Bazel closed the worker's stdout; stopping\n")
            log.flush()
            return 1


def run_isolated(handler: Handler, arguments: Sequence[str], program: str) -> Outcome:
    """Run ``handler(arguments)`` in a forked child; its status and everything it printed."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()  # or the child would print the parent's pending output again
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError as error:
        os.close(read_end)
        os.close(write_end)
        return Outcome(1, f"{program}: error: the worker cannot start a process: {error.strerror}\n")
    if pid == 0:
        _child(handler, arguments, read_end, write_end, program)  # never returns
    os.close(write_end)
    kept, dropped = bytearray(), 0
    with os.fdopen(read_end, "rb") as pipe:
        while chunk := pipe.read(1 << 16):
            room = MAX_OUTPUT - len(kept)
            kept += chunk[:room]
            dropped += max(0, len(chunk) - room)
    _, status = os.waitpid(pid, 0)
    output = kept.decode("utf-8", errors="replace")
    if dropped:
        output += f"\n[{dropped} more bytes of output cut]\n"
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        name = signal.Signals(-code).name
        output += f"{program}: error: internal error: the request's process was killed by {name}\n"
        code = 1
    return Outcome(code, output)


def _child(handler: Handler, arguments: Sequence[str], read_end: int, out_fd: int, program: str) -> None:
    code = 1
    try:
        os.close(read_end)
        # A crash report of the worker's own (pytest enables one) is not the
        # request's to print; the parent reports the signal instead.
        faulthandler.disable()
        # stdin is the protocol's stream: the request must not read it. Its
        # stdout and stderr, down to the file descriptors (C code and child
        # processes write there), go into the response.
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        os.dup2(out_fd, 1)
        os.dup2(out_fd, 2)
        os.close(out_fd)
        raw = os.fdopen(1, "wb", closefd=False)
        text = io.TextIOWrapper(raw, encoding="utf-8", errors="backslashreplace")
        sys.stdin = io.TextIOWrapper(os.fdopen(0, "rb", closefd=False))
        sys.stdout = sys.stderr = text
        try:
            code = _status(handler(list(arguments)))
        except SystemExit as done:
            code = _status(done.code)
        except BaseException as error:  # noqa: BLE001 - reported in the response, never a traceback
            print(f"{program}: error: internal error: {type(error).__name__}: {error}", file=text)
            code = 1
        text.flush()
    finally:
        # No atexit handlers, no flushing of buffers inherited from the worker.
        os._exit(code)


def _status(value: object) -> int:
    """An exit status as ``sys.exit`` would make of ``value``."""
    if value is None:
        return 0
    if isinstance(value, int) and 0 <= value <= 255:
        return value
    if not isinstance(value, int):
        print(value, file=sys.stderr)
    return 1


def run_stdio(handler: Handler, program: str) -> int:
    """Serve on this process's stdin and stdout (the worker as Bazel starts it)."""
    requests = os.fdopen(os.dup(0), "rb")
    responses = os.fdopen(os.dup(1), "wb")
    # Only WorkResponses may reach Bazel through stdout; anything else
    # printed by this process goes to its log (stderr) instead.
    os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    with requests, responses:
        return serve(requests, responses, handler, program, sys.stderr)
