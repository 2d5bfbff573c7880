package dev.baton.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.btcp.Counter;
import dev.baton.node.NodeStats;
import dev.baton.testbed.LoadRun;
import dev.baton.testbed.NetCounters;
import dev.baton.testbed.Spec;
import dev.baton.testbed.Testbed;
import dev.baton.testbed.TestbedStats;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The baseline of the loss runs (issue 3, item 2), without faults: four nodes with the built-in
 * server, 2,000 requests of mixed sizes (0 B to 8 MiB, {@link dev.baton.testbed.LoadMix#standard()})
 * to random entry nodes, 16 at a time, each on a new connection, from a JVM in the client namespace
 * ({@link LoadRun}). Every response must be byte-exact, every request whose entry lacks the file
 * handed off (and no other), no TCP counter of a bad rewrite may move, and afterwards every node's
 * connection table must empty within the linger and TIME-WAIT times.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MixedLoadIT {
    static final Path STATE = Path.of("/run/baton-testbed-load");
    /** The chosen node keeps a closed connection this long (Btcp's TIME-WAIT), the entry 10 s (linger). */
    static final Duration TIME_WAIT = Duration.ofSeconds(60);

    static final Duration LINGER = Duration.ofSeconds(10);
    Testbed bed;
    Map<String, NetCounters> before;
    TestbedStats initial;
    LoadRun.Report report;

    @BeforeAll
    void up() {
        EndToEnd.requireRoot();
        bed = Testbed.up(Spec.defaults().withNodes(4).withStateDir(STATE));
        before = EndToEnd.troubleCounters(bed);
        initial = bed.stats();
    }

    @AfterAll
    void down() {
        if (bed != null) bed.down();
    }

    @Test
    @Order(1)
    void twoThousandMixedRequestsToRandomEntryNodesAllEndByteExact() {
        report = LoadRun.run(bed, LoadRun.Options.defaults());
        System.out.print("MixedLoadIT: " + report.summary() + "MixedLoadIT: " + report.toJson() + "\n");
        var r = report.result();
        assertThat(r.firstFailures()).as("failed requests").isEmpty();
        assertThat(r.ok()).isEqualTo(2000);
        assertThat(r.bytes()).isEqualTo(report.plannedBytes());
        assertThat(report.plannedBytes())
                .as("0 B to 8 MiB, ~190-250 MiB in all")
                .isBetween(150L << 20, 300L << 20);
        assertThat(r.connections()).as("a new connection per request").isEqualTo(2000);
        // Exactly the requests whose entry lacks the file are handed off: about three in four.
        assertThat(report.counter(Counter.CONNECTIONS_SEEN)).isEqualTo(2000);
        assertThat(report.counter(Counter.HANDOFFS_COMPLETED)).isEqualTo(report.plannedRemote());
        assertThat(r.servedElsewhere())
                .as("X-Baton-Node differs from the entry")
                .isEqualTo(report.plannedRemote());
        assertThat(report.handedOffShare()).isBetween(0.70, 0.80);
        assertThat(report.counter(Counter.FALLBACKS)).isZero();
        assertThat(report.unanswered()).isEmpty();
        assertThat(report.drops())
                .as("node internal errors and lost packets")
                .doesNotContainKeys("internalError", "inboxFull", "tunWriteFailed", "policyError");
        EndToEnd.assertNoTrouble(bed, before);
    }

    @Test
    @Order(2)
    void keepAliveConnectionsCarryMixedRequestsByteExactToo() {
        // One connection per thread and entry node: the first request on it decides the handoff,
        // later ones for content the serving node lacks are fetched from a holder (back-end forwarding).
        LoadRun.Report keptAlive = LoadRun.run(
                bed,
                LoadRun.Options.defaults()
                        .withRequests(500)
                        .withSeed(2)
                        .withClient(LoadRun.Options.defaults().client().withKeepAlive(true)));
        System.out.print("MixedLoadIT keep-alive: " + keptAlive.summary());
        var r = keptAlive.result();
        assertThat(r.firstFailures()).as("failed requests").isEmpty();
        assertThat(r.ok()).isEqualTo(500);
        assertThat(r.connections()).as("at most one per thread and entry node").isLessThanOrEqualTo(16 * 4);
        // The nodes also see the back-end fetches their servers make to holders: more connections than the client's.
        assertThat(keptAlive.counter(Counter.CONNECTIONS_SEEN)).isGreaterThan(r.connections());
        assertThat(keptAlive.drops()).doesNotContainKeys("internalError", "inboxFull", "tunWriteFailed", "policyError");
        EndToEnd.assertNoTrouble(bed, before);
    }

    @Test
    @Order(3)
    void everyConnectionTableDrainsWithinTheLingerAndTimeWaitTimes() {
        assertThat(report).as("runs after the load").isNotNull();
        long start = System.nanoTime();
        // Nothing is left being served: local entries go on the two FINs, handed-in ones turn CLOSED.
        TestbedStats stats = EndToEnd.awaitSumZero(bed, NodeStats::activeConnections, Duration.ofSeconds(5));
        assertThat(EndToEnd.sum(stats, NodeStats::activeConnections))
                .as("active connections after the run: " + stats)
                .isZero();
        // Lingering (entry) and TIME-WAIT (chosen) entries are freed by their timers, nothing later.
        stats = EndToEnd.awaitSumZero(
                bed, NodeStats::trackedConnections, TIME_WAIT.plus(LINGER).plusSeconds(5));
        System.out.printf(
                "MixedLoadIT: connection tables empty %.1f s after the run%n", (System.nanoTime() - start) / 1e9);
        assertThat(EndToEnd.sum(stats, NodeStats::trackedConnections))
                .as("tracked connections: " + stats)
                .isZero();
        for (int i = 0; i < bed.nodes().size(); i++) {
            String n = "n" + (i + 1);
            assertThat(stats.node(n).freeHoldBuffers())
                    .as("free hold buffers of " + n)
                    .isEqualTo(initial.node(n).freeHoldBuffers())
                    .isPositive();
        }
    }
}
