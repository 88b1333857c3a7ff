"""Entry point of //rules_unikernel/tool:volume (builds unikernel_volume images)."""

import sys

from unikernel.volume.action import main

sys.exit(main())
