#!/bin/bash
# ddtstore.sh - end to end: ingest a small tree with the ddtstore tool,
# check it, read it back, lose data directories one by one until erasure
# coding can no longer cover the loss, and see every failure said in one line.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/tap.sh"

prog=${DDTSTORE_BIN:-$top_builddir/ddtstore}
[ -x "$prog" ] || tap_bail "no ddtstore at $prog (build it first)"
unset DDTSTORE		# the store is always given with -s

dir=$(tap_tmpdir ddtstore) || tap_bail "mktemp -d failed"
trap 'tap_rmtree "$dir"' EXIT
tree=$dir/tree
st=$dir/store

# run NAME ARG...: run ddtstore, output in $dir/NAME.out and NAME.err, exit
# status in $rc; stderr is copied to the log as a comment.
run() {
	local name=$1
	shift
	"$prog" "$@" >"$dir/$name.out" 2>"$dir/$name.err"
	rc=$?
	[ -s "$dir/$name.err" ] && tap_diag "$(cat "$dir/$name.err")"
	return 0
}

# field NAME KEY: the value of a "key: value" line of NAME.out.
field() {
	sed -n "s/^$2: *//p" "$dir/$1.out" | head -n 1
}

# one_line NAME: stderr of NAME is exactly one "ddtstore: " line.
one_line() {
	[ "$(wc -l <"$dir/$1.err")" -eq 1 ] && grep -q '^ddtstore: ' "$dir/$1.err"
}

# A varied tree, over 8 MiB so that at least two 4 MiB containers are
# sealed and their fragments land in the data directories.
mkdir -p "$tree/sub/deeper" || tap_bail "mkdir failed"
: >"$tree/empty"
printf 'x' >"$tree/tiny"
head -c $((6 * 1024 * 1024)) /dev/urandom >"$tree/random1" &&
head -c $((4 * 1024 * 1024)) /dev/urandom >"$tree/sub/random2" &&
seq 1 50000 >"$tree/sub/text" &&
cp "$tree/sub/text" "$tree/sub/deeper/text-copy" &&
ln -s random1 "$tree/link-to-random1" || tap_bail "could not build the tree"

# 4+2, as over separate disks, given once at creation: this test loses
# directories two and three at a time (on one file system the default is
# 8+1; checked at the end). Later commands take the code the store keeps.
run ingest1 -s "$st" --k 4 --m 2 ingest "$tree"
tap_is "$rc" 0 "ingest of a new tree succeeds"
tap_is "$(field ingest1 files)" 6 "ingest counts the 6 regular files, not the link"
new1=$(field ingest1 'new segments')
tap_ok "first ingest stores new segments ($new1)" test "${new1:-0}" -gt 0
sed 's/^/# /' "$dir/ingest1.out"

run check1 -s "$st" check "$tree"
tap_is "$rc" 0 "check of the ingested tree passes"
tap_is "$(field check1 ok)" 6 "check finds all 6 files ok"

run scrub0 -s "$st" scrub
tap_is "$rc" 0 "scrub of a sound store exits 0"
tap_ok "scrub prints containers, bytes examined and throughput" \
	grep -Eq '^scrub: [1-9][0-9]* containers, [0-9.]+ MB examined in [0-9.]+ s \([0-9.]+ MB/s\); nothing left to repair$' "$dir/scrub0.out"
sed 's/^/# /' "$dir/scrub0.out"

run ingest2 -s "$st" ingest "$tree"
tap_is "$rc" 0 "second ingest succeeds"
tap_is "$(field ingest2 'new segments')" 0 "second ingest stores 0 new segments"
tap_is "$(field ingest2 'bytes stored')" "0 (0 B)" "second ingest stores 0 bytes"

# cat_same FILE: ddtstore cat FILE exits 0 and gives FILE's bytes.
cat_same() {
	"$prog" -s "$st" cat "$1" >"$dir/cat.out" 2>"$dir/cat.err" &&
		cmp "$dir/cat.out" "$1"
}

for f in empty tiny random1 sub/text; do
	tap_ok "cat $f gives back identical bytes" cat_same "$tree/$f"
done

# A changed file is reported and fails the check; put it back after.
cp "$tree/tiny" "$dir/tiny.orig"
printf 'y' >"$tree/tiny"
run check_diff -s "$st" check "$tree"
tap_is "$rc" 1 "check of a changed file exits 1"
tap_ok "check names the changed file" grep -q "^differs: .*/tiny" "$dir/check_diff.out"
cp "$dir/tiny.orig" "$tree/tiny"

printf 'new' >"$dir/never-ingested"
run check_missing -s "$st" check "$dir/never-ingested"
tap_is "$rc" 1 "check of a file never ingested exits 1"
tap_is "$(field check_missing missing)" 1 "check counts it as missing"

run stats -s "$st" stats
tap_is "$rc" 0 "stats succeeds"
tap_ok "stats shows the 4+2 geometry" grep -q '^geometry: *4+2 over 6' "$dir/stats.out"
ctrs=$(sed -n 's/^containers: *\([0-9]*\).*/\1/p' "$dir/stats.out")
tap_ok "containers were sealed (${ctrs:-none})" test "${ctrs:-0}" -ge 2
sed 's/^/# /' "$dir/stats.out"

tap_ok "data/dir1 and data/dir4 hold fragments" \
	test -n "$(ls -A "$st/data/dir1")" -a -n "$(ls -A "$st/data/dir4")"
rm -rf "$st/data/dir1" "$st/data/dir4"
run check_m2 -s "$st" check "$tree"
tap_is "$rc" 0 "check passes with 2 of 6 data directories lost"
tap_ok "cat rebuilds random1 with 2 directories lost" cat_same "$tree/random1"

run scrub_ro -s "$st" scrub --no-repair
tap_is "$rc" 1 "scrub --no-repair of a store missing 2 directories exits 1"
tap_ok "it says it changed nothing" grep -q 'report only, nothing changed' "$dir/scrub_ro.out"
tap_ok "and left the lost directories empty" \
	test -z "$(ls "$st/data/dir1")" -a -z "$(ls "$st/data/dir4")"
run scrub_m2 -s "$st" scrub
tap_is "$rc" 0 "scrub rebuilds the 2 lost directories and exits 0"
tap_is "$(field scrub_m2 fragments | sed 's/.* \([0-9]*\) rebuilt/\1/')" $((2 * ctrs)) \
	"it rebuilt 2 fragments of each of the $ctrs containers"
sed 's/^/# /' "$dir/scrub_m2.out"
run scrub_again -s "$st" scrub
tap_ok "a second scrub finds nothing" grep -q ' 0 missing, 0 damaged, 0 rebuilt' "$dir/scrub_again.out"

rm -rf "$st/data/dir1" "$st/data/dir2" "$st/data/dir4"
run check_m3 -s "$st" check "$tree"
tap_is "$rc" 1 "check fails with 3 of 6 data directories lost (exit 1, no signal)"
tap_ok "the failure mentions the missing fragments" grep -qi 'fragment' "$dir/check_m3.err"
tap_ok "the failure says what to do" grep -q '^ddtstore: check .*(.*)$' "$dir/check_m3.err"

run scrub_m3 -s "$st" scrub
tap_is "$rc" 1 "scrub with 3 of 6 directories lost exits 1"
tap_ok "it names the lost containers" grep -q '^lost container: *[0-9]' "$dir/scrub_m3.out"
tap_ok "and the ingested files they held" grep -q "^affected file: *$tree/" "$dir/scrub_m3.out"

run geometry -s "$st" --k 2 --m 1 stats
tap_is "$rc" 1 "reopening with --k 2 --m 1 is refused"
tap_ok "the refusal is one clear line" one_line geometry
tap_ok "the refusal names the geometry it was created with" grep -q 'k=4 m=2' "$dir/geometry.err"

run default -s "$dir/default-store" ingest "$tree/tiny"
run default_stats -s "$dir/default-store" stats
tap_ok "a new store on one file system gets 8+1 over 9 directories" \
	grep -q '^geometry: *8+1 over 9' "$dir/default_stats.out"
tap_ok "and stats says why" grep -q '^ *(data directories share one file system: parity guards against bad sectors, not a lost disk' \
	"$dir/default_stats.out"

run unknown -s "$st" frobnicate
tap_is "$rc" 2 "an unknown command exits 2"
tap_ok "an unknown command is one line" one_line unknown

run noargs -s "$st" ingest
tap_is "$rc" 2 "ingest without a PATH exits 2"

run nostore -s "$dir/no-such-store" stats
tap_is "$rc" 1 "stats of a missing store exits 1"
tap_ok "a missing store is one line" one_line nostore
tap_ok "stats did not create the missing store" test ! -e "$dir/no-such-store"

run help --help
tap_ok "--help exits 0 and lists the commands" \
	test "$rc" -eq 0 -a -n "$(grep -w ingest "$dir/help.out")"

tap_done
