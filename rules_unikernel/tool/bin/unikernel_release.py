"""Entry point of //rules_unikernel/tool:release (the UnikernelRelease action of unikernel_release)."""

import sys

from unikernel.release.__main__ import main

sys.exit(main())
