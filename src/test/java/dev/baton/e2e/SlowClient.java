package dev.baton.e2e;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.btcp.Counter;
import dev.baton.testbed.ContentEntry;
import dev.baton.testbed.LoadRun;
import dev.baton.testbed.Testbed;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** A client reading at a fixed rate in the client namespace (slow_get.py), running while the test strikes. */
record SlowClient(String path, Process process, Path body, CompletableFuture<Long> exited) {
    record Result(int exit, long bytes, long exitedAt) {}

    static SlowClient start(Testbed bed, int node, String path, String rate) throws IOException {
        // in the testbed's state directory, which the testbed removes
        return start(
                bed.client().netns(),
                bed.stateDir().resolve("client"),
                bed.node(node).ip(),
                path,
                rate);
    }

    /** From namespace {@code netns} to {@code host}; its script and the body it reads go in {@code dir}. */
    static SlowClient start(String netns, Path dir, String host, String path, String rate) throws IOException {
        Files.createDirectories(dir);
        Path body = Files.createTempFile(dir, "slow-", ".body");
        Process p = new ProcessBuilder(
                        "ip",
                        "netns",
                        "exec",
                        netns,
                        "python3",
                        LoadTools.script(dir, "slow_get.py").toString(),
                        host,
                        path,
                        rate,
                        body.toString())
                .redirectErrorStream(true)
                .start();
        CompletableFuture<Long> exited = p.onExit().thenApply(x -> System.nanoTime());
        return new SlowClient(path, p, body, exited);
    }

    Result await() throws Exception {
        long at = exited.get(70, TimeUnit.SECONDS);
        return new Result(process.exitValue(), Files.size(body), at);
    }

    void assertExact(Testbed bed) throws Exception {
        ContentEntry e = EndToEnd.entry(bed, path);
        assertExact(e.bytes(), e.sha256());
    }

    /** Read whole and exactly: {@code file}'s bytes. */
    void assertExact(Path file) throws Exception {
        assertExact(Files.size(file), sha256(file));
    }

    private void assertExact(long bytes, String sha256) throws Exception {
        Result r = await();
        String out;
        try (InputStream in = process.getInputStream()) {
            out = new String(in.readAllBytes(), UTF_8);
        }
        assertThat(r.exit()).as("slow_get " + path + ": " + out).isZero();
        assertThat(r.bytes()).as(path).isEqualTo(bytes);
        assertThat(sha256(body)).as("sha256 of " + path).isEqualTo(sha256);
    }

    private static String sha256(Path file) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) sha.update(buf, 0, n);
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /**
     * Starts a slow transfer through entry {@code node} and waits until that node has handed it off.
     * A handoff may legitimately fall back (its 1 s timeout on a loaded machine), and then the test
     * would be about something else: such a transfer is stopped and started again, at most 3 times.
     */
    static SlowClient handedOff(Testbed bed, int node, String path, String rate) throws Exception {
        String entry = "n" + node;
        for (int attempt = 1; attempt <= 3; attempt++) {
            LoadRun.settledStats(bed); // no earlier handoff's ack still on its way to count now
            long completed = EndToEnd.counter(bed, entry, Counter.HANDOFFS_COMPLETED);
            long fallbacks = EndToEnd.counter(bed, entry, Counter.FALLBACKS);
            SlowClient s = SlowClient.start(bed, node, path, rate);
            long deadline = System.nanoTime() + 3_000_000_000L;
            while (System.nanoTime() < deadline) {
                if (EndToEnd.counter(bed, entry, Counter.FALLBACKS) > fallbacks) break;
                if (EndToEnd.counter(bed, entry, Counter.HANDOFFS_COMPLETED) > completed) return s;
                Thread.sleep(50);
            }
            System.out.println("slow_get: " + path + " through " + entry + " was not handed off (attempt " + attempt
                    + "); starting it again");
            s.process().destroyForcibly();
            s.await();
        }
        throw new AssertionError(path + " through " + entry + " fell back three times");
    }
}
