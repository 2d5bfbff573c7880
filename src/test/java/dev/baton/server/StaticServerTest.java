package dev.baton.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.server.RawClient.Response;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@Timeout(60)
class StaticServerTest {
    private static final String SECRET = "TOP-SECRET-outside-docroot";
    private static final InetSocketAddress ANY_LOOPBACK_PORT =
            new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);

    @TempDir
    Path tmp;

    Path docroot;
    byte[] oneK;
    byte[] fiveM;
    StaticServer server;
    final List<StaticServer> others = new CopyOnWriteArrayList<>();

    @BeforeEach
    void setUp() throws IOException {
        docroot = Files.createDirectories(tmp.resolve("root"));
        Path outside = Files.createDirectories(tmp.resolve("outside"));
        Files.writeString(outside.resolve("secret.txt"), SECRET);
        Random random = new Random(42);
        oneK = new byte[1024];
        random.nextBytes(oneK);
        fiveM = new byte[5 << 20];
        random.nextBytes(fiveM);
        Files.write(docroot.resolve("empty.bin"), new byte[0]);
        Files.write(docroot.resolve("one-k.bin"), oneK);
        Files.write(docroot.resolve("five-m.bin"), fiveM);
        Files.writeString(docroot.resolve("hello.txt"), "hello\n");
        Files.writeString(docroot.resolve("a b.txt"), "space\n");
        Files.writeString(docroot.resolve("café.html"), "<p>café</p>");
        Files.createDirectories(docroot.resolve("dir"));
        Files.writeString(docroot.resolve("dir/index.html"), "<h1>index</h1>");
        Files.createDirectories(docroot.resolve("emptydir"));
        Files.createSymbolicLink(docroot.resolve("escape.txt"), outside.resolve("secret.txt"));
        Files.createSymbolicLink(docroot.resolve("escapedir"), outside);
        Files.createSymbolicLink(docroot.resolve("inner-link.txt"), docroot.resolve("hello.txt"));
        server = start(StaticServer.Config.of(ANY_LOOPBACK_PORT, docroot, "A"));
    }

    @AfterEach
    void tearDown() throws IOException {
        server.close();
        for (StaticServer s : others) s.close();
    }

    private StaticServer start(StaticServer.Config cfg) throws IOException {
        StaticServer s = new StaticServer(cfg);
        s.start();
        if (server != null) others.add(s);
        return s;
    }

    private static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    // ------------------------------------------------------------------ GET / HEAD

    @ParameterizedTest
    @ValueSource(strings = {"empty.bin", "one-k.bin", "five-m.bin"})
    void servesFilesByteExact(String name) throws Exception {
        byte[] expected = Files.readAllBytes(docroot.resolve(name));
        try (RawClient c = new RawClient(server.port())) {
            Response r = c.get("/" + name);
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.header("Content-Length")).isEqualTo(Integer.toString(expected.length));
            assertThat(r.header("Content-Type")).isEqualTo("application/octet-stream");
            assertThat(r.header("X-Baton-Node")).isEqualTo("A");
            assertThat(r.header("Date")).matches("[A-Z][a-z]{2}, \\d{2} [A-Z][a-z]{2} \\d{4} \\d{2}:\\d{2}:\\d{2} GMT");
            assertThat(sha256(r.body())).isEqualTo(sha256(expected));
        }
        assertThat(server.stats().served200()).isEqualTo(1);
    }

    @Test
    void answersHeadWithLengthButNoBody() throws Exception {
        try (RawClient c = new RawClient(server.port())) {
            c.send("HEAD /five-m.bin HTTP/1.1\r\nHost: t\r\n\r\n");
            Response head = c.read(true);
            assertThat(head.status()).isEqualTo(200);
            assertThat(head.header("Content-Length")).isEqualTo(Integer.toString(fiveM.length));
            // If HEAD had leaked body bytes, this response would not parse.
            Response next = c.get("/hello.txt");
            assertThat(next.status()).isEqualTo(200);
            assertThat(next.text()).isEqualTo("hello\n");
            assertThat(next.header("Content-Type")).isEqualTo("text/plain; charset=utf-8");
        }
    }

    @Test
    void servesSeveralRequestsOnOneKeepAliveConnection() throws Exception {
        try (RawClient c = new RawClient(server.port())) {
            for (int i = 0; i < 5; i++) {
                assertThat(sha256(c.get("/one-k.bin").body())).isEqualTo(sha256(oneK));
                assertThat(c.get("/five-m.bin").body()).isEqualTo(fiveM);
            }
        }
        assertThat(server.stats().requests()).isEqualTo(10);
    }

    @Test
    void answersPipelinedRequestsInOrder() throws Exception {
        try (RawClient c = new RawClient(server.port())) {
            c.send("GET /hello.txt HTTP/1.1\r\nHost: t\r\n\r\n"
                    + "HEAD /one-k.bin HTTP/1.1\r\nHost: t\r\n\r\n"
                    + "GET /one-k.bin HTTP/1.1\r\nHost: t\r\n\r\n"
                    + "GET /missing HTTP/1.1\r\nHost: t\r\n\r\n"
                    + "GET /dir/ HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
            assertThat(c.read(false).text()).isEqualTo("hello\n");
            assertThat(c.read(true).header("Content-Length")).isEqualTo("1024");
            assertThat(c.read(false).body()).isEqualTo(oneK);
            assertThat(c.read(false).status()).isEqualTo(404);
            Response last = c.read(false);
            assertThat(last.text()).isEqualTo("<h1>index</h1>");
            assertThat(last.header("Connection")).isEqualTo("close");
            assertThat(c.readByte()).isEqualTo(-1);
        }
    }

    @Test
    void servesIndexOfADirectoryAnd404WithoutOne() throws Exception {
        try (RawClient c = new RawClient(server.port())) {
            Response dir = c.get("/dir");
            assertThat(dir.status()).isEqualTo(200);
            assertThat(dir.header("Content-Type")).isEqualTo("text/html; charset=utf-8");
            assertThat(c.get("/dir/").text()).isEqualTo("<h1>index</h1>");
            assertThat(c.get("/emptydir/").status()).isEqualTo(404);
            assertThat(c.get("/hello.txt/").status()).isEqualTo(404);
        }
    }

    @Test
    void decodesPercentEncodedNamesAndFollowsLinksInsideDocroot() throws Exception {
        try (RawClient c = new RawClient(server.port())) {
            assertThat(c.get("/a%20b.txt").text()).isEqualTo("space\n");
            assertThat(c.get("/caf%C3%A9.html").text()).isEqualTo("<p>café</p>");
            assertThat(c.get("/dir/../hello.txt?x=1").text()).isEqualTo("hello\n");
            assertThat(c.get("/inner-link.txt").text()).isEqualTo("hello\n");
            assertThat(c.get("http://other/hello.txt").text()).isEqualTo("hello\n");
        }
    }

    @Test
    void answers404ForMissingFilesAndKeepsTheConnection() throws Exception {
        try (RawClient c = new RawClient(server.port())) {
            Response r = c.get("/nope.html");
            assertThat(r.status()).isEqualTo(404);
            assertThat(r.header("X-Baton-Node")).isEqualTo("A");
            assertThat(c.get("/hello.txt").status()).isEqualTo(200);
        }
        assertThat(server.stats().notFound()).isEqualTo(1);
    }

    // ------------------------------------------------------------------ errors and safety

    @ParameterizedTest
    @ValueSource(
            strings = {
                "GET / HTTP/1.1\r\nHost : t\r\n\r\n",
                "GET / HTTP/1.1\r\nHost: t\r\n folded\r\n\r\n",
                "GET / HTTP/2.0\r\nHost: t\r\n\r\n",
                "GET /%zz HTTP/1.1\r\nHost: t\r\n\r\n",
                "GET / HTTP/1.1\r\n\r\n",
                "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
                "garbage\r\n\r\n"
            })
    void answers400AndClosesOnBadRequests(String request) throws Exception {
        try (RawClient c = new RawClient(server.port())) {
            c.send(request + "GET /hello.txt HTTP/1.1\r\nHost: t\r\n\r\n");
            Response r = c.read(false);
            assertThat(r.status()).isEqualTo(400);
            assertThat(r.header("Connection")).isEqualTo("close");
            assertThat(r.header("X-Baton-Node")).isEqualTo("A");
        }
        assertThat(server.stats().badRequest()).isEqualTo(1);
        assertThat(server.stats().served200()).isZero();
    }

    @Test
    void answers431ForHugeHeadersAnd414ForHugeTargets() throws Exception {
        try (RawClient c = new RawClient(server.port())) {
            c.send("GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + "x".repeat(9000) + "\r\n\r\n");
            assertThat(c.read(false).status()).isEqualTo(431);
        }
        try (RawClient c = new RawClient(server.port())) {
            c.send("GET / HTTP/1.1\r\nHost: t\r\n" + "X: y\r\n".repeat(101) + "\r\n");
            assertThat(c.read(false).status()).isEqualTo(431);
        }
        try (RawClient c = new RawClient(server.port())) {
            c.send("GET /" + "a".repeat(9000) + " HTTP/1.1\r\nHost: t\r\n\r\n");
            assertThat(c.read(false).status()).isEqualTo(414);
        }
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "/../outside/secret.txt",
                "/..%2foutside/secret.txt",
                "/%2e%2e/outside/secret.txt",
                "/%2E%2E/%2E%2E/%2E%2E/etc/passwd",
                "/../../../../etc/passwd",
                "/dir/../../outside/secret.txt",
                "http://h/../outside/secret.txt"
            })
    void neverServesOutsideDocrootThroughDotSegments(String target) throws Exception {
        try (RawClient c = new RawClient(server.port())) {
            c.send("GET " + target + " HTTP/1.1\r\nHost: t\r\n\r\n");
            Response r = c.read(false);
            assertThat(r.status()).isEqualTo(400);
            assertThat(r.text()).doesNotContain(SECRET).doesNotContain("root:");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"/escape.txt", "/escapedir/secret.txt", "/escapedir/", "/escapedir"})
    void neverFollowsSymlinksOutOfDocroot(String target) throws Exception {
        try (RawClient c = new RawClient(server.port())) {
            Response r = c.get(target);
            assertThat(r.status()).isEqualTo(404);
            assertThat(r.text()).doesNotContain(SECRET);
        }
    }

    @Test
    void answers405ForOtherMethods() throws Exception {
        try (RawClient c = new RawClient(server.port())) {
            c.send("DELETE /hello.txt HTTP/1.1\r\nHost: t\r\n\r\n");
            Response r = c.read(false);
            assertThat(r.status()).isEqualTo(405);
            assertThat(r.header("Allow")).isEqualTo("GET, HEAD, POST, PUT");
            assertThat(c.get("/hello.txt").status()).isEqualTo(200);
        }
        assertThat(Files.exists(docroot.resolve("hello.txt"))).isTrue();
    }

    @Test
    void closesAfterTheResponseForHttp10UnlessKeepAlive() throws Exception {
        try (RawClient c = new RawClient(server.port())) {
            c.send("GET /hello.txt HTTP/1.0\r\n\r\n");
            Response r = c.read(false);
            assertThat(r.text()).isEqualTo("hello\n");
            assertThat(r.header("Connection")).isEqualTo("close");
            assertThat(c.readByte()).isEqualTo(-1);
        }
        try (RawClient c = new RawClient(server.port())) {
            c.send("GET /hello.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
            Response r = c.read(false);
            assertThat(r.header("Connection")).isEqualTo("keep-alive");
            c.send("GET /one-k.bin HTTP/1.0\r\n\r\n");
            assertThat(c.read(false).body()).isEqualTo(oneK);
        }
    }

    @Test
    void honoursConnectionClose() throws Exception {
        try (RawClient c = new RawClient(server.port())) {
            c.send("GET /hello.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
            assertThat(c.read(false).header("Connection")).isEqualTo("close");
            assertThat(c.readByte()).isEqualTo(-1);
        }
    }

    // ------------------------------------------------------------------ uploads

    @Test
    void digestsAnUploadWithContentLengthAndKeepsTheConnection() throws Exception {
        try (RawClient c = new RawClient(server.port())) {
            c.send("POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: " + fiveM.length + "\r\n\r\n")
                    .send(fiveM);
            Response r = c.read(false);
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.header("Content-Type")).isEqualTo("application/json");
            assertThat(r.text()).isEqualTo("{\"bytes\":" + fiveM.length + ",\"sha256\":\"" + sha256(fiveM) + "\"}");
            c.send("PUT /empty HTTP/1.1\r\nHost: t\r\n\r\n");
            assertThat(c.read(false).text()).isEqualTo("{\"bytes\":0,\"sha256\":\"" + sha256(new byte[0]) + "\"}");
            assertThat(c.get("/hello.txt").status()).isEqualTo(200);
        }
        assertThat(server.stats().uploads()).isEqualTo(2);
        assertThat(Files.exists(docroot.resolve("up"))).isFalse();
    }

    @Test
    void digestsAChunkedUpload() throws Exception {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        int[] sizes = {1, 0x10, 4096, 100_000, 7};
        int off = 0;
        for (int s : sizes) {
            body.writeBytes((Integer.toHexString(s) + (s == 4096 ? ";ext=1" : "") + "\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            body.write(fiveM, off, s);
            body.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
            off += s;
        }
        body.writeBytes("0\r\nX-Trailer: t\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        off = 0;
        for (int s : sizes) {
            expected.write(fiveM, off, s);
            off += s;
        }
        try (RawClient c = new RawClient(server.port())) {
            c.send("PUT /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
                    .send(body.toByteArray());
            Response r = c.read(false);
            assertThat(r.text())
                    .isEqualTo("{\"bytes\":" + expected.size() + ",\"sha256\":\"" + sha256(expected.toByteArray())
                            + "\"}");
            assertThat(c.get("/hello.txt").status()).isEqualTo(200); // the body was consumed exactly
        }
    }

    @Test
    void answers400ToAMalformedChunkedBody() throws Exception {
        try (RawClient c = new RawClient(server.port())) {
            c.send("POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
            Response r = c.read(false);
            assertThat(r.status()).isEqualTo(400);
            assertThat(c.readByte()).isEqualTo(-1);
        }
    }

    @Test
    void sends100ContinueBeforeReadingTheBody() throws Exception {
        try (RawClient c = new RawClient(server.port())) {
            c.send("POST /x HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 1024\r\n\r\n");
            Response interim = c.read(false); // arrives although no body byte was sent
            assertThat(interim.statusLine()).isEqualTo("HTTP/1.1 100 Continue");
            c.send(oneK);
            Response r = c.read(false);
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.text()).contains("\"sha256\":\"" + sha256(oneK) + "\"");
        }
    }

    @Test
    void answers413ToBodiesOverOneGibibyte() throws Exception {
        try (RawClient c = new RawClient(server.port())) {
            c.send("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: " + ((1L << 30) + 1) + "\r\n\r\n");
            assertThat(c.read(false).status()).isEqualTo(413);
        }
    }

    // ------------------------------------------------------------------ back-end forwarding

    @Test
    void forwardsAMissingPathToItsHolderAndKeepsTheClientConnection() throws Exception {
        Path rootB = Files.createDirectories(tmp.resolve("rootB"));
        byte[] onlyOnB = new byte[3 << 20];
        new Random(7).nextBytes(onlyOnB);
        Files.write(rootB.resolve("only-b.bin"), onlyOnB);
        AtomicInteger bLookups = new AtomicInteger();
        // B believes A holds everything: without the loop guard, B would forward back to A.
        StaticServer b =
                start(StaticServer.Config.of(ANY_LOOPBACK_PORT, rootB, "B").withLocator(p -> {
                    bLookups.incrementAndGet();
                    return new InetSocketAddress(InetAddress.getLoopbackAddress(), server.port());
                }));
        StaticServer a = start(StaticServer.Config.of(ANY_LOOPBACK_PORT, docroot, "A2")
                .withLocator(p -> new InetSocketAddress(InetAddress.getLoopbackAddress(), b.port())));

        try (RawClient c = new RawClient(a.port())) {
            Response r = c.get("/only-b.bin?v=1");
            assertThat(r.status()).isEqualTo(200);
            assertThat(sha256(r.body())).isEqualTo(sha256(onlyOnB));
            assertThat(r.header("X-Baton-Node")).isEqualTo("B");
            assertThat(r.header("X-Baton-Via")).isEqualTo("A2");
            assertThat(r.header("Connection")).isNull(); // B said close; the client connection persists

            c.send("HEAD /only-b.bin HTTP/1.1\r\nHost: t\r\n\r\n");
            Response head = c.read(true);
            assertThat(head.header("Content-Length")).isEqualTo(Integer.toString(onlyOnB.length));

            Response local = c.get("/hello.txt"); // same connection, served by A itself
            assertThat(local.header("X-Baton-Node")).isEqualTo("A2");
            assertThat(local.text()).isEqualTo("hello\n");

            Response nowhere = c.get("/on-no-node.bin"); // A forwards; B must not forward again
            assertThat(nowhere.status()).isEqualTo(404);
            assertThat(nowhere.header("X-Baton-Node")).isEqualTo("B");
        }
        assertThat(a.stats().forwarded()).isEqualTo(3);
        assertThat(b.stats().forwarded()).isZero();
        assertThat(b.stats().notFound()).isEqualTo(1);
        assertThat(bLookups).hasValue(0);
        assertThat(server.stats().requests()).isZero();
    }

    @Test
    void sendsTheForwardedRequestWithTheLoopGuardAndDropsTheHoldersConnectionHeader() throws Exception {
        try (ServerSocket holder = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<String> seen = CompletableFuture.supplyAsync(() -> {
                try (Socket s = holder.accept()) {
                    InputStream in = s.getInputStream();
                    ByteArrayOutputStream head = new ByteArrayOutputStream();
                    while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) head.write(in.read());
                    s.getOutputStream()
                            .write(("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n"
                                            + "Keep-Alive: timeout=5\r\nX-From: holder\r\n\r\nhello")
                                    .getBytes(StandardCharsets.ISO_8859_1));
                    return head.toString(StandardCharsets.ISO_8859_1);
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            StaticServer a = start(StaticServer.Config.of(ANY_LOOPBACK_PORT, docroot, "A3")
                    .withLocator(p -> new InetSocketAddress(InetAddress.getLoopbackAddress(), holder.getLocalPort())));
            try (RawClient c = new RawClient(a.port())) {
                c.send("GET /remote/x.txt?q=1 HTTP/1.1\r\nHost: site.example\r\nCookie: c\r\n\r\n");
                Response r = c.read(false);
                assertThat(r.text()).isEqualTo("hello");
                assertThat(r.header("X-From")).isEqualTo("holder");
                assertThat(r.header("Connection")).isNull();
                assertThat(r.header("Keep-Alive")).isNull();
                assertThat(c.get("/hello.txt").status()).isEqualTo(200);
            }
            assertThat(seen.get(10, TimeUnit.SECONDS))
                    .isEqualTo("GET /remote/x.txt?q=1 HTTP/1.1\r\n"
                            + "Host: site.example\r\nX-Baton-Forwarded: 1\r\nConnection: close\r\n\r\n");
        }
    }

    /** A one-shot holder on loopback: answers one connection with {@code response}, then closes it. */
    private static ServerSocket cannedHolder(String response) throws IOException {
        ServerSocket holder = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(() -> {
            try (Socket s = holder.accept()) {
                InputStream in = s.getInputStream();
                ByteArrayOutputStream head = new ByteArrayOutputStream();
                while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) head.write(in.read());
                s.getOutputStream().write(response.getBytes(StandardCharsets.ISO_8859_1));
            } catch (IOException e) {
                // the test fails on the client side
            }
        });
        return holder;
    }

    @Test
    void relaysAChunkedHolderResponseAndKeepsTheClientConnection() throws Exception {
        try (ServerSocket holder =
                cannedHolder("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + "5\r\nhello\r\n0\r\n\r\n")) {
            StaticServer a = start(StaticServer.Config.of(ANY_LOOPBACK_PORT, docroot, "A12")
                    .withLocator(p -> new InetSocketAddress(InetAddress.getLoopbackAddress(), holder.getLocalPort())));
            try (RawClient c = new RawClient(a.port())) {
                c.send("GET /chunked HTTP/1.1\r\nHost: t\r\n\r\nGET /hello.txt HTTP/1.1\r\nHost: t\r\n\r\n");
                Response r = c.read(true); // head only: the chunked body is checked raw below
                assertThat(r.header("Transfer-Encoding")).isEqualTo("chunked");
                assertThat(r.header("Connection")).isNull();
                assertThat(c.readRaw(15)).isEqualTo("5\r\nhello\r\n0\r\n\r\n");
                assertThat(c.read(false).text()).isEqualTo("hello\n");
            }
        }
    }

    @Test
    void closesTheClientConnectionAfterACloseDelimitedHolderResponse() throws Exception {
        try (ServerSocket holder = cannedHolder("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil-eof")) {
            StaticServer a = start(StaticServer.Config.of(ANY_LOOPBACK_PORT, docroot, "A13")
                    .withLocator(p -> new InetSocketAddress(InetAddress.getLoopbackAddress(), holder.getLocalPort())));
            try (RawClient c = new RawClient(a.port())) {
                Response r = c.get("/eof");
                assertThat(r.statusLine()).isEqualTo("HTTP/1.1 200 OK");
                assertThat(r.header("Connection")).isEqualTo("close");
                assertThat(r.text()).isEqualTo("until-eof");
            }
        }
    }

    @Test
    void doesNotForwardARequestThatWasAlreadyForwarded() throws Exception {
        AtomicInteger lookups = new AtomicInteger();
        StaticServer a =
                start(StaticServer.Config.of(ANY_LOOPBACK_PORT, docroot, "A4").withLocator(p -> {
                    lookups.incrementAndGet();
                    return new InetSocketAddress(InetAddress.getLoopbackAddress(), server.port());
                }));
        try (RawClient c = new RawClient(a.port())) {
            c.send("GET /missing HTTP/1.1\r\nHost: t\r\nX-Baton-Forwarded: 1\r\n\r\n");
            assertThat(c.read(false).status()).isEqualTo(404);
        }
        assertThat(lookups).hasValue(0);
        assertThat(a.stats().forwarded()).isZero();
    }

    @Test
    void answers502WhenTheHolderIsUnreachable() throws Exception {
        int deadPort;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            deadPort = s.getLocalPort();
        }
        StaticServer a = start(StaticServer.Config.of(ANY_LOOPBACK_PORT, docroot, "A5")
                .withLocator(p -> new InetSocketAddress(InetAddress.getLoopbackAddress(), deadPort)));
        try (RawClient c = new RawClient(a.port())) {
            Response r = c.get("/elsewhere.bin");
            assertThat(r.status()).isEqualTo(502);
            assertThat(r.header("X-Baton-Node")).isEqualTo("A5");
            assertThat(c.get("/hello.txt").status()).isEqualTo(200);
        }
        assertThat(a.stats().forwardFailed()).isEqualTo(1);
        assertThat(a.stats().forwarded()).isZero();
    }

    @Test
    void doesNotAskTheLocatorForFilesItHas() throws Exception {
        AtomicInteger lookups = new AtomicInteger();
        StaticServer a =
                start(StaticServer.Config.of(ANY_LOOPBACK_PORT, docroot, "A6").withLocator(p -> {
                    lookups.incrementAndGet();
                    return null;
                }));
        try (RawClient c = new RawClient(a.port())) {
            assertThat(c.get("/hello.txt").status()).isEqualTo(200);
            assertThat(c.get("/nowhere").status()).isEqualTo(404);
        }
        assertThat(lookups).hasValue(1);
    }

    // ------------------------------------------------------------------ timeouts and limits

    @Test
    void closesAnIdleKeepAliveConnection() throws Exception {
        StaticServer a =
                start(StaticServer.Config.of(ANY_LOOPBACK_PORT, docroot, "A7").withIdleTimeout(Duration.ofMillis(300)));
        try (RawClient c = new RawClient(a.port())) {
            assertThat(c.get("/hello.txt").status()).isEqualTo(200);
            long start = System.nanoTime();
            assertThat(c.readByte()).isEqualTo(-1);
            long waitedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertThat(waitedMillis).isBetween(200L, 5_000L);
        }
    }

    @Test
    void closesAConnectionWhoseHeadNeverCompletes() throws Exception {
        StaticServer a =
                start(StaticServer.Config.of(ANY_LOOPBACK_PORT, docroot, "A8").withHeadTimeout(Duration.ofMillis(300)));
        try (RawClient c = new RawClient(a.port())) {
            c.send("GET /hello.txt HTTP/1.1\r\nHost: t\r\n");
            long start = System.nanoTime();
            assertThat(c.readByte()).isEqualTo(-1);
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isLessThan(5_000L);
        }
    }

    @Test
    void closesATricklingHeadAtTheHeadTimeoutCountedFromItsFirstByte() throws Exception {
        StaticServer a = start(StaticServer.Config.of(ANY_LOOPBACK_PORT, docroot, "A12")
                .withHeadTimeout(Duration.ofMillis(600))
                .withIdleTimeout(Duration.ofSeconds(30)));
        byte[] head = "GET /hello.txt HTTP/1.1\r\nHost: t\r\nX-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n"
                .getBytes(StandardCharsets.US_ASCII);
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), a.port())) {
            s.setTcpNoDelay(true);
            s.setSoTimeout(100);
            long start = System.nanoTime();
            int sent = 0;
            int read = 0;
            // One byte every 100 ms: each byte is progress, but the whole head would take 6.7 s.
            while (sent < head.length) {
                try {
                    s.getOutputStream().write(head[sent]);
                    sent++;
                } catch (SocketException e) {
                    break; // reset: the server closed and our byte found no socket
                }
                try {
                    read = s.getInputStream().read();
                    if (read < 0) break;
                } catch (SocketTimeoutException e) {
                    continue; // nothing yet: keep trickling
                } catch (SocketException e) {
                    read = -1;
                    break;
                }
                break; // a byte of a response: the assertion below fails
            }
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertThat(read).as("closed without a response").isEqualTo(-1);
            assertThat(sent).as("the head never completed").isLessThan(head.length);
            assertThat(millis)
                    .as("closed at the head timeout, not after the whole trickle")
                    .isBetween(500L, 2_500L);
        }
        assertThat(a.stats().headTimeouts()).isEqualTo(1);
    }

    @Test
    void closesAConnectionWhoseClientStopsReading() throws Exception {
        long size = 64L << 20; // far more than the socket buffers on both sides can hold
        try (var f = new RandomAccessFile(docroot.resolve("big.bin").toFile(), "rw")) {
            f.setLength(size);
        }
        StaticServer a =
                start(StaticServer.Config.of(ANY_LOOPBACK_PORT, docroot, "A11").withIoTimeout(Duration.ofMillis(300)));
        try (Socket s = new Socket()) {
            s.setReceiveBufferSize(4096);
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), a.port()));
            s.setSoTimeout(10_000);
            s.getOutputStream().write("GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            Thread.sleep(2_000); // not reading: the server's write makes no progress
            long received = 0;
            byte[] buf = new byte[1 << 16];
            try {
                for (int n; (n = s.getInputStream().read(buf)) >= 0; ) received += n;
            } catch (SocketException e) {
                // reset: ended too
            }
            assertThat(received).isLessThan(size);
        }
    }

    @Test
    void rejectsConnectionsBeyondTheLimit() throws Exception {
        StaticServer a =
                start(StaticServer.Config.of(ANY_LOOPBACK_PORT, docroot, "A9").withMaxConnections(1));
        try (RawClient first = new RawClient(a.port())) {
            assertThat(first.get("/hello.txt").status()).isEqualTo(200);
            try (RawClient second = new RawClient(a.port())) {
                assertThat(second.readByte()).isEqualTo(-1);
            }
            assertThat(a.stats().connectionsRejected()).isEqualTo(1);
            assertThat(first.get("/hello.txt").status()).isEqualTo(200);
        }
    }

    @Test
    void closeEndsOpenConnections() throws Exception {
        StaticServer a = start(StaticServer.Config.of(ANY_LOOPBACK_PORT, docroot, "A10"));
        try (RawClient c = new RawClient(a.port())) {
            assertThat(c.get("/hello.txt").status()).isEqualTo(200);
            a.close();
            assertThat(c.readByte()).isEqualTo(-1);
        }
    }
}
