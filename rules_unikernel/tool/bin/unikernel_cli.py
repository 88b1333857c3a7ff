"""Entry point of //rules_unikernel/tool:cli (inspect, verify and diff images)."""

import sys

from unikernel.cli import main

sys.exit(main())
