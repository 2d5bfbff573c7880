package dev.baton.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.node.NodeStats;
import dev.baton.testbed.Commands;
import dev.baton.testbed.NodeInfo;
import dev.baton.testbed.Testbed;
import dev.baton.testbed.TestbedStats;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/** Helpers of the load tests (floods, slow clients): scripts, background clients, node memory, a stats sampler. */
final class LoadTools {
    private LoadTools() {}

    /** Copies test resource {@code e2e/<name>} into the testbed's client folder; returns its path. */
    static Path script(Testbed bed, String name) {
        return script(bed.stateDir().resolve("client"), name);
    }

    /** The test resource e2e/{@code name}, copied into {@code dir} for a client namespace to run. */
    static Path script(Path dir, String name) {
        try (InputStream in = LoadTools.class.getResourceAsStream("/e2e/" + name)) {
            assertThat(in).as("test resource e2e/" + name).isNotNull();
            Files.createDirectories(dir);
            Path file = dir.resolve(name);
            Files.write(file, in.readAllBytes());
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A program running in the client's namespace, its output kept in a file. */
    static final class Background implements AutoCloseable {
        final Process process;
        final Path output;

        Background(Testbed bed, Path output, List<String> argv) {
            this.output = output;
            try {
                process = new ProcessBuilder(Commands.inNetns(bed.client().netns(), argv))
                        .redirectErrorStream(true)
                        .redirectOutput(output.toFile())
                        .start();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        /** Waits for the end (killing it after {@code timeout}) and returns its output; fails on a non-zero exit. */
        String await(Duration timeout) {
            try {
                boolean ended = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
                if (!ended) process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                String out = Files.readString(output);
                assertThat(ended)
                        .as("ended within " + timeout + "; output: " + out)
                        .isTrue();
                assertThat(process.exitValue()).as("exit code; output: " + out).isZero();
                return out;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }

        boolean alive() {
            return process.isAlive();
        }

        @Override
        public void close() {
            if (process.isAlive()) process.destroyForcibly();
        }
    }

    /** The node process's pid (what its ready file said). */
    static long nodePid(Testbed bed, NodeInfo node) {
        return bed.processes().stream()
                .filter(p -> p.kind().equals("node") && p.node().equals(node.name()))
                .findFirst()
                .orElseThrow()
                .pid();
    }

    /** Resident memory of a process in KiB ({@code VmRSS} of /proc/PID/status). */
    static long rssKib(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        throw new AssertionError("no VmRSS for pid " + pid);
    }

    /**
     * Samples every node's stats and memory every {@code periodMillis} on its own thread, keeping the
     * extremes: the most tracked and half-open connections, the fewest free hold buffers, the largest
     * RSS, and the longest time a stats query took (a node busy with a flood answers late, never not).
     */
    static final class Sampler implements AutoCloseable {
        final Testbed bed;
        final long[] pids;
        final long[] maxTracked;
        final long[] maxHalfOpen;
        final long[] minFreeHolds;
        final long[] maxRssKib;
        volatile long maxQueryMillis;
        volatile int samples;
        volatile int failures;
        private final Thread thread;
        private volatile boolean stop;

        Sampler(Testbed bed, long periodMillis) {
            this.bed = bed;
            int n = bed.nodes().size();
            pids = new long[n];
            maxTracked = new long[n];
            maxHalfOpen = new long[n];
            minFreeHolds = new long[n];
            maxRssKib = new long[n];
            Arrays.fill(minFreeHolds, Long.MAX_VALUE);
            for (NodeInfo node : bed.nodes()) pids[node.number() - 1] = nodePid(bed, node);
            thread = Thread.ofPlatform().name("stats-sampler").daemon().start(() -> {
                while (!stop) {
                    sample();
                    try {
                        Thread.sleep(periodMillis);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
        }

        private synchronized void sample() {
            long start = System.nanoTime();
            TestbedStats stats = bed.stats();
            maxQueryMillis = Math.max(maxQueryMillis, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
            for (NodeInfo node : bed.nodes()) {
                int i = node.number() - 1;
                NodeStats s = stats.find(node.name()).orElse(null);
                maxRssKib[i] = Math.max(maxRssKib[i], rssKib(pids[i]));
                if (s == null) {
                    failures++;
                    continue;
                }
                maxTracked[i] = Math.max(maxTracked[i], s.trackedConnections());
                maxHalfOpen[i] = Math.max(maxHalfOpen[i], s.halfOpenConnections());
                minFreeHolds[i] = Math.min(minFreeHolds[i], s.freeHoldBuffers());
            }
            samples++;
        }

        @Override
        public void close() {
            stop = true;
            thread.interrupt();
            try {
                thread.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        synchronized String summary() {
            List<String> parts = new ArrayList<>();
            for (NodeInfo node : bed.nodes()) {
                int i = node.number() - 1;
                parts.add(node.name() + ": maxTracked=" + maxTracked[i] + " maxHalfOpen=" + maxHalfOpen[i]
                        + " minFreeHolds=" + minFreeHolds[i] + " maxRss=" + maxRssKib[i] / 1024 + "MiB");
            }
            return String.join("; ", parts) + "; samples=" + samples + " failures=" + failures + " maxQuery="
                    + maxQueryMillis + "ms";
        }
    }

    /** Polls until {@code check} holds or {@code timeout} passes; returns how long it took, or null. */
    static Duration await(Duration timeout, BooleanSupplier check) {
        long start = System.nanoTime();
        long deadline = start + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (check.getAsBoolean()) return Duration.ofNanos(System.nanoTime() - start);
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }
        return check.getAsBoolean() ? Duration.ofNanos(System.nanoTime() - start) : null;
    }
}
