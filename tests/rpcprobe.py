#!/usr/bin/env python3
# rpcprobe.py - raw ONC RPC calls at ddt-nfsd for tests/nfs.sh: what no
# well-behaved client sends (wrong versions and procedures, bad
# credentials, garbage arguments, a call in many fragments, an oversized
# record). Prints one "ok"/"not ok" line per check; exit 1 if any failed.
import socket, struct, sys

port = int(sys.argv[1])
fails = 0
# rpcprobe.py PORT readdir EXPORT DIR N: a listing of DIR (N entries) in
# pages, with an entry added between pages: the pages continue the
# listing as it was (no entry twice, none skipped); a new listing shows
# the added entry.
mode = sys.argv[2] if len(sys.argv) > 2 else "rpc"

def check(cond, what):
    global fails
    print(("ok " if cond else "not ok ") + what)
    fails += 0 if cond else 1

def auth_sys(uid=0, gid=0):
    body = struct.pack(">I", 0) + struct.pack(">I", 4) + b"test"
    body += struct.pack(">III", uid, gid, 0)
    return struct.pack(">II", 1, len(body)) + body

AUTH_NONE = struct.pack(">II", 0, 0)

def call(xid, prog, vers, proc, args=b"", cred=None):
    return struct.pack(">IIIIII", xid, 0, 2, prog, vers, proc) + \
        (cred if cred is not None else auth_sys()) + AUTH_NONE + args

def conn():
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return s

def send(s, rec, frags=1):
    step = max(1, (len(rec) + frags - 1) // frags)
    parts = [rec[i:i + step] for i in range(0, len(rec), step)] or [b""]
    for i, p in enumerate(parts):
        last = 0x80000000 if i == len(parts) - 1 else 0
        s.sendall(struct.pack(">I", last | len(p)) + p)

def recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            return None
        b += c
    return b

def reply(s):
    body = b""
    while True:
        h = recv_exact(s, 4)
        if h is None:
            return None
        (m,) = struct.unpack(">I", h)
        body += recv_exact(s, m & 0x7fffffff)
        if m & 0x80000000:
            return body

def accepted(r):
    """(xid, accept_stat, rest) of an accepted reply, else None."""
    xid, mtype, stat = struct.unpack(">III", r[:12])
    if mtype != 1 or stat != 0:
        return None
    flavor, vlen = struct.unpack(">II", r[12:20])
    off = 20 + ((vlen + 3) & ~3)
    (astat,) = struct.unpack(">I", r[off:off + 4])
    return xid, astat, r[off + 4:]

def xstr(b):
    return struct.pack(">I", len(b)) + b + b"\0" * ((4 - len(b) % 4) % 4)

def rpc(s, xid, prog, proc, args):
    send(s, call(xid, prog, 3, proc, args))
    r = accepted(reply(s))
    assert r and r[0] == xid and r[1] == 0, "call %d failed" % proc
    return r[2]

def take_str(b, off):
    (n,) = struct.unpack(">I", b[off:off + 4])
    return b[off + 4:off + 4 + n], off + 4 + ((n + 3) & ~3)

def skip_post_op(b, off):
    (follows,) = struct.unpack(">I", b[off:off + 4])
    return off + 4 + (84 if follows else 0)

def readdir_page(s, xid, fh, cookie, verf, count=2048):
    b = rpc(s, xid, 100003, 16, xstr(fh) + struct.pack(">Q", cookie) +
            verf + struct.pack(">I", count))
    (st,) = struct.unpack(">I", b[:4])
    assert st == 0, "READDIR status %d" % st
    off = skip_post_op(b, 4)
    verf, off = b[off:off + 8], off + 8
    names = []
    while struct.unpack(">I", b[off:off + 4])[0]:
        name, off = take_str(b, off + 12)
        (cookie,) = struct.unpack(">Q", b[off:off + 8])
        off += 8
        names.append(name.decode())
    (eof,) = struct.unpack(">I", b[off + 4:off + 8])
    return names, cookie, verf, eof

def readdir_test(export, d, n):
    s = conn()
    b = rpc(s, 1, 100005, 1, xstr(("/" + export).encode()))
    root, _ = take_str(b, 4)
    b = rpc(s, 2, 100003, 3, xstr(root) + xstr(d.encode()))
    assert struct.unpack(">I", b[:4])[0] == 0, "LOOKUP failed"
    fh, _ = take_str(b, 4)
    names, cookie, verf, eof = readdir_page(s, 3, fh, 0, b"\0" * 8)
    check(not eof and len(names) < n, "READDIR: a first page of %d" % len(names))
    b = rpc(s, 4, 100003, 9, xstr(fh) + xstr(b"added-between-pages") +
            b"\0" * 24)
    check(struct.unpack(">I", b[:4])[0] == 0, "an entry is added")
    xid = 5
    while not eof:
        more, cookie, verf, eof = readdir_page(s, xid, fh, cookie, verf)
        names += more
        xid += 1
    check(len(names) == n and len(set(names)) == n and
          "added-between-pages" not in names,
          "the pages continue the listing as it was: %d entries, "
          "none twice" % len(names))
    names, cookie, verf2, eof = readdir_page(s, xid, fh, 0, b"\0" * 8, 1 << 20)
    while not eof:
        xid += 1
        more, cookie, verf2, eof = readdir_page(s, xid, fh, cookie, verf2)
        names += more
    check(verf2 != verf and "added-between-pages" in names and
          len(names) == n + 1,
          "a new listing has a new verifier and the added entry")
    sys.exit(1 if fails else 0)

# rpcprobe.py PORT write EXPORT NAME: CREATE NAME in the export's root
# (UNCHECKED) and WRITE 64 KiB to it; prints the two statuses.
def write_test(export, name):
    s = conn()
    b = rpc(s, 1, 100005, 1, xstr(("/" + export).encode()))
    root, _ = take_str(b, 4)
    b = rpc(s, 2, 100003, 8, xstr(root) + xstr(name.encode()) +
            struct.pack(">I", 0) + b"\0" * 24)
    (st,) = struct.unpack(">I", b[:4])
    if st != 0:
        print("create %d" % st)
        sys.exit(0)
    fh, _ = take_str(b, 8)
    b = rpc(s, 3, 100003, 7, xstr(fh) + struct.pack(">QII", 0, 65536, 0) +
            xstr(b"x" * 65536))
    print("create 0 write %d" % struct.unpack(">I", b[:4])[0])
    sys.exit(0)

# rpcprobe.py PORT verf EXPORT NAME: COMMIT the file NAME in the
# export's root; prints the write verifier in hex.
def verf_test(export, name):
    s = conn()
    b = rpc(s, 1, 100005, 1, xstr(("/" + export).encode()))
    root, _ = take_str(b, 4)
    b = rpc(s, 2, 100003, 3, xstr(root) + xstr(name.encode()))
    fh, _ = take_str(b, 4)
    b = rpc(s, 3, 100003, 21, xstr(fh) + struct.pack(">QI", 0, 0))
    assert struct.unpack(">I", b[:4])[0] == 0, "COMMIT failed"
    off = 4
    if struct.unpack(">I", b[off:off + 4])[0]:
        off += 24
    off = skip_post_op(b, off + 4)
    print(b[off:off + 8].hex())
    sys.exit(0)

# rpcprobe.py PORT excl EXPORT NAME: exclusive CREATE of NAME, the same
# call again (a retransmission: same handle), and with another verifier
# (NFS3ERR_EXIST).
def excl_test(export, name):
    s = conn()
    b = rpc(s, 1, 100005, 1, xstr(("/" + export).encode()))
    root, _ = take_str(b, 4)
    args = xstr(root) + xstr(name.encode()) + struct.pack(">I", 2)
    out = []
    for xid, verf in ((2, b"verifier"), (3, b"verifier"), (4, b"another!")):
        b = rpc(s, xid, 100003, 8, args + verf)
        (st,) = struct.unpack(">I", b[:4])
        fh = take_str(b, 8)[0].hex() if st == 0 else ""
        out.append((st, fh))
    check(out[0][0] == 0 and out[0][1], "exclusive CREATE makes the file")
    check(out[1] == out[0], "the same CREATE again finds it, same handle")
    check(out[2][0] == 17, "another verifier answers NFS3ERR_EXIST")
    sys.exit(1 if fails else 0)

if mode == "excl":
    excl_test(sys.argv[3], sys.argv[4])
if mode == "verf":
    verf_test(sys.argv[3], sys.argv[4])
# rpcprobe.py PORT forge EXPORT_A EXPORT_B: a client of both forges a
# handle that names B's root inode under A's export id (with A's MAC), and
# one with a bit of its inode flipped: both answer BADHANDLE, while the
# handles the gateway gave out work.
def getattr_status(s, xid, fh):
    b = rpc(s, xid, 100003, 1, xstr(fh))
    return struct.unpack(">I", b[:4])[0]

def forge_test(ea, eb):
    s = conn()
    b = rpc(s, 1, 100005, 1, xstr(("/" + ea).encode()))
    ha, _ = take_str(b, 4)
    b = rpc(s, 2, 100005, 1, xstr(("/" + eb).encode()))
    hb, _ = take_str(b, 4)
    check(len(ha) == 32 and getattr_status(s, 3, ha) == 0 and
          getattr_status(s, 4, hb) == 0, "the handles MNT gave out work")
    forged = ha[:12] + hb[12:20] + ha[20:]
    check(getattr_status(s, 5, forged) == 10001,
          "a handle naming another export's inode under this export's id "
          "answers BADHANDLE")
    flipped = ha[:19] + bytes([ha[19] ^ 1]) + ha[20:]
    check(getattr_status(s, 6, flipped) == 10001,
          "a handle with its inode changed answers BADHANDLE")
    sys.exit(1 if fails else 0)

if mode == "forge":
    forge_test(sys.argv[3], sys.argv[4])
if mode == "write":
    write_test(sys.argv[3], sys.argv[4])
if mode == "readdir":
    readdir_test(sys.argv[3], sys.argv[4], int(sys.argv[5]))

s = conn()
send(s, call(1, 100003, 3, 0))
r = accepted(reply(s))
check(r and r[0] == 1 and r[1] == 0, "NFS NULL succeeds")
send(s, call(2, 100003, 2, 0))
r = accepted(reply(s))
check(r and r[1] == 2 and struct.unpack(">II", r[2][:8]) == (3, 3),
      "NFS version 2 answers PROG_MISMATCH 3..3")
send(s, call(3, 100099, 1, 0))
r = accepted(reply(s))
check(r and r[1] == 1, "an unknown program answers PROG_UNAVAIL")
send(s, call(4, 100003, 3, 99))
r = accepted(reply(s))
check(r and r[1] == 3, "an unknown procedure answers PROC_UNAVAIL")
send(s, call(5, 100003, 3, 1, struct.pack(">I", 64)))
r = accepted(reply(s))
check(r and r[1] == 4, "GETATTR with a truncated handle answers GARBAGE_ARGS")
send(s, call(6, 100003, 3, 1, struct.pack(">I", 4) + b"junk"))
r = accepted(reply(s))
check(r and r[1] == 0 and struct.unpack(">I", r[2][:4])[0] == 10001,
      "GETATTR of a handle not ours answers NFS3ERR_BADHANDLE")
send(s, call(7, 100003, 3, 1, struct.pack(">I", 4) + b"junk", AUTH_NONE))
raw = reply(s)
xid, mtype, stat, rj, why = struct.unpack(">IIIII", raw[:20])
check(stat == 1 and rj == 1 and why == 5,
      "GETATTR with AUTH_NONE is denied AUTH_TOOWEAK")
send(s, call(8, 100005, 3, 0, cred=AUTH_NONE), frags=5)
r = accepted(reply(s))
check(r and r[0] == 8 and r[1] == 0, "a MOUNT NULL in five fragments succeeds")
# Two calls at once: both answered, each with its own xid.
send(s, call(9, 100003, 3, 0))
send(s, call(10, 100005, 3, 0))
xids = sorted(accepted(reply(s))[0] for _ in range(2))
check(xids == [9, 10], "pipelined calls are each answered")
# A record over the cap ends the connection, not the server.
s.sendall(struct.pack(">I", 0x7fffffff))
s.settimeout(10)
try:
    gone = s.recv(1) == b""
except OSError:
    gone = True
check(gone, "a record claiming 2 GiB closes the connection")
s2 = conn()
send(s2, call(11, 100003, 3, 0))
r = accepted(reply(s2))
check(r and r[0] == 11, "and the server still answers")
sys.exit(1 if fails else 0)
