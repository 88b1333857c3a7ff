"""The one error type of release bundles: bad input or a failed check, in one line."""

from __future__ import annotations


class ReleaseError(Exception):
    def __init__(self, message: str) -> None:
        self.message = " ".join(message.split())
        super().__init__(self.message)
