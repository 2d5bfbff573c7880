# ControlAuthIT's rogue: speaks control protocol version 2 by hand, without the key.
# Frame: u32 length, u8 version, u8 type, u16 flags, u64 correlation id, payload (ControlFrame's layout).
import os, random, socket, struct, sys
how, me, n2, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

def frame(ftype, corr, payload):
    return struct.pack("!IBBHQ", 12 + len(payload), 2, ftype, 0, corr) + payload

def read_frame(s):
    head = b""
    while len(head) < 4:
        b = s.recv(4 - len(head))
        if not b: raise EOFError
        head += b
    n = struct.unpack("!I", head)[0]
    body = b""
    while len(body) < n:
        b = s.recv(n - len(body))
        if not b: raise EOFError
        body += b
    return head + body

def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def packet(src, dst, sport, seq, ack, flags):
    tcp = struct.pack("!HHIIBBHHH", sport, 80, seq, ack, 5 << 4, flags, 65535, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0x4000, 64, 6, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    return ip[:10] + struct.pack("!H", csum(ip)) + ip[12:] + tcp

name = b"n1"
hello = frame(1, 0, struct.pack("!B", len(name)) + name + socket.inet_aton(me)
              + struct.pack("!HQ", 80, random.getrandbits(64)) + os.urandom(16))
# A handoff of a made-up client connection to n1 (the client's SYN and ACK), as n1 would send it.
sport = random.randint(20000, 30000)
syn = packet("10.200.0.2", me, sport, 1000, 0, 0x02)
ack = packet("10.200.0.2", me, sport, 1001, 5001, 0x10)
request = frame(3, random.getrandbits(63),
                struct.pack("!IIbHB", 5000, 1, 7, 1460, 3)
                + struct.pack("!H", len(syn)) + syn + struct.pack("!H", len(ack)) + ack)
tag = os.urandom(16)

s = socket.create_connection((n2, port), timeout=10)
s.sendall(hello)
out = []
try:
    read_frame(s)          # n2's Hello
    their_auth = read_frame(s)
    out.append("hello-answered")
    if how == "forged-auth":
        s.sendall(frame(10, 0, os.urandom(32)) + request + tag)
    elif how == "no-auth":
        s.sendall(request + tag)
    elif how == "reflected-auth":
        s.sendall(their_auth + request + tag)
    while s.recv(4096):
        pass
    out.append("closed")
except EOFError:
    out.append("closed-early")
except ConnectionResetError:
    out.append("closed")
except socket.timeout:
    out.append("still-open")
print(" ".join(out))
