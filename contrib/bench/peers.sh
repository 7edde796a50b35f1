#!/bin/bash
# peers.sh - ddt against restic and borg on the same data, in one run, one
# table: for each step (back up gen1, then gen2, a "week later", then gen1
# again unchanged, then restore gen2) and tool, the wall seconds and the CPU
# seconds (user + system; ddt's client and daemon apart), and the bytes each
# keeps, before parity and on disk with it. ddt runs twice: with the
# erasure code its target chooses for the disks (shown in its name), and
# with 1+0, the peers' redundancy (--no-ec10 leaves that run out).
#
# usage: contrib/bench/peers.sh [--data DIR] [--tools "ddt restic borg"]
#                               [--no-ec10] [--format table|csv|json]
# DDT_PEERS_EC forces ddt's code in its first run; DDT_PEERS_CODEC the
# codec on the wire (default: the client's, LZ4). Needs: the data set
# (built like store-bench.sh does, with mkdata.py), ./ddtargetd and ./ddt
# built at the top of the tree, restic and borgbackup (apt-get install
# restic borgbackup). The work directory (DDT_PEERS_WORK) is removed at
# the end unless DDT_PEERS_KEEP is set.
set -u
. "$(dirname "$0")/common.sh"
data=${DDT_BENCH_DATA:-/var/tmp/ddt-bench-data}
tools="ddt restic borg"
work=${DDT_PEERS_WORK:-/var/tmp/ddt-peers}
mkdata=${DDT_MKDATA:-$top/../shared/bench/mkdata.py}
bin=${DDT_BIN:-$top}	# where ddtargetd and ddt are built
ec10=1
format=table

while [ $# -gt 0 ]; do
	case $1 in
	--data) data=$2; shift 2 ;;
	--tools) tools=$2; shift 2 ;;
	--work) work=$2; shift 2 ;;
	--no-ec10) ec10=; shift ;;
	--format) format=$2; shift 2 ;;
	--json) format=json; shift ;;
	--csv) format=csv; shift ;;
	-h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "peers.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
case $format in table|csv|json) ;; *) die "--format: table, csv or json" ;; esac
for t in $tools; do
	case $t in
	ddt) [ -x "$bin/ddt" ] && [ -x "$bin/ddtargetd" ] || die "build ddt and ddtargetd first" ;;
	restic) command -v restic >/dev/null || die "apt-get install restic" ;;
	borg) command -v borg >/dev/null || die "apt-get install borgbackup" ;;
	*) die "unknown tool $t" ;;
	esac
done

bench_data "$data" "$mkdata"
# ext4 skips inodes freed in the last 60 s (360 s while their inode table
# block is dirty) when it allocates new ones, reading inode tables to find
# them: a restore that creates 14,000 files just after a mass delete pays
# for it. So nothing is removed during a run, the work directory goes at
# the end, and a left-over one is removed, synced and given that time.
if [ -e "$work" ]; then
	rm -rf "$work"
	sync
	sleep 60
fi
mkdir -p "$work" || die "cannot create $work"
[ -n "${DDT_PEERS_KEEP:-}" ] || trap 'bench_cleanup; rm -rf "$work"' EXIT

# Warm the page cache for everyone alike: the first tool must not pay for
# reading the disk the others then get from memory. (Through a pipe: GNU
# tar writing to /dev/null itself reads no file at all.)
tar -cf - -C "$data" gen1 gen2 2>/dev/null | cat >/dev/null

size_of() { du -sb "$1" | cut -f1; }

# A STATUS key of ddt status --json.
status_key() {
	ddt status --json | python3 -c 'import json, sys; print(json.load(sys.stdin).get(sys.argv[1], "-"))' "$1"
}

# bench_ddt N [EC]: a ddt run on a store of its own, with the erasure code
# EC or the target's default.
bench_ddt() {
	local n=$1 ec=${2:-} codec=${DDT_PEERS_CODEC:+--codec $DDT_PEERS_CODEC} name id
	store=$work/ddt-store$n
	export DDT_CACHE_DIR=$work/ddt-cache$n
	daemon_start ${ec:+--ec "$ec"}
	ddt su create bench >/dev/null || die "ddt su create failed"
	name="ddt $(status_key ec_k)+$(status_key ec_m)"
	echo "peers.sh: $name ($(status_key ec_reason))" >&2
	local c=("$bin/ddt" -p "$port")
	bench_step "$name" gen1 "${c[@]}" backup "$data/gen1" --su bench --name gen1 $codec
	bench_step "$name" gen2 "${c[@]}" backup "$data/gen2" --su bench --name gen2 $codec
	bench_step "$name" "gen1 again" "${c[@]}" backup "$data/gen1" --su bench --name gen1 $codec
	id=$(ddt list --su bench | awk '$1 ~ /^gen2@/ { print $1; exit }')
	bench_step "$name" "restore gen2" "${c[@]}" restore "$id" "$work/ddt-restore$n" --su bench &&
		{ diff -rq "$data/gen2" "$work/ddt-restore$n" >/dev/null ||
		  echo "peers.sh: $name restore differs from gen2!" >&2; }
	bench_bytes "$name" "$(status_key stored_bytes)" \
		"$(status_key physical_bytes)" "$(size_of "$store")"
	daemon_stop 2>/dev/null
}

bench_restic() {
	export RESTIC_REPOSITORY=$work/restic RESTIC_PASSWORD=bench
	restic init >/dev/null 2>&1 || die "restic init failed"
	bench_step restic gen1 restic backup "$data/gen1"
	bench_step restic gen2 restic backup "$data/gen2"
	bench_step restic "gen1 again" restic backup "$data/gen1"
	local snap
	snap=$(restic snapshots --json --path "$data/gen2" | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["short_id"])')
	bench_step restic "restore gen2" restic restore "$snap" --target "$work/restic-restore"
	local b
	b=$(size_of "$work/restic")
	bench_bytes restic "$b" "$b" "$b"
}

bench_borg() {
	export BORG_REPO=$work/borg BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
	borg init -e none >/dev/null 2>&1 || die "borg init failed"
	bench_step borg gen1 borg create ::gen1 "$data/gen1"
	bench_step borg gen2 borg create ::gen2 "$data/gen2"
	bench_step borg "gen1 again" borg create ::gen1b "$data/gen1"
	mkdir -p "$work/borg-restore"
	bench_step borg "restore gen2" sh -c "cd '$work/borg-restore' && exec borg extract ::gen2"
	local b
	b=$(size_of "$work/borg")
	bench_bytes borg "$b" "$b" "$b"
}

for t in $tools; do
	case $t in
	ddt) bench_ddt 1 "${DDT_PEERS_EC:-}"
	     [ -z "$ec10" ] || bench_ddt 2 1+0 ;;
	restic) bench_restic ;;
	borg) bench_borg ;;
	esac
done

if [ "$format" = table ]; then
	printf 'data set: gen1 %s MB, gen2 %s MB (MB = 10^6 bytes); %d cores, load average %s\n\n' \
		"$(($(size_of "$data/gen1") / 1000000))" \
		"$(($(size_of "$data/gen2") / 1000000))" "$(nproc)" \
		"$(cut -d' ' -f1-3 /proc/loadavg)"
fi
bench_report "$format"
