"""The one error type of volume building and reading: bad input, in one line."""

from __future__ import annotations


class VolumeError(Exception):
    """A problem with the files, sizes or image given, with the fix, in one line."""

    def __init__(self, message: str) -> None:
        self.message = " ".join(message.split())
        super().__init__(self.message)
