#!/bin/bash
# smallfiles.sh - a tree of many small files, backed up once and restored,
# by ddt, restic and borg in one run, with cp -a of the same tree to the
# same disk as the floor of a restore: wall seconds and CPU seconds (user
# + system; ddt's client and daemon apart) per step and tool, and the
# bytes each keeps. Each restore is checked against the tree (diff -r).
#
# usage: contrib/bench/smallfiles.sh [--tree DIR] [--tools "ddt restic borg cp"]
#                                    [--ec K+M] [--format table|csv|json]
# --tree: the tree (/usr/share); --ec: ddt's erasure code (the target's
# default for the disk). The work directory (DDT_SMALL_WORK, else
# /var/tmp/ddt-smallfiles; on the disk to measure) is removed at the end
# unless DDT_SMALL_KEEP is set. Needs ./ddtargetd and ./ddt built at the
# top of the tree, restic and borgbackup.
set -u
. "$(dirname "$0")/common.sh"
tree=/usr/share
tools="ddt restic borg cp"
work=${DDT_SMALL_WORK:-/var/tmp/ddt-smallfiles}
bin=${DDT_BIN:-$top}	# where ddtargetd and ddt are built
ec=
format=table

while [ $# -gt 0 ]; do
	case $1 in
	--tree) tree=$2; shift 2 ;;
	--tools) tools=$2; shift 2 ;;
	--work) work=$2; shift 2 ;;
	--ec) ec=$2; shift 2 ;;
	--format) format=$2; shift 2 ;;
	--json) format=json; shift ;;
	--csv) format=csv; shift ;;
	-h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "smallfiles.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
case $format in table|csv|json) ;; *) die "--format: table, csv or json" ;; esac
tree=$(cd "$tree" 2>/dev/null && pwd -P) || die "--tree: no directory $tree"
for t in $tools; do
	case $t in
	ddt) [ -x "$bin/ddt" ] && [ -x "$bin/ddtargetd" ] || die "build ddt and ddtargetd first" ;;
	restic) command -v restic >/dev/null || die "apt-get install restic" ;;
	borg) command -v borg >/dev/null || die "apt-get install borgbackup" ;;
	cp) ;;
	*) die "unknown tool $t" ;;
	esac
done

# As peers.sh: nothing is removed during a run (ext4 is slow to create
# files just after a mass delete), a left-over work directory is removed,
# synced and given 60 s.
if [ -e "$work" ]; then
	rm -rf "$work"
	sync
	sleep 60
fi
mkdir -p "$work" || die "cannot create $work"
[ -n "${DDT_SMALL_KEEP:-}" ] || trap 'bench_cleanup; rm -rf "$work"' EXIT

# Warm the page cache (and the inode and dentry caches) for everyone alike.
tar -cf - -C "$tree" . 2>/dev/null | cat >/dev/null

# same NAME DIR: DIR holds the tree as it is (names, bytes, link targets).
same() {
	diff -rq --no-dereference "$tree" "$2" >"$work/$1-diff.log" 2>&1 ||
		echo "smallfiles.sh: $1's restore differs from $tree ($(wc -l <"$work/$1-diff.log") lines in $work/$1-diff.log)" >&2
}

status_key() {
	ddt status --json | python3 -c 'import json, sys; print(json.load(sys.stdin).get(sys.argv[1], "-"))' "$1"
}

bench_ddt() {
	local name id c
	store=$work/ddt-store
	export DDT_CACHE_DIR=$work/ddt-cache
	daemon_start ${ec:+--ec "$ec"}
	ddt su create bench >/dev/null || die "ddt su create failed"
	name="ddt $(status_key ec_k)+$(status_key ec_m)"
	c=("$bin/ddt" -p "$port")
	bench_step "$name" backup "${c[@]}" backup "$tree" --su bench --name tree
	id=$(ddt list --su bench | awk '$1 ~ /^tree@/ { print $1; exit }')
	bench_step "$name" restore "${c[@]}" restore "$id" "$work/ddt-restore" --su bench &&
		same ddt "$work/ddt-restore"
	bench_bytes "$name" "$(status_key stored_bytes)" \
		"$(status_key physical_bytes)" "$(du -sb "$store" | cut -f1)"
	daemon_stop 2>/dev/null
}

bench_restic() {
	local snap b
	export RESTIC_REPOSITORY=$work/restic RESTIC_PASSWORD=bench
	restic init >/dev/null 2>&1 || die "restic init failed"
	bench_step restic backup restic backup "$tree"
	snap=$(restic snapshots --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["short_id"])')
	bench_step restic restore restic restore "$snap" --target "$work/restic-restore" &&
		same restic "$work/restic-restore$tree"
	b=$(du -sb "$work/restic" | cut -f1)
	bench_bytes restic "$b" "$b" "$b"
}

bench_borg() {
	local b
	export BORG_REPO=$work/borg BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
	borg init -e none >/dev/null 2>&1 || die "borg init failed"
	bench_step borg backup borg create ::tree "$tree"
	mkdir -p "$work/borg-restore"
	bench_step borg restore sh -c "cd '$work/borg-restore' && exec borg extract ::tree" &&
		same borg "$work/borg-restore$tree"
	b=$(du -sb "$work/borg" | cut -f1)
	bench_bytes borg "$b" "$b" "$b"
}

for t in $tools; do
	case $t in
	ddt) bench_ddt ;;
	restic) bench_restic ;;
	borg) bench_borg ;;
	cp) bench_step "cp -a" restore cp -a "$tree" "$work/cp-copy" ;;
	esac
done

if [ "$format" = table ]; then
	printf 'tree: %s, %s files and directories, %s MB (MB = 10^6 bytes); %d cores, load average %s\n\n' \
		"$tree" "$(find "$tree" | wc -l)" \
		"$(($(du -sb "$tree" | cut -f1) / 1000000))" "$(nproc)" \
		"$(cut -d' ' -f1-3 /proc/loadavg)"
fi
bench_report "$format" --floor "cp -a"
