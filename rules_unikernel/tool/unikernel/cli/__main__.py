"""``python -m unikernel.cli``: see commands.main."""

import sys

from .commands import main

sys.exit(main())
