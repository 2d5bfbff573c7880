package dev.baton.e2e;

import static dev.baton.e2e.EndToEnd.assertExact;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.baton.btcp.Counter;
import dev.baton.node.LoopDrop;
import dev.baton.testbed.Client;
import dev.baton.testbed.NetCounters;
import dev.baton.testbed.NodeInfo;
import dev.baton.testbed.Spec;
import dev.baton.testbed.Testbed;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Issue 3 item 7 end to end: hostile HTTP requests written by a raw socket client (Python in the
 * client's namespace) to every entry node of a three-node testbed, once with the built-in server and
 * once with nginx. For each request, sent twice to each node: the status is the documented one (the
 * {@link dev.baton.http.RequestParser} table; nginx's own where it differs), the entry's decision
 * (its handoff and local-service counters) is the same both times and is a handoff to the holder
 * exactly when the request is routable, no byte of a canary file lying next to the document roots
 * (and behind a symbolic link inside one) ever comes back. Then: no node counted an internal or
 * policy error, no TCP counter of a bad rewrite moved, and curl is still served byte-exact by every
 * node.
 */
class HostileRequestsIT {
    static final ObjectMapper JSON = new ObjectMapper();

    /** The web server of the nested class's testbed, and the per-server expectations. */
    @Nested
    class Builtin extends Scenarios {
        @Override
        Spec.Server server() {
            return Spec.Server.BUILTIN;
        }

        @Override
        boolean builtin() {
            return true;
        }
    }

    @Nested
    class Nginx extends Scenarios {
        @Override
        Spec.Server server() {
            assertThat(Testbed.findOnPath("nginx"))
                    .as("nginx must be installed (apt-get install nginx)")
                    .isPresent();
            return Spec.Server.NGINX;
        }

        @Override
        boolean builtin() {
            return false;
        }
    }

    /**
     * One hostile request (its bytes are in {@link #CLIENT}, by name) and what must happen to it.
     *
     * @param handoff  whether it is routable to /data/'s holder n2 (so entries n1 and n3 hand it off)
     * @param builtin  statuses of its responses with the built-in server (0: no status line, HTTP/0.9)
     * @param nginx    the same with nginx
     */
    record Case(String name, boolean handoff, String builtin, String nginx) {}

    static final List<Case> CASES = List.of(
            new Case("dup-host", false, "400", "400"),
            new Case("dup-host-same", false, "400", "400"),
            new Case("no-host-11", false, "400", "400"),
            new Case("no-host-10", true, "200", "200"),
            new Case("bad-host", false, "400", "400"),
            new Case("absolute", true, "200", "200"),
            new Case("absolute-dots", false, "400", "400"),
            new Case("long-uri", false, "414", "414"),
            new Case("long-header", false, "431", "400"),
            new Case("many-headers", false, "431", "200"), // nginx has no field-count limit: it serves
            new Case("dots", false, "400", "400"),
            new Case("dots-deep", false, "400", "400"),
            new Case("dots-enc", false, "400", "400"),
            new Case("dots-slash", false, "400", "400"),
            new Case("dots-inside", true, "200", "200"),
            new Case("backslash", true, "404", "404"),
            new Case("backslash-enc", true, "404", "404"),
            new Case("double-enc", true, "404", "404"),
            new Case("nul-header", false, "400", "400"),
            new Case("nul-target", false, "400", "400"),
            new Case("pct-nul", false, "400", "400"),
            new Case("utf8-raw", false, "400", "404"),
            new Case("utf8-pct", false, "400", "404"),
            new Case("utf8-header", true, "200", "200"),
            new Case("bare-lf", true, "200", "200"),
            new Case("bare-cr", false, "400", "400"),
            new Case("obs-fold", false, "400", "400"),
            new Case("huge-cl", true, "413", "413"),
            new Case("overflow-cl", false, "400", "400"),
            new Case("te-cl", false, "400", "400"),
            new Case("http09", false, "400", "0"),
            new Case("h2-preface", false, "400", "400"),
            new Case("tls-hello", false, "400", "400"),
            new Case("lower-method", true, "405", "400"),
            new Case("pipelined", true, "200,200", "200,200"),
            new Case("pipelined-dots", true, "200,400", "200,400"),
            new Case("forged-guard", true, "200,404", "200,404"),
            new Case("symlink-out", true, "404", "403"));

    @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
    @TestInstance(TestInstance.Lifecycle.PER_CLASS)
    abstract static class Scenarios {
        static final Path STATE = Path.of("/run/baton-testbed-hostile");
        static final List<Counter> DECISION = List.of(
                Counter.HANDOFFS_SENT,
                Counter.SERVED_LOCALLY,
                Counter.REQUEST_INVALID,
                Counter.REQUEST_TIMEOUT,
                Counter.REQUEST_UNFINISHED);
        Testbed bed;
        Client client;
        Path script;
        String canary;
        Map<String, NetCounters> before;

        abstract Spec.Server server();

        abstract boolean builtin();

        @BeforeAll
        void up() throws Exception {
            EndToEnd.requireRoot();
            bed = Testbed.up(Spec.defaults().withNodes(3).withServer(server()).withStateDir(STATE));
            client = EndToEnd.client(bed);
            script = EndToEnd.scratch(bed, "hostile-http.py");
            Files.writeString(script, CLIENT);
            // The canary: next to the document roots (content/n1 ...), one level further up, and behind
            // a symbolic link inside n2's /data/ (which routing sends to n2).
            canary = "CANARY-" + UUID.randomUUID();
            Path content = bed.node(1).docroot().getParent();
            Files.writeString(content.resolve("secret.txt"), canary);
            Files.writeString(content.getParent().resolve("secret.txt"), canary);
            Files.createSymbolicLink(bed.node(2).docroot().resolve("data/link-out.txt"), content.resolve("secret.txt"));
            before = EndToEnd.troubleCounters(bed);
        }

        @AfterAll
        void down() throws IOException {
            if (bed == null) return;
            // The canary one level up lies outside what the testbed owns and removes.
            Files.deleteIfExists(bed.node(1).docroot().getParent().getParent().resolve("secret.txt"));
            bed.down();
        }

        private JsonNode run(List<String> args, Duration timeout) {
            List<String> argv = new ArrayList<>(List.of("python3", script.toString()));
            argv.addAll(args);
            argv.add(canary);
            var r = bed.exec(bed.client().netns(), argv, timeout);
            assertThat(r.exitCode()).as(args + ": " + r.stderr()).isZero();
            try {
                return JSON.readTree(r.stdout());
            } catch (Exception e) {
                throw new AssertionError("client output of " + args + ": " + r.stdout() + r.stderr(), e);
            }
        }

        /** The entry's decision counters. */
        private List<Long> decision(String node) {
            List<Long> v = new ArrayList<>();
            for (Counter c : DECISION) v.add(EndToEnd.counter(bed, node, c));
            return v;
        }

        private static List<Long> minus(List<Long> a, List<Long> b) {
            List<Long> d = new ArrayList<>();
            for (int i = 0; i < a.size(); i++) d.add(a.get(i) - b.get(i));
            return d;
        }

        @Test
        @Order(1)
        void answersEachHostileRequestAsDocumentedDecidesTheSameTwiceAndNeverLeaksTheCanary() {
            List<String> failures = new ArrayList<>();
            for (NodeInfo entry : bed.nodes()) {
                for (Case c : CASES) {
                    String expected = builtin() ? c.builtin() : c.nginx();
                    boolean handsOff = c.handoff() && !entry.name().equals("n2");
                    List<List<Long>> decisions = new ArrayList<>();
                    for (int round = 0; round < 2; round++) {
                        List<Long> was = decision(entry.name());
                        JsonNode out = run(List.of("one", entry.ip(), c.name()), Duration.ofSeconds(30));
                        List<Long> delta = minus(decision(entry.name()), was);
                        decisions.add(delta);
                        String what = c.name() + " to " + entry.name() + " (round " + (round + 1) + ")";
                        assertThat(out.path("canary").asBoolean())
                                .as(what + ": canary in the response")
                                .isFalse();
                        List<String> statuses = new ArrayList<>();
                        for (JsonNode resp : out.path("responses"))
                            statuses.add(resp.path("status").asText());
                        if (!String.join(",", statuses).equals(expected)) {
                            failures.add(what + ": statuses " + statuses + ", expected " + expected + "; first bytes: "
                                    + out.path("first").asText());
                        }
                        assertThat(delta.getFirst())
                                .as(what + ": handoffs sent " + DECISION + "=" + delta)
                                .isEqualTo(handsOff ? 1L : 0L);
                        if (!handsOff) {
                            assertThat(delta.get(1) + delta.get(2))
                                    .as(what + ": served locally " + delta)
                                    .isPositive();
                        }
                        JsonNode first = out.path("responses").path(0);
                        String node = first.path("node").asText();
                        String via = first.path("via").asText();
                        if (!node.isEmpty()) { // nginx's own 400s (before any location) carry no header
                            if (c.handoff()) {
                                assertThat(node)
                                        .as(what + ": served by the holder")
                                        .isEqualTo("n2");
                            } else {
                                assertThat(List.of(node, via))
                                        .as(what + ": served at the entry")
                                        .contains(entry.name());
                            }
                        }
                    }
                    assertThat(decisions.get(1))
                            .as(c.name() + " to " + entry.name() + ": the same decision twice " + DECISION)
                            .isEqualTo(decisions.get(0));
                }
            }
            assertThat(failures).as("statuses").isEmpty();
        }

        @Test
        @Order(2)
        void pipelinedRequestsAreAnsweredInOrderAndTheForgedLoopGuardOnlyStopsForwarding() {
            for (NodeInfo entry : bed.nodes()) {
                JsonNode p = run(List.of("one", entry.ip(), "pipelined"), Duration.ofSeconds(30))
                        .path("responses");
                assertThat(p.path(0).path("sha").asText())
                        .isEqualTo(EndToEnd.entry(bed, "/data/1k.bin").sha256());
                assertThat(p.path(1).path("sha").asText())
                        .isEqualTo(EndToEnd.entry(bed, "/index.html").sha256());
                assertThat(p.path(1).path("node").asText()).isEqualTo("n1");
                assertThat(p.path(1).path("via").asText())
                        .as("fetched by n2, which serves the connection")
                        .isEqualTo("n2");
                JsonNode f = run(List.of("one", entry.ip(), "forged-guard"), Duration.ofSeconds(30))
                        .path("responses");
                assertThat(f.path(1).path("status").asInt()).isEqualTo(404);
                assertThat(f.path(1).path("via").asText())
                        .as("n2 did not forward it")
                        .isIn("", "n2");
            }
        }

        @Test
        @Order(3)
        void requestsThatNeverEndAreServedLocallyAtOnceOrAfterTheRequestTimeout() {
            List<List<Long>> was = new ArrayList<>();
            for (NodeInfo n : bed.nodes()) was.add(decision(n.name()));
            // Two copies each of a silent and of a dripping (one byte per 0.5 s) head to every node.
            int waitSeconds = builtin() ? 25 : 12;
            List<String> args = new ArrayList<>(List.of("endless", Integer.toString(waitSeconds)));
            for (NodeInfo n : bed.nodes()) args.add(n.ip());
            JsonNode out = run(args, Duration.ofSeconds(waitSeconds + 30));
            assertThat(out.path("connections")).hasSize(12);
            for (JsonNode c : out.path("connections")) {
                String what = c.toString();
                assertThat(c.path("received").asInt())
                        .as(what + ": no response to a head that never ended")
                        .isZero();
                if (builtin()) {
                    // At most the BTCP request timeout 5 s, then the built-in server's head timeout 10 s.
                    assertThat(c.path("closedAfter").isNull())
                            .as(what + ": closed by the server")
                            .isFalse();
                    assertThat(c.path("closedAfter").asDouble()).as(what).isBetween(4.0, 20.0);
                }
            }
            List<String> holders = EndToEnd.entry(bed, "/data/1k.bin").holders();
            for (int i = 0; i < bed.nodes().size(); i++) {
                String name = bed.nodes().get(i).name();
                List<Long> d = minus(decision(name), was.get(i));
                // A holder on the in-kernel path decides in the kernel from the request line alone
                // ("GET /path "): it goes to the server at once, which times the head out itself.
                // Anywhere else the engine holds it until its request timeout, then serves it locally.
                boolean inKernel = bed.dataPath() == Spec.DataPath.KERNEL && holders.contains(name);
                assertThat(d)
                        .as(name + " " + DECISION)
                        .isEqualTo(inKernel ? List.of(0L, 4L, 0L, 0L, 0L) : List.of(0L, 0L, 0L, 4L, 0L));
            }
        }

        @Test
        @Order(100)
        void noNodeFailedAndEveryNodeStillServesByteExact() {
            for (NodeInfo n : bed.nodes()) {
                assertThat(EndToEnd.drop(bed, n.name(), LoopDrop.INTERNAL_ERROR))
                        .as(n.name() + " internalError")
                        .isZero();
                assertThat(EndToEnd.drop(bed, n.name(), LoopDrop.POLICY_ERROR))
                        .as(n.name() + " policyError")
                        .isZero();
                for (String path : List.of("/index.html", "/data/1k.bin", "/api/data.json", "/img/photo.jpg")) {
                    assertExact(bed, client.get(n, path), path);
                }
            }
            EndToEnd.assertNoTrouble(bed, before);
        }
    }

    /**
     * The raw client. {@code one HOST CASE CANARY}: sends the case's bytes on a new connection, reads
     * as many responses as the case expects (a response without a status line is read to the end of
     * the stream, as HTTP/0.9), prints {"responses":[{status,node,via,len,sha}],"canary":bool}.
     * {@code endless WAIT HOST... CANARY}: to each host, two silent and two dripping heads that never
     * end, concurrently; prints when each was closed (null if still open after WAIT seconds).
     */
    static final String CLIENT = """
            import hashlib, json, socket, sys, threading, time
            R = b"/data/1k.bin"
            H = b"Host: h\\r\\n"
            CASES = {
                "dup-host": b"GET " + R + b" HTTP/1.1\\r\\nHost: a\\r\\nHost: b\\r\\n\\r\\n",
                "dup-host-same": b"GET " + R + b" HTTP/1.1\\r\\nHost: a\\r\\nhost: a\\r\\n\\r\\n",
                "no-host-11": b"GET " + R + b" HTTP/1.1\\r\\n\\r\\n",
                "no-host-10": b"GET " + R + b" HTTP/1.0\\r\\n\\r\\n",
                "bad-host": b"GET " + R + b" HTTP/1.1\\r\\nHost: a/b\\r\\n\\r\\n",
                "absolute": b"GET http://elsewhere.example" + R + b" HTTP/1.1\\r\\n" + H + b"\\r\\n",
                "absolute-dots": b"GET http://elsewhere.example/../secret.txt HTTP/1.1\\r\\n" + H + b"\\r\\n",
                "long-uri": b"GET /data/" + b"a" * 9000 + b" HTTP/1.1\\r\\n" + H + b"\\r\\n",
                "long-header": b"GET " + R + b" HTTP/1.1\\r\\n" + H + b"X-Big: " + b"a" * 9000 + b"\\r\\n\\r\\n",
                "many-headers": b"GET " + R + b" HTTP/1.1\\r\\n" + H + b"X: y\\r\\n" * 100 + b"\\r\\n",
                "dots": b"GET /../secret.txt HTTP/1.1\\r\\n" + H + b"\\r\\n",
                "dots-deep": b"GET /data/../../../secret.txt HTTP/1.1\\r\\n" + H + b"\\r\\n",
                "dots-enc": b"GET /%2e%2e/secret.txt HTTP/1.1\\r\\n" + H + b"\\r\\n",
                "dots-slash": b"GET /..%2fsecret.txt HTTP/1.1\\r\\n" + H + b"\\r\\n",
                "dots-inside": b"GET /api/../data/./1k.bin HTTP/1.1\\r\\n" + H + b"\\r\\n",
                "backslash": b"GET /data/..\\\\..\\\\secret.txt HTTP/1.1\\r\\n" + H + b"\\r\\n",
                "backslash-enc": b"GET /data/..%5c..%5csecret.txt HTTP/1.1\\r\\n" + H + b"\\r\\n",
                "double-enc": b"GET /data/%252e%252e/%252e%252e/secret.txt HTTP/1.1\\r\\n" + H + b"\\r\\n",
                "nul-header": b"GET " + R + b" HTTP/1.1\\r\\nHost: h\\x00\\r\\n\\r\\n",
                "nul-target": b"GET " + R + b"\\x00 HTTP/1.1\\r\\n" + H + b"\\r\\n",
                "pct-nul": b"GET " + R + b"%00 HTTP/1.1\\r\\n" + H + b"\\r\\n",
                "utf8-raw": b"GET /data/\\xc3\\x28 HTTP/1.1\\r\\n" + H + b"\\r\\n",
                "utf8-pct": b"GET /data/%c3%28 HTTP/1.1\\r\\n" + H + b"\\r\\n",
                "utf8-header": b"GET " + R + b" HTTP/1.1\\r\\n" + H + b"X-U: \\xff\\xfe\\r\\n\\r\\n",
                "bare-lf": b"GET " + R + b" HTTP/1.1\\nHost: h\\n\\n",
                "bare-cr": b"GET " + R + b" HTTP/1.1\\rHost: h\\r\\n\\r\\n",
                "obs-fold": b"GET " + R + b" HTTP/1.1\\r\\n" + H + b"X-F: a\\r\\n b\\r\\n\\r\\n",
                "huge-cl": b"POST " + R + b" HTTP/1.1\\r\\n" + H + b"Content-Length: 999999999999999999\\r\\n\\r\\n",
                "overflow-cl": b"POST " + R + b" HTTP/1.1\\r\\n" + H + b"Content-Length: 99999999999999999999\\r\\n\\r\\n",
                "te-cl": b"POST " + R + b" HTTP/1.1\\r\\n" + H + b"Transfer-Encoding: chunked\\r\\nContent-Length: 5\\r\\n\\r\\n0\\r\\n\\r\\n",
                "http09": b"GET /index.html\\r\\n",
                "h2-preface": b"PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n",
                "tls-hello": bytes.fromhex("16030100a5010000a10303") + bytes(range(32)) + b"\\r\\n\\r\\n",
                "lower-method": b"get " + R + b" HTTP/1.1\\r\\n" + H + b"\\r\\n",
                "pipelined": b"GET " + R + b" HTTP/1.1\\r\\n" + H + b"\\r\\nGET /index.html HTTP/1.1\\r\\n" + H + b"\\r\\n",
                "pipelined-dots": b"GET " + R + b" HTTP/1.1\\r\\n" + H + b"\\r\\nGET /../secret.txt HTTP/1.1\\r\\n" + H + b"\\r\\n",
                "forged-guard": b"GET " + R + b" HTTP/1.1\\r\\n" + H + b"\\r\\nGET /index.html HTTP/1.1\\r\\n" + H
                                + b"X-Baton-Forwarded: 1\\r\\n\\r\\n",
                "symlink-out": b"GET /data/link-out.txt HTTP/1.1\\r\\n" + H + b"\\r\\n",
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
                    while b"\\r\\n\\r\\n" not in self.buf and self.more(): pass
                    head, _, rest = self.buf.partition(b"\\r\\n\\r\\n")
                    self.buf = rest
                    lines = head.decode("latin-1").split("\\r\\n")
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
                    s.sendall(b"GET " + R + b" HTTP/1.1\\r\\n" + H)
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
            """;
}
