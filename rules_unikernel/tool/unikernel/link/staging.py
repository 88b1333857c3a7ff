"""All-or-nothing outputs: write beside the destination, rename at the end.

A failed link leaves none of its outputs behind, not even ones from an
earlier run, so a stale image can never pass for a fresh one.
"""

from __future__ import annotations

import glob
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from .errors import LinkError

_MODE = 0o644


class Staging:
    """Temporary files, one per final output, in the final output's directory."""

    def __init__(self) -> None:
        self._pending: list[tuple[Path, Path]] = []

    def path_for(self, final: Path) -> Path:
        """A fresh temporary path that will become ``final`` on commit."""
        try:
            handle, name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp")
        except OSError as error:
            raise LinkError(f"cannot write {final}: {error.strerror}") from error
        os.close(handle)
        temp = Path(name)
        self._pending.append((temp, final))
        return temp

    def commit(self) -> None:
        for temp, final in self._pending:
            temp.chmod(_MODE)
            temp.replace(final)
        self._pending.clear()

    def abandon(self) -> None:
        for temp, final in self._pending:
            _remove(temp)
            _remove(final)
            # lld writes its output through a temporary of its own named
            # after it (LLVM's FileOutputBuffer: "<output>.tmp<random>") and,
            # exiting on an error, leaves that behind.
            for leftover in temp.parent.glob(glob.escape(temp.name) + ".tmp*"):
                _remove(leftover)
        self._pending.clear()


@contextmanager
def staged(finals: list[Path]) -> Iterator[Staging]:
    """Stage outputs; commit if the block succeeds, else remove every output."""
    staging = Staging()
    try:
        yield staging
    except BaseException:
        staging.abandon()
        for final in finals:
            _remove(final)
        raise
    staging.commit()


def _remove(path: Path) -> None:
    # Cleanup must not hide the error that caused it.
    with suppress(OSError):
        path.unlink(missing_ok=True)
