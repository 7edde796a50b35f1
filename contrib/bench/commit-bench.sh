#!/bin/bash
# commit-bench.sh - what checking trees costs, through a real ddtargetd:
# back up PATH, back it up again unchanged (the file cache sends only
# COMMITs), restart the target (its memory of checked trees is gone) and
# back up unchanged once more, then scrub (containers, then every file's
# tree). Prints the seconds of each step. See README.md here.
#
# usage: contrib/bench/commit-bench.sh [--path PATH] [--work DIR]
# PATH defaults to /usr/share; binaries from the top of the tree, or $DDT_BIN.
set -u
. "$(dirname "$0")/common.sh"
path=/usr/share
work=${DDT_COMMIT_WORK:-/var/tmp/ddt-commit-bench}
bin=${DDT_BIN:-$top}

while [ $# -gt 0 ]; do
	case $1 in
	--path) path=$2; shift 2 ;;
	--work) work=$2; shift 2 ;;
	-h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "commit-bench.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
for b in ddtargetd ddt; do
	[ -x "$bin/$b" ] || die "build $bin/$b first (make)"
done
[ -d "$path" ] || die "no directory $path"
rm -rf "$work"
mkdir -p "$work" || die "cannot create $work"
store=$work/store
export DDT_CACHE_DIR=$work/cache
daemon_start
# The daemon's CPU seconds (user + system) so far.
cpu() { awk '{ printf "%.2f", ($14 + $15) / 100 }' "/proc/$dpid/stat"; }

# step LABEL CMD...: run CMD, print its wall time and the daemon's CPU.
step() {
	local label=$1 t0 t1 c0 c1
	shift
	c0=$(cpu)
	t0=$(now)
	"$@" >"$work/$label.out" 2>&1 || die "$label failed, see $work/$label.out"
	t1=$(now)
	c1=$(cpu)
	awk -v l="$label" -v a="$t0" -v b="$t1" -v c="$c0" -v d="$c1" 'BEGIN {
		printf "%-22s %7.2f s   daemon CPU %6.2f s\n", l ":", b - a, d - c }'
}
scrub() { ddt scrub start && ddt scrub watch -q; }

echo "commit-bench: $path ($(du -sh "$path" 2>/dev/null | cut -f1)," \
     "$(find "$path" -type f 2>/dev/null | wc -l) files); load $(cut -d' ' -f1-3 /proc/loadavg)"
ddt su create b >/dev/null || die "su create failed"
step "first backup" ddt backup "$path" --su b --name first -q
step "unchanged" ddt backup "$path" --su b --name again -q
daemon_stop
daemon_start
step "unchanged, restarted" ddt backup "$path" --su b --name cold -q
step "scrub" scrub
sed -n 's/^took: *//p' "$work/scrub.out" | sed 's/^/scrub took (target):   /'
grep -E '^(trees|files):' "$work/scrub.out"
daemon_stop
rm -rf "$work"
