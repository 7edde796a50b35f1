#!/bin/bash
# rfile-bench.sh - random-access files (the gateways' layer) against the
# sequential writer, through a real ddtargetd on a fresh store: MIB MiB of
# unique data written in order and committed by ddtc_file and by rfile
# (1 MiB writes, flushed every 64 MiB, as a gateway does), a 1-byte
# rewrite and commit, the same data again through rfile, and `ddt backup`
# of a file of as many unique bytes. Prints MB/s (10^6 bytes), seconds,
# and what went on the wire. See README.md here.
#
# usage: contrib/bench/rfile-bench.sh [--mib N] [--work DIR]
# N defaults to 1024; binaries from the top of the tree, or $DDT_BIN.
set -u
. "$(dirname "$0")/common.sh"
mib=1024
work=${DDT_RFILE_WORK:-/var/tmp/ddt-rfile-bench}
bin=${DDT_BIN:-$top}

while [ $# -gt 0 ]; do
	case $1 in
	--mib) mib=$2; shift 2 ;;
	--work) work=$2; shift 2 ;;
	-h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "rfile-bench.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
for b in ddtargetd ddt rfilebench; do
	[ -x "$bin/$b" ] || die "build $bin/$b first (make; make rfilebench)"
done
rm -rf "$work"
mkdir -p "$work/src" || die "cannot create $work"
trap 'bench_cleanup; rm -rf "$work"' EXIT
store=$work/store
export DDT_CACHE_DIR=$work/cache
daemon_start
echo "rfile-bench: $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
"$bin/rfilebench" "$port" "$DDT_PASSWORD" "$mib" || die "rfilebench failed"

# ddt backup of as many unique bytes, from the page cache.
head -c $((mib << 20)) /dev/urandom >"$work/src/unique" || die "no data"
cat "$work/src/unique" >/dev/null
ddt su create b >/dev/null || die "su create failed"
t0=$(now)
ddt backup "$work/src" --su b -q >"$work/backup.out" 2>&1 ||
	die "ddt backup failed, see $work/backup.out"
t1=$(now)
awk -v a="$t0" -v b="$t1" -v m="$mib" 'BEGIN {
	printf "%-34s %8.1f MB/s %8.3f s\n", "ddt backup, unique",
	       m * 1048576 / (b - a) / 1e6, b - a }'
daemon_stop
