# HostileRequestsIT's raw client. "one HOST CASE CANARY": sends the case's bytes on a new connection,
# reads as many responses as the case expects (a response without a status line is read to the end of
# the stream, as HTTP/0.9), prints {"responses":[{status,node,via,len,sha}],"canary":bool}.
# "endless WAIT HOST... CANARY": to each host, two silent and two dripping heads that never end,
# concurrently; prints when each was closed (null if still open after WAIT seconds).
import hashlib, json, socket, sys, threading, time
R = b"/data/1k.bin"
H = b"Host: h\r\n"
CASES = {
    "dup-host": b"GET " + R + b" HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "dup-host-same": b"GET " + R + b" HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n",
    "no-host-11": b"GET " + R + b" HTTP/1.1\r\n\r\n",
    "no-host-10": b"GET " + R + b" HTTP/1.0\r\n\r\n",
    "bad-host": b"GET " + R + b" HTTP/1.1\r\nHost: a/b\r\n\r\n",
    "absolute": b"GET http://elsewhere.example" + R + b" HTTP/1.1\r\n" + H + b"\r\n",
    "absolute-dots": b"GET http://elsewhere.example/../secret.txt HTTP/1.1\r\n" + H + b"\r\n",
    "long-uri": b"GET /data/" + b"a" * 9000 + b" HTTP/1.1\r\n" + H + b"\r\n",
    "long-header": b"GET " + R + b" HTTP/1.1\r\n" + H + b"X-Big: " + b"a" * 9000 + b"\r\n\r\n",
    "many-headers": b"GET " + R + b" HTTP/1.1\r\n" + H + b"X: y\r\n" * 100 + b"\r\n",
    "dots": b"GET /../secret.txt HTTP/1.1\r\n" + H + b"\r\n",
    "dots-deep": b"GET /data/../../../secret.txt HTTP/1.1\r\n" + H + b"\r\n",
    "dots-enc": b"GET /%2e%2e/secret.txt HTTP/1.1\r\n" + H + b"\r\n",
    "dots-slash": b"GET /..%2fsecret.txt HTTP/1.1\r\n" + H + b"\r\n",
    "dots-inside": b"GET /api/../data/./1k.bin HTTP/1.1\r\n" + H + b"\r\n",
    "backslash": b"GET /data/..\\..\\secret.txt HTTP/1.1\r\n" + H + b"\r\n",
    "backslash-enc": b"GET /data/..%5c..%5csecret.txt HTTP/1.1\r\n" + H + b"\r\n",
    "double-enc": b"GET /data/%252e%252e/%252e%252e/secret.txt HTTP/1.1\r\n" + H + b"\r\n",
    "nul-header": b"GET " + R + b" HTTP/1.1\r\nHost: h\x00\r\n\r\n",
    "nul-target": b"GET " + R + b"\x00 HTTP/1.1\r\n" + H + b"\r\n",
    "pct-nul": b"GET " + R + b"%00 HTTP/1.1\r\n" + H + b"\r\n",
    "utf8-raw": b"GET /data/\xc3\x28 HTTP/1.1\r\n" + H + b"\r\n",
    "utf8-pct": b"GET /data/%c3%28 HTTP/1.1\r\n" + H + b"\r\n",
    "utf8-header": b"GET " + R + b" HTTP/1.1\r\n" + H + b"X-U: \xff\xfe\r\n\r\n",
    "bare-lf": b"GET " + R + b" HTTP/1.1\nHost: h\n\n",
    "bare-cr": b"GET " + R + b" HTTP/1.1\rHost: h\r\n\r\n",
    "obs-fold": b"GET " + R + b" HTTP/1.1\r\n" + H + b"X-F: a\r\n b\r\n\r\n",
    "huge-cl": b"POST " + R + b" HTTP/1.1\r\n" + H + b"Content-Length: 999999999999999999\r\n\r\n",
    "overflow-cl": b"POST " + R + b" HTTP/1.1\r\n" + H + b"Content-Length: 99999999999999999999\r\n\r\n",
    "te-cl": b"POST " + R + b" HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
    "http09": b"GET /index.html\r\n",
    "h2-preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "tls-hello": bytes.fromhex("16030100a5010000a10303") + bytes(range(32)) + b"\r\n\r\n",
    "lower-method": b"get " + R + b" HTTP/1.1\r\n" + H + b"\r\n",
    "pipelined": b"GET " + R + b" HTTP/1.1\r\n" + H + b"\r\nGET /index.html HTTP/1.1\r\n" + H + b"\r\n",
    "pipelined-dots": b"GET " + R + b" HTTP/1.1\r\n" + H + b"\r\nGET /../secret.txt HTTP/1.1\r\n" + H + b"\r\n",
    "forged-guard": b"GET " + R + b" HTTP/1.1\r\n" + H + b"\r\nGET /index.html HTTP/1.1\r\n" + H
                    + b"X-Baton-Forwarded: 1\r\n\r\n",
    "symlink-out": b"GET /data/link-out.txt HTTP/1.1\r\n" + H + b"\r\n",
}
RESPONSES = {"pipelined": 2, "pipelined-dots": 2, "forged-guard": 2}

class Reader:
    def __init__(self, s):
        self.s, self.buf, self.eof, self.all = s, b"", False, b""
    def more(self):
        if self.eof: return False
        try:
            d = self.s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            d = b""
        if not d:
            self.eof = True
            return False
        self.buf += d
        self.all += d
        return True
    def take(self, n):
        out, self.buf = self.buf[:n], self.buf[n:]
        return out
    def response(self):
        while len(self.buf) < 5 and self.more(): pass
        if not self.buf and self.eof: return None
        if not self.buf.startswith(b"HTTP/"):   # HTTP/0.9: the body, to the end
            while self.more(): pass
            body = self.take(len(self.buf))
            return {"status": 0, "node": "", "via": "", "len": len(body), "sha": hashlib.sha256(body).hexdigest()}
        while b"\r\n\r\n" not in self.buf and self.more(): pass
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        self.buf = rest
        lines = head.decode("latin-1").split("\r\n")
        hdr = {}
        for l in lines[1:]:
            if ":" in l: hdr[l.split(":", 1)[0].strip().lower()] = l.split(":", 1)[1].strip()
        status = int(lines[0].split(" ")[1])
        if "content-length" in hdr:
            n = int(hdr["content-length"])
            while len(self.buf) < n and self.more(): pass
            body = self.take(n)
        elif status in (204, 304) or 100 <= status < 200:
            body = b""
        else:
            while self.more(): pass
            body = self.take(len(self.buf))
        return {"status": status, "node": hdr.get("x-baton-node", ""), "via": hdr.get("x-baton-via", ""),
                "len": len(body), "sha": hashlib.sha256(body).hexdigest()}

def one(host, name, canary):
    s = socket.create_connection((host, 80), timeout=15)
    s.sendall(CASES[name])
    r = Reader(s)
    out = []
    for _ in range(RESPONSES.get(name, 1)):
        resp = r.response()
        if resp is None: break
        out.append(resp)
    s.settimeout(0.1)   # anything the server sent beyond the responses counts for the canary too
    r.more()
    s.close()
    print(json.dumps({"responses": out, "canary": canary.encode() in r.all,
                      "first": r.all[:60].decode("latin-1")}))

def endless(wait, hosts, canary):
    results = []
    lock = threading.Lock()
    def conn(host, variant, copy):
        s = socket.create_connection((host, 80), timeout=wait)
        start = time.time()
        s.sendall(b"GET " + R + b" HTTP/1.1\r\n" + H)
        got, closed = b"", None
        s.settimeout(0.5)
        while time.time() - start < wait:
            try:
                d = s.recv(4096)
                if not d:
                    closed = time.time() - start
                    break
                got += d
            except socket.timeout:
                pass
            except ConnectionResetError:
                closed = time.time() - start
                break
            if variant == "drip":
                try:
                    s.send(b"X")   # one byte of a field value that never ends
                except OSError:
                    closed = time.time() - start
                    break
        s.close()
        with lock:
            results.append({"host": host, "variant": variant, "copy": copy, "closedAfter": closed,
                            "received": len(got), "canary": canary.encode() in got})
    threads = [threading.Thread(target=conn, args=(h, v, k)) for h in hosts for v in ("silent", "drip") for k in (1, 2)]
    for t in threads: t.start()
    for t in threads: t.join()
    print(json.dumps({"connections": results}))

if sys.argv[1] == "one":
    one(sys.argv[2], sys.argv[3], sys.argv[4])
else:
    endless(float(sys.argv[2]), sys.argv[3:-1], sys.argv[-1])
