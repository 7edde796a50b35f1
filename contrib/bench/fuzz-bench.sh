#!/bin/bash
# fuzz-bench.sh - the parsers' fuzzer (tests/fuzz/fuzz_parsers.c) for
# longer than the check's 30 s: MINUTES (default 30) on JOBS processes
# (default: the cores), from the corpus in the tree. Prints the runs per
# second, the coverage reached and what it found; with --merge, the new
# inputs that add coverage are merged into tests/fuzz/corpus (minimized),
# to be committed. A crash leaves its input in tests/fuzz/crash-*.
#
# usage: contrib/bench/fuzz-bench.sh [--minutes N] [--jobs J] [--merge]
set -u
. "$(dirname "$0")/common.sh"
minutes=30
jobs=$(nproc)
merge=0
while [ $# -gt 0 ]; do
	case $1 in
	--minutes) minutes=$2; shift 2 ;;
	--jobs) jobs=$2; shift 2 ;;
	--merge) merge=1; shift ;;
	-h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option $1" ;;
	esac
done
command -v clang >/dev/null || die "clang is missing (contrib/install-deps.sh)"
make -s -C "$top" fuzz-build || die "cannot build the fuzz target"
bin=$top/tests/fuzz/fuzz_parsers
corpus=$top/tests/fuzz/corpus
work=$(mktemp -d "${TMPDIR:-/tmp}/ddt-fuzz-bench-XXXXXX") || die "mktemp"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/new"
secs=$((minutes * 60))
echo "fuzz-bench: $minutes min on $jobs jobs; corpus $(find "$corpus" -type f | wc -l) inputs; load $(cut -d' ' -f1-3 /proc/loadavg)"
(cd "$work" && "$bin" -max_total_time="$secs" -jobs="$jobs" -workers="$jobs" \
	-timeout=10 -rss_limit_mb=2048 -artifact_prefix="$top/tests/fuzz/" \
	"$work/new" "$corpus") >"$work/fuzz.log" 2>&1
rc=$?
cat "$work"/fuzz-*.log >>"$work/fuzz.log" 2>/dev/null
runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$work"/fuzz-*.log "$work/fuzz.log" 2>/dev/null |
	awk '{s += $1} END {print s + 0}')
cov=$(grep -o 'cov: [0-9]*' "$work/fuzz.log" | awk '{print $2}' | sort -n | tail -1)
echo "runs:      $runs ($(echo "$runs / $secs" | bc) per second, all jobs)"
echo "coverage:  ${cov:-?} edges"
echo "new:       $(find "$work/new" -type f | wc -l) inputs"
if grep -q 'ERROR: \|SUMMARY: ' "$work/fuzz.log"; then
	echo "FOUND:     $(grep -m1 'SUMMARY: ' "$work/fuzz.log")"
	ls "$top"/tests/fuzz/crash-* "$top"/tests/fuzz/leak-* 2>/dev/null
	exit 1
fi
echo "found:     nothing"
if [ "$merge" = 1 ]; then
	before=$(find "$corpus" -type f | wc -l)
	(cd "$work" && "$bin" -merge=1 "$corpus" "$work/new") >/dev/null 2>&1 ||
		die "merge failed"
	echo "corpus:    $before -> $(find "$corpus" -type f | wc -l) inputs (git add tests/fuzz/corpus)"
fi
exit $rc
