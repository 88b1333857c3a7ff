"""Entry point of //rules_unikernel/tool:link (the linker driver)."""

import sys

from unikernel.link.driver import main

sys.exit(main())
