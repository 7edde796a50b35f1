#!/bin/bash
# shares.sh - one storage unit through every door at once: a tree written
# over NFS (ddt-nfsd, libnfs-utils' nfs-cp) is read back identically over
# SMB (smbd exporting a ddtfs mount, smbclient), through the FUSE mount,
# and by `ddt restore`; a second copy of the same ~500 MB tree over NFS
# grows the store by under 5%; a tree written through the mount reads
# back over NFS. Real clients and servers only, on private ports.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/tap.sh"

if [ ! -c /dev/fuse ] || ! command -v fusermount3 >/dev/null ||
   ! command -v smbd >/dev/null || ! command -v smbclient >/dev/null ||
   ! command -v nfs-cp >/dev/null; then
	echo "1..0 # SKIP needs /dev/fuse, fusermount3, smbd, smbclient, nfs-cp"
	exit 0
fi
TAG=shares
. "$top_srcdir/tests/e2e.sh"
. "$top_srcdir/tests/smbd.sh"

nfsc=$top_builddir/tests/nfsclient
fmnt=$dir/mnt
gpid= fspid=
shares_cleanup() {
	exec 2>/dev/null	# no "Killed" lines for the servers stopped here
	smbd_stop
	if mountpoint -q "$fmnt" 2>/dev/null; then
		fusermount3 -u "$fmnt" 2>/dev/null || umount -l "$fmnt"
	fi
	[ -n "$fspid" ] && stop_pid "$fspid"
	[ -n "$gpid" ] && stop_pid "$gpid"
	e2e_cleanup
}
trap shares_cleanup EXIT
freeport() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
stored_bytes() {
	ddt status 2>/dev/null | sed -n 's/^stored: .*(\([0-9]*\) bytes).*/\1/p'
}

# ---- the data: ~500 MB in 3 directories, files of 0 B to 40 MB ----
mkdir -p "$dir/tree" "$fmnt"
python3 - "$dir/tree" <<'PY' || tap_bail "no data"
import os, random, sys
r = random.Random(13)
root = sys.argv[1]
for d in ("", "one", "one/two"):
    os.makedirs(os.path.join(root, d), exist_ok=True)
sizes = [0, 1, 1000, 65536, 1 << 20] * 4 + [40 << 20] * 12
for i, n in enumerate(sizes):
    d = ("", "one", "one/two")[i % 3]
    with open(os.path.join(root, d, "f%02d" % i), "wb") as f:
        f.write(r.randbytes(n))
PY
tree_bytes=$(du -sb "$dir/tree" | cut -f1)

daemon_start
ddt su create x >/dev/null || tap_bail "su create"
printf '%s\n' "$DDT_PASSWORD" >"$dir/password"
gport=$(freeport)
cat >"$dir/nfsd.conf" <<CONF
[target]
port = $port
password_file = $dir/password
[server]
listen = 127.0.0.1
nfs_port = $gport
mount_port = $gport
rpcbind = no
[export x]
clients = 127.0.0.0/8
root_squash = no
CONF
"$top_builddir/ddt-nfsd" -c "$dir/nfsd.conf" >"$dir/gw.out" 2>"$dir/gw.log" &
gpid=$!
for _ in $(seq 200); do
	grep -q listening "$dir/gw.out" 2>/dev/null && break
	sleep 0.05
done
grep -q listening "$dir/gw.out" || tap_bail "ddt-nfsd did not start: $(tail -3 "$dir/gw.log")"
U="?nfsport=$gport&mountport=$gport"
# The FUSE mount first: a machine that may not mount one skips the test.
"$top_builddir/ddtfs" -f -p "$port" -o allow_other x "$fmnt" >"$dir/ddtfs.log" 2>&1 &
fspid=$!
for _ in $(seq 200); do
	mountpoint -q "$fmnt" && break
	kill -0 "$fspid" 2>/dev/null || break
	sleep 0.05
done
if ! mountpoint -q "$fmnt"; then
	grep -qE '^(fuse|fusermount3?): ' "$dir/ddtfs.log" &&
		{ echo "1..0 # SKIP cannot mount FUSE here: $(grep -m1 -E '^(fuse|fusermount3?): ' "$dir/ddtfs.log")"; exit 0; }
	tap_bail "ddtfs did not mount: $(tail -2 "$dir/ddtfs.log")"
fi

nfs_url() { echo "nfs://127.0.0.1/x/$1$U"; }

# nfs_put_tree SRC DEST: the tree at SRC into x/DEST, over NFS alone.
nfs_put_tree() {
	local f rel
	"$nfsc" "nfs://127.0.0.1/x$U" mkdir "$2" || return 1
	(cd "$1" && find . -mindepth 1 -type d | sort) | while read -r f; do
		"$nfsc" "nfs://127.0.0.1/x$U" mkdir "$2/${f#./}" || exit 1
	done || return 1
	(cd "$1" && find . -type f | sort) | while read -r f; do
		rel=${f#./}
		nfs-cp "$1/$rel" "$(nfs_url "$2/$rel")" >/dev/null || exit 1
	done
}

# ---- NFS in ----
before=$(stored_bytes)
nfs_put_tree "$dir/tree" t1 2>"$dir/put1.err"
tap_check $? "a $tree_bytes-byte tree copied in over NFS (nfs-cp)"
mid=$(stored_bytes)

# ---- read back by every other door ----
diff -r "$dir/tree" "$fmnt/t1" >"$dir/diff-fuse.out" 2>&1
tap_check $? "through the FUSE mount it reads back identical"
ddt restore /t1 "$dir/restored" --su x -q 2>"$dir/restore.err" &&
	diff -r "$dir/tree" "$dir/restored" >"$dir/diff-ddt.out" 2>&1
tap_check $? "ddt restore /t1 gives it back identical"

mkdir -p "$dir/smbget"
smbd_start "$dir/samba" "$fmnt" x || tap_bail "smbd did not start"
(cd "$dir/smbget" && smb_cmd "recurse on; prompt off; cd t1; mget *") >"$dir/smb.out" 2>&1 &&
	diff -r "$dir/tree" "$dir/smbget" >"$dir/diff-smb.out" 2>&1
tap_check $? "over SMB (smbclient mget from smbd on the mount) it reads back identical"

# ---- a second copy over NFS stores almost nothing ----
nfs_put_tree "$dir/tree" t2 2>"$dir/put2.err"
tap_check $? "a second copy of the tree over NFS"
# Read back first: what reads back whole through another door was
# published, so the figure after it counts the whole copy.
diff -r "$dir/tree" "$fmnt/t2" >/dev/null 2>&1
tap_check $? "the second copy reads back identical through the mount"
after=$(stored_bytes)
tap_diag "stored_bytes: $before before, $mid after the first copy, $after after the second; tree $tree_bytes bytes"
[ -n "$mid" ] && [ -n "$after" ] && [ $((mid - before)) -gt $((tree_bytes / 2)) ] &&
	[ $(( (after - mid) * 100 )) -lt $(( tree_bytes * 5 )) ]
tap_check $? "and grows the store by under 5% of the tree"

# ---- the other way: written through the mount, read over NFS ----
cp -r "$dir/tree/one" "$fmnt/via-fuse" &&
	nfs-cp "$(nfs_url via-fuse/two/f20)" "$dir/back.bin" >/dev/null 2>&1 &&
	cmp "$dir/back.bin" "$dir/tree/one/two/f20"
tap_check $? "a file written through the mount reads back over NFS"

tap_done
