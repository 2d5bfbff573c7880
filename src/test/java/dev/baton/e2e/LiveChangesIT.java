package dev.baton.e2e;

import static dev.baton.e2e.EndToEnd.assertExact;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.baton.btcp.Counter;
import dev.baton.testbed.Client;
import dev.baton.testbed.Spec;
import dev.baton.testbed.Testbed;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A running cluster changes its content map and its routing policy, through the admin socket,
 * while a slow transfer is handed off: the new file is routed to its holder once announced, the
 * policy takes the next connection, and the transfer in flight finishes byte for byte.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LiveChangesIT {
    static final Path STATE = Path.of("/run/baton-testbed-live");
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
    void contentAndPolicyChangeOnARunningClusterWithoutDroppingAConnection() throws Exception {
        SlowClient inFlight = SlowClient.start(bed, 1, "/video/big.bin", "2M"); // handed off, slowly
        Thread.sleep(500);

        // A file new on n2 is nobody's until n2 rescans: n1 serves the request and has no such file.
        Path fresh = bed.node(2).docroot().resolve("fresh.txt");
        Files.writeString(fresh, "fresh content\n");
        assertThat(client.get(bed.node(1), "/fresh.txt").status()).isEqualTo(404);
        JsonNode rescan = bed.admin(2, "content rescan");
        assertThat(rescan.path("paths").asInt())
                .as(rescan.toString())
                .isEqualTo(rescan.path("before").asInt() + 1);
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!bed.admin(1, "content").toString().contains("/fresh.txt") && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        Client.Response routed = client.get(bed.node(1), "/fresh.txt");
        assertThat(routed.status()).isEqualTo(200);
        assertThat(routed.servedBy())
                .as("handed to the file's holder once announced")
                .isEqualTo("n2");
        assertThat(routed.bytes()).isEqualTo(14);
        assertThat(routed.sha256())
                .isEqualTo(HexFormat.of()
                        .formatHex(MessageDigest.getInstance("SHA-256")
                                .digest("fresh content\n".getBytes(StandardCharsets.UTF_8))));

        // Policy "local" on n1: it hands nothing off (its server fetches from the holder instead).
        long sent = EndToEnd.counter(bed, "n1", Counter.HANDOFFS_SENT);
        JsonNode switched = bed.admin(1, "policy local");
        assertThat(switched.path("policy").asText()).isEqualTo("local");
        assertThat(switched.path("was").asText()).isEqualTo("content");
        Client.Response local = client.get(bed.node(1), "/data/1k.bin");
        assertExact(bed, local, "/data/1k.bin");
        assertThat(local.via()).as("n1's own server fetched it from the holder").isEqualTo("n1");
        assertThat(EndToEnd.counter(bed, "n1", Counter.HANDOFFS_SENT)).isEqualTo(sent);
        Assertions.assertThatThrownBy(() -> bed.admin(1, "policy nosuch"))
                .hasMessageContaining("no routing policy named 'nosuch'");
        assertThat(bed.nodeStats(1).policy()).isEqualTo("local");

        bed.admin(1, "policy content");
        Client.Response back = client.get(bed.node(1), "/data/1k.bin");
        assertExact(bed, back, "/data/1k.bin");
        assertThat(back.servedBy()).isEqualTo("n2");
        assertThat(back.via()).as("handed off again: no fetch on the way").isEmpty();

        inFlight.assertExact(bed); // nothing of the above touched the connection in flight
        Files.delete(fresh);
        bed.admin(2, "content rescan");
    }
}
