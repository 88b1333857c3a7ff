"""``python -m unikernel.volume``: see action.main."""

import sys

from .action import main

sys.exit(main())
