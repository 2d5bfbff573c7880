package dev.baton.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.btcp.Counter;
import dev.baton.btcp.Drop;
import dev.baton.datapath.DatapathCounter;
import dev.baton.node.LoopDrop;
import dev.baton.node.NodeStats;
import dev.baton.testbed.Client;
import dev.baton.testbed.ContentEntry;
import dev.baton.testbed.NetCounters;
import dev.baton.testbed.NodeInfo;
import dev.baton.testbed.Testbed;
import dev.baton.testbed.TestbedCommand;
import dev.baton.testbed.TestbedStats;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToLongFunction;

/** Shared helpers of the end-to-end tests: a testbed, a curl client, and counter checks. */
final class EndToEnd {
    /** TCP counters that move when a rewrite is wrong (docs/KERNEL-FACTS.md), as NetCounters names them. */
    static final List<String> TROUBLE =
            List.of("Tcp.InCsumErrors", "TcpExt.PAWSEstab", "TcpExt.TCPSACKDiscard", "TcpExt.TSEcrRejected");

    private EndToEnd() {}

    static void requireRoot() {
        assertThat(TestbedCommand.isRoot())
                .as("end-to-end tests build network namespaces: run them as root (sudo ./baton test)")
                .isTrue();
    }

    static Client client(Testbed bed) {
        return new Client(bed.client().netns(), bed.stateDir().resolve("client"), Duration.ofSeconds(60));
    }

    /**
     * A file for a test's own use (scripts, upload bodies) in the testbed's client folder, which the
     * testbed removes with the rest of its state.
     */
    static Path scratch(Testbed bed, String name) {
        Path dir = bed.stateDir().resolve("client");
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return dir.resolve(name);
    }

    static ContentEntry entry(Testbed bed, String path) {
        return bed.content().find(path).orElseThrow(() -> new AssertionError("no such sample path " + path));
    }

    /** Asserts a complete, byte-exact 200 for {@code path}. */
    static void assertExact(Testbed bed, Client.Response r, String path) {
        ContentEntry e = entry(bed, path);
        if (!r.error().isEmpty()) {
            // What the nodes counted says which of them gave up on it (a flake is otherwise a riddle).
            throw new AssertionError("curl error for " + r.url() + ": " + r.error() + " after " + r.bytes() + " bytes, "
                    + r.time().toMillis() + " ms; the nodes' counters now: " + countersNow(bed));
        }
        assertThat(r.status()).as("status of " + r.url()).isEqualTo(200);
        assertThat(r.bytes()).as("bytes of " + r.url()).isEqualTo(e.bytes());
        assertThat(r.sha256()).as("sha256 of " + r.url()).isEqualTo(e.sha256());
    }

    /** Every node's non-zero counters, one line. */
    static String countersNow(Testbed bed) {
        StringBuilder b = new StringBuilder();
        try {
            for (NodeStats n : bed.stats().nodes()) {
                b.append(n.node()).append(" {");
                n.counters().forEach((c, v) -> {
                    if (v != 0) b.append(c.metric()).append('=').append(v).append(' ');
                });
                b.append("} ");
            }
        } catch (RuntimeException ex) {
            b.append("(stats failed: ").append(ex.getMessage()).append(')');
        }
        return b.toString().strip();
    }

    /** A node's counter from the admin socket. */
    static long counter(Testbed bed, String node, Counter c) {
        return bed.stats().node(node).counter(c);
    }

    /** The last {@code max} warnings and errors of every node's log, for a failure's message. */
    static String nodeWarnings(Testbed bed, int max) {
        StringBuilder b = new StringBuilder();
        for (NodeInfo n : bed.nodes()) {
            b.append("--- ").append(n.name()).append('\n');
            try {
                List<String> lines = Files.readAllLines(n.log()).stream()
                        .filter(l -> l.contains(" WARN ") || l.contains(" ERROR "))
                        .toList();
                lines.subList(Math.max(0, lines.size() - max), lines.size())
                        .forEach(l -> b.append(l).append('\n'));
            } catch (IOException | RuntimeException e) {
                b.append("(log not read: ").append(e).append(")\n");
            }
        }
        return b.toString();
    }

    /** A counter of a node's BPF programs, 0 on the TUN path. */
    static long datapathCounter(Testbed bed, String node, DatapathCounter c) {
        return bed.stats().node(node).datapathCounter(c);
    }

    /**
     * A counter once it reached {@code atLeast}, or its value after {@code limit}. With the eager
     * commit the chosen node's answer can reach the client before its ack reaches the entry, so the
     * entry counts a completed handoff a moment after the client has its response.
     */
    static long awaitCounter(Testbed bed, String node, Counter c, long atLeast, Duration limit) {
        long deadline = System.nanoTime() + limit.toNanos();
        long v = counter(bed, node, c);
        while (v < atLeast && System.nanoTime() < deadline) {
            sleep(50);
            v = counter(bed, node, c);
        }
        return v;
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    static long drop(Testbed bed, String node, Drop d) {
        return bed.stats().node(node).drops().get(d);
    }

    static long drop(Testbed bed, String node, LoopDrop d) {
        return bed.stats().node(node).drops().get(d);
    }

    /** Snapshot of the trouble counters in the client's and every node's namespace. */
    static Map<String, NetCounters> troubleCounters(Testbed bed) {
        Map<String, NetCounters> m = new HashMap<>();
        m.put(bed.client().netns(), NetCounters.read(bed.client().netns()));
        for (NodeInfo n : bed.nodes()) m.put(n.netns(), NetCounters.read(n.netns()));
        return m;
    }

    static void assertNoTrouble(Testbed bed, Map<String, NetCounters> before) {
        assertNoTrouble(bed, before, TROUBLE);
    }

    static void assertNoTrouble(Testbed bed, Map<String, NetCounters> before, List<String> trouble) {
        Map<String, NetCounters> now = troubleCounters(bed);
        for (var e : before.entrySet()) {
            // A misspelt name would read as 0 and prove nothing: each must exist on this kernel.
            assertThat(e.getValue().values())
                    .as("counters of " + e.getKey())
                    .containsKeys(trouble.toArray(String[]::new));
            NetCounters moved = now.get(e.getKey()).minus(e.getValue());
            for (String key : trouble) {
                if (moved.get(key) != 0) {
                    // Which kind of SACK, retransmission or reordering came with it tells a kernel's
                    // own reaction (a dubious D-SACK, a reordered ACK) from a wrong rewrite.
                    throw new AssertionError(key + " in " + e.getKey() + " moved by " + moved.get(key)
                            + "; its loss and SACK counters that moved: " + lossCounters(moved)
                            + "; the nodes' counters now: " + countersNow(bed));
                }
            }
        }
    }

    /** The moved TCP counters of SACK, D-SACK, retransmission, loss and reordering, one line. */
    static String lossCounters(NetCounters moved) {
        StringBuilder b = new StringBuilder();
        moved.values().entrySet().stream()
                .sorted(Map.Entry.comparingByKey())
                .filter(
                        c -> c.getValue() != 0
                                && c.getKey()
                                        .matches(
                                                ".*(SACK|Retrans|Reorder|Lost|Loss|Spurious|Undo|Timeouts|Probe|PAWS|OFO|TSEcr|Csum).*"))
                .forEach(c ->
                        b.append(c.getKey()).append('=').append(c.getValue()).append(' '));
        return b.toString().strip();
    }

    /**
     * Polls every node's stats until {@code field} ({@code NodeStats::trackedConnections} ...) sums
     * to zero over the nodes, or {@code limit} passes; returns the last stats either way.
     */
    static TestbedStats awaitSumZero(Testbed bed, ToLongFunction<NodeStats> field, Duration limit) {
        long deadline = System.nanoTime() + limit.toNanos();
        TestbedStats stats = bed.stats();
        while (sum(stats, field) != 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted", e);
            }
            stats = bed.stats();
        }
        return stats;
    }

    /** {@code field} summed over the nodes of a stats snapshot; every node must have answered. */
    static long sum(TestbedStats stats, ToLongFunction<NodeStats> field) {
        assertThat(stats.unanswered()).as("nodes that did not answer").isEmpty();
        long total = 0;
        for (NodeStats n : stats.nodes()) total += field.applyAsLong(n);
        return total;
    }

    /** A client that writes its request one byte per segment (Python in the client's namespace). */
    static String splitRequest(Testbed bed, Path script, String host, String path) {
        var r = bed.exec(
                bed.client().netns(), List.of("python3", script.toString(), host, path), Duration.ofSeconds(60));
        assertThat(r.exitCode()).as("split client: " + r.stderr()).isZero();
        return r.stdout().strip();
    }
}
