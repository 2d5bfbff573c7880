package dev.baton.testbed;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.testbed.LoadMix.Request;
import dev.baton.testbed.LoadMix.Target;
import dev.baton.testbed.LoadResult.Kind;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The load client against a small HTTP server on loopback that can misbehave per path: a wrong
 * byte, a short body, a wrong Content-Length, a 404, a stall, a closed connection.
 */
class LoadClientTest {
    static final Duration TIMEOUT = Duration.ofSeconds(5);

    /** What the server does for a path. */
    enum Behaviour {
        EXACT,
        FLIP_ONE_BYTE,
        SHORT_BODY,
        WRONG_LENGTH,
        NOT_FOUND,
        STALL,
        CLOSE_AT_ONCE
    }

    final Map<String, byte[]> files = new ConcurrentHashMap<>();
    final Map<String, Behaviour> behaviour = new ConcurrentHashMap<>();
    final AtomicInteger accepted = new AtomicInteger();
    ServerSocket server;
    Target target;

    @BeforeEach
    void start() throws IOException {
        server = new ServerSocket(0, 128, InetAddress.getLoopbackAddress());
        target = new Target("n1", "127.0.0.1", server.getLocalPort());
        Thread.ofVirtual().start(this::acceptLoop);
        Random random = new Random(5);
        for (int size : new int[] {0, 1, 100, 1024, 70_000, 1 << 20}) {
            byte[] b = new byte[size];
            random.nextBytes(b);
            files.put("/f" + size + ".bin", b);
        }
        files.put("/a b%.txt", "percent".getBytes(StandardCharsets.US_ASCII));
    }

    @AfterEach
    void stop() throws IOException {
        server.close();
    }

    @Test
    void countsEveryExactResponseWithBytesLatencyAndConnections() {
        List<Request> plan = new ArrayList<>();
        List<String> paths = new ArrayList<>(files.keySet());
        long bytes = 0;
        for (int i = 0; i < 60; i++) {
            String path = paths.get(i % paths.size());
            plan.add(request(i, path, target));
            bytes += files.get(path).length;
        }
        LoadResult r = LoadClient.run(plan, new LoadClient.Options(8, TIMEOUT, false, Duration.ofMinutes(1)));
        assertThat(r.firstFailures()).isEmpty();
        assertThat(r.ok()).isEqualTo(60);
        assertThat(r.allOk()).isTrue();
        assertThat(r.bytes()).isEqualTo(bytes);
        assertThat(r.connections()).as("a new connection per request").isEqualTo(60);
        assertThat(accepted.get()).isEqualTo(60);
        assertThat(r.p50()).isPositive().isLessThanOrEqualTo(r.p99());
        assertThat(r.p99()).isLessThanOrEqualTo(r.max());
        assertThat(r.max()).isLessThanOrEqualTo(r.wall());
        assertThat(r.servedElsewhere())
                .as("the server says it is n1, the entry")
                .isZero();
    }

    @Test
    void reportsAWrongByteWithPathEntryAndBothHashes() {
        behaviour.put("/f1024.bin", Behaviour.FLIP_ONE_BYTE);
        LoadResult r =
                LoadClient.run(List.of(request(0, "/f100.bin", target), request(1, "/f1024.bin", target)), options());
        assertThat(r.ok()).isEqualTo(1);
        assertThat(r.failed()).isEqualTo(1);
        assertThat(r.failuresByKind()).containsExactly(Map.entry(Kind.HASH, 1));
        LoadResult.Failure f = r.firstFailures().getFirst();
        assertThat(f.index()).isEqualTo(1);
        assertThat(f.path()).isEqualTo("/f1024.bin");
        assertThat(f.entry()).isEqualTo("n1");
        assertThat(f.detail()).contains(ContentMap.sha256(files.get("/f1024.bin")));
    }

    @Test
    void reportsATamperedExpectationAsAWrongHash() {
        ContentEntry real = entry("/f70000.bin");
        ContentEntry tampered =
                new ContentEntry(real.path(), real.bytes(), ContentMap.sha256(new byte[] {1}), real.holders());
        LoadResult r = LoadClient.run(List.of(new Request(0, tampered, target)), options());
        assertThat(r.ok()).isZero();
        assertThat(r.failuresByKind()).containsExactly(Map.entry(Kind.HASH, 1));
        assertThat(r.firstFailures().getFirst().detail()).contains("sha256 " + real.sha256());
    }

    @Test
    void tellsShortBodiesWrongLengthsStatusesAndClosedConnectionsApart() {
        behaviour.put("/f70000.bin", Behaviour.SHORT_BODY);
        behaviour.put("/f1024.bin", Behaviour.WRONG_LENGTH);
        behaviour.put("/f100.bin", Behaviour.NOT_FOUND);
        behaviour.put("/f1.bin", Behaviour.CLOSE_AT_ONCE);
        LoadResult r = LoadClient.run(
                List.of(
                        request(0, "/f70000.bin", target),
                        request(1, "/f1024.bin", target),
                        request(2, "/f100.bin", target),
                        request(3, "/f1.bin", target),
                        request(4, "/f0.bin", target)),
                options());
        assertThat(r.ok()).isEqualTo(1);
        assertThat(r.failuresByKind())
                .containsOnly(
                        Map.entry(Kind.SHORT, 1),
                        Map.entry(Kind.LENGTH, 1),
                        Map.entry(Kind.STATUS, 1),
                        Map.entry(Kind.IO, 1));
        assertThat(r.firstFailures()).extracting(LoadResult.Failure::index).containsExactly(0, 1, 2, 3);
        assertThat(r.firstFailures().get(0).detail()).contains("35000 of 70000");
        assertThat(r.firstFailures().get(2).detail()).contains("status 404");
    }

    @Test
    void aStalledResponseFailsAtTheRequestTimeoutNotLater() {
        behaviour.put("/f1024.bin", Behaviour.STALL);
        long start = System.nanoTime();
        LoadResult r = LoadClient.run(
                List.of(request(0, "/f1024.bin", target), request(1, "/f100.bin", target)),
                new LoadClient.Options(1, Duration.ofMillis(300), false, Duration.ofMinutes(1)));
        long ms = (System.nanoTime() - start) / 1_000_000;
        assertThat(r.failuresByKind()).containsExactly(Map.entry(Kind.TIMEOUT, 1));
        assertThat(r.ok()).as("the next request still runs").isEqualTo(1);
        assertThat(ms).isBetween(250L, 3_000L);
    }

    @Test
    void aRefusedConnectionIsAConnectFailure() throws IOException {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        Target nobody = new Target("n9", "127.0.0.1", closedPort);
        LoadResult r = LoadClient.run(List.of(request(0, "/f1.bin", nobody)), options());
        assertThat(r.failuresByKind()).containsExactly(Map.entry(Kind.CONNECT, 1));
        assertThat(r.firstFailures().getFirst().entry()).isEqualTo("n9");
    }

    @Test
    void requestsNotStartedBeforeTheRunsTimeIsUpCountAsNotRun() {
        behaviour.put("/f1024.bin", Behaviour.STALL);
        LoadResult r = LoadClient.run(
                List.of(request(0, "/f1024.bin", target), request(1, "/f1.bin", target), request(2, "/f1.bin", target)),
                new LoadClient.Options(1, Duration.ofMillis(300), false, Duration.ofMillis(100)));
        assertThat(r.failuresByKind()).containsOnly(Map.entry(Kind.TIMEOUT, 1), Map.entry(Kind.NOT_RUN, 2));
        assertThat(r.ok()).isZero();
    }

    @Test
    void keepAliveReusesConnectionsAndRetriesOneTheServerClosed() {
        List<Request> plan = new ArrayList<>();
        for (int i = 0; i < 30; i++) plan.add(request(i, "/f1024.bin", target));
        LoadResult r = LoadClient.run(plan, new LoadClient.Options(2, TIMEOUT, true, Duration.ofMinutes(1)));
        assertThat(r.ok()).isEqualTo(30);
        assertThat(r.connections()).as("one per thread").isEqualTo(2);
        // The server closes every connection after its third response: the next request on it is retried.
        serverClosesAfter.set(3);
        accepted.set(0);
        r = LoadClient.run(plan, new LoadClient.Options(1, TIMEOUT, true, Duration.ofMinutes(1)));
        assertThat(r.ok()).isEqualTo(30);
        assertThat(r.connections()).isEqualTo(10);
    }

    @Test
    void countsResponsesServedByAnotherNode() {
        LoadResult r = LoadClient.run(
                List.of(
                        request(0, "/f1.bin", new Target("n2", "127.0.0.1", server.getLocalPort())),
                        request(1, "/f1.bin", target)),
                options());
        assertThat(r.ok()).isEqualTo(2);
        assertThat(r.servedElsewhere()).isEqualTo(1);
    }

    @Test
    void encodesPathsThatNeedIt() {
        LoadResult r = LoadClient.run(List.of(request(0, "/a b%.txt", target)), options());
        assertThat(r.firstFailures()).isEmpty();
        assertThat(r.ok()).isEqualTo(1);
    }

    // ------------------------------------------------------------------------------------------

    static LoadClient.Options options() {
        return new LoadClient.Options(4, TIMEOUT, false, Duration.ofMinutes(1));
    }

    ContentEntry entry(String path) {
        byte[] b = files.get(path);
        return new ContentEntry(path, b.length, ContentMap.sha256(b), List.of("n1"));
    }

    Request request(int index, String path, Target to) {
        return new Request(index, entry(path), to);
    }

    final AtomicInteger serverClosesAfter = new AtomicInteger(Integer.MAX_VALUE);

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                accepted.incrementAndGet();
                Thread.ofVirtual().start(() -> serve(s));
            } catch (IOException e) {
                return;
            }
        }
    }

    /** HTTP/1.1 good enough for the client: one request head at a time, Content-Length bodies. */
    private void serve(Socket s) {
        try (s) {
            s.setSoTimeout(10_000);
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            for (int served = 0; served < serverClosesAfter.get(); served++) {
                String head = readHead(in);
                if (head == null) return;
                String target = head.split(" ")[1];
                String path = URLDecoder.decode(target.replace("+", "%2B"), StandardCharsets.UTF_8);
                byte[] body = files.getOrDefault(path, new byte[0]);
                boolean close = head.toLowerCase(Locale.ROOT).contains("connection: close");
                switch (behaviour.getOrDefault(path, Behaviour.EXACT)) {
                    case EXACT -> respond(out, 200, body.length, body, body.length);
                    case FLIP_ONE_BYTE -> {
                        byte[] wrong = body.clone();
                        wrong[wrong.length / 2] ^= 0x01;
                        respond(out, 200, wrong.length, wrong, wrong.length);
                    }
                    case SHORT_BODY -> {
                        respond(out, 200, body.length, body, body.length / 2);
                        return;
                    }
                    case WRONG_LENGTH -> respond(out, 200, body.length + 1, body, body.length);
                    case NOT_FOUND -> respond(out, 404, 0, new byte[0], 0);
                    case STALL -> {
                        Thread.sleep(5_000);
                        return;
                    }
                    case CLOSE_AT_ONCE -> {
                        return;
                    }
                }
                if (close) return;
            }
        } catch (IOException | InterruptedException e) {
            // The client went away: nothing to do.
        }
    }

    private static void respond(OutputStream out, int status, long length, byte[] body, int send) throws IOException {
        String head = "HTTP/1.1 " + status + " X\r\nContent-Length: " + length + "\r\nX-Baton-Node: n1\r\n\r\n";
        out.write(head.getBytes(StandardCharsets.US_ASCII));
        out.write(body, 0, send);
        out.flush();
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) >= 0) {
            head.write(b);
            byte[] h = head.toByteArray();
            int n = h.length;
            if (n >= 4 && h[n - 4] == '\r' && h[n - 3] == '\n' && h[n - 2] == '\r' && h[n - 1] == '\n') {
                return head.toString(StandardCharsets.ISO_8859_1);
            }
        }
        return null;
    }
}
