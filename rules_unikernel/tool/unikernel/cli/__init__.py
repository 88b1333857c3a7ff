"""unikernel.cli: look at linked images from the command line.

    inspect IMAGE.elf   segments, components and what was removed, largest functions
                        (--html OUT.html: one self-contained page that draws them: page.py)
    verify IMAGE.elf    the properties the boot path and W^X rely on, and the manifest
    diff A.elf B.elf    what differs between two images, to chase reproducibility bugs
                        (--html OUT.html: the two layouts to one scale, size deltas per component)

Each command is a function returning data (``inspect.inspect_image``,
``verify.verify``, ``diff.diff_images``); ``commands.main`` prints it.
"""

from .commands import main

__all__ = ["main"]
