#!/bin/bash
# mitm.sh - end-to-end verification: a man in the middle (tests/mitm.py)
# flips one bit of a segment in every READ reply on its way to ddt
# restore. The restore must fail, naming the file (its path, the inode and
# the offset), rather than write the changed bytes; straight to the
# target, the same backup restores identically.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/tap.sh"
TAG=mitm
. "$top_srcdir/tests/e2e.sh"

daemon_start
run su su create s
tap_is "$rc" 0 "a storage unit"
src=$dir/src
mkdir -p "$src" || tap_bail mkdir
head -c $((6 * 1024 * 1024)) /dev/urandom >"$src/big.bin"
seq 1 200000 >"$src/text.txt"		# compresses: lz4 on the wire
run b backup "$src" --su s --name m -q
id=$(field b backup)
tap_is "$rc" 0 "a backup of a random and a compressible file"

python3 "$top_srcdir/tests/mitm.py" "$port" "$dir/flips" >"$dir/mitm.port" &
mpid=$!
trap 'kill "$mpid" 2>/dev/null; e2e_cleanup' EXIT
for _ in $(seq 100); do [ -s "$dir/mitm.port" ] && break; sleep 0.05; done
mport=$(head -n 1 "$dir/mitm.port")
[ -n "$mport" ] || tap_bail "the man in the middle did not start"

"$ddt_bin" -p "$mport" restore "$id" "$dir/via" --su s -q \
	>"$dir/via.out" 2>"$dir/via.err"
rc=$?
tap_diag "via the man in the middle: $(cat "$dir/via.err")"
tap_ok "READ replies were tampered with" test -s "$dir/flips"
tap_is "$rc" 1 "the restore through him fails (status 1)"
tap_ok "naming the file, the inode and the offset" grep -qE \
	"restore $dir/via/big.bin: READ of inode [0-9]+: the [0-9]+-byte segment at offset [0-9]+ does not match its fingerprint" \
	"$dir/via.err"
tap_ok "a compressed segment changed is caught too" grep -qE \
	"restore $dir/via/text.txt: READ of inode [0-9]+: .*(does not match its fingerprint|does not decompress)" \
	"$dir/via.err"
tap_ok "and leaves no file with changed bytes behind" \
	test ! -e "$dir/via/big.bin" -a ! -e "$dir/via/text.txt"
stop_pid "$mpid"

run r restore "$id" "$dir/direct" --su s -q
tap_is "$rc" 0 "straight to the target the backup restores"
tap_ok "identically: big.bin" cmp -s "$src/big.bin" "$dir/direct/big.bin"
tap_ok "and text.txt" cmp -s "$src/text.txt" "$dir/direct/text.txt"

tap_done
