package dev.baton.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.http.RequestParser.Result;
import dev.baton.http.RequestParserTest.Snapshot;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** Splitting a byte stream anywhere must not change what the parser sees (TCP segments split anywhere). */
class RequestParserPropertyTest {

    private static final List<String> SAMPLES = List.of(
            "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
            "\r\n\nGET /a/%7Efoo/../b.txt?x=1 HTTP/1.1\r\nHost: Example.com:81\r\nConnection: close\r\n\r\n",
            "POST http://h:8/up?q HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello",
            "PUT /x HTTP/1.1\nTransfer-Encoding: gzip, chunked\nX: \t y \t\n\n5\r\nhello\r\n0\r\n\r\n",
            "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\n\r\n",
            "GET /../x HTTP/1.1\r\nHost: h\r\n\r\n",
            "OPTIONS * HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.1\r\nA : b\r\n\r\n",
            "GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            "GET / HTTP/3\r\n\r\n",
            "GET /" + "x".repeat(300) + " HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.1\r\n" + "H: v\r\n".repeat(20) + "\r\n");

    @Provide
    Arbitrary<String> heads() {
        Arbitrary<String> samples = Arbitraries.of(SAMPLES);
        // Random text over an alphabet that reaches every state, to explore malformed heads too.
        Arbitrary<String> noise = Arbitraries.strings()
                .withChars("GET /%.?:aH1\r\n \t\u0000\u00e9")
                .ofMaxLength(120)
                .map(s -> "GET /" + s);
        Arbitrary<String> mutated = Combinators.combine(
                        Arbitraries.of(SAMPLES),
                        Arbitraries.integers().between(0, 400),
                        Arbitraries.chars().with("\r\n \t:\u0000%/x"))
                .as((s, at, c) -> {
                    int i = at % s.length();
                    return s.substring(0, i) + c + s.substring(i + 1);
                });
        return Arbitraries.oneOf(samples, noise, mutated);
    }

    @Property(tries = 2000)
    void randomSplitPointsGiveIdenticalResults(
            @ForAll("heads") String head, @ForAll("splits") List<Integer> splitSeeds) {
        byte[] b = head.getBytes(StandardCharsets.ISO_8859_1);
        // Small limits so that the limits are hit too.
        RequestParser whole = new RequestParser(256, 16);
        Result wholeResult = whole.feed(b, 0, b.length);
        int wholeConsumed = whole.lastFeedConsumed();

        TreeSet<Integer> cuts = new TreeSet<>();
        for (int seed : splitSeeds) cuts.add(seed % (b.length + 1));
        cuts.add(b.length);
        RequestParser split = new RequestParser(256, 16);
        Result splitResult = Result.NEED_MORE;
        int splitConsumed = 0;
        int from = 0;
        for (int cut : cuts) {
            splitResult = split.feed(b, from, cut - from);
            splitConsumed += split.lastFeedConsumed();
            if (splitResult != Result.NEED_MORE) break;
            from = cut;
        }
        // The same cuts through a direct ByteBuffer, as the BTCP reads segments from a TUN device.
        ByteBuffer direct = ByteBuffer.allocateDirect(b.length).put(b).flip();
        RequestParser viaBuffer = new RequestParser(256, 16);
        Result bufferResult = Result.NEED_MORE;
        from = 0;
        for (int cut : cuts) {
            bufferResult = viaBuffer.feed(direct.slice(from, cut - from));
            if (bufferResult != Result.NEED_MORE) break;
            from = cut;
        }
        assertThat(bufferResult).isEqualTo(wholeResult);
        assertThat(Snapshot.of(viaBuffer)).isEqualTo(Snapshot.of(whole));

        assertThat(splitResult).isEqualTo(wholeResult);
        assertThat(splitConsumed).isEqualTo(wholeConsumed);
        assertThat(Snapshot.of(split)).isEqualTo(Snapshot.of(whole));
    }

    @Provide
    Arbitrary<List<Integer>> splits() {
        return Arbitraries.integers().between(0, 1000).list().ofMaxSize(40).map(ArrayList::new);
    }
}
