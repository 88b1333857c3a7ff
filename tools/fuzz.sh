#!/usr/bin/env bash
# The long run of the fuzz campaign (docs/security.md, "The fuzz campaign"):
# every fuzz_test target's `_fuzz` binary for SECONDS each, with SEED, one
# after the other. Failing inputs go to fuzz-crashes/<target>/ here.
#
#   tools/fuzz.sh [SECONDS [SEED]]      default: 600 seconds, seed 1
set -euo pipefail
seconds=${1:-600}
seed=${2:-1}
case "$seconds$seed" in
    *[!0-9]*) echo "fuzz.sh: SECONDS and SEED are numbers (tools/fuzz.sh [SECONDS [SEED]])" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
targets=$(bazel query --output=label 'attr(name, "_fuzz$", kind("cc_binary", //...))' 2>/dev/null)
[ -n "$targets" ] || { echo "fuzz.sh: no fuzz targets found" >&2; exit 1; }
failed=0
for t in $targets; do
    echo "== $t: $seconds s, seed $seed"
    bazel run "$t" -- --seconds "$seconds" --seed "$seed" || failed=1
done
exit $failed
