# BadInputIT: hostile packets and bytes at a node from the client namespace (what: argv[1]).
import random, socket, struct, sys
what, dst = sys.argv[1], sys.argv[2]
src = "10.200.0.2"

def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def tcp(sport, flags, options=b"", offset=None, payload=b"", good=True):
    off = offset if offset is not None else (20 + len(options)) // 4
    h = struct.pack("!HHIIBBHHH", sport, 80, 1000, 0, off << 4, flags, 65535, 0, 0) + options + payload
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(h))
    c = csum(pseudo + h)
    if not good: c ^= 0x5a5a
    return h[:16] + struct.pack("!H", c) + h[18:]

def ip(payload):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0x4000, 64, 6, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload

def raw(packet):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.sendto(packet, (dst, 0))

def http(data):
    s = socket.create_connection((dst, 80), timeout=10)
    s.sendall(data)
    print(s.recv(200).decode("latin-1").split("\r\n")[0])

port = random.randint(20000, 30000)
if what == "truncated":
    raw(ip(tcp(port, 0x02)[:10]))
elif what == "offset":
    raw(ip(tcp(port, 0x02, offset=15)))
elif what == "options":
    raw(ip(tcp(port, 0x02, options=b"\x08\x03\x00\x01")))
elif what == "checksum":
    raw(ip(tcp(port, 0x02, good=False)))
elif what == "control":
    s = socket.create_connection((dst, 7070), timeout=10)
    s.sendall(bytes(random.getrandbits(8) for _ in range(4096)))
    try:
        print("closed" if s.recv(100) == b"" else "answered")
    except ConnectionResetError:
        print("closed")
elif what == "garbage-request":
    http(b"\x00\x01 not http at all\r\n\r\n")
elif what == "huge-header":
    http(b"GET /index.html HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
