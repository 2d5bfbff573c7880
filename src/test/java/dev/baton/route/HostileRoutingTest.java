package dev.baton.route;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.http.RequestParser;
import dev.baton.http.RequestParser.Result;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeSet;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Issue 3 item 7, at the routing layer: the decision the entry node takes for a hostile request
 * (parser, then {@link RequestInfo#of}, then the policy, as {@code Node.route} does) is the
 * documented one, and a pure function of the bytes however TCP split them.
 */
class HostileRoutingTest {
    /** n1 is the entry; n2 holds /data/, n3 holds /api/; n1 holds /index.html. */
    static FakeCluster cluster() {
        return new FakeCluster("n1")
                .up("n2", 0)
                .up("n3", 0)
                .content(Map.of(
                        "n1", List.of("/index.html"),
                        "n2", List.of("/data/1k.bin", "/data/sub/x.bin"),
                        "n3", List.of("/api/data.json")));
    }

    /** Hands everything to n2: a user policy that ignores the rules. */
    static final RoutingPolicy GREEDY = new RoutingPolicy() {
        @Override
        public String name() {
            return "greedy";
        }

        @Override
        public String choose(RequestInfo request, ClusterView c) {
            return "n2";
        }
    };

    /**
     * The entry's decision for a byte stream cut at {@code cuts}: the chosen node's name, or "local"
     * for a head that is invalid, unfinished (served locally at the timeout) or not routable.
     */
    static String decide(byte[] b, SortedSet<Integer> cuts, RoutingPolicy policy) {
        RequestParser p = new RequestParser();
        Result r = Result.NEED_MORE;
        int from = 0;
        for (int cut : cuts) {
            if (cut < from) continue;
            r = p.feed(b, from, Math.min(cut, b.length) - from);
            if (r != Result.NEED_MORE) break;
            from = Math.min(cut, b.length);
        }
        if (r == Result.NEED_MORE) r = p.feed(b, from, b.length - from);
        if (r != Result.COMPLETE) return "local/" + r + "/" + p.invalidReason();
        RequestInfo info = RequestInfo.of(p);
        if (info == null) return "local/unroutable";
        String chosen = policy.choose(info, cluster());
        return chosen.equals("n1") ? "local" : chosen;
    }

    static String decide(String request, RoutingPolicy policy) {
        return decide(request.getBytes(StandardCharsets.ISO_8859_1), new TreeSet<>(), policy);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            plain remote                  | GET /data/1k.bin HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n                          | n2    | n2
            plain local                   | GET /index.html HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n                           | local | n2
            duplicate Host                | GET /data/1k.bin HTTP/1.1\\r\\nHost: a\\r\\nHost: a\\r\\n\\r\\n             | local | local
            missing Host 1.1              | GET /data/1k.bin HTTP/1.1\\r\\n\\r\\n                                       | local | local
            missing Host 1.0              | GET /data/1k.bin HTTP/1.0\\r\\n\\r\\n                                       | n2    | n2
            absolute-form                 | GET http://n3.example/data/1k.bin HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n          | n2    | n2
            absolute-form dots            | GET http://x/data/../api/data.json HTTP/1.1\\r\\n\\r\\n                     | n3    | n2
            dots inside                   | GET /api/../data/./1k.bin HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n                 | n2    | n2
            dots above root               | GET /data/../../data/1k.bin HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n              | local | local
            encoded dots above root       | GET /%2e%2e/data/1k.bin HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n                  | local | local
            encoded slash                 | GET /data%2f1k.bin HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n                       | n2    | n2
            backslash                     | GET /data\\\\..\\\\index.html HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n          | local | n2
            percent NUL                   | GET /data/%00 HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n                            | local | local
            encoded invalid UTF-8         | GET /data/%ff HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n                            | local | local
            long URI                      | GET /data/LONG HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n                           | local | local
            bare LF                       | GET /api/data.json HTTP/1.1\\nHost: a\\n\\n                                 | n3    | n2
            obs-fold                      | GET /data/1k.bin HTTP/1.1\\r\\nHost: a\\r\\nX: a\\r\\n b\\r\\n\\r\\n        | local | local
            TE and CL                     | POST /data/1k.bin HTTP/1.1\\r\\nHost: a\\r\\nTransfer-Encoding: chunked\\r\\nContent-Length: 1\\r\\n\\r\\n | local | local
            HTTP/0.9                      | GET /data/1k.bin\\r\\n                                                     | local | local
            HTTP/2 preface                | PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n                                   | local | local
            never ends                    | GET /data/1k.bin HTTP/1.1\\r\\nHost: a\\r\\n                               | local | local
            pipelined                     | GET /data/1k.bin HTTP/1.1\\r\\nHost: a\\r\\n\\r\\nGET /api/data.json HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n | n2 | n2
            lowercase method              | get /data/1k.bin HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n                         | n2    | n2
            OPTIONS asterisk              | OPTIONS * HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n                                | local | local
            """)
    void routesEachHostileRequestAsDocumented(String name, String escaped, String content, String greedy) {
        String request = escaped.strip()
                .replace("LONG", "x".repeat(9000))
                .replace("\\r", "\r")
                .replace("\\n", "\n")
                .replace("\\\\", "\\");
        assertThat(decide(request, new ContentAwarePolicy()))
                .as(name + " (content policy)")
                .startsWith(content);
        // A policy that hands everything away still cannot move an unroutable request off the entry.
        assertThat(decide(request, GREEDY)).as(name + " (greedy policy)").startsWith(greedy);
    }

    // ------------------------------------------------------------------ property

    private static final List<String> TARGETS = List.of(
            "/data/1k.bin",
            "/index.html",
            "/api/data.json",
            "/data/sub/",
            "/",
            "*",
            "http://h/data/1k.bin",
            "//data/1k.bin",
            "/data/../api/data.json",
            "/../data/1k.bin",
            "/%2e%2e/x",
            "/data%2f1k.bin",
            "/data\\1k.bin",
            "/%00",
            "/%c3%28",
            "/%252e%252e/",
            "/\u00e9",
            "/a?x=/../..",
            "/" + "y".repeat(600));
    private static final List<String> HEADS =
            List.of("GET ", "get ", "POST ", "PRI ", "OPTIONS ", "CONNECT ", "G\u0000T ");
    private static final List<String> VERSIONS = List.of(" HTTP/1.1", " HTTP/1.0", " HTTP/2.0", "", " HTTP/1.1 ");
    private static final List<String> FIELDS = List.of(
            "Host: a",
            "Host: b",
            "host: a/b",
            "Host:",
            "X: a\u0000b",
            " folded",
            "X: \u00ff\u00fe",
            "Content-Length: 5",
            "Content-Length: 99999999999999999999",
            "Transfer-Encoding: chunked",
            "X-Baton-Forwarded: 1",
            "X: " + "z".repeat(300));

    @Provide
    Arbitrary<byte[]> requests() {
        Arbitrary<String> eol = Arbitraries.of("\r\n", "\n", "\r");
        Arbitrary<String> hostile = Combinators.combine(
                        Arbitraries.of(HEADS),
                        Arbitraries.of(TARGETS),
                        Arbitraries.of(VERSIONS),
                        Arbitraries.of(FIELDS).list().ofMaxSize(5),
                        eol,
                        Arbitraries.of("", "\r\n", "\n", "GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n"))
                .as((m, t, v, fields, e, tail) -> {
                    StringBuilder s = new StringBuilder(m).append(t).append(v).append(e);
                    for (String f : fields) s.append(f).append(e);
                    return s.append(tail).toString();
                });
        Arbitrary<byte[]> hostileBytes = hostile.map(s -> s.getBytes(StandardCharsets.ISO_8859_1));
        Arbitrary<byte[]> noise = Arbitraries.bytes().array(byte[].class).ofMaxSize(400);
        return Arbitraries.oneOf(hostileBytes, noise);
    }

    @Property(tries = 3000)
    void theDecisionIsAPureFunctionOfTheBytesHoweverTheyAreSplit(
            @ForAll("requests") byte[] request, @ForAll("cuts") List<Integer> cutSeeds) {
        TreeSet<Integer> cuts = new TreeSet<>();
        for (int seed : cutSeeds) cuts.add(seed % (request.length + 1));
        for (RoutingPolicy policy : List.of(new ContentAwarePolicy(), GREEDY)) {
            String whole = decide(request, new TreeSet<>(), policy);
            assertThat(decide(request, cuts, policy)).isEqualTo(whole);
            assertThat(decide(request.clone(), new TreeSet<>(cuts), policy))
                    .as("same bytes again")
                    .isEqualTo(whole);
            if (!whole.startsWith("local"))
                assertThat(whole).as("only a member is ever chosen").isIn("n2", "n3");
        }
    }

    @Provide
    Arbitrary<List<Integer>> cuts() {
        return Arbitraries.integers().between(0, 10_000).list().ofMaxSize(30).map(ArrayList::new);
    }
}
