#!/bin/bash
# nfs-full.sh - ddt-nfsd over a store on a real, small filesystem (a
# 160 MiB tmpfs): a file that does not fit is refused at its COMMIT with
# NFS3ERR_NOSPC, before the disk fills; what was committed before reads
# back whole, the gateway and ddtargetd keep serving, also after a kill -9
# of the gateway. Needs root to mount the tmpfs.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/tap.sh"
TAG=nfsfull
. "$top_srcdir/tests/e2e.sh"

command -v nfs-cp >/dev/null || tap_bail "nfs-cp not found: install libnfs-utils"
nfsc=$top_builddir/tests/nfsclient
mnt=$dir/mnt
store=$mnt/store
mkdir -p "$mnt"
if [ "$(id -u)" -ne 0 ] || ! mount -t tmpfs -o size=160m tmpfs "$mnt" 2>/dev/null; then
	echo "1..0 # SKIP needs root to mount a size-limited tmpfs"
	exit 0
fi
gpid=
full_cleanup() {
	[ -n "$gpid" ] && stop_pid "$gpid"
	e2e_cleanup
}
trap full_cleanup EXIT

head -c $((8 << 20)) /dev/urandom >"$dir/small" &&
	head -c $((200 << 20)) /dev/urandom >"$dir/big" || tap_bail "no test data"
daemon_start
ddt su create f >/dev/null || tap_bail "su create"
printf '%s\n' "$DDT_PASSWORD" >"$dir/password"
gport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$dir/nfsd.conf" <<CONF
[target]
port = $port
password_file = $dir/password
[server]
listen = 127.0.0.1
nfs_port = $gport
mount_port = $gport
rpcbind = no
[export f]
root_squash = no
CONF
gw_start() {
	"$top_builddir/ddt-nfsd" -c "$dir/nfsd.conf" >"$dir/gw.out" 2>>"$dir/gw.log" &
	gpid=$!
	for _ in $(seq 200); do
		grep -q listening "$dir/gw.out" 2>/dev/null && return 0
		sleep 0.05
	done
	tap_bail "ddt-nfsd did not start: $(tail -3 "$dir/gw.log")"
}
U="?nfsport=$gport&mountport=$gport"
# put NAME: copy $dir/NAME in, then fsync it (NFS COMMIT) with nfsclient.
put() {
	nfs-cp "$dir/$1" "nfs://127.0.0.1/f/$1$U" >/dev/null 2>"$dir/put-$1.err" &&
		"$nfsc" "nfs://127.0.0.1/f$U" write "/$1" 0 0 2>>"$dir/put-$1.err"
}
gw_start

put small
tap_check $? "an 8 MiB file is written and committed over NFS"
put big
tap_is "$?" 1 "a 200 MiB file is refused"
grep -q NFS3ERR_NOSPC "$dir/put-big.err"
tap_check $? "with NFS3ERR_NOSPC at its COMMIT"
[ -n "$(head -c 300 "$dir/put-big.err")" ] && tap_diag "$(head -c 300 "$dir/put-big.err")"
avail=$(df -P -k "$mnt" | awk 'NR == 2 { print $4 }')
[ "$avail" -gt 8192 ]
tap_check $? "refused before the disk filled (${avail} KiB free)"
nfs-cp "nfs://127.0.0.1/f/small$U" "$dir/small.1" >/dev/null 2>&1 &&
	cmp -s "$dir/small" "$dir/small.1"
tap_check $? "the committed file reads back whole over NFS"
ddt status >/dev/null 2>&1
tap_check $? "ddtargetd still serves"

kill -9 "$gpid"
wait "$gpid" 2>/dev/null
gpid=
gw_start
nfs-cp "nfs://127.0.0.1/f/small$U" "$dir/small.2" >/dev/null 2>&1 &&
	cmp -s "$dir/small" "$dir/small.2"
tap_check $? "after kill -9 of the gateway, a new one serves it whole"

ddt restore / "$dir/r" --su f --path small -q >/dev/null 2>&1 &&
	cmp -s "$dir/small" "$dir/r/small"
tap_check $? "and ddt restore gives it back whole"

tap_done
