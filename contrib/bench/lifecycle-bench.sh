#!/bin/bash
# lifecycle-bench.sh - cleaning and scrub throughput on the shared data set,
# through a real ddtargetd: back up gen1 and gen2, remove the gen1 backup,
# clean (GB of store examined per second, GB reclaimed, GB copied forward),
# then scrub the store offline with ddtstore (GB examined per second).
#
# usage: contrib/bench/lifecycle-bench.sh [--data DIR] [--work DIR]
# Needs ddtargetd, ddt and ddtstore built at the top of the tree (or in
# $DDT_BIN) and the data set (built as store-bench.sh does, with mkdata.py).
set -u
. "$(dirname "$0")/common.sh"
data=${DDT_BENCH_DATA:-/var/tmp/ddt-bench-data}
work=${DDT_LIFE_WORK:-/var/tmp/ddt-lifecycle}
mkdata=${DDT_MKDATA:-$top/../shared/bench/mkdata.py}
bin=${DDT_BIN:-$top}	# where ddtargetd, ddt and ddtstore are built

while [ $# -gt 0 ]; do
	case $1 in
	--data) data=$2; shift 2 ;;
	--work) work=$2; shift 2 ;;
	-h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "lifecycle-bench.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
for b in ddtargetd ddt ddtstore; do
	[ -x "$bin/$b" ] || die "build $bin/$b first (make)"
done
bench_data "$data" "$mkdata"
rm -rf "$work"
mkdir -p "$work" || die "cannot create $work"
store=$work/store
export DDT_CACHE_DIR=$work/cache
daemon_start
physical() { ddt status | sed -n 's/^physical:.*(\([0-9]*\) bytes).*/\1/p'; }
gb() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1e9 }'; }

ddt su create b >/dev/null || die "su create failed"
ddt backup "$data/gen1" --su b --name gen1 -q --no-cache >"$work/gen1.out" ||
	die "backup gen1 failed"
ddt backup "$data/gen2" --su b --name gen2 -q --no-cache >"$work/gen2.out" ||
	die "backup gen2 failed"
id1=$(sed -n 's/^backup: *//p' "$work/gen1.out" | head -n 1)
ddt rm "$id1" --su b >/dev/null || die "rm gen1 failed"

# Scrub the whole store (both generations), offline, warm then cold.
daemon_stop
"$bin/ddtstore" -s "$store" scrub >"$work/scrub.out" 2>&1 || die "scrub failed, see $work/scrub.out"
echo "warm $(head -n 1 "$work/scrub.out")"
if [ "$(id -u)" = 0 ]; then
	sync
	echo 3 >/proc/sys/vm/drop_caches
	"$bin/ddtstore" -s "$store" scrub >"$work/scrub2.out" 2>&1 &&
		echo "cold $(head -n 1 "$work/scrub2.out")"
fi
daemon_start

# clean_pass LABEL: one clean, measured from start to end.
clean_pass() {
	local before after t0 t1 copied
	before=$(physical)
	t0=$(now)
	ddt clean start >/dev/null || die "clean start failed"
	ddt clean watch -q >"$work/$1.out" || die "clean failed"
	t1=$(now)
	after=$(physical)
	copied=$(sed -n 's/.*reclaimed, \(.*\) copied forward/\1/p' "$work/$1.out")
	awk -v s="$(awk -v a="$t1" -v b="$t0" 'BEGIN { print a - b }')" \
	    -v e="$before" -v r="$((before - after))" -v l="$1" -v c="$copied" 'BEGIN {
		printf "%-14s %6.2f GB examined in %5.2f s (%.2f GB/s), %5.2f GB reclaimed (net), %s copied forward\n",
		       l ":", e / 1e9, s, e / 1e9 / s, r / 1e9, c }'
}

# gen2 is gen1 a week later: removing gen1 frees only what gen2 changed,
# scattered over containers that stay mostly live. The first clean after
# the backups keeps what they were told they could dedup against; the
# second is the one that may take it. Then gen2 goes too, and two cleans
# take (nearly) everything.
clean_pass "rm gen1, #1"
clean_pass "rm gen1, #2"
id2=$(sed -n 's/^backup: *//p' "$work/gen2.out" | head -n 1)
ddt rm "$id2" --su b >/dev/null || die "rm gen2 failed"
clean_pass "rm gen2, #1"
clean_pass "rm gen2, #2"

daemon_stop
