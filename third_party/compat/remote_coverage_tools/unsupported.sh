#!/bin/sh
echo "coverage is not available with the offline remote_coverage_tools stand-in" >&2
exit 1
