package dev.baton.e2e;

import static dev.baton.e2e.EndToEnd.assertExact;
import static org.assertj.core.api.Assertions.assertThat;

import dev.baton.btcp.Counter;
import dev.baton.node.Node;
import dev.baton.testbed.Client;
import dev.baton.testbed.Names;
import dev.baton.testbed.NodeInfo;
import dev.baton.testbed.ProcessResult;
import dev.baton.testbed.Spec;
import dev.baton.testbed.Testbed;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Every node answers {@code GET /metrics} for Prometheus, from the client's side of the network
 * (the scrape crosses the BTCP like any traffic that is not for the service port), and the numbers
 * move with traffic: handoffs counted on both nodes, the latency histogram filled, links up.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MetricsIT {
    static final Path STATE = Path.of("/run/baton-testbed-metrics");
    static final int HANDOFFS = 6;
    Testbed bed;
    Client client;

    @BeforeAll
    void up() {
        EndToEnd.requireRoot();
        // --log-level debug: each handoff also logs one line on each node (checked below).
        bed = Testbed.up(Spec.defaults().withNodes(2).withStateDir(STATE).withNodeArgs("--log-level", "debug"));
        client = EndToEnd.client(bed);
    }

    @AfterAll
    void down() {
        if (bed != null) bed.down();
    }

    @Test
    void everyNodeServesMetricsThatMoveWithHandoffs() throws Exception {
        String n1Before = scrape(bed.node(1));
        String n2Before = scrape(bed.node(2));
        assertThat(value(n1Before, "baton_peer_up", "node=\"n1\"", "peer=\"n2\""))
                .isEqualTo(1.0);
        assertThat(value(n2Before, "baton_peer_up", "node=\"n2\"", "peer=\"n1\""))
                .isEqualTo(1.0);
        assertThat(value(n1Before, "baton_table_capacity", "table=\"connections\""))
                .isPositive();
        assertThat(n1Before).contains("# TYPE baton_handoff_seconds histogram");

        for (int i = 0; i < HANDOFFS; i++) {
            Client.Response r = client.get(bed.node(1), "/data/1k.bin"); // held by n2 only
            assertExact(bed, r, "/data/1k.bin");
            assertThat(r.servedBy()).isEqualTo("n2");
        }
        EndToEnd.awaitCounter(bed, "n1", Counter.HANDOFFS_COMPLETED, HANDOFFS, Duration.ofSeconds(10));
        String n1 = scrape(bed.node(1));
        String n2 = scrape(bed.node(2));
        assertThat(value(n1, "baton_btcp_total", "counter=\"handoffsCompleted\"")
                        - value(n1Before, "baton_btcp_total", "counter=\"handoffsCompleted\""))
                .isGreaterThanOrEqualTo(HANDOFFS);
        assertThat(value(n2, "baton_btcp_total", "counter=\"handoffsAccepted\"")
                        - value(n2Before, "baton_btcp_total", "counter=\"handoffsAccepted\""))
                .isGreaterThanOrEqualTo(HANDOFFS);
        double count = value(n1, "baton_handoff_seconds_count", "node=\"n1\"");
        assertThat(count - value(n1Before, "baton_handoff_seconds_count", "node=\"n1\""))
                .isGreaterThanOrEqualTo(HANDOFFS);
        // Every handoff took more than nothing and less than the top bucket (one second).
        assertThat(value(n1, "baton_handoff_seconds_sum", "node=\"n1\"")).isPositive();
        assertThat(value(n1, "baton_handoff_seconds_bucket", "le=\"1.0\"")).isEqualTo(count);
        assertThat(value(n1, "baton_peer_frames_total", "peer=\"n2\"", "direction=\"out\""))
                .isGreaterThan(value(n1Before, "baton_peer_frames_total", "peer=\"n2\"", "direction=\"out\""));
        assertThat(value(n1, "baton_drops_total", "reason=\"internalError\"")).isZero();
        // One debug line per handoff on each side, none per packet.
        String entryLog = Files.readString(bed.node(1).log());
        String chosenLog = Files.readString(bed.node(2).log());
        assertThat(entryLog.lines()
                        .filter(l -> l.contains("DEBUG Btcp") && l.contains("to n2: completed in"))
                        .count())
                .isGreaterThanOrEqualTo(HANDOFFS);
        assertThat(chosenLog
                        .lines()
                        .filter(l -> l.contains("DEBUG Btcp") && l.contains("from n1: taken"))
                        .count())
                .isGreaterThanOrEqualTo(HANDOFFS);
        assertThat(entryLog.lines().filter(l -> l.contains("DEBUG Btcp")).count())
                .as("a line per handoff, not per packet")
                .isLessThan(4L * HANDOFFS);
    }

    @Test
    void theEndpointAnswersGetOnlyAndNothingElseThere() {
        NodeInfo n = bed.node(1);
        String url = "http://" + n.ip() + ":" + Node.Config.DEFAULT_METRICS_PORT;
        assertThat(curl("-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", url + "/metrics"))
                .isEqualTo("405");
        assertThat(curl("-s", "-o", "/dev/null", "-w", "%{http_code}", url + "/nothing"))
                .isEqualTo("404");
    }

    private String scrape(NodeInfo n) {
        return curl("-sf", "http://" + n.ip() + ":" + Node.Config.DEFAULT_METRICS_PORT + "/metrics");
    }

    private String curl(String... args) {
        List<String> argv = new ArrayList<>(List.of("curl", "--max-time", "10"));
        argv.addAll(List.of(args));
        ProcessResult r = bed.exec(Names.CLIENT_NETNS, argv, Duration.ofSeconds(15));
        return r.requireSuccess().stdout();
    }

    /** The value of the one sample of {@code name} whose labels include all of {@code labels}. */
    static double value(String scrape, String name, String... labels) {
        List<String> lines = scrape.lines()
                .filter(l -> l.startsWith(name + "{") || l.startsWith(name + " "))
                .filter(l -> {
                    for (String label : labels) if (!l.contains(label)) return false;
                    return true;
                })
                .toList();
        assertThat(lines)
                .as(name + " " + String.join(",", labels) + " in\n" + scrape)
                .hasSize(1);
        String line = lines.getFirst();
        return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
    }
}
