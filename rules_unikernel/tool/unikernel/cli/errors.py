"""The one error type the command line reports: bad input, in one line."""

from __future__ import annotations


class CliError(Exception):
    """A problem with the files or arguments given, described in one line.

    The command line prints it as ``unikernel: error: <message>`` and exits
    with status 2, the status that means "could not compare or check".
    """

    def __init__(self, message: str) -> None:
        # Messages quote file names and parser output; one line per error
        # keeps a CI log readable.
        self.message = " ".join(message.split())
        super().__init__(self.message)
