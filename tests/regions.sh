#!/bin/bash
# regions.sh - end to end: compression regions through a real ddtargetd. A
# store written without regions (format 1 containers) and then with them
# (format 2) holds both, stores fewer bytes than the segments as sent,
# restores every backup byte for byte whatever the setting at the time,
# cleans (copying live segments forward out of both formats) and scrubs
# clean; bad settings are refused in one line.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/tap.sh"
TAG=regions
. "$top_srcdir/tests/e2e.sh"

# text DIR MB SEED: a file of words, compressible, different per seed
text() {
	mkdir -p "$1"
	python3 -c "
import random
r = random.Random($3)
words = [''.join(r.choice('abcdefghijklmnop') for _ in range(r.randint(2, 9))) for _ in range(2000)]
out = []
n = 0
while n < $2 * 1048576:
    w = r.choice(words)
    out.append(w)
    n += len(w) + 1
open('$1/words.txt', 'w').write(' '.join(out))
" || tap_bail "test data"
}
# mixed DIR MB SEED: words and as many MiB of random bytes
mixed() {
	text "$1" "$2" "$3"
	head -c $(($2 * 1024 * 1024)) /dev/urandom >"$1/random.bin"
}
# fragments MAGIC: how many fragment files hold a container header MAGIC
fragments() { grep -rl --include='*.frag' "$1" "$store/data" | wc -l; }
# key NAME: a figure of ddt status --json
key() {
	ddt status --json | python3 -c "
import json, sys
def find(d):
    for k, v in d.items():
        if k == '$1':
            return v
        if isinstance(v, dict):
            f = find(v)
            if f is not None:
                return f
print(find(json.load(sys.stdin)))"
}
# restores ID TREE DESC
restores() {
	local out=$dir/r.$RANDOM
	run restore restore "$1" "$out" --su u -q
	tap_ok "$3" diff -r "$2" "$out"
	rm -rf "$out"
}

# ---- bad settings ----
"$daemon_bin" -s "$dir/bad" -p "$port" --set region_compression=brotli \
	>"$dir/bad1.out" 2>&1
tap_ok "an unknown region codec is refused" test $? -ne 0
tap_ok "in a line that names it" grep -q "region_compression: 'brotli'" "$dir/bad1.out"
"$daemon_bin" -s "$dir/bad" -p "$port" --set region_kb=4096 >"$dir/bad2.out" 2>&1
tap_ok "a region over 1 MiB is refused" test $? -ne 0
tap_ok "in a line that names it" grep -q "region_kb" "$dir/bad2.out"

# ---- format 1: the segments as the client sent them ----
daemon_start --set region_compression=none
run su su create u
tap_is "$rc" 0 "storage unit created"
# Small live backups beside large dead ones: they share containers, which
# the clean then copies forward.
mixed "$dir/k1" 1 1
mkdir -p "$dir/g1" && head -c $((5 * 1024 * 1024)) /dev/urandom >"$dir/g1/dead.bin"
run b1 backup "$dir/k1" --su u --name keep -q
tap_is "$rc" 0 "a backup without regions"
k1=$(field b1 backup)
run b2 backup "$dir/g1" --su u --name gone --retain 1s -q
tap_is "$rc" 0 "and one to expire"
daemon_stop
tap_is "$(fragments DDTCTR02)" 0 "no container has regions"
v1=$(fragments DDTCTR01)
tap_ok "its containers are format 1 ($v1)" test "$v1" -gt 0

# ---- format 2, in the same store ----
daemon_start
mixed "$dir/k2" 1 3
text "$dir/t2" 1 4
mkdir -p "$dir/g2" && head -c $((5 * 1024 * 1024)) /dev/urandom >"$dir/g2/dead.bin"
run b3 backup "$dir/k2" --su u --name keep -q
tap_is "$rc" 0 "a backup with regions"
k2=$(field b3 backup)
run b4 backup "$dir/t2" --su u --name text -q
tap_is "$rc" 0 "a backup of text alone"
t2=$(field b4 backup)
run b5 backup "$dir/g2" --su u --name gone --retain 1s -q
tap_is "$rc" 0 "and another to expire"
daemon_stop
v2=$(fragments DDTCTR02)
tap_ok "the new containers are format 2 ($v2)" test "$v2" -gt 0
# (The first daemon's open container may be sealed by the second, in
# format 2.)
tap_ok "format 1 containers remain beside them" test "$(fragments DDTCTR01)" -gt 0

daemon_start
stored=$(key stored_bytes)
sent=$(key ingest_stored_bytes)
tap_ok "stored bytes ($stored) are fewer than the bytes as sent ($sent)" \
	test "$stored" -lt "$sent"
restores "$k1" "$dir/k1" "the format 1 backup restores byte for byte"
restores "$k2" "$dir/k2" "the format 2 backup restores byte for byte"
restores "$t2" "$dir/t2" "the text backup too"

# ---- cleaning copies live segments forward out of both formats ----
sleep 1.2
run exp expire --su u
tap_is "$rc" 0 "ddt expire removes the two expired backups"
run cs clean start
tap_is "$rc" 0 "ddt clean start"
run cw clean watch -q
tap_is "$rc" 0 "the clean succeeds"
tap_diag "$(grep -i -E 'copied|reclaimed|containers' "$dir/cw.out" | head -3)"
tap_ok "it copied live segments forward" \
	grep -q -E '^cleaned: .*[1-9][0-9.]* [KMG]?i?B copied forward' "$dir/cw.out"
restores "$k1" "$dir/k1" "after the clean, the format 1 backup restores"
restores "$k2" "$dir/k2" "and the format 2 one"
restores "$t2" "$dir/t2" "and the text one"
run sc scrub start -q
run sw scrub watch -q
tap_is "$rc" 0 "a scrub finds nothing wrong"
tap_ok "nothing is left to repair" grep -q '^result: *nothing left to repair' "$dir/sw.out"
daemon_stop

# ---- the setting changes only what is sealed from then on ----
daemon_start --set region_compression=none --set region_level=9
restores "$k2" "$dir/k2" "with regions turned off, format 2 still reads"
daemon_stop
tap_is "$?" 0 "ddtargetd stops cleanly"
tap_done
