#!/bin/bash
# peers.sh - ddt against restic and borg on the same data, in one run, one
# table: seconds to back up gen1, then gen2 (a "week later"), then gen1
# again unchanged, to restore gen2, and the bytes each repository holds.
#
# usage: contrib/bench/peers.sh [--data DIR] [--tools "ddt restic borg"]
# DDT_PEERS_EC sets ddt's erasure code (4+2; 1+0 keeps one copy, as
# restic and borg do); DDT_PEERS_CODEC its codec (lz4; zstd is smaller).
# Needs: the data set (built like store-bench.sh does, with mkdata.py),
# ./ddtargetd and ./ddt built at the top of the tree, and the Debian
# packages restic and borgbackup (apt-get install restic borgbackup).
# The work directory (DDT_PEERS_WORK) is removed at the end unless
# DDT_PEERS_KEEP is set.
set -u
. "$(dirname "$0")/common.sh"
data=${DDT_BENCH_DATA:-/var/tmp/ddt-bench-data}
tools="ddt restic borg"
work=${DDT_PEERS_WORK:-/var/tmp/ddt-peers}
mkdata=${DDT_MKDATA:-$top/../shared/bench/mkdata.py}
bin=${DDT_BIN:-$top}	# where ddtargetd and ddt are built

while [ $# -gt 0 ]; do
	case $1 in
	--data) data=$2; shift 2 ;;
	--tools) tools=$2; shift 2 ;;
	--work) work=$2; shift 2 ;;
	-h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "peers.sh: unknown option $1" >&2; exit 2 ;;
	esac
done

bench_data "$data" "$mkdata"
# ext4 skips inodes freed in the last 60 s (360 s while their inode table
# block is dirty) when it allocates new ones, reading inode tables to find
# them: a restore that creates 14,000 files just after a mass delete pays
# for it. So the work directory goes at the end of a run, and a left-over
# one is removed, synced and given that time.
if [ -e "$work" ]; then
	rm -rf "$work"
	sync
	sleep 60
fi
mkdir -p "$work" || die "cannot create $work"
[ -n "${DDT_PEERS_KEEP:-}" ] || trap 'bench_cleanup; rm -rf "$work"' EXIT

# Warm the page cache for everyone alike: the first tool must not pay for
# reading the disk the others then get from memory.
tar -cf - -C "$data" gen1 gen2 >/dev/null 2>&1

elapsed() { awk -v a="$(now)" -v b="$1" 'BEGIN { printf "%.2f", a - b }'; }
# run LABEL CMD...: time a command; its output goes to $work/LABEL.log.
run() {
	local label=$1 t0 rc
	shift
	t0=$(now)
	"$@" >"$work/$label.log" 2>&1
	rc=$?
	secs=$(elapsed "$t0")
	[ $rc -eq 0 ] || { echo "peers.sh: $label failed (exit $rc), see $work/$label.log" >&2; secs=FAIL; }
}

declare -A T
size_of() { du -sb "$1" | cut -f1; }

bench_ddt() {
	local store=$work/ddt-store codec="--codec ${DDT_PEERS_CODEC:-lz4}"
	daemon_start --ec "${DDT_PEERS_EC:-4+2}"
	export DDT_CACHE_DIR=$work/ddt-cache
	ddt su create bench >/dev/null || die "ddt su create failed"
	run ddt-gen1 ddt backup "$data/gen1" --su bench --name gen1 $codec; T[ddt,gen1]=$secs
	run ddt-gen2 ddt backup "$data/gen2" --su bench --name gen2 $codec; T[ddt,gen2]=$secs
	run ddt-gen1b ddt backup "$data/gen1" --su bench --name gen1 $codec; T[ddt,again]=$secs
	local id
	id=$(ddt list --su bench | awk '$1 ~ /^gen2@/ { print $1; exit }')
	run ddt-restore ddt restore "$id" "$work/ddt-restore" --su bench; T[ddt,restore]=$secs
	diff -rq "$data/gen2" "$work/ddt-restore" >/dev/null || echo "peers.sh: ddt restore differs from gen2!" >&2
	ddt_stored=$(ddt status | awk '/^stored:/ { gsub(/[()]/, "", $4); print $4 }')
	daemon_stop 2>/dev/null
	T[ddt,bytes]=$(size_of "$store")
}

bench_restic() {
	export RESTIC_REPOSITORY=$work/restic RESTIC_PASSWORD=bench
	restic init >/dev/null 2>&1 || die "restic init failed"
	run restic-gen1 restic backup "$data/gen1"; T[restic,gen1]=$secs
	run restic-gen2 restic backup "$data/gen2"; T[restic,gen2]=$secs
	run restic-gen1b restic backup "$data/gen1"; T[restic,again]=$secs
	local snap
	snap=$(restic snapshots --json --path "$data/gen2" | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["short_id"])')
	run restic-restore restic restore "$snap" --target "$work/restic-restore"; T[restic,restore]=$secs
	T[restic,bytes]=$(size_of "$work/restic")
}

bench_borg() {
	export BORG_REPO=$work/borg BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
	borg init -e none >/dev/null 2>&1 || die "borg init failed"
	run borg-gen1 borg create ::gen1 "$data/gen1"; T[borg,gen1]=$secs
	run borg-gen2 borg create ::gen2 "$data/gen2"; T[borg,gen2]=$secs
	run borg-gen1b borg create ::gen1b "$data/gen1"; T[borg,again]=$secs
	mkdir -p "$work/borg-restore"
	run borg-restore sh -c "cd '$work/borg-restore' && borg extract ::gen2"; T[borg,restore]=$secs
	T[borg,bytes]=$(size_of "$work/borg")
}

for t in $tools; do
	case $t in
	ddt) [ -x "$bin/ddt" ] && [ -x "$bin/ddtargetd" ] || die "build ddt and ddtargetd first"
	     bench_ddt ;;
	restic) command -v restic >/dev/null || die "apt-get install restic"; bench_restic ;;
	borg) command -v borg >/dev/null || die "apt-get install borgbackup"; bench_borg ;;
	*) die "unknown tool $t" ;;
	esac
done

logical=$(size_of "$data/gen1")
printf '\ndata set: gen1 %s MB, gen2 %s MB (MB = 10^6 bytes); %d cores\n' \
	"$((logical / 1000000))" "$(($(size_of "$data/gen2") / 1000000))" "$(nproc)"
printf '%-8s %10s %10s %12s %12s %12s\n' tool "gen1 s" "gen2 s" "gen1 again s" "restore s" "stored MB"
for t in $tools; do
	printf '%-8s %10.2f %10.2f %12.2f %12.2f %12d\n' "$t" "${T[$t,gen1]}" \
		"${T[$t,gen2]}" "${T[$t,again]}" "${T[$t,restore]}" \
		"$((${T[$t,bytes]} / 1000000))" 2>/dev/null ||
		echo "$t: a step failed; see $work/$t-*.log"
done
[ -n "${ddt_stored:-}" ] && printf 'ddt stores %d MB of compressed segments; its store holds them with %s erasure coding (DDT_PEERS_EC)\n' \
	"$((ddt_stored / 1000000))" "${DDT_PEERS_EC:-4+2}"
