"""The backlog rule of //libos/http's connection server, checked the same
way for every appliance built on it (examples/httpd, examples/kvstore):
with every slot held, one more client is not refused but waits in the
listen backlog, and is served once a slot frees."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import pytest

SILENT_S = 2.5  # no answer at all for this long while every slot is busy
SERVED_WITHIN_S = 5.0  # after a slot frees


def check_waits_in_backlog(
    held: list[socket.socket],
    connect: Callable[[], socket.socket],
    request: bytes,
    console: Callable[[], str],
) -> None:
    """`held` holds every slot (each connection answered and kept alive);
    a client from `connect` sends `request` (with `Connection: close`).
    Closes every held socket before it returns."""
    try:
        with connect() as extra:
            extra.sendall(request)
            extra.settimeout(SILENT_S)
            with pytest.raises(TimeoutError):
                got = extra.recv(4096)
                pytest.fail(f"answered while every slot was busy: {got[:80]!r}")
            begin = time.monotonic()
            held.pop().close()
            extra.settimeout(10)
            answer = b""
            while chunk := extra.recv(4096):
                answer += chunk
            waited = time.monotonic() - begin
        print(f"the client beyond the limit was answered {waited:.2f} s after a slot freed")
        assert answer.startswith(b"HTTP/1.1 200 OK\r\n"), answer[:200]
        assert waited < SERVED_WITHIN_S
    finally:
        for s in held:
            s.close()
    assert " 503 " not in console()
