"""The ``chromium`` fixture: headless Chromium driven through the DevTools protocol over a pipe.

`--remote-debugging-pipe` makes Chromium read commands from its fd 3 and
write replies and events to its fd 4, each message JSON followed by a NUL
byte: no port, no websocket, nothing another process on the machine can
reach. A page is loaded with the Network domain enabled, so every request
it makes is seen (``Network.requestWillBeSent``), and its script errors
(``Runtime.exceptionThrown``) and dialogs (``alert`` from injected markup)
are recorded. Standard library only; no network port.

Without Chromium the tests fail, naming the install command: a CI machine
that lacks it must not pass by skipping them.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

INSTALL = "install it with tools/setup.sh (apt-get install chromium)"
NAMES = ("chromium", "chromium-browser")
TIMEOUT = 30.0


class ChromiumMissing(Exception):
    pass


def find_chromium() -> str:
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise ChromiumMissing(f"headless Chromium is needed to render the page and none is on PATH: {INSTALL}")


@dataclass
class Loaded:
    """What happened while a page loaded."""

    url: str
    requests: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)


class Chromium:
    def __init__(self) -> None:
        binary = find_chromium()
        self._profile = tempfile.TemporaryDirectory(prefix="chromium-profile-")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        # The child must see them as fds 3 and 4: move them out of the way first.
        low_r = _high(to_child_r)
        low_w = _high(from_child_w)

        def fds() -> None:
            os.dup2(low_r, 3)
            os.dup2(low_w, 4)

        self._process = subprocess.Popen(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--remote-debugging-pipe",
                f"--user-data-dir={self._profile.name}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=fds,  # noqa: PLW1509 - the test process has no threads
            pass_fds=(3, 4),
        )
        for fd in (to_child_r, from_child_w, low_r, low_w):
            os.close(fd)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict] = []

    def close(self) -> None:
        with contextlib.suppress(OSError, TimeoutError, RuntimeError):
            self._send("Browser.close", {})
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        for fd in (self._to_child, self._from_child):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._profile.cleanup()

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def load(self, path: Path) -> tuple[str, Loaded]:
        """Open ``path`` in a new tab and wait until its load event; returns (session, what happened)."""
        url = path.resolve().as_uri()
        target = self._send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self._send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Network", "Page", "Runtime"):
            self._send(f"{domain}.enable", {}, session)
        self._send(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1200, "height": 900, "deviceScaleFactor": 1, "mobile": False},
            session,
        )
        self._events.clear()
        self._send("Page.navigate", {"url": url}, session)
        self._wait_event("Page.loadEventFired", session)
        loaded = Loaded(url)
        for event in self._events:
            if event.get("sessionId") != session:
                continue
            params = event.get("params", {})
            method = event.get("method")
            if method == "Network.requestWillBeSent":
                loaded.requests.append(params["request"]["url"])
            elif method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                loaded.exceptions.append(
                    details.get("exception", {}).get("description") or details.get("text", "?")
                )
            elif method == "Page.javascriptDialogOpening":
                loaded.dialogs.append(params.get("message", ""))
            elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                loaded.console_errors.append(" ".join(str(a.get("value")) for a in params.get("args", [])))
        return session, loaded

    def evaluate(self, session: str, expression: str) -> object:
        """The JSON value of ``expression`` in the page (after its scripts ran)."""
        reply = self._send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            session,
        )
        if "exceptionDetails" in reply:
            raise RuntimeError(f"evaluate failed: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    # -- the pipe --

    def _send(self, method: str, params: dict, session: str | None = None) -> dict:
        self._next_id += 1
        message: dict[str, object] = {"id": self._next_id, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._events.append(reply)

    def _wait_event(self, method: str, session: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        if any(e.get("method") == method and e.get("sessionId") == session for e in self._events):
            return
        while True:
            event = self._receive(deadline)
            self._events.append(event)
            if event.get("method") == method and event.get("sessionId") == session:
                return

    def _receive(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"Chromium did not answer within {TIMEOUT:.0f} s")
            ready, _, _ = select.select([self._from_child], [], [], left)
            if ready:
                chunk = os.read(self._from_child, 1 << 16)
                if not chunk:
                    raise RuntimeError(f"Chromium exited (status {self._process.poll()})")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)


def _high(fd: int) -> int:
    """A copy of ``fd`` numbered 10 or more, so that moving fds to 3 and 4 clobbers neither."""
    return fcntl.fcntl(fd, fcntl.F_DUPFD, 10)


@pytest.fixture(scope="session")
def chromium():
    try:
        browser = Chromium()
    except ChromiumMissing as error:
        pytest.fail(str(error), pytrace=False)
    yield browser
    browser.close()


@pytest.fixture
def chromium_finder():
    """How the fixture above finds Chromium, and what it raises without one."""
    return find_chromium, ChromiumMissing
