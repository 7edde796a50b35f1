#!/bin/bash
# nfs.sh - ddt-nfsd end to end with real NFS clients only (libnfs-utils'
# nfs-ls, nfs-cat, nfs-cp and tests/nfsclient on libnfs), over a real
# ddtargetd, on private loopback ports with no portmapper: reads of a
# backed-up tree, the namespace procedures, handles of removed files
# (STALE), READDIRPLUS's cookies over thousands of entries
# ($DDT_NFS_HEAVY=1: 100,000), export options (read-only, client
# networks), a ddtargetd restarted under the gateway; writes: copies
# in, random writes read back, truncation, times, dedup against a backup,
# unstable writes held over a ddtargetd restart, kill -9 of the gateway
# mid-write, a quota.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/tap.sh"
TAG=nfs
. "$top_srcdir/tests/e2e.sh"

. "$top_srcdir/tests/nfsgw.sh"
nfsc=$top_builddir/tests/nfsclient
[ -x "$nfsc" ] || tap_bail "build tests/nfsclient first"
command -v nfs-cp >/dev/null || tap_bail "nfs-cp not found: install libnfs-utils"

# gw_start: ddt-nfsd over $dir/nfsd.conf (nfsgw.sh).
gw_start() { nfsgw_start "$dir/nfsd.conf"; }
gw_kill() { nfsgw_kill; }
# nc EXPORT OP ARGS...: tests/nfsclient on EXPORT, output in $dir/nc.out
nc() {
	local e=$1
	shift
	"$nfsc" "$(url "$e")" "$@" >"$dir/nc.out" 2>"$dir/nc.err"
}

daemon_start
ddt su create s >/dev/null && ddt su create ro >/dev/null &&
	ddt su create far >/dev/null && ddt su create sq >/dev/null &&
	ddt su create lk >/dev/null && ddt su set lk --retention 1d >/dev/null ||
	tap_bail "storage units"
printf '%s\n' "$DDT_PASSWORD" >"$dir/password"
cat >"$dir/nfsd.conf" <<CONF
# written by tests/nfs.sh
[target]
# the local socket, as on the appliance (tests/local-socket.sh)
host = $store/ddtargetd.sock
password_file = $dir/password
[server]
listen = 127.0.0.1
nfs_port = 0
mount_port = 0
rpcbind = no
idle_commit_ms = 500
# READs may use attributes this old: long here, so that a change of the
# gateway's own that failed to empty that cache would show below
read_attr_ms = 60000
# small, so writes go through the flushes that bound memory
dirty_cap_mb = 4
[export s]
clients = 127.0.0.0/8, ::1
root_squash = no
[export ro]
read_only = yes
root_squash = no
[export far]
clients = 10.0.0.0/8
[export sq]
su = sq
[export lk]
root_squash = no
CONF
printf '[server]\nnfs_prot = 1\n[export s]\nsu = s\n' >"$dir/bad.conf"
"$nfsd_bin" -c "$dir/bad.conf" >/dev/null 2>"$dir/bad.err"
tap_is $? 2 "a misspelt key is a configuration error (exit 2)"
tap_ok "named with its line" grep -q "line 2: \[server\] nfs_prot: unknown key" "$dir/bad.err"
printf '[export s]\nclients = 10.0.0.0/33\n' >"$dir/bad.conf"
"$nfsd_bin" -c "$dir/bad.conf" >/dev/null 2>"$dir/bad.err"
tap_ok "and so is a bad network" grep -q "clients: bad value" "$dir/bad.err"
# The gateway trusts the target as ddt does: over TCP (TLS), a [target]
# tls_fingerprint that is not the target's certificate keeps it from
# logging in at all.
sed "s|^host = .*|host = 127.0.0.1\nport = $port\ntls_fingerprint = SHA256:$(printf '%064d' 0)|" \
	"$dir/nfsd.conf" >"$dir/badfp.conf"
timeout 30 "$nfsd_bin" -c "$dir/badfp.conf" >/dev/null 2>"$dir/badfp.err"
tap_ok "a wrong tls_fingerprint: ddt-nfsd refuses the target ($?)" \
	grep -q "shows certificate SHA256:[0-9a-f]*, not the SHA256:0* it was to show" "$dir/badfp.err"
gw_start

# ---- RPC: what a misbehaving client sends ----
python3 "$top_srcdir/tests/rpcprobe.py" "$gport" >"$dir/probe.out" 2>&1
while read -r st rest; do
	[ "$st" = ok ]
	tap_check $? "RPC: ${rest#ok }"
done <"$dir/probe.out"
grep -q . "$dir/probe.out" || tap_check 1 "RPC probe ran: $(head -3 "$dir/probe.out")"
python3 "$top_srcdir/tests/rpcprobe.py" "$gport" forge s ro >"$dir/forge.out" 2>&1
while read -r st rest; do
	[ "$st" = ok ]
	tap_check $? "handles: ${rest#ok }"
done <"$dir/forge.out"
[ "$(grep -c '^ok' "$dir/forge.out")" = 3 ] ||
	tap_check 1 "handle forging probe ran: $(head -1 "$dir/forge.out")"

# ---- reads of a backed-up tree ----
src=$dir/src
mkdir -p "$src/sub" || tap_bail mkdir
echo hello >"$src/a.txt"
echo bye >"$src/c.txt"
head -c $((3 * 1024 * 1024 + 17)) /dev/urandom >"$src/sub/big"
run b backup "$src" --su s --name b1 -q
tap_is "$rc" 0 "a tree is backed up into s"
bk=$(field b backup)
nfs-ls -R "$(url s "$bk")" >"$dir/ls.out" 2>&1
tap_ok "nfs-ls -R lists the backup's tree" grep -q "sub/big" "$dir/ls.out"
tap_is "$(nfs-cat "$(url s "$bk/a.txt")" 2>&1)" hello "nfs-cat reads a small file"
nfs-cp "$(url s "$bk/sub/big")" "$dir/big.back" >/dev/null 2>&1
tap_ok "nfs-cp reads a 3 MiB file back byte for byte" cmp -s "$src/sub/big" "$dir/big.back"
nc s stat "$bk/sub/big"
tap_ok "GETATTR gives its size" grep -q "size=$((3 * 1024 * 1024 + 17)) " "$dir/nc.out"

nc s statvfs /
read -r total avail < <(sed 's/total=\([0-9]*\) avail=\([0-9]*\)/\1 \2/' "$dir/nc.out")
[ "${total:-0}" -gt 0 ] && [ "${avail:-0}" -gt 0 ] && [ "$avail" -le "$total" ]
tap_check $? "FSSTAT gives the store's capacity and free space"

# ---- the namespace ----
nc s mkdir /d1 && nc s mkdir /d1/d2
tap_is $? 0 "MKDIR, twice"
nc s rename /d1/d2 /d1/d3
tap_is $? 0 "RENAME"
nc s count /d1
tap_is "$(cat "$dir/nc.out")" 1 "the directory holds one entry"
nc s stat /d1/d2
tap_ok "the old name is gone" test $? -ne 0
nc s symlink "../$bk/a.txt" /d1/lnk && nc s readlink /d1/lnk
tap_is "$(cat "$dir/nc.out")" "../$bk/a.txt" "SYMLINK and READLINK"
# A finished backup is immutable (PROTOCOL.md, Backups): links and
# removals are tried on files written outside it.
nfs-cp "$src/a.txt" "$(url s a.txt)" >/dev/null 2>&1 &&
	nfs-cp "$src/c.txt" "$(url s c.txt)" >/dev/null 2>&1 ||
	tap_bail "nfs-cp of two small files"
nc s link /a.txt /d1/hard && nc s stat /d1/hard
tap_ok "LINK: the file has two names" grep -q "nlink=2 " "$dir/nc.out"
nc s link "$bk/a.txt" /d1/hard2
tap_ok "a file of a finished backup gets no name outside it" test $? -ne 0
nc s stale "$bk/a.txt"
grep -q EROFS "$dir/nc.err"
tap_check $? "nor is it removed: ROFS"
nc s chmod /d1/d3 700 && nc s stat /d1/d3
tap_ok "SETATTR mode" grep -q "mode=700 " "$dir/nc.out"
nc s utimes /d1/d3 1000000000 && nc s stat /d1/d3
tap_ok "SETATTR times" grep -q "mtime=1000000000$" "$dir/nc.out"
nc s rmdir /d1/d1 2>/dev/null
nc s rmdir /d1/d3
tap_is $? 0 "RMDIR"
nc s rmdir /d1
tap_ok "RMDIR of a directory with entries fails" test $? -ne 0
grep -q ENOTEMPTY "$dir/nc.err"
tap_check $? "with NOTEMPTY"
nc s stale /c.txt
tap_is $? 0 "a removed file's handle answers STALE"
[ -s "$dir/nc.err" ] && tap_diag "$(cat "$dir/nc.err")"
nc s stat /c.txt
grep -q ENOENT "$dir/nc.err"
tap_check $? "and its name is gone"

# ---- READDIRPLUS over many entries, in a changing directory ----
n=${DDT_NFS_ENTRIES:-3000}
[ "${DDT_NFS_HEAVY:-0}" = 1 ] && n=100000
nc s mkdir /many && nc s mkdirs /many "$n"
tap_is $? 0 "$n directories made over NFS"
nc s count /many
tap_is "$(cat "$dir/nc.out")" "$n" "READDIRPLUS lists each of them once"
nfs-ls "$(url s many)" 2>/dev/null | awk '{print $NF}' | sort | uniq -d >"$dir/dups"
tap_ok "nfs-ls: no entry twice" test ! -s "$dir/dups"
python3 "$top_srcdir/tests/rpcprobe.py" "$gport" readdir s many "$n" >"$dir/rd.out" 2>&1
while read -r st rest; do
	[ "$st" = ok ]
	tap_check $? "${rest#ok }"
done <"$dir/rd.out"
grep -q "^ok a new listing" "$dir/rd.out" || tap_check 1 "READDIR probe: $(tail -3 "$dir/rd.out")"

# ---- export options ----
nc ro mkdir /x
grep -q EROFS "$dir/nc.err"
tap_check $? "a read-only export answers ROFS"
nc sq mkdir /x
grep -q EACCES "$dir/nc.err"
tap_check $? "root squash: root is nobody, who may not write in root's directory"
mkdir -p "$dir/lsrc" && echo kept >"$dir/lsrc/f" || tap_bail mkdir
run lb backup "$dir/lsrc" --su lk --name l1 -q
ddt su set lk --retention-lock >/dev/null || tap_bail "retention lock"
lbk=$(field lb backup)
nc lk unlink "/$lbk/f"
grep -q EACCES "$dir/nc.err"
tap_check $? "under a retention lock, REMOVE answers ACCES"
nc lk rename "/$lbk/f" "/$lbk/g"
grep -q EACCES "$dir/nc.err"
tap_check $? "and so does RENAME"
tap_is "$(nfs-cat "$(url lk "$lbk/f")" 2>&1)" kept "the locked file still reads"
nfs-ls "$(url far)" >/dev/null 2>"$dir/far.err"
tap_ok "a client outside the export's networks cannot mount it" test $? -ne 0
nc s stat /no-such-thing
tap_ok "LOOKUP of a missing name fails" grep -q ENOENT "$dir/nc.err"

# ---- ddtargetd restarted under the gateway ----
daemon_stop >/dev/null
nc s stat /many
tap_ok "with ddtargetd down, a call fails rather than hangs" test $? -ne 0
daemon_start
ok=1
for _ in $(seq 50); do
	# (the READDIR probe added one entry)
	nc s count /many && [ "$(cat "$dir/nc.out")" = $((n + 1)) ] && { ok=0; break; }
	sleep 0.2
done
tap_check $ok "after ddtargetd restarts, the share works again by itself"
gw_kill
gw_start
nc s stat "/$bk/sub/big"
tap_ok "handles and paths hold over a gateway restart" grep -q "size=" "$dir/nc.out"

# ---- writes (the client library's random-access files) ----
echo probe >"$dir/probe"
nfs-cp "$dir/probe" "$(url s probe)" >/dev/null 2>"$dir/probe.err"
tap_is $? 0 "nfs-cp copies a file in"
tap_is "$(nfs-cat "$(url s probe)")" probe "a file copied in reads back"
nc s write /probe 6 3 && nfs-cat "$(url s probe)" >"$dir/probe.1"
nc s truncate /probe 3 && nfs-cat "$(url s probe)" >"$dir/probe.2"
tap_is "$(cat "$dir/probe.1")/$(cat "$dir/probe.2")" "probe
www/pro" "READs see the gateway's own WRITE and SETATTR at once"
nc s chmod /probe 644
nfs-cat "$(url s probe)&uid=4242&gid=4242" >"$dir/probe.3" 2>&1
nc s chmod /probe 600
nfs-cat "$(url s probe)&uid=4242&gid=4242" >"$dir/probe.4" 2>&1
tap_is "$(cat "$dir/probe.3")/$(grep -c -i 'denied\|acces\|perm' "$dir/probe.4")" "pro/1" \
	"a chmod through the gateway denies the next READ of another user at once"
head -c $((8 * 1024 * 1024)) /dev/urandom >"$dir/w8"
nfs-cp "$dir/w8" "$(url s w8)" >/dev/null 2>&1
nfs-cp "$(url s w8)" "$dir/w8.back" >/dev/null 2>&1
tap_ok "8 MiB copied in and out over NFS are the same bytes" cmp -s "$dir/w8" "$dir/w8.back"
nc s randwrite /rw $((5 * 1024 * 1024)) 7
tap_is $? 0 "random writes read back as written"
[ -s "$dir/nc.err" ] && tap_diag "$(cat "$dir/nc.err")"
nc s truncate /rw 1000 && nc s stat /rw
tap_ok "truncate" grep -q "size=1000 " "$dir/nc.out"

python3 "$top_srcdir/tests/rpcprobe.py" "$gport" excl s ex >"$dir/ex.out" 2>&1
while read -r st rest; do
	[ "$st" = ok ]
	tap_check $? "${rest#ok }"
done <"$dir/ex.out"
grep -q "^ok another" "$dir/ex.out" || tap_check 1 "exclusive CREATE probe: $(tail -3 "$dir/ex.out")"

# Times set after unstable writes (cp -p, rsync) survive their commit.
tap_is "$(python3 "$top_srcdir/tests/rpcprobe.py" "$gport" write s tm 2>&1)" \
	"create 0 write 0" "an UNSTABLE WRITE is taken"
nc s utimes /tm 1234567890
sleep 1.2	# past idle_commit_ms
nc s stat /tm
tap_ok "a time set after it holds over its commit" grep -q "size=65536 .*mtime=1234567890$" "$dir/nc.out"

# Unstable writes the gateway holds while ddtargetd restarts are
# committed once it is back.
tap_is "$(python3 "$top_srcdir/tests/rpcprobe.py" "$gport" write s held 2>&1)" \
	"create 0 write 0" "an UNSTABLE WRITE just before ddtargetd stops"
daemon_stop >/dev/null
sleep 0.7	# the idle commit tries, and finds the target away
daemon_start
ok=1
for _ in $(seq 50); do
	python3 "$top_srcdir/tests/rpcprobe.py" "$gport" verf s held >/dev/null 2>&1 &&
		{ ok=0; break; }
	sleep 0.2
done
tap_check $ok "COMMIT succeeds once ddtargetd is back"
tap_is "$(nfs-cat "$(url s held)" | tr -d x | wc -c)/$(nfs-cat "$(url s held)" | wc -c)" \
	"0/65536" "and the file holds what was written"

# Dedup: the backed-up file copied in again stores almost nothing new.
stored() { ddt status 2>/dev/null | sed -n 's/^stored: .*(\([0-9]*\) bytes).*/\1/p'; }
before=$(stored)
nfs-cp "$src/sub/big" "$(url s big-again)" >/dev/null 2>&1
sleep 1
after=$(stored)
tap_diag "stored bytes: $before -> $after"
tap_is "$(nfs-cat "$(url s big-again)" | cmp - "$src/sub/big" && echo same)" same \
	"the copy reads back"
[ -n "$before" ] && [ -n "$after" ] && [ $((after - before)) -lt $((256 * 1024)) ]
tap_check $? "a file already backed up, copied in over NFS, stores under 256 KiB new"

# kill -9 of the gateway during a large write: what was committed
# stays; the new gateway has a new write verifier.
verf1=$(python3 "$top_srcdir/tests/rpcprobe.py" "$gport" verf s w8 2>&1)
head -c $((64 * 1024 * 1024)) /dev/urandom >"$dir/w64"
nfs-cp "$dir/w64" "$(url s w64)" >/dev/null 2>&1 &
cp_pid=$!
sleep 0.5
gw_kill
# (libnfs reconnects for ever to a server that is gone: stop it.)
kill -9 "$cp_pid" 2>/dev/null
wait "$cp_pid" 2>/dev/null
gw_start
verf2=$(python3 "$top_srcdir/tests/rpcprobe.py" "$gport" verf s w8 2>&1)
tap_diag "write verifier: $verf1, after kill -9: $verf2"
[ ${#verf1} -eq 16 ] && [ ${#verf2} -eq 16 ] && [ "$verf1" != "$verf2" ]
tap_check $? "the restarted gateway has a new write verifier"
nfs-cp "$(url s w8)" "$dir/w8.again" >/dev/null 2>&1
tap_ok "a committed file is whole after kill -9 of the gateway mid-write" cmp -s "$dir/w8" "$dir/w8.again"

# A quota answers DQUOT, at the write that passes it.
ddt su set s --quota 1M >/dev/null || tap_bail "su set --quota"
nfs-cp "$dir/w8" "$(url s over-quota)" >/dev/null 2>"$dir/q.err"
tap_ok "over the storage unit's quota, nfs-cp fails" test $? -ne 0
nc s statvfs /
tap_ok "FSSTAT gives the quota as the size, nothing free" grep -q "^total=1048576 avail=0$" "$dir/nc.out"
tap_diag "$(cat "$dir/nc.out")"
# (libnfs reports a failed WRITE as EFAULT whatever its status: the
# status itself, from a raw call.)
tap_is "$(python3 "$top_srcdir/tests/rpcprobe.py" "$gport" write s over-quota-2 2>&1)" \
	"create 0 write 69" "a WRITE past the quota answers NFS3ERR_DQUOT (69)"
nfs-cp "$(url s w8)" "$dir/w8.q" >/dev/null 2>&1
tap_ok "what was written before the quota is whole" cmp -s "$dir/w8" "$dir/w8.q"

tap_done
