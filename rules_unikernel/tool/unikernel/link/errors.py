"""The one error type the linker reports to its user."""

from __future__ import annotations


class LinkError(Exception):
    """A problem the user can act on, described in one line.

    The command line prints it as ``unikernel-link: error: <message>`` and
    exits with status 1; nothing else in the tool prints tracebacks.
    """

    def __init__(self, message: str) -> None:
        # Messages quote file names and lld output; keep them on one line so
        # a build log shows one error per failed action.
        self.message = " ".join(message.split())
        super().__init__(self.message)
