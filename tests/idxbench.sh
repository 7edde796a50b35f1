#!/bin/bash
# idxbench.sh - the index benchmark (contrib/bench/idxbench.c) still runs, at
# a tiny size, and its figures mean what they say: every answer right (it
# fails otherwise), a stream served by the locality cache, new fingerprints
# by the Bloom filter; a kept store is measured again with --reuse, the
# store is removed when not kept, and a bad argument is one line and exit 1.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/tap.sh"

bin=$top_builddir/idxbench
[ -x "$bin" ] || tap_bail "$bin not built (make idxbench)"
dir=$(tap_tmpdir idxb) || tap_bail "no scratch directory"
trap 'tap_rmtree "$dir"' EXIT

# run ARGS...: idxbench, its output in $dir/out.
run() {
	"$bin" "$@" >"$dir/out" 2>&1
}

# The percentage in column COL (1: cache, 2: bloom, 3: index) of a case's
# first row (1 thread), without its decimals.
share() {
	grep "^$2 " "$dir/out" | head -1 |
		awk -v c="$3" '{ n = 0; for (i = 1; i <= NF; i++)
			if ($i ~ /%$/ && ++n == c) { sub(/\..*/, "", $i);
			print $i } }'
}

tap_ok "a tiny run passes" run --store "$dir" --segments 20K \
	--per-ctr 100 --seconds 0.2 --keep
tap_diag "$(cat "$dir/out")"
tap_ok "the store was reopened on 20000 fingerprints in 200 containers" \
	grep -q "built from 20000 indexed fingerprints, 200 containers" \
	"$dir/out"
tap_is "$(grep -c ' per CPU-s \(ok\|MISS\)\| - *$' "$dir/out")" 8 \
	"four cases on one and two threads"
c=$(share x "duplicates, stream order" 1)
tap_ok "the locality cache serves a stream (${c:-?}%)" test "${c:-0}" -ge 90
c=$(share x "new fingerprints" 2)
tap_ok "the Bloom filter answers new ones (${c:-?}%)" test "${c:-0}" -ge 95
kept=$(sed -n 's/^store kept: //p' "$dir/out")
tap_ok "the store is kept where it says" test -d "$kept/index"

tap_ok "--reuse measures it again" run --reuse "$kept" --seconds 0.1 \
	--case stream
tap_is "$(grep -c '^duplicates, stream order' "$dir/out")" 2 \
	"--case stream runs that case alone"
rm -rf -- "$kept"

tap_ok "a run not kept leaves nothing" run --store "$dir" \
	--segments 2K --per-ctr 100 --seconds 0.05
tap_is "$(ls "$dir" | grep -c idxbench)" 0 "its store is removed"

run --segments 12Q
tap_is "$?:$(wc -l <"$dir/out")" "1:1" "a bad count: exit 1, one line"
tap_ok "which names it" grep -q "12Q" "$dir/out"

tap_done
