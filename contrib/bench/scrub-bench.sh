#!/bin/sh
# scrub-bench.sh - how fast a scrub examines a store: ingest part of the
# shared benchmark data set into a fresh store with ddtstore, then time
# `ddtstore scrub` over it twice and print GB examined and MB/s. See
# README.md here.
set -eu

usage() {
	cat <<EOF2
usage: scrub-bench.sh [OPTIONS]

Ingests PATH (by default gen1/usr_lib_jvm of the benchmark data set, about
560 MB) into a fresh store with ddtstore, then scrubs it twice ("warm"
and "cold": fragments are written with O_DIRECT and a scrub drops each
from the page cache after reading it, so both now read from the disk).
Prints GB examined (fragment bytes, parity and headers included; GB =
10^9 bytes) and MB/s for both.

  --data DIR      the data set (default \$DDT_BENCH_DATA or
                  /var/tmp/ddt-bench-data; built with mkdata.py if absent)
  --mkdata FILE   the generator (default \$DDT_MKDATA or
                  <repo>/../shared/bench/mkdata.py)
  --path PATH     what to ingest, absolute or under the data set
                  (default gen1/usr_lib_jvm)
  --store DIR     where the temporary store goes (default /var/tmp)
  --bin FILE      ddtstore (default \$DDTSTORE_BIN or <repo>/ddtstore)
  --keep          keep the store afterwards
  -h, --help      show this text
EOF2
}

. "$(dirname "$0")/common.sh"

data=${DDT_BENCH_DATA:-/var/tmp/ddt-bench-data}
mkdata=${DDT_MKDATA:-$top/../shared/bench/mkdata.py}
bin=${DDTSTORE_BIN:-$top/ddtstore}
path=gen1/usr_lib_jvm
base=/var/tmp
keep=0

while [ $# -gt 0 ]; do
	case $1 in
	--data|--mkdata|--path|--store|--bin)
		[ $# -ge 2 ] || die "$1 needs an argument; see --help"
		case $1 in
		--data) data=$2 ;;
		--mkdata) mkdata=$2 ;;
		--path) path=$2 ;;
		--store) base=$2 ;;
		--bin) bin=$2 ;;
		esac
		shift 2 ;;
	--keep) keep=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) die "unknown option '$1'; see --help" ;;
	esac
done

[ -x "$bin" ] || die "no ddtstore at $bin; build it, or give --bin"
case $path in
/*) src=$path ;;
*)
	src=$data/$path
	bench_data "$data" "$mkdata" ;;
esac
[ -e "$src" ] || die "nothing to ingest at $src"

store=$(mktemp -d "$base/ddt-scrub-bench-XXXXXX") ||
	die "cannot make a store under $base"
cleanup() {
	[ "$keep" = 1 ] || rm -rf "$store"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "scrub-bench.sh: ingesting $src into $store" >&2
"$bin" -s "$store/s" ingest "$src" >"$store/ingest.out" ||
	die "ingest failed; see above"
grep -E '^(logical bytes|bytes stored|throughput):' "$store/ingest.out" |
	sed 's/^/  ingest /'
"$bin" -s "$store/s" stats >"$store/stats.out" || die "stats failed"
grep -E '^(containers|physical bytes):' "$store/stats.out" | sed 's/^/  store  /'

# run LABEL: one scrub, its first line kept; prints "LABEL: X GB ... MB/s".
run() {
	"$bin" -s "$store/s" scrub >"$store/scrub-$1.out" ||
		die "scrub found problems in a fresh store; see $store/scrub-$1.out"
	line=$(head -n 1 "$store/scrub-$1.out")
	echo "  $1: $line"
	echo "$line" | awk -v label="$1" '{
		for (i = 1; i <= NF; i++) {
			if ($(i + 1) == "MB" && $(i + 2) == "examined") mb = $i
			if ($(i + 1) == "MB/s);") { r = $i; sub(/^\(/, "", r) }
		}
		printf "scrub-bench: %s: %.3f GB examined at %s MB/s\n", label, mb / 1000, r
	}'
}

run warm
run cold
