package dev.baton.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.baton.node.NodeStats;
import dev.baton.testbed.LoadClient;
import dev.baton.testbed.LoadRun;
import dev.baton.testbed.NetCounters;
import dev.baton.testbed.NodeInfo;
import dev.baton.testbed.Spec;
import dev.baton.testbed.Testbed;
import dev.baton.testbed.TestbedStats;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Loss, duplication and reordering on every node, both directions (issue 3 item 2), with the fault
 * module: each node drops (duplicates, reorders) that share of every packet it receives from and
 * sends to the network, client traffic, forwarded traffic and the control channel alike. 2,000
 * requests of mixed sizes (0 B to 8 MiB, {@link dev.baton.testbed.LoadMix#standard()}) to random
 * entry nodes of four, 16 at a time, each on a new connection, must all end byte-exact; no TCP
 * counter of a bad rewrite may move; the rules must really have hit; the tables must drain.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FaultedLoadIT {
    static final Path STATE = Path.of("/run/baton-testbed-faulted");
    Testbed bed;

    @BeforeAll
    void up() {
        EndToEnd.requireRoot();
        bed = Testbed.up(Spec.defaults()
                .withNodes(4)
                .withStateDir(STATE)
                .withNodeArgs("--linger-ms", "2000", "--time-wait-ms", "3000"));
    }

    @AfterAll
    void down() {
        if (bed != null) bed.down();
    }

    @AfterEach
    void clear() {
        for (NodeInfo n : bed.nodes()) bed.admin(n.number(), "fault clear");
    }

    @Test
    @Order(1)
    void onePercentLossEverywhere() {
        run(List.of("drop p=0.01"), 11, EndToEnd.TROUBLE);
    }

    @Test
    @Order(2)
    void fivePercentLossEverywhere() {
        run(List.of("drop p=0.05"), 12, EndToEnd.TROUBLE);
    }

    /**
     * Reordered and duplicated segments really are old (their TSval is older than the receiver's
     * TS.Recent): the kernels count them in PAWSEstab and their stale SACK blocks in TCPSACKDiscard
     * whoever rewrote them, so only a checksum error would show a wrong rewrite here.
     */
    @Test
    @Order(3)
    void duplicatesReordersAndDelaysEverywhere() {
        run(
                List.of("duplicate p=0.01", "reorder p=0.01 after=3 ms=20", "delay p=0.01 ms=30"),
                13,
                List.of("Tcp.InCsumErrors"));
    }

    private void run(List<String> rules, long seed, List<String> trouble) {
        Map<String, NetCounters> before = EndToEnd.troubleCounters(bed);
        for (NodeInfo n : bed.nodes()) {
            for (String r : rules) bed.admin(n.number(), "fault add " + r + " seed=" + (seed * 100 + n.number()));
        }
        LoadRun.Report report = LoadRun.run(
                bed,
                LoadRun.Options.defaults()
                        .withSeed(seed)
                        .withClient(LoadClient.Options.defaults()
                                .withRequestTimeout(Duration.ofMinutes(2))
                                .withMaxTime(Duration.ofMinutes(15))));
        System.out.print("FaultedLoadIT " + rules + ": " + report.summary());
        long hits = 0;
        long matched = 0;
        for (NodeInfo n : bed.nodes()) {
            for (JsonNode r : bed.admin(n.number(), "fault list").path("rules")) {
                hits += r.path("hits").asLong();
                matched += r.path("matched").asLong();
            }
        }
        System.out.println("FaultedLoadIT " + rules + ": the rules hit " + hits + " of " + matched + " packets");
        var r = report.result();
        if (!r.firstFailures().isEmpty()) {
            // Why a request failed is in the nodes' counters and warnings (a refusal, a lost link,
            // a back-end fetch that failed): say it before the testbed and its logs go.
            throw new AssertionError("failed requests " + r.firstFailures() + "; the nodes' counters now: "
                    + EndToEnd.countersNow(bed) + "\nthe nodes' last warnings:\n" + EndToEnd.nodeWarnings(bed, 12));
        }
        assertThat(r.ok()).isEqualTo(2000);
        assertThat(r.bytes()).isEqualTo(report.plannedBytes());
        assertThat(hits).as("the faults were real").isGreaterThan(matched / 200);
        assertThat(report.drops())
                .as("node internal errors and lost packets")
                .doesNotContainKeys("internalError", "inboxFull", "tunWriteFailed", "policyError");
        EndToEnd.assertNoTrouble(bed, before, trouble);
        for (NodeInfo n : bed.nodes()) bed.admin(n.number(), "fault clear");
        TestbedStats stats = EndToEnd.awaitSumZero(bed, NodeStats::trackedConnections, Duration.ofSeconds(20));
        assertThat(EndToEnd.sum(stats, NodeStats::trackedConnections))
                .as("tables drained: " + stats)
                .isZero();
    }
}
