# A client that reads one HTTP/1.1 response at a fixed rate: slow_get.py HOST PATH RATE OUT
# (RATE in bytes per second, K and M suffixes as curl's --limit-rate). curl's --limit-rate reads
# whatever its socket holds in one go, up to a hundred buffers, and sleeps afterwards: when the
# sender keeps its socket full, a "150K" transfer of 2 MiB ended within a second. Here a small
# receive buffer bounds what the sender can push ahead, and every read waits its turn.
# Exit codes as curl's: 0 complete, 56 reset or cut short, 28 timeout, 7 no connection.
import socket, sys, time

host, path, rate, out = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
scale = {"K": 1024, "M": 1024 * 1024}
rate = int(rate[:-1]) * scale[rate[-1].upper()] if rate[-1].upper() in scale else int(rate)
chunk = max(1024, min(16384, rate // 20))
deadline = time.monotonic() + 60

def fail(code, why):
    sys.stderr.write("slow_get %s: %s\n" % (path, why))
    sys.exit(code)

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)  # before connect: it sets the window scale
s.settimeout(10)
try:
    s.connect((host, 80))
except OSError as e:
    fail(7, e)
quoted = "".join(c if c.isalnum() or c in "/-._~" else "%%%02X" % ord(c) for c in path)
s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (quoted, host)).encode())
start = time.monotonic()
received = 0
head = b""
length = None
body = 0
with open(out, "wb") as f:
    while length is None or body < length:
        if time.monotonic() > deadline:
            fail(28, "timed out after %d body bytes" % body)
        wait = start + received / rate - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        try:
            data = s.recv(chunk)
        except socket.timeout:
            continue
        except OSError as e:
            fail(56, "%s after %d body bytes" % (e, body))
        if not data:
            fail(56, "closed after %d body bytes" % body)
        received += len(data)
        if length is None:
            head += data
            if b"\r\n\r\n" not in head:
                continue
            head, _, data = head.partition(b"\r\n\r\n")
            fields = dict(l.split(":", 1) for l in head.decode("latin-1").split("\r\n")[1:] if ":" in l)
            fields = {k.strip().lower(): v.strip() for k, v in fields.items()}
            if " 200 " not in head.decode("latin-1").split("\r\n")[0] + " ":
                fail(22, head.decode("latin-1").split("\r\n")[0])
            length = int(fields["content-length"])
        f.write(data)
        body += len(data)
sys.exit(0)
