"""Entry point of //rules_unikernel/tool:content (unikernel_content's generator)."""

import sys

from unikernel.content import main

sys.exit(main())
