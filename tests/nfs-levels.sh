#!/bin/bash
# nfs-levels.sh - ddt-nfsd logged in as users of the levels its man page
# names (proto/PROTOCOL.md, Users and roles), with real NFS clients: a
# user of the restore level serves every export read-only (a write is
# NFS3ERR_ROFS at the gateway, nothing reaches the target, reads work); a
# user of the backup level cannot read (NFS3ERR_ACCES, and the gateway
# says why at start); a user of the user level reads and writes.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/tap.sh"
TAG=nfslv
. "$top_srcdir/tests/e2e.sh"
. "$top_srcdir/tests/nfsgw.sh"
nfsc=$top_builddir/tests/nfsclient
[ -x "$nfsc" ] || tap_bail "build tests/nfsclient first"
command -v nfs-cat >/dev/null || tap_bail "nfs-cat not found: install libnfs-utils"

# gw_start USER: ddt-nfsd logged in as USER (password USER-pw), export s.
gw_start() {
	printf '%s-pw\n' "$1" >"$dir/pw.$1"
	cat >"$dir/nfsd.conf" <<CONF
[target]
port = $port
user = $1
password_file = $dir/pw.$1
[server]
listen = 127.0.0.1
nfs_port = 0
mount_port = 0
rpcbind = no
[export s]
root_squash = no
CONF
	: >"$dir/gw.log"
	nfsgw_start "$dir/nfsd.conf"
}
gw_stop() { stop_pid "$gpid"; gpid=; }
nc() {
	local e=$1
	shift
	"$nfsc" "$(url "$e")" "$@" >"$dir/nc.out" 2>"$dir/nc.err"
}

daemon_start
ddt su create s >/dev/null || tap_bail "storage unit"
for lv in restore backup user; do
	echo "$lv-pw" | ddt user add "$lv" --level "$lv" --password-stdin \
		>/dev/null || tap_bail "user $lv"
done
src=$dir/src
mkdir -p "$src" && echo hello >"$src/a.txt" || tap_bail mkdir
run b backup "$src" --su s --name b1 -q
tap_is "$rc" 0 "a tree is backed up into s"
bk=$(field b backup)

gw_start restore
tap_ok "restore level: the gateway serves read-only, and says so" \
	grep -q 'user restore has the restore level: every export is served read-only' "$dir/gw.log"
tap_is "$(nfs-cat "$(url s "$bk/a.txt")" 2>&1)" hello "it reads"
nc s mkdir /x
grep -q EROFS "$dir/nc.err"
tap_check $? "a write (MKDIR) answers ROFS"
nfs-ls "$(url s)" >"$dir/ls1.out" 2>&1
tap_ok "and nothing was made (nfs-ls of the export)" \
	sh -c "grep -q b1 '$dir/ls1.out' && ! grep -q ' x\$' '$dir/ls1.out'"
gw_stop

gw_start backup
tap_ok "backup level: the gateway warns at start" \
	grep -q 'user backup has the backup level: NFS clients will be refused every read' "$dir/gw.log"
nfs-cat "$(url s "$bk/a.txt")" >"$dir/cat.out" 2>&1
tap_ok "a read is refused" sh -c "! grep -q hello '$dir/cat.out'"
gw_stop

gw_start user
nc s mkdir /y
tap_is $? 0 "user level: a write (MKDIR) is done"
tap_is "$(nfs-cat "$(url s "$bk/a.txt")" 2>&1)" hello "and a read"
gw_stop

daemon_stop
tap_done
