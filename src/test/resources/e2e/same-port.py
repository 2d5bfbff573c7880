# Two connections from one source port, to two nodes; prints "status servedBy sha256" per response.
import hashlib, random, socket, sys
first, second, path = sys.argv[1], sys.argv[2], sys.argv[3]
port = None

def connect(host):
    # The first connection picks a port no earlier connection of the namespace still holds.
    global port
    for attempt in range(50):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("10.200.0.2", port or random.randint(40000, 50000)))
            break
        except OSError:
            s.close()
            if port: raise
    port = s.getsockname()[1]
    s.connect((host, 80))
    s.settimeout(30)
    return s

def get(s, host):
    s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (path, host)).encode())
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    hdr = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:] if ":" in l}
    n = int(hdr["content-length"])
    while len(body) < n:
        body += s.recv(65536)
    print(lines[0].split(" ")[1], hdr.get("x-baton-node", ""), hashlib.sha256(body).hexdigest())

a = connect(first)
get(a, first)
b = connect(second)
get(b, second)
get(a, first)
