#!/bin/bash
# tenant-bench.sh - what dedup without a side channel costs (issue 15 item
# 5, PROTOCOL.md "Domains and dedup"): the same MIB MiB of unique data
# backed up by a user of the system domain (unfenced) and by a tenant's
# user (fenced: its FP_QUERY sees only its domain's segments), first and
# second time, beside each other on one target. Prints MB/s, the bytes
# each backup sent and what the target stored anew: a tenant sends once
# what another domain stored (and the target keeps it once); its second
# backup shows the fence's cost on the fast path of dedup (no client
# cache: every fingerprint goes through FP_QUERY).
#
# usage: contrib/bench/tenant-bench.sh [--mib N] [--runs R]
set -u
. "$(dirname "$0")/common.sh"
mib=512
runs=3
while [ $# -gt 0 ]; do
	case $1 in
	--mib) mib=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	-h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option $1" ;;
	esac
done
bin=${DDT_BIN:-$top}
work=$(mktemp -d "${TMPDIR:-/var/tmp}/ddt-tenant-bench-XXXXXX") || die mktemp
cleanup() { bench_cleanup; rm -rf "$work"; }
trap cleanup EXIT
store=$work/store
export DDT_CACHE_DIR=$work/cache
mkdir -p "$work/src"
for i in $(seq 8); do
	head -c $((mib << 17)) /dev/urandom >"$work/src/f$i" || die "no data"
done
daemon_start
echo 'tenant-pw' | ddt user add ten --level user --domain acme --password-stdin >/dev/null &&
	ddt su create sys >/dev/null && ddt su create ten --domain acme >/dev/null ||
	die "users and units"
stored() { ddt status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["stored_bytes"])'; }
# one WHO SU NAME LABEL: a backup, its MB/s and bytes on the wire
one() {
	local who=$1 su=$2 name=$3 label=$4 out t0 t1 s0 s1
	s0=$(stored)
	rm -rf "$DDT_CACHE_DIR"	# every fingerprint asked: FP_QUERY's cost
	t0=$(now)
	if [ "$who" = ten ]; then
		out=$(DDT_PASSWORD=tenant-pw "$bin/ddt" -p "$port" -u ten backup "$work/src" --su "$su" --name "$name" --no-cache)
	else
		out=$(ddt backup "$work/src" --su "$su" --name "$name" --no-cache)
	fi || die "backup $who $name failed"
	t1=$(now)
	s1=$(stored)
	printf '%-44s %8.1f MB/s  wire %12s  stored anew %12s\n' "$who: $label" \
		"$(echo "$mib * 1.048576 / ($t1 - $t0)" | bc -l)" \
		"$(echo "$out" | sed -n 's/^bytes on wire: *\([0-9]*\).*/\1/p')" \
		"$((s1 - s0))"
}
echo "tenant-bench: $mib MiB in 8 files; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
one admin sys first "first"
one ten ten first "first (another domain stored it)"
for r in $(seq "$runs"); do
	one admin sys "again$r" "again $r"
	one ten ten "again$r" "again $r"
done
