"""``python -m unikernel.link``: see driver.parse_args for the options."""

import sys

from .driver import main

sys.exit(main())
