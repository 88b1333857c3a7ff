#!/bin/sh
# Bazel's --workspace_status_command under --config=release (.bazelrc):
# the commit unikernel_release records in a bundle's provenance, so that
# `unikernel verify-release` can rebuild from it. A tree with uncommitted
# changes to tracked files reports no commit: such a bundle cannot be rebuilt
# from one.
if commit=$(git rev-parse HEAD 2>/dev/null) && git diff --quiet HEAD -- 2>/dev/null; then
    echo "STABLE_RULES_UNIKERNEL_COMMIT $commit"
fi
