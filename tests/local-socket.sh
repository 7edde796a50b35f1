#!/bin/bash
# local-socket.sh - the local socket by which the appliance's own gateways
# reach ddtargetd: made in the store at start (mode 0600, or 0660 with
# unix_socket_group), a login is still needed on it, what is written over
# it restores over TCP and back, it goes at a clean stop, one left by a
# killed daemon is taken over, something else at its path stops the
# daemon with one line, and unix_socket = none makes none. ddt-nfsd over
# it serves files with a real NFS client (tests/nfs.sh runs every NFS
# check over it).
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/tap.sh"
TAG=usock
. "$top_srcdir/tests/e2e.sh"
. "$top_srcdir/tests/nfsgw.sh"
sock=$store/ddtargetd.sock
# lddt ARGS...: ddt over the local socket, output in $dir/l.out / l.err
lddt() { "$ddt_bin" -H "$sock" "$@" >"$dir/l.out" 2>"$dir/l.err"; }

daemon_start
tap_ok "the daemon makes its local socket in the store" test -S "$sock"
tap_is "$(stat -c %a "$sock")" 600 "mode 0600: its owner's alone"
tap_ok "and says so in its log" grep -qF "listening on the local socket $sock" "$dir/daemon.log"

lddt su create s
tap_is $? 0 "ddt -H SOCKET logs in and creates a storage unit"
src=$dir/src
mkdir -p "$src/d" && head -c 3000000 /dev/urandom >"$src/d/big" &&
	echo small >"$src/small" || tap_bail "source tree"
lddt backup "$src" --su s --name over-socket -q
tap_is $? 0 "a backup over the local socket"
run r restore over-socket "$dir/r1" --su s -q
tap_is "$rc" 0 "restores over TCP"
tap_ok "byte for byte" diff -r "$src" "$dir/r1"
run b backup "$src" --su s --name over-tcp -q
lddt restore over-tcp "$dir/r2" --su s -q
tap_is $? 0 "and a TCP backup restores over the socket"
tap_ok "byte for byte too" diff -r "$src" "$dir/r2"
lddt status
tap_ok "ddt status names the socket as the target" grep -qF "target:          $sock" "$dir/l.out"

DDT_PASSWORD=wrong "$ddt_bin" -H "$sock" su list >/dev/null 2>"$dir/bad.err"
tap_ok "a wrong password is refused on the socket too" test $? -ne 0
tap_ok "with the usual line" grep -q "wrong user name or password" "$dir/bad.err"
tap_ok "the log names the local peer by uid" grep -q "local:uid=$(id -u)" "$dir/daemon.log"

"$ddt_bin" -H "$store/nothing.sock" su list >/dev/null 2>"$dir/none.err"
tap_ok "a socket that is not there fails" test $? -ne 0
tap_ok "naming it" grep -qF "cannot connect to ddtargetd's local socket $store/nothing.sock" "$dir/none.err"

# ---- ddt-nfsd over the socket ----
if command -v nfs-cp >/dev/null; then
	printf '%s\n' "$DDT_PASSWORD" >"$dir/password"
	cat >"$dir/nfsd.conf" <<CONF
[target]
host = $sock
password_file = $dir/password
[server]
listen = 127.0.0.1
nfs_port = 0
mount_port = 0
rpcbind = no
[export s]
root_squash = no
CONF
	nfsgw_start "$dir/nfsd.conf"
	nfs-cp "$src/d/big" "$(url s viansfs)" >/dev/null 2>"$dir/cp.err"
	tap_is $? 0 "ddt-nfsd over the local socket takes a file"
	nfs-cp "$(url s viansfs)" "$dir/big.back" >/dev/null 2>>"$dir/cp.err"
	tap_ok "and gives it back byte for byte" cmp -s "$src/d/big" "$dir/big.back"
	nfsgw_kill
else
	tap_skip "nfs-cp missing"; tap_skip "nfs-cp missing"
fi

# ---- its life with the daemon's ----
daemon_stop
tap_ok "a clean stop removes the socket" test ! -e "$sock"
daemon_start
daemon_kill
tap_ok "a killed daemon leaves its socket behind" test -S "$sock"
daemon_start
lddt su list
tap_is $? 0 "the next start takes the stale socket over"
daemon_stop

rm -f "$sock"; : >"$sock"
"$daemon_bin" -s "$store" -p "$port" >"$dir/file.out" 2>&1
tap_ok "a file at the socket's path stops the daemon" test $? -ne 0
tap_ok "with one line naming it" grep -qF "local socket $sock: something that is no socket is there" "$dir/file.out"
tap_ok "and the file is left alone" test -f "$sock"
rm -f "$sock"

daemon_start --set unix_socket=none
tap_ok "unix_socket = none: no socket" test ! -e "$sock"
daemon_stop

gid=$(id -g nogroup 2>/dev/null || getent group nogroup | cut -d: -f3)
if [ -n "$gid" ]; then
	daemon_start --set unix_socket="$dir/alt.sock" --set unix_socket_group=nogroup
	tap_is "$(stat -c '%a %g' "$dir/alt.sock")" "660 $gid" "unix_socket_group: mode 0660, that group"
	"$ddt_bin" -H "$dir/alt.sock" su list >/dev/null 2>&1
	tap_is $? 0 "a socket set elsewhere serves"
	daemon_stop
else
	tap_skip "no group nogroup"; tap_skip "no group nogroup"
fi
tap_done
