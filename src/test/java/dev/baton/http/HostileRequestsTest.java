package dev.baton.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.http.RequestParser.Result;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Issue 3 item 7, at the parser: each hostile request of {@link RequestParser}'s class Javadoc table
 * gets the documented result, routing path, host and routability, fed whole and byte by byte.
 */
class HostileRequestsTest {

    /** What the parser must decide for one input: INVALID with a reason, or COMPLETE with these results. */
    record Expect(Invalid invalid, String path, String host, boolean routable, boolean pathRefused) {
        static Expect invalid(Invalid why) {
            return new Expect(why, null, null, false, false);
        }

        static Expect routed(String path, String host) {
            return new Expect(null, path, host, true, false);
        }

        static Expect local(String path, String host, boolean pathRefused) {
            return new Expect(null, path, host, false, pathRefused);
        }
    }

    static final String H = "Host: site\r\n";

    /** Every case of the Javadoc table (name, request bytes as ISO-8859-1, expectation). */
    static Stream<Arguments> cases() {
        String longName = "a".repeat(RequestParser.DEFAULT_MAX_HEAD_BYTES);
        return Stream.of(
                // Host
                row(
                        "duplicate Host",
                        "GET /a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
                        Expect.invalid(Invalid.DUPLICATE_HOST)),
                row(
                        "duplicate equal Host",
                        "GET /a HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n",
                        Expect.invalid(Invalid.DUPLICATE_HOST)),
                row(
                        "duplicate Host, absolute-form",
                        "GET http://a/x HTTP/1.1\r\nHost: a\r\nHOST: a\r\n\r\n",
                        Expect.invalid(Invalid.DUPLICATE_HOST)),
                row("missing Host, HTTP/1.1", "GET /a HTTP/1.1\r\n\r\n", Expect.local("/a", null, false)),
                row("missing Host, HTTP/1.0", "GET /a HTTP/1.0\r\n\r\n", Expect.routed("/a", null)),
                row("empty Host", "GET /a HTTP/1.1\r\nHost:\r\n\r\n", Expect.routed("/a", "")),
                row("Host with a slash", "GET /a HTTP/1.1\r\nHost: a/b\r\n\r\n", Expect.invalid(Invalid.BAD_HEADER)),
                row("Host with userinfo", "GET /a HTTP/1.1\r\nHost: u@a\r\n\r\n", Expect.invalid(Invalid.BAD_HEADER)),
                row(
                        "Host with a backslash",
                        "GET /a HTTP/1.1\r\nHost: a\\b\r\n\r\n",
                        Expect.invalid(Invalid.BAD_HEADER)),
                // absolute-form: the target's authority replaces Host, its path routes
                row("absolute-form", "GET http://other/x HTTP/1.1\r\n" + H + "\r\n", Expect.routed("/x", "other")),
                row(
                        "absolute-form, no Host",
                        "GET http://Other:8080/x?q HTTP/1.1\r\n\r\n",
                        Expect.routed("/x", "other:8080")),
                row("absolute-form, https", "GET https://o/a/../b HTTP/1.1\r\n" + H + "\r\n", Expect.routed("/b", "o")),
                row(
                        "absolute-form with dots above root",
                        "GET http://o/../secret HTTP/1.1\r\n" + H + "\r\n",
                        Expect.local(null, "o", true)),
                row(
                        "absolute-form with userinfo",
                        "GET http://u@o/x HTTP/1.1\r\n" + H + "\r\n",
                        Expect.invalid(Invalid.BAD_TARGET)),
                row(
                        "absolute-form, other scheme",
                        "GET file:///etc/passwd HTTP/1.1\r\n" + H + "\r\n",
                        Expect.invalid(Invalid.BAD_TARGET)),
                row(
                        "absolute-form, backslash authority",
                        "GET http://o\\x/ HTTP/1.1\r\n" + H + "\r\n",
                        Expect.invalid(Invalid.BAD_TARGET)),
                // sizes
                row(
                        "long URI",
                        "GET /" + longName + " HTTP/1.1\r\n" + H + "\r\n",
                        Expect.invalid(Invalid.TARGET_TOO_LONG)),
                row(
                        "long header",
                        "GET /a HTTP/1.1\r\n" + H + "X-Big: " + longName + "\r\n\r\n",
                        Expect.invalid(Invalid.TOO_LARGE)),
                row(
                        "101 headers",
                        "GET /a HTTP/1.1\r\n" + H + "X: y\r\n".repeat(100) + "\r\n",
                        Expect.invalid(Invalid.TOO_MANY_HEADERS)),
                // dot segments, encodings
                row("raw ..", "GET /../secret HTTP/1.1\r\n" + H + "\r\n", Expect.local(null, "site", true)),
                row(
                        "deep raw ..",
                        "GET /a/b/../../../secret HTTP/1.1\r\n" + H + "\r\n",
                        Expect.local(null, "site", true)),
                row("%2e%2e", "GET /%2e%2e/secret HTTP/1.1\r\n" + H + "\r\n", Expect.local(null, "site", true)),
                row("mixed .%2E", "GET /a/.%2E/.%2e/x HTTP/1.1\r\n" + H + "\r\n", Expect.local(null, "site", true)),
                row("..%2f", "GET /..%2fsecret HTTP/1.1\r\n" + H + "\r\n", Expect.local(null, "site", true)),
                row("%2f..%2f inside", "GET /a%2f..%2fb HTTP/1.1\r\n" + H + "\r\n", Expect.routed("/b", "site")),
                row(".. inside the root", "GET /x/../a.txt HTTP/1.1\r\n" + H + "\r\n", Expect.routed("/a.txt", "site")),
                row("backslash ..", "GET /..\\secret HTTP/1.1\r\n" + H + "\r\n", Expect.routed("/..\\secret", "site")),
                row(
                        "%5c ..",
                        "GET /..%5c..%5csecret HTTP/1.1\r\n" + H + "\r\n", Expect.routed("/..\\..\\secret", "site")),
                row(
                        "double encoding",
                        "GET /%252e%252e/secret HTTP/1.1\r\n" + H + "\r\n",
                        Expect.routed("/%2e%2e/secret", "site")),
                row("query with dots", "GET /a?../../x HTTP/1.1\r\n" + H + "\r\n", Expect.routed("/a", "site")),
                // NUL and invalid UTF-8
                row("NUL in a value", "GET /a HTTP/1.1\r\nHost: s\u0000t\r\n\r\n", Expect.invalid(Invalid.NUL_BYTE)),
                row("NUL in the target", "GET /a\u0000b HTTP/1.1\r\n" + H + "\r\n", Expect.invalid(Invalid.NUL_BYTE)),
                row("NUL in the method", "G\u0000T /a HTTP/1.1\r\n" + H + "\r\n", Expect.invalid(Invalid.NUL_BYTE)),
                row("%00", "GET /a%00b HTTP/1.1\r\n" + H + "\r\n", Expect.local(null, "site", true)),
                row(
                        "raw invalid UTF-8 in the target",
                        "GET /\u00c3( HTTP/1.1\r\n" + H + "\r\n",
                        Expect.invalid(Invalid.BAD_TARGET)),
                row("encoded invalid UTF-8", "GET /%c3%28 HTTP/1.1\r\n" + H + "\r\n", Expect.local(null, "site", true)),
                row(
                        "overlong UTF-8 slash",
                        "GET /%c0%af..%c0%afx HTTP/1.1\r\n" + H + "\r\n",
                        Expect.local(null, "site", true)),
                row("bad escape", "GET /a%zz HTTP/1.1\r\n" + H + "\r\n", Expect.local(null, "site", true)),
                row(
                        "invalid UTF-8 in a value",
                        "GET /a HTTP/1.1\r\n" + H + "X-U: \u00ff\u00fe\r\n\r\n",
                        Expect.routed("/a", "site")),
                row(
                        "control byte in a value",
                        "GET /a HTTP/1.1\r\n" + H + "X-U: a\u0001b\r\n\r\n",
                        Expect.invalid(Invalid.BAD_HEADER)),
                // line ends, folding
                row("bare LF", "GET /a HTTP/1.1\nHost: site\n\n", Expect.routed("/a", "site")),
                row("bare CR", "GET /a HTTP/1.1\rHost: site\r\n\r\n", Expect.invalid(Invalid.BARE_CR)),
                row("obs-fold", "GET /a HTTP/1.1\r\n" + H + "X-F: a\r\n b\r\n\r\n", Expect.invalid(Invalid.OBS_FOLD)),
                // framing
                row(
                        "huge Content-Length",
                        "POST /a HTTP/1.1\r\n" + H + "Content-Length: 999999999999999999\r\n\r\n",
                        Expect.routed("/a", "site")),
                row(
                        "overflowing Content-Length",
                        "POST /a HTTP/1.1\r\n" + H + "Content-Length: 99999999999999999999\r\n\r\n",
                        Expect.invalid(Invalid.BAD_CONTENT_LENGTH)),
                row(
                        "Transfer-Encoding and Content-Length",
                        "POST /a HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
                        Expect.invalid(Invalid.BAD_TRANSFER_ENCODING)),
                // other protocols
                row("HTTP/0.9", "GET /a\r\n", Expect.invalid(Invalid.BAD_REQUEST_LINE)),
                row("HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", Expect.invalid(Invalid.BAD_VERSION)),
                row(
                        "TLS ClientHello",
                        "\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u0001\u00fc\u0003\u0003",
                        Expect.invalid(Invalid.BAD_REQUEST_LINE)),
                // methods
                row("lowercase method", "get /a HTTP/1.1\r\n" + H + "\r\n", Expect.routed("/a", "site")),
                row("OPTIONS *", "OPTIONS * HTTP/1.1\r\n" + H + "\r\n", Expect.local(null, "site", false)),
                row("CONNECT", "CONNECT o:443 HTTP/1.1\r\n" + H + "\r\n", Expect.local(null, "site", false)));
    }

    private static Arguments row(String name, String request, Expect expect) {
        return Arguments.of(name, request, expect);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void decidesEachHostileRequestAsDocumented(String name, String request, Expect expect) {
        byte[] b = request.getBytes(StandardCharsets.ISO_8859_1);
        for (boolean bytewise : new boolean[] {false, true}) {
            RequestParser p = new RequestParser();
            Result r = Result.NEED_MORE;
            if (bytewise) {
                for (int i = 0; i < b.length && r == Result.NEED_MORE; i++) r = p.feed(b, i, 1);
            } else {
                r = p.feed(b, 0, b.length);
            }
            String as = name + (bytewise ? " (byte by byte)" : "");
            if (expect.invalid() != null) {
                assertThat(r).as(as).isEqualTo(Result.INVALID);
                assertThat(p.invalidReason()).as(as).isEqualTo(expect.invalid());
                continue;
            }
            assertThat(r).as(as).isEqualTo(Result.COMPLETE);
            assertThat(p.path()).as(as + ": path").isEqualTo(expect.path());
            assertThat(p.host()).as(as + ": host").isEqualTo(expect.host());
            assertThat(p.routable()).as(as + ": routable").isEqualTo(expect.routable());
            assertThat(p.pathRefused()).as(as + ": pathRefused").isEqualTo(expect.pathRefused());
            if (expect.path() != null)
                assertThat(expect.path()).doesNotContain("/../").doesNotEndWith("/..");
        }
    }

    @Test
    void aHeadThatNeverEndsNeedsMoreUntilTheLimitThenIsInvalid() {
        RequestParser p = new RequestParser();
        byte[] start = "GET /a HTTP/1.1\r\nHost: site\r\n".getBytes(StandardCharsets.ISO_8859_1);
        assertThat(p.feed(start, 0, start.length)).isEqualTo(Result.NEED_MORE);
        byte[] field = "X-Slow: 1\r\n".getBytes(StandardCharsets.ISO_8859_1);
        int fed = start.length;
        Result r = Result.NEED_MORE;
        while (r == Result.NEED_MORE && fed < 100_000) {
            r = p.feed(field, 0, field.length);
            fed += p.lastFeedConsumed();
        }
        // Either limit ends it: 100 fields or 8 KiB, whichever the bytes reach first; never unbounded.
        assertThat(r).isEqualTo(Result.INVALID);
        assertThat(p.invalidReason()).isIn(Invalid.TOO_MANY_HEADERS, Invalid.TOO_LARGE);
        assertThat(fed).isLessThanOrEqualTo(RequestParser.DEFAULT_MAX_HEAD_BYTES);
    }

    @Test
    void parsesPipelinedRequestsOneHeadAtATimeAndRoutesByTheFirst() {
        byte[] b = ("GET /first HTTP/1.1\r\n" + H + "\r\nGET /../second HTTP/1.1\r\n" + H + "\r\n")
                .getBytes(StandardCharsets.ISO_8859_1);
        RequestParser p = new RequestParser();
        assertThat(p.feed(b, 0, b.length)).isEqualTo(Result.COMPLETE);
        assertThat(p.path()).isEqualTo("/first");
        assertThat(p.routable()).isTrue();
        int next = p.lastFeedConsumed();
        p.reset();
        assertThat(p.feed(b, next, b.length - next)).isEqualTo(Result.COMPLETE);
        assertThat(p.pathRefused()).isTrue();
    }

    @Test
    void theTableCoversEveryInvalidReasonThatHostileInputCanCause() {
        Set<Invalid> seen = EnumSet.noneOf(Invalid.class);
        List<String> names = new ArrayList<>();
        cases().forEach(a -> {
            Expect e = (Expect) a.get()[2];
            if (e.invalid() != null) seen.add(e.invalid());
            names.add((String) a.get()[0]);
        });
        // BAD_METHOD and SPACE_BEFORE_COLON are covered by RequestParserTest; the rest must be here.
        assertThat(seen).containsAll(EnumSet.complementOf(EnumSet.of(Invalid.BAD_METHOD, Invalid.SPACE_BEFORE_COLON)));
        assertThat(names).doesNotHaveDuplicates();
    }
}
