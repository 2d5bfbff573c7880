package dev.baton.e2e;

import static dev.baton.e2e.EndToEnd.assertExact;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.baton.node.NodeStats;
import dev.baton.testbed.Client;
import dev.baton.testbed.Commands;
import dev.baton.testbed.ProcessResult;
import dev.baton.testbed.Spec;
import dev.baton.testbed.Testbed;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Draining n2 while it serves a slow handed-off transfer: its peers stop choosing it for a path
 * another node holds (even a busier one), a connection entering it goes to the other holder, a
 * path only it holds is still handed to it (a drain refuses no request), the transfer in flight
 * finishes byte for byte, and {@code baton drain --wait} returns once nothing is open, as the
 * node's log says too. {@code drain off} takes work again.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DrainIT {
    static final Path STATE = Path.of("/run/baton-testbed-drain");
    Testbed bed;
    Client client;

    @BeforeAll
    void up() {
        EndToEnd.requireRoot();
        bed = Testbed.up(Spec.defaults().withNodes(3).withStateDir(STATE));
        client = EndToEnd.client(bed);
    }

    @AfterAll
    void down() {
        if (bed != null) bed.down();
    }

    @Test
    void aDrainingNodeFinishesWhatItHasAndTakesOnlyWhatNobodyElseCan() throws Exception {
        // /shared/rep.bin is held by n2 and n3. Two slow transfers make n3 busier than n2 (one), so
        // n1 chooses n2 for it: what the drain must change.
        List<SlowClient> inFlight = new ArrayList<>();
        inFlight.add(SlowClient.start(bed, 1, "/video/big.bin", "5M")); // to n2, about 7 s
        inFlight.add(SlowClient.start(bed, 1, "/mix/8m.bin", "1M")); // to n3, about 8 s
        inFlight.add(SlowClient.start(bed, 1, "/mix/8m.bin", "1M"));
        await("n1 sees n3 busier than n2", () -> load(1, "n3") == 2 && load(1, "n2") == 1);
        Client.Response before = client.get(bed.node(1), "/shared/rep.bin");
        assertExact(bed, before, "/shared/rep.bin");
        assertThat(before.servedBy())
                .as("the less loaded holder, before the drain")
                .isEqualTo("n2");

        JsonNode drain = bed.admin(2, "drain");
        assertThat(drain.path("state").asText()).isEqualTo("draining");
        assertThat(drain.path("openConnections").asInt()).as(drain.toString()).isGreaterThanOrEqualTo(1);
        await(
                "n1 hears n2 is draining",
                () -> bed.admin(1, "drain status")
                        .path("peersDraining")
                        .toString()
                        .contains("n2"));

        // Operators see it: n2's metrics, and the dashboard's cluster view served by n1.
        assertThat(clientGet("http://" + bed.node(2).ip() + ":9180/metrics"))
                .contains("baton_draining{node=\"n2\"} 1.0");
        JsonNode view =
                new ObjectMapper().readTree(clientGet("http://" + bed.node(1).ip() + ":9180/api/cluster"));
        JsonNode n2 = null;
        for (JsonNode n : view.path("nodes")) if (n.path("name").asText().equals("n2")) n2 = n;
        assertThat(n2).as(view.toString()).isNotNull();
        assertThat(n2.path("view").path("drain").path("state").asText()).isEqualTo("draining");

        Client.Response passedOver = client.get(bed.node(1), "/shared/rep.bin");
        assertExact(bed, passedOver, "/shared/rep.bin");
        assertThat(passedOver.servedBy())
                .as("n3, though busier: n2 is draining")
                .isEqualTo("n3");
        Client.Response enteredThere = client.get(bed.node(2), "/shared/rep.bin");
        assertExact(bed, enteredThere, "/shared/rep.bin");
        assertThat(enteredThere.servedBy())
                .as("entered at n2, which would serve it itself")
                .isEqualTo("n3");
        Client.Response onlyThere = client.get(bed.node(1), "/data/1k.bin");
        assertExact(bed, onlyThere, "/data/1k.bin");
        assertThat(onlyThere.servedBy()).as("held by n2 alone: still served").isEqualTo("n2");
        assertThat(bed.admin(2, "drain status").path("state").asText())
                .as("the slow transfer is open")
                .isEqualTo("draining");

        // baton drain --wait returns once the transfer is over.
        List<String> argv = new ArrayList<>(Testbed.javaCommand());
        argv.addAll(
                List.of("drain", "--admin-socket", bed.node(2).adminSocket().toString(), "--wait", "--timeout", "60"));
        ProcessResult waited = Commands.run(argv, Duration.ofSeconds(90));
        assertThat(waited.exitCode()).as(waited.stdout() + waited.stderr()).isZero();
        assertThat(waited.stdout()).contains("draining: ").contains("drained: no connection open");
        for (SlowClient s : inFlight) s.assertExact(bed);
        assertThat(inFlight.getFirst().exited().isDone()).isTrue();
        assertThat(Files.readString(bed.node(2).log())).contains("drained: no connection open");
        NodeStats stats = bed.nodeStats(2);
        assertThat(stats.drain().state()).isEqualTo("drained");
        assertThat(stats.openConnections()).isZero();

        JsonNode on = bed.admin(2, "drain off");
        assertThat(on.path("state").asText()).isEqualTo("off");
        await(
                "n1 hears n2 takes work again",
                () -> bed.admin(1, "drain status").path("peersDraining").isEmpty());
        assertThat(client.get(bed.node(2), "/shared/rep.bin").servedBy())
                .as("served where it lands again")
                .isEqualTo("n2");
    }

    /** A body fetched from the client's namespace (what an operator's browser or Prometheus reads). */
    private String clientGet(String url) {
        return Commands.check(
                        Commands.inNetns(bed.client().netns(), List.of("curl", "-sS", "--max-time", "5", url)),
                        Duration.ofSeconds(10))
                .stdout();
    }

    /** The load {@code node} last heard {@code peer} report: read from n-th node's routing view. */
    private int load(int node, String peer) {
        return bed.nodeStats(node).peerLoads().getOrDefault(peer, -1);
    }

    private static void await(String what, BooleanSupplier condition) {
        assertThat(LoadTools.await(Duration.ofSeconds(10), condition))
                .as(what + " within 10 s")
                .isNotNull();
    }
}
