package dev.baton.e2e;

import static org.assertj.core.api.Assertions.assertThat;

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
        Path dir = Files.createDirectories(bed.stateDir().resolve("client")); // the testbed removes it
        Path body = Files.createTempFile(dir, "slow-", ".body");
        Process p = new ProcessBuilder("ip", "netns", "exec", bed.client().netns(), "python3",
                LoadTools.script(bed, "slow_get.py").toString(), bed.node(node).ip(), path, rate, body.toString())
                .redirectErrorStream(true).start();
        CompletableFuture<Long> exited = p.onExit().thenApply(x -> System.nanoTime());
        return new SlowClient(path, p, body, exited);
    }

    Result await() throws Exception {
        long at = exited.get(70, TimeUnit.SECONDS);
        return new Result(process.exitValue(), Files.size(body), at);
    }

    void assertExact(Testbed bed) throws Exception {
        Result r = await();
        String out;
        try (InputStream in = process.getInputStream()) {
            out = new String(in.readAllBytes());
        }
        assertThat(r.exit()).as("slow_get " + path + ": " + out).isZero();
        ContentEntry e = EndToEnd.entry(bed, path);
        assertThat(r.bytes()).as(path).isEqualTo(e.bytes());
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(body)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) sha.update(buf, 0, n);
        }
        assertThat(HexFormat.of().formatHex(sha.digest())).as("sha256 of " + path).isEqualTo(e.sha256());
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
            long completed = EndToEnd.counter(bed, entry, "handoffsCompleted");
            long fallbacks = EndToEnd.counter(bed, entry, "fallbacks");
            SlowClient s = SlowClient.start(bed, node, path, rate);
            long deadline = System.nanoTime() + 3_000_000_000L;
            while (System.nanoTime() < deadline) {
                if (EndToEnd.counter(bed, entry, "fallbacks") > fallbacks) break;
                if (EndToEnd.counter(bed, entry, "handoffsCompleted") > completed) return s;
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
