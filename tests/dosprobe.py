#!/usr/bin/env python3
# dosprobe.py - what an attacker does to ddtargetd before login, for
# tests/dos.sh (PROTOCOL.md section 3, Before login), over raw frames from
# loopback source addresses of its choosing (127.0.0.N: one per "host").
#   dosprobe.py PORT flood SECONDS IDLE STALL IDLE_SRC STALL_SRC
#       keep IDLE silent connections from IDLE_SRC and STALL connections
#       that announce an 8 MiB HELLO and send 1 KiB of it from STALL_SRC
#       open for SECONDS, reopening what the target
#       closes; prints counts: opened, refused at once (EBUSY), stalled
#       frames refused (EPROTO), and the most held open at once.
#   dosprobe.py PORT silent SRC          seconds until a silent peer is
#       closed, and the message it was sent
#   dosprobe.py PORT authcap SRC USER N  N wrong passwords on one session:
#       each answer's status, and whether the session was then closed
#   dosprobe.py PORT pipeline SRC N      HELLO, then N STATUS requests of
#       60 KiB each sent at once before login: how many were answered
#       EPERM, and whether the session is still open after them
#   dosprobe.py PORT auth SRC USER PASS  one login: status, ms for AUTH
#   dosprobe.py PORT auth2 SRC USER PASS  the same on two sessions, the
#       second opened once the first is answered: both statuses and times
import select, socket, struct, sys, time

port = int(sys.argv[1])
mode = sys.argv[2]
HELLO, AUTH = 1, 2


def frame(op, payload=b"", length=None, fid=1):
    n = 12 + len(payload) if length is None else length
    return struct.pack("<IBBHII", n, 1, op, 0, fid, 0) + payload


def s_str(b):
    return struct.pack("<H", len(b)) + b


def hello_payload():
    return struct.pack("<I", 1) + s_str(b"dosprobe")


def connect(src, timeout=10):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    return s


def recv_frame(s):
    """(opcode, id, status, payload) or None at EOF."""
    def exact(n):
        b = b""
        while len(b) < n:
            c = s.recv(n - len(b))
            if not c:
                return None
            b += c
        return b
    try:
        h = exact(16)
        if h is None:
            return None
        length, _v, op, _f, fid, st = struct.unpack("<IBBHII", h)
        p = exact(length - 12)
        return None if p is None else (op, fid, st, p)
    except (ConnectionError, socket.timeout):
        return None


def message(p):
    n = struct.unpack("<H", p[:2])[0]
    return p[2:2 + n].decode(errors="replace")


def closed(s, wait):
    """The target closed s within wait seconds (what it sent is read)."""
    end = time.time() + wait
    while time.time() < end:
        p = select.poll()
        p.register(s, select.POLLIN)
        if not p.poll(max(0, end - time.time()) * 1000):
            return False
        try:
            if not s.recv(65536):
                return True
        except ConnectionError:
            return True
    return False


def flood(seconds, n_idle, n_stall, srcs):
    """srcs: kind -> source address"""
    conns = {}      # socket -> kind
    stats = {"opened": 0, "refused": 0, "stall_refused": 0, "closed": 0,
             "most_open": 0}
    want = {"idle": n_idle, "stall": n_stall}
    have = {"idle": 0, "stall": 0}
    end = time.time() + seconds
    last_round = 0
    while time.time() < end:
        # What the target closed is reopened once a second: a persistent
        # attacker, not a connect flood.
        reopen = time.time() - last_round >= 1
        if reopen:
            last_round = time.time()
        for kind in ("idle", "stall"):
            while reopen and have[kind] < want[kind]:
                src = srcs[kind]
                try:
                    s = connect(src, 2)
                except OSError:
                    break
                s.setblocking(False)
                if kind == "stall":
                    try:
                        s.send(frame(HELLO, b"\0" * 1024,
                                     length=12 + (8 << 20)))
                    except OSError:
                        pass
                conns[s] = kind
                have[kind] += 1
                stats["opened"] += 1
        stats["most_open"] = max(stats["most_open"], len(conns))
        p = select.poll()
        byfd = {}
        for s in conns:
            p.register(s, select.POLLIN)
            byfd[s.fileno()] = s
        for fd, _ in p.poll(50):
            s = byfd[fd]
            try:
                b = s.recv(65536)
            except OSError:
                b = b""
            if len(b) >= 16:
                st = struct.unpack("<I", b[12:16])[0]
                if st == 16:
                    stats["refused"] += 1
                elif st == 71:
                    stats["stall_refused"] += 1
            if len(b) < 16 or closed(s, 0.2):
                stats["closed"] += 1
                have[conns.pop(s)] -= 1
                s.close()
    for s in conns:
        s.close()
    print(" ".join("%s=%d" % kv for kv in sorted(stats.items())))


def silent(src):
    s = connect(src, 60)
    t0 = time.time()
    f = recv_frame(s)
    gone = f is None or closed(s, 5)
    print("seconds=%.1f closed=%d message=%s" % (
        time.time() - t0, gone, message(f[3]) if f else "-"))


def pipeline(src, n):
    import threading
    s = connect(src, 30)
    s.sendall(frame(HELLO, hello_payload()))
    recv_frame(s)
    blob = frame(3, b"\0" * (60 << 10))    # STATUS, padded: not parsed
    t = threading.Thread(target=lambda: s.sendall(blob * n))
    t.start()
    eperm = 0
    for _ in range(n):
        f = recv_frame(s)
        if f is None:
            break
        eperm += f[2] == 1
    t.join()
    s.sendall(frame(HELLO, hello_payload(), fid=7))
    f = recv_frame(s)
    print("eperm=%d open=%d" % (eperm, f is not None and f[2] == 0))


def login(s, user, pw, fid):
    s.sendall(frame(AUTH, s_str(user.encode()) + s_str(pw.encode()), fid=fid))
    return recv_frame(s)


def authcap(src, user, n):
    s = connect(src, 60)
    s.sendall(frame(HELLO, hello_payload()))
    recv_frame(s)
    out = []
    for i in range(n):
        f = login(s, user, "wrong%d" % i, 10 + i)
        out.append(str(f[2]) if f else "eof")
    print("statuses=%s closed=%d" % (",".join(out), closed(s, 5)))


def auth(src, user, pw, tag=""):
    s = connect(src, 60)
    s.sendall(frame(HELLO, hello_payload()))
    recv_frame(s)
    t0 = time.time()
    f = login(s, user, pw, 2)
    ms = (time.time() - t0) * 1000
    s.close()
    return "%sstatus=%s %sms=%d" % (tag, f[2] if f else "eof", tag, ms) + \
        ("" if tag else " message=%s" % (message(f[3]) if f and f[2] else "-"))


if mode == "flood":
    flood(float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]),
          {"idle": sys.argv[6], "stall": sys.argv[7]})
elif mode == "silent":
    silent(sys.argv[3])
elif mode == "authcap":
    authcap(sys.argv[3], sys.argv[4], int(sys.argv[5]))
elif mode == "pipeline":
    pipeline(sys.argv[3], int(sys.argv[4]))
elif mode == "auth":
    print(auth(sys.argv[3], sys.argv[4], sys.argv[5]))
elif mode == "authpair":
    # a failure from one address, then at once a login from another
    print(auth(sys.argv[3], sys.argv[4], "wrong", "first_") + " " +
          auth(sys.argv[5], sys.argv[4], sys.argv[6], "second_"))
elif mode == "auth2":
    print(auth(sys.argv[3], sys.argv[4], sys.argv[5], "first_") + " " +
          auth(sys.argv[3], sys.argv[4], sys.argv[5], "second_"))
else:
    sys.exit("dosprobe.py: unknown mode " + mode)
