#!/usr/bin/env python3
# mitm.py - a man in the middle for tests/mitm.sh: listens on a free
# loopback port (printed on its first line of stdout), relays every
# connection to the target's port, and in each successful READ reply flips
# one bit in the middle of the first segment's data (PROTOCOL.md: frame
# header, then u64 size, u32 count, (u64 offset, fp, u8 codec, u32
# raw_len, u32 stored_len, data)...). Each flip is counted in FLIPS_FILE.
# With "tls" the streams are TLS, which he cannot read: he flips one bit
# in what the target sends once RAW_SKIP bytes (the handshake, the login)
# have gone by, once per connection.
#
#   mitm.py TARGET_PORT FLIPS_FILE [tls]
import socket
import struct
import sys
import threading

OP_READ = 0x34
REPLY = 1
RAW_SKIP = 64 * 1024
flips = 0
lock = threading.Lock()


def read_exact(s, n):
    buf = b""
    while len(buf) < n:
        part = s.recv(n - len(buf))
        if not part:
            return None
        buf += part
    return buf


def count_flip():
    global flips
    with lock:
        flips += 1
        with open(sys.argv[2], "w") as f:
            f.write(str(flips))


def tamper(frame):
    """frame: the bytes after the length field."""
    _, op, flags, _, status = struct.unpack_from("<BBHII", frame, 0)
    if op != OP_READ or not flags & REPLY or status != 0:
        return frame
    p = 12
    count = struct.unpack_from("<I", frame, p + 8)[0]
    if count == 0:
        return frame
    seg = p + 12 + 8                      # past size, count, offset
    stored = struct.unpack_from("<I", frame, seg + 32 + 1 + 4)[0]
    data = seg + 32 + 1 + 4 + 4
    if stored == 0:
        return frame
    b = bytearray(frame)
    b[data + stored // 2] ^= 0x01
    count_flip()
    return bytes(b)


def client_to_target(c, t):
    try:
        while True:
            b = c.recv(65536)
            if not b:
                break
            t.sendall(b)
    except OSError:
        pass
    for s in (t,):
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def target_to_client(t, c):
    try:
        while True:
            head = read_exact(t, 4)
            if head is None:
                break
            n = struct.unpack("<I", head)[0]
            frame = read_exact(t, n)
            if frame is None:
                break
            c.sendall(head + tamper(frame))
    except OSError:
        pass
    try:
        c.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def target_to_client_raw(t, c):
    seen, flipped = 0, False
    try:
        while True:
            b = t.recv(65536)
            if not b:
                break
            if not flipped and seen + len(b) > RAW_SKIP:
                i = max(0, RAW_SKIP - seen)
                b = b[:i] + bytes([b[i] ^ 0x01]) + b[i + 1:]
                flipped = True
                count_flip()
            seen += len(b)
            c.sendall(b)
    except OSError:
        pass
    try:
        c.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def serve(c, port):
    t = socket.create_connection(("127.0.0.1", port))
    threading.Thread(target=client_to_target, args=(c, t),
                     daemon=True).start()
    if len(sys.argv) > 3 and sys.argv[3] == "tls":
        target_to_client_raw(t, c)
    else:
        target_to_client(t, c)


def main():
    port = int(sys.argv[1])
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    print(ls.getsockname()[1], flush=True)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c, port), daemon=True).start()


main()
