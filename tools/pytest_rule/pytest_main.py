"""Runs pytest inside a Bazel test, with results in Bazel's XML output."""

import os
import sys

import pytest

if __name__ == "__main__":
    # -rs: every skipped test's reason appears in the test log.
    args = ["-p", "no:cacheprovider", "-o", "console_output_style=classic", "-v", "-rs"]
    xml = os.environ.get("XML_OUTPUT_FILE")
    if xml:
        args.append(f"--junitxml={xml}")
    sys.exit(pytest.main(args + sys.argv[1:]))
