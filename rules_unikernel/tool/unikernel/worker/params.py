"""Bazel's params files: a whole command line in a file, named as ``@FILE``.

The link action passes its arguments this way (``use_param_file("@%s",
use_always = True)``, format "multiline": one argument per line), so a
plain process and a persistent worker see the same arguments. Only a
command line that is nothing but ``@FILE`` is expanded: an argument of a
longer command line may itself start with ``@`` (a label such as
``@repo//pkg:target``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class ParamsFileError(Exception):
    """The params file named on the command line cannot be read."""


def expand(argv: Sequence[str]) -> list[str]:
    """``argv``, or the arguments in its params file when it names one."""
    if len(argv) != 1 or not argv[0].startswith("@") or len(argv[0]) == 1:
        return list(argv)
    path = Path(argv[0][1:])
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ParamsFileError(f"cannot read the params file {path}: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise ParamsFileError(f"params file {path} is not UTF-8 (byte {error.start})") from None
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines
