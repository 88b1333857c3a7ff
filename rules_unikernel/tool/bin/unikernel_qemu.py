"""Entry point of //rules_unikernel/tool:qemu."""

import sys

from unikernel.qemu import main

sys.exit(main())
