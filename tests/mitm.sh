#!/bin/bash
# mitm.sh - a man in the middle (tests/mitm.py) flips bits on their way
# to ddt restore. Over TLS (the default) he can only flip a bit of a
# record, and the TLS session breaks at once (a bad record MAC), before
# any byte reaches the file. With plaintext (a target set
# tls=loopback-plain, ddt --no-tls) he flips one bit of a segment in every
# READ reply, and end-to-end verification catches it: the restore fails,
# naming the file (its path, the inode and the offset), rather than write
# the changed bytes. Straight to the target, the backup restores
# identically.
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

# mitm_start [tls]: the man in the middle, relaying to the target;
# sets mpid and mport.
mitm_start() {
	rm -f "$dir/mitm.port" "$dir/flips"
	python3 "$top_srcdir/tests/mitm.py" "$port" "$dir/flips" "$@" \
		>"$dir/mitm.port" &
	mpid=$!
	for _ in $(seq 100); do [ -s "$dir/mitm.port" ] && break; sleep 0.05; done
	mport=$(head -n 1 "$dir/mitm.port")
	[ -n "$mport" ] || tap_bail "the man in the middle did not start"
}
mpid=
trap '[ -n "$mpid" ] && kill "$mpid" 2>/dev/null; e2e_cleanup' EXIT

# ---- over TLS: the session breaks ----
mitm_start tls
"$ddt_bin" -p "$mport" restore "$id" "$dir/tls" --su s -q \
	>"$dir/tls.out" 2>"$dir/tls.err"
rc=$?
tap_diag "over TLS via the man in the middle: $(cat "$dir/tls.err")"
tap_ok "a bit of the TLS stream was flipped" test -s "$dir/flips"
tap_is "$rc" 1 "the TLS restore through him fails (status 1)"
tap_ok "TLS breaks the session: a bad record MAC" \
	grep -qiE "lost: .*(bad record mac|decrypt)" "$dir/tls.err"
tap_ok "before the segment check (nothing reached it)" \
	sh -c "! grep -q 'does not match its fingerprint' '$dir/tls.err'"
tap_ok "and leaves no file with changed bytes behind" sh -c \
	"for f in big.bin text.txt; do [ ! -e '$dir/tls/'\$f ] || cmp -s '$src/'\$f '$dir/tls/'\$f || exit 1; done"
stop_pid "$mpid"

# ---- in plaintext: end-to-end verification ----
daemon_stop || tap_bail "the daemon did not stop"
daemon_start --set tls=loopback-plain
mitm_start
"$ddt_bin" -p "$mport" --no-tls restore "$id" "$dir/via" --su s -q \
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
mpid=

run r restore "$id" "$dir/direct" --su s -q
tap_is "$rc" 0 "straight to the target (TLS) the backup restores"
tap_ok "identically: big.bin" cmp -s "$src/big.bin" "$dir/direct/big.bin"
tap_ok "and text.txt" cmp -s "$src/text.txt" "$dir/direct/text.txt"

tap_done
