# A client that writes its request one byte per segment: HOST PATH; prints "status servedBy len sha256".
import hashlib, socket, sys, time
host, path = sys.argv[1], sys.argv[2]
s = socket.create_connection((host, 80), timeout=30)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
req = ("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: baton-split-test\r\nConnection: close\r\n\r\n"
       % (path, host)).encode()
for b in req:
    s.send(bytes([b]))
    time.sleep(0.001)
data = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    data += d
head, _, body = data.partition(b"\r\n\r\n")
lines = head.decode("latin-1").split("\r\n")
hdr = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:] if ":" in l}
print(lines[0].split(" ")[1], hdr.get("x-baton-node", ""), hdr.get("x-baton-via", ""), len(body),
      hashlib.sha256(body).hexdigest())
