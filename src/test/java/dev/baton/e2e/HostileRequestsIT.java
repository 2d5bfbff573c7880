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
     * One hostile request (its bytes are in the client, e2e/hostile-http.py, by name) and what must happen to it.
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
            script = LoadTools.script(bed, "hostile-http.py");
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
}
