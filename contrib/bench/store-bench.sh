#!/bin/sh
# store-bench.sh - build the benchmark data set once (it is cached and
# reused) and run ddtbench on its first generation. See README.md here.
set -eu

usage() {
	cat <<EOF
usage: store-bench.sh [OPTIONS] [DDTBENCH-OPTIONS]

Builds the two-generation backup data set with mkdata.py (real system
files; about 2.3 GB per generation) into a cache directory, unless it is
already there, then runs ddtbench on one generation (gen1 by default).
Options it does not know are passed to ddtbench, e.g. --max-mb 512,
--codec zstd, --store /mnt/disk, --threads 1 (see ddtbench --help).

  --data DIR      cache directory for the data set
                  (default \$DDT_BENCH_DATA or /var/tmp/ddt-bench-data)
  --mkdata FILE   the generator (default \$DDT_MKDATA or
                  <repo>/../shared/bench/mkdata.py)
  --bin FILE      the benchmark program (default \$DDTBENCH or
                  <repo>/ddtbench; build it with 'make ddtbench')
  --gen NAME      generation to measure: gen1 (default) or gen2
  -h, --help      show this text
EOF
}

. "$(dirname "$0")/common.sh"

data=${DDT_BENCH_DATA:-/var/tmp/ddt-bench-data}
mkdata=${DDT_MKDATA:-$top/../shared/bench/mkdata.py}
bin=${DDTBENCH:-$top/ddtbench}
gen=gen1
nargs=0

# $2: how many arguments are left to look at, the option included.
need_arg() {
	[ "$2" -ge 2 ] || die "$1 needs an argument; see --help"
}

# Our options are taken out; the rest are rotated to the back of the list,
# in order, for ddtbench: when the loop ends they are all that is left.
while [ $# -gt "$nargs" ]; do
	case $1 in
	--data)   need_arg "$1" $(($# - nargs)); data=$2; shift 2 ;;
	--mkdata) need_arg "$1" $(($# - nargs)); mkdata=$2; shift 2 ;;
	--bin)    need_arg "$1" $(($# - nargs)); bin=$2; shift 2 ;;
	--gen)    need_arg "$1" $(($# - nargs)); gen=$2; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*)
		a=$1
		shift
		set -- "$@" "$a"
		nargs=$((nargs + 1))
		;;
	esac
done

case $gen in
gen1|gen2) ;;
*) die "--gen must be gen1 or gen2, not '$gen'" ;;
esac
[ -x "$bin" ] ||
	die "no benchmark program at $bin; run 'make ddtbench' in $top first"

bench_data "$data" "$mkdata"

echo "store-bench.sh: $bin ${*:+$* }$data/$gen" >&2
exec "$bin" "$@" "$data/$gen"
