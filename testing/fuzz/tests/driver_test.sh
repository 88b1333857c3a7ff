#!/usr/bin/env bash
# The fuzz driver itself: the same seed gives the same inputs, another
# seed others; a planted bug is found, its input saved and replayed.
set -uo pipefail
fuzz=$1
out=$TEST_TMPDIR
fail() { echo "FAIL: $*"; exit 1; }

digest() { sed -n 's/.*(digest \([0-9a-f]*\)).*/\1/p' "$1"; }

PLANTED=off "$fuzz" --seed 3 --iterations 3000 >"$out/a" 2>&1 || fail "clean run failed: $(cat "$out/a")"
PLANTED=off "$fuzz" --seed 3 --iterations 3000 >"$out/b" 2>&1 || fail "clean run failed"
PLANTED=off "$fuzz" --seed 4 --iterations 3000 >"$out/c" 2>&1 || fail "clean run failed"
a=$(digest "$out/a"); b=$(digest "$out/b"); c=$(digest "$out/c")
[ -n "$a" ] || fail "no digest in: $(cat "$out/a")"
[ "$a" = "$b" ] || fail "seed 3 twice gave different inputs ($a, $b)"
[ "$a" != "$c" ] || fail "seeds 3 and 4 gave the same inputs ($a)"
echo "ok: derandomised (seed 3: $a twice; seed 4: $c)"

"$fuzz" --seed 1 --iterations 3000 --crash-dir "$out/crashes" >"$out/d" 2>&1
rc=$?
[ "$rc" -ne 0 ] || fail "the planted bug was not found: $(cat "$out/d")"
grep -q "heap-buffer-overflow" "$out/d" || fail "no ASan report: $(cat "$out/d")"
grep -q "failed on mutant" "$out/d" || fail "the failing mutant is not named: $(cat "$out/d")"
crash=$(ls "$out/crashes"/crash-* 2>/dev/null | head -1)
[ -n "$crash" ] || fail "no crash file saved: $(cat "$out/d")"
echo "ok: planted bug found, saved as $(basename "$crash")"

"$fuzz" --replay "$crash" >"$out/e" 2>&1 && fail "replaying the crash passed"
grep -q "heap-buffer-overflow" "$out/e" || fail "the replay did not reproduce: $(cat "$out/e")"
PLANTED=off "$fuzz" --replay "$crash" >"$out/f" 2>&1 || fail "the replay of the fixed code failed: $(cat "$out/f")"
grep -q ": ok$" "$out/f" || fail "no verdict: $(cat "$out/f")"
echo "ok: replay reproduces it, and passes once fixed"

PLANTED=ubsan "$fuzz" --seed 1 --iterations 3000 --crash-dir "$out/ub" >"$out/u" 2>&1 && fail "the planted overflow was not found: $(cat "$out/u")"
grep -q "runtime error: signed integer overflow" "$out/u" || fail "no UBSan report: $(cat "$out/u")"
ls "$out/ub"/crash-* >/dev/null 2>&1 || fail "UBSan's report saved no input: $(cat "$out/u")"
echo "ok: a UBSan report saves its input too"

"$fuzz" --seconds x >"$out/g" 2>&1 && fail "a bad option was accepted"
[ "$(wc -l <"$out/g")" -eq 1 ] || fail "a bad option gave more than one line: $(cat "$out/g")"
echo "ok: bad option: $(cat "$out/g")"
