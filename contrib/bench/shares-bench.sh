#!/bin/bash
# shares-bench.sh - the shares beside ddt, in one run on one fresh store:
# MIB MiB of unique data written, written again under another name, and
# read back, over NFS (nfs-cp against ddt-nfsd), over SMB (smbclient
# against smbd exporting a ddtfs mount), by `ddt backup` / `ddt restore`,
# and by smbclient against plain smbd on a local folder. Prints MB/s
# (10^6 bytes) and each share's rate over ddt's. See README.md here.
#
# Each read is made once, timed ("first read") and checked against the
# source, then --reads times more (default 3), and the median of those is
# shown too: the first read of a file after writes is slower than the
# next ones, and one run decides little on a shared machine.
#
# The gateways reach ddtargetd by its local socket, as they do on the
# appliance, and ddt by TCP, as a backup server does; --gateways tcp puts
# the gateways on TCP too.
#
# usage: contrib/bench/shares-bench.sh [--mib N] [--reads R] [--work DIR]
#                                      [--gateways local|tcp]
# N defaults to 1024; binaries from the top of the tree, or $DDT_BIN.
set -u
. "$(dirname "$0")/common.sh"
mib=1024
reads=3
gw=local
work=${DDT_SHARES_WORK:-/var/tmp/ddt-shares-bench}
bin=${DDT_BIN:-$top}

while [ $# -gt 0 ]; do
	case $1 in
	--mib) mib=$2; shift 2 ;;
	--reads) reads=$2; shift 2 ;;
	--work) work=$2; shift 2 ;;
	--gateways) gw=$2; shift 2 ;;
	-h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "shares-bench.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
for b in ddtargetd ddt ddtfs; do
	[ -x "$bin/$b" ] || die "build $bin/$b first (make)"
done
for t in smbd smbclient fusermount3; do
	command -v "$t" >/dev/null || die "$t is missing (contrib/install-deps.sh)"
done

cleanup() {
	exec 2>/dev/null	# no "Killed" lines for the servers stopped here
	smbd_stop
	[ -n "${nfspid:-}" ] && kill -9 "$nfspid" 2>/dev/null
	mountpoint -q "$work/mnt" 2>/dev/null &&
		{ fusermount3 -u "$work/mnt" 2>/dev/null || umount -l "$work/mnt"; }
	bench_cleanup
	rm -rf "$work"
}
rm -rf "$work"
mkdir -p "$work/src" "$work/mnt" "$work/plain" "$work/out" ||
	die "cannot create $work"
trap cleanup EXIT
store=$work/store
export DDT_CACHE_DIR=$work/cache
bytes=$((mib << 20))

# rate NAME SECONDS: one table row, and the rate kept in r_NAME.
rate() {
	local mbs
	mbs=$(echo "scale=1; $bytes / 1000000 / $2" | bc)
	printf '%-44s %8s MB/s  %7.2f s\n' "$1" "$mbs" "$2"
	eval "r_$(echo "$1" | tr -c 'a-zA-Z0-9\n' '_')=$mbs"
}
# median_timed CLEANUP CMD...: CMD run $reads times (CLEANUP, a command
# string, after each), the median of its times.
median_timed() {
	local clean=$1 i t
	shift
	for i in $(seq "$reads"); do
		t=$(timed "$@")
		eval "$clean"
		echo "$t"
	done | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
timed() {
	local s e
	s=$(now)
	"$@" >>"$work/log" 2>&1 || die "failed: $* (see $work/log)"
	e=$(now)
	echo "$e - $s" | bc
}
freeport() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# smbd_start, smbd_stop, smb_cmd: a private smbd, as the tests run it.
. "$top/tests/smbd.sh"
smb() { (cd "$work" && smb_cmd "$1"); }

echo "shares-bench: $mib MiB of unique data; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
head -c "$bytes" /dev/urandom >"$work/src/unique" || die "no data"
daemon_start
case $gw in
local) gwhost=$store/ddtargetd.sock ;;
tcp) gwhost=127.0.0.1 ;;
*) die "--gateways is local or tcp" ;;
esac
echo "gateways to ddtargetd over: $gwhost"
ddt su create smb >/dev/null && ddt su create bk >/dev/null &&
	ddt su create nfs >/dev/null || die "su create failed"

# ---- ddt ----
cat "$work/src/unique" >/dev/null
rate "ddt backup, unique" "$(timed "$bin/ddt" -p "$port" backup "$work/src" --su bk -q)"
rate "ddt restore, first read" "$(timed "$bin/ddt" -p "$port" restore src "$work/out/ddt" --su bk -q)"
cmp -s "$work/src/unique" "$work/out/ddt/unique" || die "ddt restore differs"
rm -rf "$work/out/ddt"
rate "ddt restore" "$(median_timed 'rm -rf "$work/out/ddt"' "$bin/ddt" -p "$port" restore src "$work/out/ddt" --su bk -q)"
# The same over the local socket (plaintext, no TCP): what a gateway on
# the target's host gets, for the strictest comparison.
rate "ddt restore, local socket" "$(median_timed 'rm -rf "$work/out/ddt"' "$bin/ddt" -H "$store/ddtargetd.sock" restore src "$work/out/ddt" --su bk -q)"

# ---- SMB over ddtfs ----
"$bin/ddtfs" -f -H "$gwhost" -p "$port" -o allow_other smb "$work/mnt" >"$work/ddtfs.log" 2>&1 &
for _ in $(seq 200); do mountpoint -q "$work/mnt" && break; sleep 0.05; done
mountpoint -q "$work/mnt" || die "ddtfs did not mount; see $work/ddtfs.log"
smbd_start "$work/smb-ddt" "$work/mnt" || die "smbd did not start"
cp "$work/src/unique" "$work/u.bin"
rate "smb -> ddtfs, unique" "$(timed smb "put u.bin u1")"
rate "smb -> ddtfs, same data again" "$(timed smb "put u.bin u2")"
rate "smb <- ddtfs, first read" "$(timed smb "get u1 out/smb")"
cmp -s "$work/src/unique" "$work/out/smb" || die "SMB read differs"
rm -f "$work/out/smb"
rate "smb <- ddtfs, read" "$(median_timed 'rm -f "$work/out/smb"' smb "get u1 out/smb")"

# ---- SMB on a local folder (no dedup: the peer) ----
smbd_stop
smbd_start "$work/smb-plain" "$work/plain" || die "smbd did not start"
rate "smb -> local folder" "$(timed smb "put u.bin u1")"
rate "smb <- local folder, first read" "$(timed smb "get u1 out/plain")"
cmp -s "$work/src/unique" "$work/out/plain" || die "plain SMB read differs"
rm -f "$work/out/plain"
rate "smb <- local folder" "$(median_timed 'rm -f "$work/out/plain"' smb "get u1 out/plain")"
rm -f "$work/out/plain" "$work/plain/u1"

# ---- NFS over ddt-nfsd ----
if [ -x "$bin/ddt-nfsd" ] && [ -x "$bin/tests/nfsclient" ] &&
   command -v nfs-cp >/dev/null; then
	nport=$(freeport)
	cat >"$work/nfsd.conf" <<EOF
[target]
host = $gwhost
port = $port
user = admin
password_file = $store/admin.password
[server]
listen = 127.0.0.1
nfs_port = $nport
mount_port = $nport
rpcbind = no
[export nfs]
path = /nfs
clients = 127.0.0.0/8
root_squash = no
EOF
	"$bin/ddt-nfsd" -c "$work/nfsd.conf" >"$work/nfsd.log" 2>&1 &
	nfspid=$!
	for _ in $(seq 200); do
		python3 -c "import socket; socket.create_connection(('127.0.0.1', $nport))" 2>/dev/null && break
		sleep 0.05
	done
	url="nfs://127.0.0.1/nfs"
	q="?nfsport=$nport&mountport=$nport"
	# nfs-cp leaves the writes unstable; an fsync (NFS COMMIT) through
	# tests/nfsclient publishes them: the time runs until it returns.
	nfs_put() {
		nfs-cp "$work/u.bin" "$url/$1$q" &&
			"$bin/tests/nfsclient" "$url$q" write "/$1" 0 0
	}
	rate "nfs -> ddt-nfsd, unique" "$(timed nfs_put u1)"
	rate "nfs -> ddt-nfsd, same data again" "$(timed nfs_put u2)"
	rate "nfs <- ddt-nfsd, first read" "$(timed nfs-cp "$url/u1$q" "$work/out/nfs")"
	cmp -s "$work/src/unique" "$work/out/nfs" || die "NFS read differs"
	rm -f "$work/out/nfs"
	rate "nfs <- ddt-nfsd, read" "$(median_timed 'rm -f "$work/out/nfs"' nfs-cp "$url/u1$q" "$work/out/nfs")"
else
	echo "(no ddt-nfsd, tests/nfsclient (make check) or nfs-cp: NFS rows left out)"
fi

# ---- against the goals (issue 13: 2-core machine) ----
ratio() { echo "scale=2; $1 / $2" | bc; }
echo
echo "share / ddt                        write  again  read   first read   (goals: >= 0.8, >= 1.5, >= 0.8)"
printf '%-34s %5s  %5s  %5s  %5s\n' "smb over ddtfs" \
	"$(ratio "$r_smb____ddtfs__unique" "$r_ddt_backup__unique")" \
	"$(ratio "$r_smb____ddtfs__same_data_again" "$r_ddt_backup__unique")" \
	"$(ratio "$r_smb____ddtfs__read" "$r_ddt_restore")" \
	"$(ratio "$r_smb____ddtfs__first_read" "$r_ddt_restore__first_read")"
if [ -n "${r_nfs____ddt_nfsd__unique:-}" ]; then
	printf '%-34s %5s  %5s  %5s  %5s\n' "nfs over ddt-nfsd" \
		"$(ratio "$r_nfs____ddt_nfsd__unique" "$r_ddt_backup__unique")" \
		"$(ratio "$r_nfs____ddt_nfsd__same_data_again" "$r_ddt_backup__unique")" \
		"$(ratio "$r_nfs____ddt_nfsd__read" "$r_ddt_restore")" \
		"$(ratio "$r_nfs____ddt_nfsd__first_read" "$r_ddt_restore__first_read")"
fi
echo
echo "read / ddt restore over the local socket (plaintext, no TCP):"
printf '%-34s %5s\n' "smb over ddtfs" "$(ratio "$r_smb____ddtfs__read" "$r_ddt_restore__local_socket")"
[ -n "${r_nfs____ddt_nfsd__read:-}" ] &&
	printf '%-34s %5s\n' "nfs over ddt-nfsd" "$(ratio "$r_nfs____ddt_nfsd__read" "$r_ddt_restore__local_socket")"
