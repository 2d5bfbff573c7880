package dev.baton.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.management.ThreadMXBean;
import dev.baton.http.RequestParser.Result;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RequestParserTest {

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    private static RequestParser parsed(String head) {
        RequestParser p = new RequestParser();
        byte[] b = bytes(head);
        Result r = p.feed(b, 0, b.length);
        assertThat(r).as("result for %s", head).isEqualTo(Result.COMPLETE);
        return p;
    }

    private static Invalid rejected(RequestParser p, String head) {
        byte[] b = bytes(head);
        Result r = p.feed(b, 0, b.length);
        assertThat(r).as("result for %s", head).isEqualTo(Result.INVALID);
        return p.invalidReason();
    }

    private static Invalid rejected(String head) {
        return rejected(new RequestParser(), head);
    }

    @Test
    void parsesSimpleGet() {
        RequestParser p = parsed("GET /index.html?a=1 HTTP/1.1\r\nHost: Example.COM:8080\r\nAccept: */*\r\n\r\n");
        assertThat(p.method()).isEqualTo("GET");
        assertThat(p.target()).isEqualTo("/index.html?a=1");
        assertThat(p.path()).isEqualTo("/index.html");
        assertThat(p.query()).isEqualTo("a=1");
        assertThat(p.host()).isEqualTo("example.com:8080");
        assertThat(p.version()).isEqualTo(11);
        assertThat(p.keepAlive()).isTrue();
        assertThat(p.contentLength()).isEqualTo(-1);
        assertThat(p.chunked()).isFalse();
        assertThat(p.header("accept")).isEqualTo("*/*");
        assertThat(p.header("ACCEPT")).isEqualTo("*/*");
        assertThat(p.header("missing")).isNull();
        assertThat(p.headerCount()).isEqualTo(2);
        assertThat(p.headerName(0)).isEqualTo("Host");
        assertThat(p.headBytes())
                .isEqualTo(
                        bytes("GET /index.html?a=1 HTTP/1.1\r\nHost: Example.COM:8080\r\nAccept: */*\r\n\r\n").length);
    }

    @Test
    void needsMoreUntilTheEmptyLine() {
        RequestParser p = new RequestParser();
        byte[] b = bytes("GET / HTTP/1.1\r\nHost: a\r\n\r");
        assertThat(p.feed(b, 0, b.length)).isEqualTo(Result.NEED_MORE);
        assertThat(p.lastFeedConsumed()).isEqualTo(b.length);
        assertThat(p.isComplete()).isFalse();
        assertThatThrownBy(p::method).isInstanceOf(IllegalStateException.class);
        assertThat(p.feed(new byte[] {'\n'}, 0, 1)).isEqualTo(Result.COMPLETE);
        assertThat(p.headBytes()).isEqualTo(b.length + 1);
    }

    @Test
    void feedingOneByteAtATimeGivesTheSameResultAsOneFeed() {
        String head = "\r\n\nPOST http://Host.Example:81/up/%7Efoo/../x.bin?q=%41 HTTP/1.1\r\n"
                + "Host: ignored\r\nContent-Length: 42\r\nConnection: keep-alive, Close\r\nX-Empty:   \r\n\r\n";
        RequestParser whole = parsed(head);
        RequestParser bytewise = new RequestParser();
        byte[] b = bytes(head);
        for (int i = 0; i < b.length; i++) {
            Result r = bytewise.feed(b, i, 1);
            assertThat(r).isEqualTo(i == b.length - 1 ? Result.COMPLETE : Result.NEED_MORE);
        }
        assertThat(Snapshot.of(bytewise)).isEqualTo(Snapshot.of(whole));
        assertThat(whole.path()).isEqualTo("/up/x.bin");
        assertThat(whole.host()).isEqualTo("host.example:81");
        assertThat(whole.query()).isEqualTo("q=%41");
        assertThat(whole.contentLength()).isEqualTo(42);
        assertThat(whole.keepAlive()).isFalse();
        assertThat(whole.header("x-empty")).isEmpty();
        assertThat(whole.headBytes()).isEqualTo(b.length);
    }

    @Test
    void acceptsBareLfLineEndsAndLeadingEmptyLines() {
        RequestParser p = parsed("\r\n\n\r\nGET /a HTTP/1.0\nHost: h\n\n");
        assertThat(p.path()).isEqualTo("/a");
        assertThat(p.version()).isEqualTo(10);
        assertThat(p.host()).isEqualTo("h");
    }

    @Test
    void trimsOptionalWhitespaceAroundValuesAndKeepsObsText() {
        RequestParser p = parsed("GET / HTTP/1.1\r\nX-A: \t  v a l \t \r\nX-B:\u00e9t\u00e9\r\n\r\n");
        assertThat(p.header("x-a")).isEqualTo("v a l");
        assertThat(p.header("x-b")).isEqualTo("\u00e9t\u00e9");
    }

    @Test
    void stopsAtTheEndOfTheHeadSoPipelinedRequestsCanBeParsedNext() {
        String first = "GET /one HTTP/1.1\r\nHost: h\r\n\r\n";
        String second = "GET /two HTTP/1.1\r\nHost: h\r\n\r\n";
        String third = "HEAD /three HTTP/1.1\nHost: h\n\n";
        byte[] all = bytes(first + second + third);
        RequestParser p = new RequestParser();
        int off = 0;
        String[] paths = new String[3];
        for (int k = 0; k < 3; k++) {
            p.reset();
            assertThat(p.feed(all, off, all.length - off)).isEqualTo(Result.COMPLETE);
            paths[k] = p.path();
            assertThat(p.lastFeedConsumed()).isEqualTo(p.headBytes());
            off += p.lastFeedConsumed();
        }
        assertThat(paths).containsExactly("/one", "/two", "/three");
        assertThat(off).isEqualTo(all.length);
    }

    @Test
    void feedsFromADirectByteBufferAndAdvancesItsPositionToTheEndOfTheHead() {
        String first = "GET /a/./b?c HTTP/1.1\r\nHost: H\r\nContent-Length: 3\r\n\r\n";
        byte[] all = bytes(first + "abcGET /next HTTP/1.1\r\n\r\n");
        ByteBuffer direct = ByteBuffer.allocateDirect(all.length + 10);
        direct.position(10);
        direct.put(all).flip().position(10);
        RequestParser p = new RequestParser();
        ByteBuffer firstHalf = direct.slice(10, 20);
        assertThat(p.feed(firstHalf)).isEqualTo(Result.NEED_MORE);
        assertThat(firstHalf.hasRemaining()).isFalse();
        direct.position(30);
        assertThat(p.feed(direct)).isEqualTo(Result.COMPLETE);
        assertThat(direct.position()).isEqualTo(10 + first.length());
        assertThat(p.lastFeedConsumed()).isEqualTo(first.length() - 20);
        assertThat(Snapshot.of(p)).isEqualTo(Snapshot.of(parsed(first)));
        assertThat(p.path()).isEqualTo("/a/b");
    }

    @Test
    void feedAfterCompleteConsumesNothingUntilReset() {
        RequestParser p = parsed("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
        byte[] more = bytes("GET /x HTTP/1.1\r\n\r\n");
        assertThat(p.feed(more, 0, more.length)).isEqualTo(Result.COMPLETE);
        assertThat(p.lastFeedConsumed()).isZero();
        assertThat(p.path()).isEqualTo("/");
        p.reset();
        assertThat(p.feed(more, 0, more.length)).isEqualTo(Result.COMPLETE);
        assertThat(p.path()).isEqualTo("/x");
        assertThat(p.host()).isNull();
    }

    @Test
    void staysInvalidUntilReset() {
        RequestParser p = new RequestParser();
        assertThat(rejected(p, "GET / HTTP/2.0\r\n")).isEqualTo(Invalid.BAD_VERSION);
        byte[] ok = bytes("GET / HTTP/1.1\r\n\r\n");
        assertThat(p.feed(ok, 0, ok.length)).isEqualTo(Result.INVALID);
        p.reset();
        assertThat(p.feed(ok, 0, ok.length)).isEqualTo(Result.COMPLETE);
        assertThat(p.invalidReason()).isNull();
    }

    // ------------------------------------------------------------------ limits

    @Test
    void acceptsAHeadOfExactlyMaxHeadBytesAndRejectsOneMore() {
        String base = "GET / HTTP/1.1\r\nX: ";
        int max = 64;
        String exact = base + "a".repeat(max - base.length() - 4) + "\r\n\r\n";
        assertThat(exact).hasSize(max);
        RequestParser p = new RequestParser(max, 10);
        byte[] b = bytes(exact);
        assertThat(p.feed(b, 0, b.length)).isEqualTo(Result.COMPLETE);
        assertThat(p.headBytes()).isEqualTo(max);

        String over = base + "a".repeat(max - base.length() - 3) + "\r\n\r\n";
        assertThat(rejected(new RequestParser(max, 10), over)).isEqualTo(Invalid.TOO_LARGE);
    }

    @Test
    void countsLeadingEmptyLinesAgainstTheLimit() {
        assertThat(rejected(new RequestParser(32, 10), "\r\n".repeat(20))).isEqualTo(Invalid.TOO_LARGE);
    }

    @Test
    void reportsALongTargetSeparatelySoTheServerCanAnswer414() {
        assertThat(rejected(new RequestParser(64, 10), "GET /" + "a".repeat(100) + " HTTP/1.1\r\n\r\n"))
                .isEqualTo(Invalid.TARGET_TOO_LONG);
    }

    @Test
    void acceptsMaxHeadersAndRejectsOneMore() {
        String three = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n";
        RequestParser p = new RequestParser(1024, 3);
        byte[] b = bytes(three + "\r\n");
        assertThat(p.feed(b, 0, b.length)).isEqualTo(Result.COMPLETE);
        assertThat(p.headerCount()).isEqualTo(3);
        assertThat(rejected(new RequestParser(1024, 3), three + "D: 4\r\n\r\n")).isEqualTo(Invalid.TOO_MANY_HEADERS);
        assertThat(rejected(new RequestParser(1024, 0), "GET / HTTP/1.1\r\nA: 1\r\n\r\n"))
                .isEqualTo(Invalid.TOO_MANY_HEADERS);
    }

    @Test
    void rejectsNonsenseLimits() {
        assertThatThrownBy(() -> new RequestParser(0, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new RequestParser(100, -1)).isInstanceOf(IllegalArgumentException.class);
    }

    // ------------------------------------------------------------------ every INVALID reason

    @ParameterizedTest(name = "{1}: {0}")
    @CsvSource(delimiter = '|', textBlock = """
            GET / HTTP/1.1\\r\\nHost: a\\u0000b\\r\\n\\r\\n          | NUL_BYTE
            G\\u0000ET / HTTP/1.1\\r\\n\\r\\n                         | NUL_BYTE
            GET /\\u0000 HTTP/1.1\\r\\n\\r\\n                         | NUL_BYTE
            \\u0020GET / HTTP/1.1\\r\\n\\r\\n                         | BAD_REQUEST_LINE
            GET\\r\\n\\r\\n                                           | BAD_REQUEST_LINE
            GET  / HTTP/1.1\\r\\n\\r\\n                               | BAD_REQUEST_LINE
            GET /\\r\\n\\r\\n                                         | BAD_REQUEST_LINE
            GET / \\r\\n\\r\\n                                        | BAD_REQUEST_LINE
            GET / HTTP/1.1 \\r\\n\\r\\n                               | BAD_REQUEST_LINE
            GET\\t/ HTTP/1.1\\r\\n\\r\\n                              | BAD_REQUEST_LINE
            G(T / HTTP/1.1\\r\\n\\r\\n                                | BAD_METHOD
            GE\\u007fT / HTTP/1.1\\r\\n\\r\\n                         | BAD_METHOD
            GET /a#frag HTTP/1.1\\r\\n\\r\\n                          | BAD_TARGET
            GET /\\u00e9 HTTP/1.1\\r\\n\\r\\n                         | BAD_TARGET
            GET /a\\u0001 HTTP/1.1\\r\\n\\r\\n                        | BAD_TARGET
            GET * HTTP/1.1\\r\\n\\r\\n                                | BAD_TARGET
            GET example.com:80 HTTP/1.1\\r\\n\\r\\n                   | BAD_TARGET
            GET ftp://example.com/ HTTP/1.1\\r\\n\\r\\n               | BAD_TARGET
            GET http:///x HTTP/1.1\\r\\n\\r\\n                        | BAD_TARGET
            GET http://user@host/x HTTP/1.1\\r\\n\\r\\n               | BAD_TARGET
            CONNECT /x HTTP/1.1\\r\\n\\r\\n                           | BAD_TARGET
            CONNECT host:443/x HTTP/1.1\\r\\n\\r\\n                   | BAD_TARGET
            GET / HTTP/2.0\\r\\n\\r\\n                                | BAD_VERSION
            GET / HTTP/1.2\\r\\n\\r\\n                                | BAD_VERSION
            GET / HTTP/0.9\\r\\n\\r\\n                                | BAD_VERSION
            GET / http/1.1\\r\\n\\r\\n                                | BAD_VERSION
            GET / HTTP/1.10\\r\\n\\r\\n                               | BAD_VERSION
            GET / HTTP/1.1\\r\\n: v\\r\\n\\r\\n                       | BAD_HEADER
            GET / HTTP/1.1\\r\\nA(b: v\\r\\n\\r\\n                    | BAD_HEADER
            GET / HTTP/1.1\\r\\nA\\r\\n\\r\\n                         | BAD_HEADER
            GET / HTTP/1.1\\r\\nA: x\\u0001y\\r\\n\\r\\n              | BAD_HEADER
            GET / HTTP/1.1\\r\\nA: x\\u007fy\\r\\n\\r\\n              | BAD_HEADER
            GET / HTTP/1.1\\r\\nHost: a b\\r\\n\\r\\n                 | BAD_HEADER
            GET / HTTP/1.1\\r\\nHost: a/b\\r\\n\\r\\n                 | BAD_HEADER
            GET / HTTP/1.1\\r\\nA : v\\r\\n\\r\\n                     | SPACE_BEFORE_COLON
            GET / HTTP/1.1\\r\\nA\\t: v\\r\\n\\r\\n                   | SPACE_BEFORE_COLON
            GET / HTTP/1.1\\r\\nA: v\\r\\n w\\r\\n\\r\\n              | OBS_FOLD
            GET / HTTP/1.1\\r\\nA: v\\r\\n\\tw\\r\\n\\r\\n            | OBS_FOLD
            GET / HTTP/1.1\\r\\n Host: h\\r\\n\\r\\n                  | OBS_FOLD
            GET / HTTP/1.1\\rHost: h\\r\\n\\r\\n                      | BARE_CR
            GET / HTTP/1.1\\r\\nA: v\\rB: w\\r\\n\\r\\n               | BARE_CR
            GET / HTTP/1.1\\r\\n\\rX                                  | BARE_CR
            \\rGET / HTTP/1.1\\r\\n\\r\\n                             | BARE_CR
            GET / HTTP/1.1\\r\\nHost: a\\r\\nhost: b\\r\\n\\r\\n      | DUPLICATE_HOST
            GET http://a/ HTTP/1.1\\r\\nHost: a\\r\\nHost: a\\r\\n\\r\\n | DUPLICATE_HOST
            POST / HTTP/1.1\\r\\nContent-Length: -1\\r\\n\\r\\n       | BAD_CONTENT_LENGTH
            POST / HTTP/1.1\\r\\nContent-Length: 1x\\r\\n\\r\\n       | BAD_CONTENT_LENGTH
            POST / HTTP/1.1\\r\\nContent-Length: \\r\\n\\r\\n         | BAD_CONTENT_LENGTH
            POST / HTTP/1.1\\r\\nContent-Length: +5\\r\\n\\r\\n       | BAD_CONTENT_LENGTH
            POST / HTTP/1.1\\r\\nContent-Length: 5, 6\\r\\n\\r\\n     | BAD_CONTENT_LENGTH
            POST / HTTP/1.1\\r\\nContent-Length: 5\\r\\nContent-Length: 6\\r\\n\\r\\n | BAD_CONTENT_LENGTH
            POST / HTTP/1.1\\r\\nContent-Length: 99999999999999999999\\r\\n\\r\\n | BAD_CONTENT_LENGTH
            POST / HTTP/1.1\\r\\nTransfer-Encoding: gzip\\r\\n\\r\\n  | BAD_TRANSFER_ENCODING
            POST / HTTP/1.1\\r\\nTransfer-Encoding: chunked, gzip\\r\\n\\r\\n | BAD_TRANSFER_ENCODING
            POST / HTTP/1.1\\r\\nTransfer-Encoding: chunked\\r\\nContent-Length: 3\\r\\n\\r\\n | BAD_TRANSFER_ENCODING
            POST / HTTP/1.0\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n | BAD_TRANSFER_ENCODING
            """)
    void rejectsMalformedHeads(String escaped, Invalid reason) {
        assertThat(rejected(unescape(escaped.strip()))).isEqualTo(reason);
    }

    @Test
    void coversEveryInvalidReasonInTheTable() throws Exception {
        // TOO_LARGE, TARGET_TOO_LONG and TOO_MANY_HEADERS have their own tests above.
        var method = RequestParserTest.class.getDeclaredMethod("rejectsMalformedHeads", String.class, Invalid.class);
        String table = method.getAnnotation(CsvSource.class).textBlock();
        for (Invalid reason : Invalid.values()) {
            if (reason == Invalid.TOO_LARGE || reason == Invalid.TARGET_TOO_LONG || reason == Invalid.TOO_MANY_HEADERS)
                continue;
            assertThat(table).as("a row for %s", reason).contains("| " + reason.name());
        }
    }

    /** Expands the \r, \n, \t and \\uXXXX escapes written in the CSV table. */
    private static String unescape(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c != '\\') {
                sb.append(c);
                continue;
            }
            char n = s.charAt(++i);
            switch (n) {
                case 'r' -> sb.append('\r');
                case 'n' -> sb.append('\n');
                case 't' -> sb.append('\t');
                case 'u' -> {
                    sb.append((char) Integer.parseInt(s.substring(i + 1, i + 5), 16));
                    i += 4;
                }
                default -> throw new IllegalArgumentException("escape \\" + n);
            }
        }
        return sb.toString();
    }

    // ------------------------------------------------------------------ path normalization

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(nullValues = "NULL", textBlock = """
            /,                          /
            /a/b.txt,                   /a/b.txt
            /a/%7Efoo/../b.txt?x=1,     /a/b.txt
            /a/./b,                     /a/b
            /a/.,                       /a/
            /a/b/..,                    /a/
            /a/b/../,                   /a/
            /a//b///c,                  /a/b/c
            //a,                        /a
            /a/,                        /a/
            /..,                        NULL
            /../x,                      NULL
            /a/../../x,                 NULL
            /a/%2e%2e/%2E%2E/x,         NULL
            /a/%2e%2e/x,                /x
            /%2e/x,                     /x
            /a%2Fb,                     /a/b
            /%41%42%43,                 /ABC
            /caf%C3%A9,                 /café
            /%E2%82%AC,                 /€
            /a%20b,                     /a b
            /100%,                      NULL
            /%4,                        NULL
            /%zz,                       NULL
            /a%00b,                     NULL
            /%C3,                       NULL
            /%C3%28,                    NULL
            /%FF,                       NULL
            /%C0%AF,                    NULL
            /a?,                        /a
            /a?b?c,                     /a
            /a/..?x=/../..,             /
            /.../x,                     /.../x
            /..a/x,                     /..a/x
            http://h/a/../b,            /b
            http://h,                   /
            http://h?q,                 /
            HTTPS://h:443/x%2Fy,        /x/y
            http://h/../x,              NULL
            """)
    void normalizesTheRoutingPath(String target, String expectedPath) {
        RequestParser p = parsed("GET " + target + " HTTP/1.1\r\nHost: h\r\n\r\n");
        assertThat(p.path()).isEqualTo(expectedPath);
        assertThat(p.target()).isEqualTo(target);
    }

    @ParameterizedTest(name = "{0} -> query {1}")
    @CsvSource(nullValues = "NULL", textBlock = """
            /a,            NULL
            /a?,           ''
            /a?x=1&y=%20,  x=1&y=%20
            /a?b?c,        b?c
            http://h?q=1,  q=1
            """)
    void keepsTheRawQuery(String target, String query) {
        assertThat(parsed("GET " + target + " HTTP/1.1\r\n\r\n").query()).isEqualTo(query);
    }

    @Test
    void takesTheHostFromAnAbsoluteFormTarget() {
        RequestParser p = parsed("GET http://WWW.Example.org:8080/p?q HTTP/1.1\r\nHost: other\r\n\r\n");
        assertThat(p.host()).isEqualTo("www.example.org:8080");
        assertThat(p.path()).isEqualTo("/p");
        assertThat(p.query()).isEqualTo("q");
    }

    @Test
    void hasNoPathForAsteriskAndAuthorityForms() {
        RequestParser options = parsed("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n");
        assertThat(options.path()).isNull();
        assertThat(options.target()).isEqualTo("*");
        RequestParser connect = parsed("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
        assertThat(connect.path()).isNull();
        assertThat(connect.target()).isEqualTo("example.com:443");
    }

    @Test
    void completesWithNullPathWhenTheTargetCannotBeRouted() {
        RequestParser p = parsed("GET /../etc/passwd HTTP/1.1\r\nHost: h\r\n\r\n");
        assertThat(p.path()).isNull();
        assertThat(p.method()).isEqualTo("GET");
        assertThat(p.keepAlive()).isTrue();
    }

    // ------------------------------------------------------------------ semantics

    @ParameterizedTest(name = "{0} / Connection: {1} -> {2}")
    @CsvSource(nullValues = "NULL", textBlock = """
            HTTP/1.1, NULL,                 true
            HTTP/1.1, close,                false
            HTTP/1.1, Close,                false
            HTTP/1.1, 'keep-alive, close',  false
            HTTP/1.1, keep-alive,           true
            HTTP/1.1, Upgrade,              true
            HTTP/1.0, NULL,                 false
            HTTP/1.0, keep-alive,           true
            HTTP/1.0, Keep-Alive,           true
            HTTP/1.0, 'te, keep-alive',     true
            HTTP/1.0, 'keep-alive, close',  false
            """)
    void decidesPersistenceAsRfc9112Section9(String version, String connection, boolean keepAlive) {
        String head =
                "GET / " + version + "\r\n" + (connection == null ? "" : "Connection: " + connection + "\r\n") + "\r\n";
        assertThat(parsed(head).keepAlive()).isEqualTo(keepAlive);
    }

    @Test
    void combinesSeveralConnectionHeaders() {
        assertThat(parsed("GET / HTTP/1.1\r\nConnection: te\r\nConnection: close\r\n\r\n")
                        .keepAlive())
                .isFalse();
    }

    @Test
    void readsContentLengthIncludingIdenticalDuplicates() {
        assertThat(parsed("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n").contentLength())
                .isZero();
        assertThat(parsed("POST / HTTP/1.1\r\ncontent-length:  1234 \r\n\r\n").contentLength())
                .isEqualTo(1234);
        assertThat(parsed("POST / HTTP/1.1\r\nContent-Length: 7, 7\r\nContent-Length: 7\r\n\r\n")
                        .contentLength())
                .isEqualTo(7);
        assertThat(parsed("POST / HTTP/1.1\r\nContent-Length: 999999999999999999\r\n\r\n")
                        .contentLength())
                .isEqualTo(999_999_999_999_999_999L);
    }

    @Test
    void recognizesChunkedAsTheFinalTransferCoding() {
        assertThat(parsed("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
                        .chunked())
                .isTrue();
        assertThat(parsed("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n")
                        .chunked())
                .isTrue();
        assertThat(parsed("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n")
                        .chunked())
                .isTrue();
        assertThat(parsed("POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\n").chunked())
                .isFalse();
    }

    @Test
    void acceptsAnyTokenAsMethod() {
        RequestParser p = parsed("M-SEARCH!~ /x HTTP/1.1\r\n\r\n");
        assertThat(p.method()).isEqualTo("M-SEARCH!~");
    }

    @Test
    void hostIsNullWhenAbsentAndMayBeEmpty() {
        assertThat(parsed("GET / HTTP/1.1\r\n\r\n").host()).isNull();
        assertThat(parsed("GET / HTTP/1.1\r\nHost:\r\n\r\n").host()).isEmpty();
        assertThat(parsed("GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n").host()).isEqualTo("[::1]:80");
    }

    @Test
    void feedingDoesNotAllocate() {
        var threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        RequestParser p = new RequestParser();
        byte[] head = bytes("GET /some/long/path?with=query HTTP/1.1\r\nHost: example.com\r\nUser-Agent: test\r\n"
                + "Accept: */*\r\nX-Long: " + "v".repeat(2000) + "\r\n");
        for (int warm = 0; warm < 20_000; warm++) { // let the JIT settle
            p.reset();
            for (int i = 0; i < head.length; i += 7) p.feed(head, i, Math.min(7, head.length - i));
        }
        long before = threads.getCurrentThreadAllocatedBytes();
        for (int round = 0; round < 100; round++) {
            p.reset();
            for (int i = 0; i < head.length; i++) p.feed(head, i, 1);
        }
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        // 100 heads of ~2.1 KB fed byte by byte: anything per byte would show as hundreds of KB.
        assertThat(allocated).isLessThan(4096);
        assertThat(p.isComplete()).isFalse();
    }

    /** Everything observable about a parse, for comparing two parses. */
    record Snapshot(
            Result result,
            Invalid reason,
            int headBytes,
            String method,
            String target,
            String path,
            String query,
            String host,
            int version,
            boolean keepAlive,
            long contentLength,
            boolean chunked,
            String headers) {
        static Snapshot of(RequestParser p) {
            if (!p.isComplete()) {
                return new Snapshot(
                        p.invalidReason() != null ? Result.INVALID : Result.NEED_MORE,
                        p.invalidReason(),
                        -1,
                        null,
                        null,
                        null,
                        null,
                        null,
                        0,
                        false,
                        0,
                        false,
                        null);
            }
            StringBuilder h = new StringBuilder();
            for (int i = 0; i < p.headerCount(); i++)
                h.append(p.headerName(i)).append('=').append(p.headerValue(i)).append('\n');
            return new Snapshot(
                    Result.COMPLETE,
                    null,
                    p.headBytes(),
                    p.method(),
                    p.target(),
                    p.path(),
                    p.query(),
                    p.host(),
                    p.version(),
                    p.keepAlive(),
                    p.contentLength(),
                    p.chunked(),
                    h.toString());
        }
    }
}
