package dev.baton.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Fuzz target for the request-head parser (Jazzer; seeds in {@code RequestParserFuzzTestInputs/},
 * real and hostile requests, replayed by every test run; {@code JAZZER_FUZZ=1} explores).
 *
 * <p>Input layout: byte 0 picks the limits (bit 7 small ones, to reach them often), byte 1 the seed
 * of the split points, the rest is fed to the parser. Checked: no exception; the bytes fed in one
 * call, fed in pieces (as TCP segments split them, through both {@code feed} methods), and fed to a
 * reused parser give the same outcome, reason, bytes consumed and results; a complete head is within
 * the limits; and a routing path is absolute with no empty, {@code .} or {@code ..} segment and no
 * NUL, so it never names anything outside a document root.
 */
class RequestParserFuzzTest {

    @FuzzTest(maxDuration = "5m")
    void splitsAgree(byte[] data) {
        if (data.length < 2) return;
        boolean small = (data[0] & 0x80) != 0;
        int maxHead = small ? 16 + (data[0] & 0x7f) : RequestParser.DEFAULT_MAX_HEAD_BYTES;
        int maxHeaders = small ? data[0] & 0x07 : RequestParser.DEFAULT_MAX_HEADERS;
        int splitSeed = data[1] & 0xff;
        byte[] body = Arrays.copyOfRange(data, 2, data.length);

        RequestParser whole = new RequestParser(maxHead, maxHeaders);
        RequestParser.Result expected = whole.feed(body, 0, body.length);
        int consumed = whole.lastFeedConsumed();
        Outcome once = Outcome.of(whole, expected, consumed);
        check(once, maxHead, maxHeaders, body.length);

        // The same bytes in pieces, through the array and the buffer entry points alternately.
        RequestParser pieces = new RequestParser(maxHead, maxHeaders);
        RequestParser.Result r = RequestParser.Result.NEED_MORE;
        int total = 0;
        int at = 0;
        int step = 0;
        while (at < body.length) {
            int n = Math.min(body.length - at, 1 + (splitSeed * (step + 7) + step * step) % 23);
            if (step % 2 == 0) {
                r = pieces.feed(body, at, n);
            } else {
                ByteBuffer b = ByteBuffer.allocateDirect(n).put(body, at, n).flip();
                r = pieces.feed(b);
                assertThat(b.position()).isEqualTo(pieces.lastFeedConsumed());
            }
            total += pieces.lastFeedConsumed();
            if (r != RequestParser.Result.NEED_MORE) {
                assertThat(pieces.lastFeedConsumed())
                        .as("consumed nothing after the end")
                        .isLessThanOrEqualTo(n);
            }
            at += n;
            step++;
        }
        if (body.length == 0) r = pieces.feed(body, 0, 0);
        assertThat(Outcome.of(pieces, r, total)).as("split feeding").isEqualTo(once);

        // A reused parser forgets everything of the previous request.
        whole.reset();
        RequestParser.Result again = whole.feed(body, 0, body.length);
        assertThat(Outcome.of(whole, again, whole.lastFeedConsumed()))
                .as("after reset")
                .isEqualTo(once);
    }

    private static void check(Outcome o, int maxHead, int maxHeaders, int fed) {
        assertThat(o.consumed()).isBetween(0, fed);
        if (o.result() == RequestParser.Result.NEED_MORE) {
            assertThat(o.consumed()).isEqualTo(fed);
            assertThat(fed).isLessThanOrEqualTo(maxHead);
        }
        if (o.result() == RequestParser.Result.INVALID) assertThat(o.reason()).isNotNull();
        if (o.result() != RequestParser.Result.COMPLETE) return;
        assertThat(o.fields().get(0)).as("head bytes").isEqualTo(Integer.toString(o.consumed()));
        assertThat(o.consumed()).isLessThanOrEqualTo(maxHead);
        assertThat(Integer.parseInt(o.fields().get(1))).as("header count").isBetween(0, maxHeaders);
        String path = o.fields().get(2);
        if (path != null) {
            assertThat(path).startsWith("/").doesNotContain("\0").doesNotContain("//");
            for (String segment : path.split("/", -1)) {
                assertThat(segment).as("segment of %s", path).isNotEqualTo("..").isNotEqualTo(".");
            }
        }
    }

    /** Everything observable about one parse, for comparing two parses of the same bytes. */
    private record Outcome(RequestParser.Result result, Invalid reason, int consumed, List<String> fields) {
        static Outcome of(RequestParser p, RequestParser.Result r, int consumed) {
            List<String> f = new ArrayList<>();
            if (r == RequestParser.Result.COMPLETE) {
                f.add(Integer.toString(p.headBytes()));
                f.add(Integer.toString(p.headerCount()));
                f.add(p.path());
                f.add(p.method());
                f.add(p.target());
                f.add(p.query());
                f.add(p.host());
                f.add(p.version() + " " + p.keepAlive() + " " + p.contentLength() + " " + p.chunked());
                for (int i = 0; i < p.headerCount(); i++) f.add(p.headerName(i) + ": " + p.headerValue(i));
                f.add(Objects.toString(p.header("host")));
            }
            return new Outcome(r, p.invalidReason(), consumed, f);
        }
    }
}
