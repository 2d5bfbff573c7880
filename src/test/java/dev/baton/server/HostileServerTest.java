package dev.baton.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.server.RawClient.Response;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Issue 3 item 7, at the built-in server: each hostile request gets the status the
 * {@link dev.baton.http.RequestParser} table documents, never a byte of a file outside the document
 * root (a canary lies next to it, and symbolic links point at it), and the server keeps serving.
 */
@Timeout(60)
class HostileServerTest {
    static final String CANARY = "CANARY-outside-the-docroot-7f3a";

    @TempDir
    Path tmp;

    Path docroot;
    StaticServer server;
    final AtomicInteger lookups = new AtomicInteger();

    @BeforeEach
    void setUp() throws IOException {
        docroot = Files.createDirectories(tmp.resolve("root"));
        Files.writeString(tmp.resolve("secret.txt"), CANARY);
        Files.writeString(tmp.resolve("root-sibling.txt"), CANARY); // "/../root-sibling.txt" would find it
        Files.createDirectories(tmp.resolve("root2"));
        Files.writeString(tmp.resolve("root2/x.txt"), CANARY); // a prefix of "root" by name only
        Files.writeString(docroot.resolve("hello.txt"), "hello\n");
        Files.createDirectories(docroot.resolve("dir"));
        Files.writeString(docroot.resolve("dir/index.html"), "<h1>index</h1>");
        Files.writeString(docroot.resolve("..\\secret.txt"), "a file named with a backslash\n");
        Files.createSymbolicLink(docroot.resolve("out.txt"), tmp.resolve("secret.txt"));
        Files.createSymbolicLink(docroot.resolve("outdir"), tmp);
        Files.createSymbolicLink(docroot.resolve("relative-out.txt"), Path.of("../secret.txt"));
        Files.createSymbolicLink(docroot.resolve("in.txt"), Path.of("hello.txt"));
        Files.createSymbolicLink(docroot.resolve("dir/index-out.html"), tmp.resolve("secret.txt"));
        server = new StaticServer(
                StaticServer.Config.of(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), docroot, "A")
                        .withHeadTimeout(Duration.ofMillis(800))
                        .withLocator(p -> {
                            lookups.incrementAndGet();
                            return null; // nobody holds anything else: a forwarded request would still be a 404
                        }));
        server.start();
    }

    @AfterEach
    void tearDown() throws IOException {
        server.close();
    }

    @ParameterizedTest(name = "{0}: {2}")
    @CsvSource(delimiter = '|', textBlock = """
            duplicate Host            | GET /hello.txt HTTP/1.1\\r\\nHost: a\\r\\nHost: b\\r\\n\\r\\n          | 400
            duplicate equal Host      | GET /hello.txt HTTP/1.1\\r\\nHost: a\\r\\nhost: a\\r\\n\\r\\n          | 400
            missing Host 1.1          | GET /hello.txt HTTP/1.1\\r\\n\\r\\n                                    | 400
            missing Host 1.0          | GET /hello.txt HTTP/1.0\\r\\n\\r\\n                                    | 200
            bad Host                  | GET /hello.txt HTTP/1.1\\r\\nHost: a/b\\r\\n\\r\\n                      | 400
            absolute-form             | GET http://other/hello.txt HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n             | 200
            absolute-form dots        | GET http://other/../secret.txt HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n        | 400
            long URI                  | GET /LONG HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n                             | 414
            long header               | GET /hello.txt HTTP/1.1\\r\\nHost: t\\r\\nX: LONG\\r\\n\\r\\n             | 431
            many headers              | GET /hello.txt HTTP/1.1\\r\\nHost: t\\r\\nMANY\\r\\n                     | 431
            raw dots                  | GET /../secret.txt HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n                     | 400
            raw dots to a sibling     | GET /../root-sibling.txt HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n               | 400
            raw dots to a prefix dir  | GET /../root2/x.txt HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n                    | 400
            encoded dots              | GET /%2e%2e/secret.txt HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n                 | 400
            encoded slash             | GET /..%2fsecret.txt HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n                   | 400
            dots inside               | GET /dir/../hello.txt HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n                  | 200
            backslash                 | GET /..\\\\secret.txt HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n                  | 200
            encoded backslash         | GET /..%5c..%5csecret.txt HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n              | 404
            double encoding           | GET /%252e%252e/secret.txt HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n             | 404
            overlong UTF-8 slash      | GET /..%c0%afsecret.txt HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n                | 400
            NUL in a value            | GET /hello.txt HTTP/1.1\\r\\nHost: t\\u0000\\r\\n\\r\\n                  | 400
            NUL in the target         | GET /hello.txt\\u0000 HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n                  | 400
            percent NUL               | GET /hello.txt%00.png HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n                  | 400
            raw invalid UTF-8         | GET /\\u00c3( HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n                          | 400
            encoded invalid UTF-8     | GET /%c3%28 HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n                            | 400
            invalid UTF-8 in a value  | GET /hello.txt HTTP/1.1\\r\\nHost: t\\r\\nX: \\u00ff\\u00fe\\r\\n\\r\\n   | 200
            bare LF                   | GET /hello.txt HTTP/1.1\\nHost: t\\n\\n                                  | 200
            bare CR                   | GET /hello.txt HTTP/1.1\\rHost: t\\r\\n\\r\\n                            | 400
            obs-fold                  | GET /hello.txt HTTP/1.1\\r\\nHost: t\\r\\nX: a\\r\\n b\\r\\n\\r\\n        | 400
            huge Content-Length       | POST /hello.txt HTTP/1.1\\r\\nHost: t\\r\\nContent-Length: 999999999999999999\\r\\n\\r\\n | 413
            overflowing length        | POST /hello.txt HTTP/1.1\\r\\nHost: t\\r\\nContent-Length: 99999999999999999999\\r\\n\\r\\n | 400
            TE and CL                 | POST /hello.txt HTTP/1.1\\r\\nHost: t\\r\\nTransfer-Encoding: chunked\\r\\nContent-Length: 1\\r\\n\\r\\n | 400
            upload to dots            | POST /../secret.txt HTTP/1.1\\r\\nHost: t\\r\\nContent-Length: 1\\r\\n\\r\\nx | 400
            HTTP/0.9                  | GET /hello.txt\\r\\n                                                  | 400
            HTTP/2 preface            | PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n                               | 400
            lowercase method          | get /hello.txt HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n                         | 405
            symlink out               | GET /out.txt HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n                           | 404
            relative symlink out      | GET /relative-out.txt HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n                  | 404
            symlinked dir out         | GET /outdir/secret.txt HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n                 | 404
            out and back in           | GET /outdir/root/hello.txt HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n             | 200
            symlink inside            | GET /in.txt HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n                            | 200
            forged loop guard         | GET /elsewhere.txt HTTP/1.1\\r\\nHost: t\\r\\nX-Baton-Forwarded: 1\\r\\n\\r\\n | 404
            """)
    void answersEachHostileRequestAsDocumentedAndNeverLeaksTheCanary(String name, String escaped, int status)
            throws Exception {
        String request = unescape(escaped.strip());
        try (RawClient c = new RawClient(server.port())) {
            c.send(request);
            Response r = c.read(request.startsWith("HEAD"));
            assertThat(r.status()).as(name).isEqualTo(status);
            assertThat(r.header("X-Baton-Node")).isEqualTo("A");
            assertThat(new String(r.body(), StandardCharsets.ISO_8859_1))
                    .as(name)
                    .doesNotContain(CANARY);
        }
        // Still serving, byte-exact.
        try (RawClient c = new RawClient(server.port())) {
            assertThat(c.get("/hello.txt").text()).isEqualTo("hello\n");
        }
    }

    /** Expands \r, \n, \\ and \\uXXXX, and the LONG and MANY placeholders (past the 8 KiB and 100-field limits). */
    static String unescape(String s) {
        s = s.replace("LONG", "a".repeat(9000)).replace("MANY", "X: y\\r\\n".repeat(100) + "\\r\\n");
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            if (ch != '\\') {
                sb.append(ch);
                continue;
            }
            char n = s.charAt(++i);
            switch (n) {
                case 'r' -> sb.append('\r');
                case 'n' -> sb.append('\n');
                case '\\' -> sb.append('\\');
                case 'u' -> {
                    sb.append((char) Integer.parseInt(s.substring(i + 1, i + 5), 16));
                    i += 4;
                }
                default -> throw new IllegalArgumentException("escape \\" + n);
            }
        }
        return sb.toString();
    }

    @Test
    void aForgedLoopGuardOnlyDeniesForwardingToItsSender() throws Exception {
        try (RawClient c = new RawClient(server.port())) {
            c.send("GET /elsewhere.txt HTTP/1.1\r\nHost: t\r\nX-Baton-Forwarded: 1\r\n\r\n");
            assertThat(c.read(false).status()).isEqualTo(404);
            c.send("GET /elsewhere.txt HTTP/1.1\r\nHost: t\r\nX-Baton-Forwarded:\r\n\r\n");
            assertThat(c.read(false).status()).isEqualTo(404);
            assertThat(lookups)
                    .as("a request carrying the guard never reaches the locator")
                    .hasValue(0);
            assertThat(c.get("/elsewhere.txt").status()).isEqualTo(404);
            assertThat(lookups).as("without it, the locator is asked").hasValue(1);
        }
    }

    @Test
    void answersPipelinedHostileRequestsInOrderAndStopsAtTheFirstBadOne() throws Exception {
        try (RawClient c = new RawClient(server.port())) {
            c.send("GET /hello.txt HTTP/1.1\r\nHost: t\r\n\r\n"
                    + "GET /dir/../hello.txt HTTP/1.1\nHost: t\n\n"
                    + "GET /../secret.txt HTTP/1.1\r\nHost: t\r\n\r\n"
                    + "GET /hello.txt HTTP/1.1\r\nHost: t\r\n\r\n");
            assertThat(c.read(false).text()).isEqualTo("hello\n");
            assertThat(c.read(false).text()).isEqualTo("hello\n");
            Response bad = c.read(false);
            assertThat(bad.status()).isEqualTo(400);
            assertThat(bad.header("Connection")).isEqualTo("close");
            assertThat(c.readByte())
                    .as("nothing after the 400: the connection closes")
                    .isEqualTo(-1);
        }
    }

    @Test
    void closesAHeadThatDripsInForeverWithinTheHeadTimeout() throws Exception {
        try (RawClient c = new RawClient(server.port())) {
            long start = System.nanoTime();
            c.send("GET /hello.txt HTTP/1.1\r\nHost: t\r\n");
            boolean closed = false;
            for (int i = 0; i < 100 && !closed; i++) {
                try {
                    c.send("X-Slow: " + i + "\r\n"); // a new field every 50 ms, never the empty line
                } catch (IOException e) {
                    closed = true;
                }
                Thread.sleep(50);
                c.socket.setSoTimeout(1);
                try {
                    closed = closed || c.readByte() == -1;
                } catch (SocketTimeoutException e) {
                    // still open
                }
            }
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertThat(closed).as("closed by the server").isTrue();
            // The head timeout (800 ms here) runs from the first byte, not from the last one.
            assertThat(millis).isBetween(600L, 3_000L);
        }
    }
}
