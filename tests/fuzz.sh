#!/bin/bash
# fuzz.sh - the libFuzzer target over the parsers of bytes from the network
# and the disk (tests/fuzz/fuzz_parsers.c), as part of every check: built
# with clang and AddressSanitizer/UBSan, every input of the corpus in the
# tree (tests/fuzz/corpus) replayed, then FUZZ_CI_SECONDS (30) of new
# inputs. A crash, a leak or a broken invariant fails it, and the input
# that did it is kept in the build tree (tests/fuzz/crash-*) to replay:
# tests/fuzz/fuzz_parsers FILE. contrib/bench/fuzz-bench.sh fuzzes longer.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/tap.sh"
secs=${FUZZ_CI_SECONDS:-30}
corpus=$top_srcdir/tests/fuzz/corpus
bin=$top_builddir/tests/fuzz/fuzz_parsers

if ! command -v clang >/dev/null; then
	tap_skip "clang is missing (contrib/install-deps.sh installs it)"
	tap_skip "no fuzzer"
	tap_skip "no fuzzer"
	tap_done
	exit
fi
dir=$(tap_tmpdir fuzz) || tap_bail "mktemp -d failed"
trap 'tap_rmtree "$dir"' EXIT
make -s -C "$top_builddir" fuzz-build >"$dir/build.log" 2>&1
tap_is "$?" 0 "the fuzz target builds with clang, ASan and UBSan"
[ -x "$bin" ] || tap_bail "no $bin: $(tail -3 "$dir/build.log")"

n=$(find "$corpus" -type f | wc -l)
(cd "$dir" && "$bin" -runs=0 "$corpus") >"$dir/replay.log" 2>&1
tap_is "$?" 0 "the corpus in the tree ($n inputs) replays with no finding"

mkdir -p "$dir/new"
(cd "$dir" && "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 \
	-artifact_prefix="$top_builddir/tests/fuzz/" "$dir/new" "$corpus") \
	>"$dir/fuzz.log" 2>&1
rc=$?
runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$dir/fuzz.log")
tap_is "$rc" 0 "$secs s of fuzzing (${runs:-?} runs) finds nothing"
[ "$rc" -eq 0 ] || tap_diag "$(grep -E 'ERROR|SUMMARY|artifact' "$dir/fuzz.log" | head -5)"
tap_done
