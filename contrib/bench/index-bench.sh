#!/bin/sh
# index-bench.sh - the fingerprint index at the scale of 1 TB of logical
# data (issue 16's goal: index RAM <= 2 GiB, >= 1 M duplicate lookups/s):
# builds idxbench and runs it at several sizes, one fresh store each,
# removed after. See README.md here ("The index at 1 TB").
set -eu

usage() {
	cat <<EOF
usage: index-bench.sh [OPTIONS] [SIZE...]

Runs idxbench once per SIZE (fingerprints indexed, K/M/G suffixes;
default: 16M 32M 64M 134M, 134M being 1 TB at 8 KiB segments, all
unique) and prints per size the fill rate, the process's memory and its
parts, duplicate lookups/s in stream and random order and new lookups/s on
1 and 2 threads, and the index's bytes on disk. Each store is made under
--store and removed when its run ends (134M needs about 15 GB there).

  --store DIR     where the stores are made (default \$TMPDIR or /tmp)
  --seconds S     seconds per lookup case (default 5)
  --bin FILE      the program (default \$IDXBENCH or <repo>/idxbench;
                  built with 'make idxbench' when it is the default)
  -h, --help      show this text
EOF
}

. "$(dirname "$0")/common.sh"

store=${TMPDIR:-/tmp}
seconds=5
bin=${IDXBENCH:-}

need_arg() {
	[ "$2" -ge 2 ] || die "$1 needs an argument; see --help"
}

sizes=
while [ $# -gt 0 ]; do
	case $1 in
	--store)   need_arg "$1" $#; store=$2; shift 2 ;;
	--seconds) need_arg "$1" $#; seconds=$2; shift 2 ;;
	--bin)     need_arg "$1" $#; bin=$2; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	-*)        die "unknown option $1; see --help" ;;
	*)         sizes="$sizes $1"; shift ;;
	esac
done
sizes=${sizes:-16M 32M 64M 134M}

if [ -z "$bin" ]; then
	bin=$top/idxbench
	make -C "$top" -s -j2 idxbench || die "cannot build idxbench"
fi
[ -x "$bin" ] || die "$bin: no such program; build it with 'make idxbench'"
[ -d "$store" ] || die "$store: no such directory"

for n in $sizes; do
	echo "== $n fingerprints ($(date -u +%H:%M:%S) UTC)"
	"$bin" --store "$store" --segments "$n" --seconds "$seconds" ||
		die "idxbench failed at $n fingerprints"
done
