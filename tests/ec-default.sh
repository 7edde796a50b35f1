#!/bin/bash
# ec-default.sh - end to end: a new store's erasure code fits its disks.
# Data directories on one file system give 8+1 (n-1 + 1 over fewer named
# directories), and ddt status (text and JSON) and the daemon's log say so
# and why; the store survives one lost directory; reopening keeps the code
# and refuses another. --ec and ec_k/ec_m override the default. Data
# directories on two file systems (a tmpfs, when root may mount one) give
# 4+2, named ones and the default layout's mount points alike.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/tap.sh"
TAG=ecdef
. "$top_srcdir/tests/e2e.sh"

# A STATUS or STATUS_TEXT key of ddt status --json.
key() {
	ddt status --json | python3 -c 'import json, sys; print(json.load(sys.stdin).get(sys.argv[1], "-"))' "$1"
}

# fresh NAME ARGS...: a daemon over a new store $dir/NAME, with ARGS.
fresh() {
	local name=$1
	shift
	store=$dir/$name
	rm -f "$DDT_KNOWN_HOSTS"	# a new store, a new certificate
	: >"$dir/daemon.log"
	daemon_start "$@"
}

# code: "K+M over N, ORIGIN" as the running target reports it.
code() {
	echo "$(key ec_k)+$(key ec_m) over $(key data_dirs), $(key ec_origin)"
}

# ---- one file system: 8+1, said and logged ----
fresh one
tap_is "$(code)" "8+1 over 9, one-filesystem" \
	"a new store on one file system gets 8+1 over 9 data directories"
tap_ok "ec_reason says why and what to do" sh -c \
	"'$ddt_bin' -p $port status --json | grep -q '\"ec_reason\": \"data directories share one file system: parity guards against bad sectors, not a lost disk; give data directories on separate disks for 4+2\"'"
run st status
tap_ok "ddt status prints the code and the reason under it" sh -c \
	"grep -A1 '^storage: *erasure code 8+1 over 9 data directories' '$dir/st.out' | grep -q '(data directories share one file system: parity guards'"
tap_ok "the daemon logged the code and why at creation" \
	grep -q 'erasure code 8+1 over 9 data directories (data directories share one file system' "$dir/daemon.log"
tap_is "$(ls "$store/data" | wc -l)" 9 "nine data directories were made"

# ---- it keeps data through one lost directory ----
mkdir -p "$dir/tree"
head -c $((12 * 1024 * 1024)) /dev/urandom >"$dir/tree/big" || tap_bail "no test data"
seq 1 100000 >"$dir/tree/text"
run su su create u
run b backup "$dir/tree" --su u --name t -q
tap_is "$rc" 0 "a 12 MiB backup on the 8+1 store"
id=$(field b backup)
daemon_stop
rm -rf "$store/data/dir3"
daemon_start
tap_is "$(code)" "8+1 over 9, one-filesystem" "reopened, the store keeps 8+1 and its reason"
run r restore "$id" "$dir/back" --su u
tap_is "$rc" 0 "with one data directory gone it still restores"
tap_ok "byte for byte (one parity fragment rebuilt what was lost)" diff -r "$dir/tree" "$dir/back"
daemon_stop

"$daemon_bin" -s "$store" -p "$port" --ec 4+2 >"$dir/other.out" 2>&1
rc=$?
tap_ok "reopening it with --ec 4+2 is refused" test "$rc" -ne 0
tap_ok "in a line that names the code it was made with" \
	grep -q 'created with k=8 m=1 over 9 directories' "$dir/other.out"
daemon_start
tap_is "$(code)" "8+1 over 9, one-filesystem" "and the store is unchanged"
daemon_stop

# ---- the configuration overrides the default ----
fresh given --ec 4+2
tap_is "$(code)" "4+2 over 6, given" "--ec 4+2 on one file system still gives 4+2"
tap_ok "its reason says it was given" sh -c \
	"'$ddt_bin' -p $port status | grep -q '(set by the configuration when the store was created)'"
daemon_stop
fresh keys --set ec_k=2 --set ec_m=1
tap_is "$(code)" "2+1 over 3, given" "ec_k = 2, ec_m = 1 in the configuration give 2+1"
daemon_stop

# ---- fewer named directories on one file system: n-1 + 1 ----
fresh six --set "data_dirs=$dir/six-d/0,$dir/six-d/1,$dir/six-d/2,$dir/six-d/3,$dir/six-d/4,$dir/six-d/5"
tap_is "$(code)" "5+1 over 6, one-filesystem" "six named data directories on one file system give 5+1"
daemon_stop

# ---- two file systems: 4+2 ----
mnt=$dir/mnt
mkdir -p "$mnt"
if [ "$(id -u)" -ne 0 ] || ! mount -t tmpfs -o size=64m tmpfs "$mnt" 2>/dev/null; then
	for _ in 1 2 3; do
		tap_skip "needs root to mount a tmpfs as a second file system"
	done
	tap_done
	exit 0
fi
fresh two --set "data_dirs=$dir/two-d/0,$dir/two-d/1,$dir/two-d/2,$mnt/d3,$mnt/d4,$mnt/d5"
tap_is "$(code)" "4+2 over 6, separate-filesystems" \
	"data directories on two file systems (three on a tmpfs) give 4+2"
tap_ok "ec_reason says how many may be lost" sh -c \
	"'$ddt_bin' -p $port status --json | grep -q '\"ec_reason\": \"data directories on separate file systems: any 2 of them may be lost\"'"
daemon_stop
# The default layout's places made mount points before the first start.
bound=$dir/layout/data/dir0
mkdir -p "$bound" "$mnt/layout0" && mount --bind "$mnt/layout0" "$bound" ||
	tap_bail "cannot bind-mount the tmpfs"
trap 'mountpoint -q "$bound" && umount "$bound"; e2e_cleanup' EXIT
fresh layout
tap_is "$(code)" "4+2 over 6, separate-filesystems" \
	"the default layout with data/dir0 a mount point of another file system gives 4+2"
daemon_stop
tap_done
