#!/bin/bash
# fuse.sh - a storage unit mounted with ddtfs (ddt mount), used as any
# program uses a file system: a tree copied in and compared, random writes,
# truncates, renames, links, a remount, dedup against what is there, a
# restart of ddtargetd under the mount; then Samba's smbd exporting the
# mount, driven by smbclient. Real FUSE, real smbd; skipped where /dev/fuse
# or smbd is missing.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/tap.sh"

if [ ! -c /dev/fuse ] || ! command -v fusermount3 >/dev/null; then
	echo "1..0 # SKIP no /dev/fuse or fusermount3 here"
	exit 0
fi

TAG=fuse
. "$top_srcdir/tests/e2e.sh"
. "$top_srcdir/tests/smbd.sh"

fs_bin=$top_builddir/ddtfs
fmnt=$dir/mnt
fspid=
fuse_cleanup() {
	smbd_stop
	if mountpoint -q "$fmnt" 2>/dev/null; then
		fusermount3 -u "$fmnt" 2>/dev/null || umount -l "$fmnt"
	fi
	[ -n "$fspid" ] && kill -9 "$fspid" 2>/dev/null && wait "$fspid" 2>/dev/null
	e2e_cleanup
}
trap fuse_cleanup EXIT

# Mount in the foreground, in the background, so the test holds its pid.
fs_mount() {
	"$fs_bin" -f -p "$port" -o allow_other "$@" share "$fmnt" \
		>>"$dir/ddtfs.log" 2>&1 &
	fspid=$!
	for _ in $(seq 200); do
		mountpoint -q "$fmnt" && return 0
		kill -0 "$fspid" 2>/dev/null || break
		sleep 0.05
	done
	# A machine that has /dev/fuse but may not mount (no CAP_SYS_ADMIN,
	# no fuse module) is not a failure of ddtfs: libfuse says so.
	if [ "$tap_count" -eq 0 ] &&
	   grep -qE '^(fuse|fusermount3?): ' "$dir/ddtfs.log"; then
		echo "1..0 # SKIP cannot mount FUSE here: $(grep -m1 -E '^(fuse|fusermount3?): ' "$dir/ddtfs.log")"
		exit 0
	fi
	tap_bail "ddtfs did not mount; see $dir/ddtfs.log: $(tail -2 "$dir/ddtfs.log")"
}

fs_unmount() {
	fusermount3 -u "$fmnt" && wait "$fspid"
	local st=$?
	fspid=
	return $st
}

# The store's unique compressed bytes, from "stored: 1.2 MiB (N bytes)".
stored_bytes() {
	ddt status 2>/dev/null | sed -n 's/^stored: .*(\([0-9]*\) bytes).*/\1/p'
}

mkdir -p "$fmnt" "$dir/src/a/b" "$dir/src/c"
python3 - "$dir/src" <<'PY'
import os, random, sys
r = random.Random(7)
root = sys.argv[1]
for i in range(40):
    d = ["", "a", "a/b", "c"][i % 4]
    n = r.choice([0, 1, 100, 4096, 65537, 300000])
    with open(os.path.join(root, d, "f%02d" % i), "wb") as f:
        f.write(r.randbytes(n))
with open(os.path.join(root, "big"), "wb") as f:
    f.write(r.randbytes(24 << 20))
PY
ln -s a/b "$dir/src/link"

daemon_start
ddt su create share >/dev/null || tap_bail "su create failed"
fs_mount
# As root, ddtfs widens the kernel's read-ahead on its mount (ddtfs.c):
# without it a reader such as smbd waits on one 128 KiB request at a time.
if [ "$(id -u)" = 0 ]; then
	tap_is "$(cat "/sys/class/bdi/$(mountpoint -d "$fmnt")/read_ahead_kb")" \
		4096 "the mount's kernel read-ahead is 4 MiB"
fi


# ---- a tree in and out ----
cp -a "$dir/src/." "$fmnt/" 2>"$dir/cp.err"
tap_check $? "cp -a of a 41-file tree into the mount"
diff -r "$dir/src" "$fmnt" >"$dir/diff.out" 2>&1
tap_check $? "the mount reads back identical (diff -r)"
[ "$(readlink "$fmnt/link")" = a/b ]
tap_check $? "a symbolic link keeps its target"

# ---- random writes against a model ----
python3 - "$fmnt/rand" "$dir/rand.model" <<'PY' >"$dir/rand.out" 2>&1
import os, random, sys
r = random.Random(11)
path, model_path = sys.argv[1], sys.argv[2]
model = bytearray()
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
for step in range(300):
    op = r.random()
    if op < 0.6:
        off = r.randrange(0, len(model) + 200000)
        data = r.randbytes(r.choice([1, 17, 4096, 100000]))
        os.pwrite(fd, data, off)
        if off > len(model):
            model.extend(b"\0" * (off - len(model)))
        model[off:off + len(data)] = data
    elif op < 0.7:
        size = r.randrange(0, len(model) + 100000)
        os.ftruncate(fd, size)
        model = model[:size] + b"\0" * max(0, size - len(model))
    elif op < 0.8:
        os.fsync(fd)
    else:
        off = r.randrange(0, len(model) + 10)
        n = r.randrange(0, 70000)
        got = os.pread(fd, n, off)
        if got != bytes(model[off:off + n]):
            print("step %d: read %d at %d differs" % (step, n, off))
            sys.exit(1)
os.close(fd)
with open(model_path, "wb") as f:
    f.write(model)
PY
tap_check $? "300 random writes, truncates, fsyncs and reads match a model"
cmp "$fmnt/rand" "$dir/rand.model"
tap_check $? "after close the file equals the model"

# ---- names ----
mkdir "$fmnt/d1" && mv "$fmnt/f00" "$fmnt/d1/moved" && [ ! -e "$fmnt/f00" ] &&
	cmp "$fmnt/d1/moved" "$dir/src/f00"
tap_check $? "mkdir and rename"
ln "$fmnt/d1/moved" "$fmnt/hard" && [ "$(stat -c %h "$fmnt/hard")" = 2 ]
tap_check $? "a hard link counts two names"
rm "$fmnt/hard" && rmdir "$fmnt/c" 2>/dev/null
[ $? -ne 0 ] && [ -d "$fmnt/c" ]
tap_check $? "rmdir of a non-empty directory is refused"
truncate -s 5 "$fmnt/big" && [ "$(stat -c %s "$fmnt/big")" = 5 ] &&
	cmp -n 5 "$fmnt/big" "$dir/src/big"
tap_check $? "truncate(1) shortens, keeping the first bytes"
chmod 0600 "$fmnt/f04" && [ "$(stat -c %a "$fmnt/f04")" = 600 ]
tap_check $? "chmod"
touch -d "2001-02-03 04:05:06 UTC" "$fmnt/f08" &&
	[ "$(stat -c %Y "$fmnt/f08")" = 981173106 ]
tap_check $? "touch -d sets the mtime"
echo -n appended >>"$fmnt/f12" &&
	[ "$(tail -c 8 "$fmnt/f12")" = appended ]
tap_check $? "O_APPEND writes land at the end"
df -B1 "$fmnt" | awk 'NR == 2 && $2 > 0 { ok = 1 } END { exit !ok }'
tap_check $? "df shows the target's capacity"

# ---- a remount sees what was published ----
fs_unmount
tap_check $? "unmount"
fs_mount
cmp "$fmnt/rand" "$dir/rand.model" && cmp "$fmnt/d1/moved" "$dir/src/f00" &&
	diff -r "$dir/src/a" "$fmnt/a" >/dev/null
tap_check $? "after a remount every file reads back as written"

# ---- ddt reads what the mount wrote ----
ddt restore /a "$dir/restored-a" --su share -q 2>"$dir/restore.err" &&
	diff -r "$dir/src/a" "$dir/restored-a" >/dev/null
tap_check $? "ddt restore /a --su share gives back the tree written through the mount"
ddt ls / d1 --su share 2>/dev/null | grep -q ' moved$'
tap_check $? "ddt ls / d1 --su share lists it"

# ---- dedup: the same bytes again store almost nothing ----
before=$(stored_bytes)
cp "$dir/src/big" "$fmnt/big-again"
after=$(stored_bytes)
tap_diag "stored_bytes before $before after $after (24 MiB copied)"
[ -n "$before" ] && [ -n "$after" ] && [ $((after - before)) -lt $((1 << 20)) ]
tap_check $? "a second copy of 24 MiB adds under 1 MiB to the store"
cmp "$fmnt/big-again" "$dir/src/big"
tap_check $? "and reads back identical"

# ---- the target restarts under the mount ----
daemon_stop >/dev/null
daemon_start
cmp "$fmnt/rand" "$dir/rand.model" && echo after-restart >"$fmnt/new" &&
	[ "$(cat "$fmnt/new")" = after-restart ]
tap_check $? "after ddtargetd restarts, the mount reads and writes again"

# ---- ddt mount (detached) ----
fs_unmount
ddt mount share "$fmnt" allow_other 2>"$dir/mount.err"
tap_check $? "ddt mount SU DIR"
[ "$(cat "$fmnt/new" 2>/dev/null)" = after-restart ]
tap_check $? "and the unit is there"
fusermount3 -u "$fmnt"
fs_mount

# ---- Samba exports the mount ----
if ! command -v smbd >/dev/null || ! command -v smbclient >/dev/null; then
	for _ in 1 2 3 4 5; do tap_skip "no smbd or smbclient"; done
	tap_done
	exit
fi
smbd_start "$dir/samba" "$fmnt" || tap_bail "smbd did not start: $(tail -3 "$dir/samba/smbd.out")"
smb() { smb_cmd "$1"; }
head -c 3000000 /dev/urandom >"$dir/put.bin"
(cd "$dir" && smb "put put.bin; mkdir sdir; rename put.bin sdir/put.bin; ls sdir/*") \
	>"$dir/smb1.out" 2>&1 && grep -q put.bin "$dir/smb1.out"
tap_check $? "smbclient put, mkdir, rename, ls through smbd over the mount"
cmp "$fmnt/sdir/put.bin" "$dir/put.bin"
tap_check $? "what SMB wrote reads back identical through the mount"
(cd "$dir" && smb "get rand rand.smb") >"$dir/smb2.out" 2>&1 &&
	cmp "$dir/rand.smb" "$dir/rand.model"
tap_check $? "smbclient get of a file written through FUSE"
smb "rm sdir/put.bin; rmdir sdir" >"$dir/smb3.out" 2>&1 && [ ! -e "$fmnt/sdir" ]
tap_check $? "smbclient rm and rmdir"
if command -v rclone >/dev/null; then
	# rclone's own SMB client (its smb backend, an on-the-fly remote);
	# an unknown user is the guest here.
	remote=":smb,host=127.0.0.1,port=$smb_port,user=rc,pass=$(rclone obscure x)"
	rclone copy "$dir/src/a" "$remote:share/rc" --config /dev/null -q \
		>"$dir/rclone.out" 2>&1 &&
		diff -r "$dir/src/a" "$fmnt/rc" >/dev/null
	tap_check $? "a tree copied with rclone over SMB reads back identical through the mount"
else
	tap_skip "no rclone"
fi

tap_done
