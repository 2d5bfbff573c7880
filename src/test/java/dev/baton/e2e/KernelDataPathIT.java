package dev.baton.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.baton.testbed.Spec;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;

/**
 * The handoff scenarios, with nginx, on the in-kernel data path whatever the environment says: BPF
 * programs on each node's uplink carry the established connections (local, handed off, handed in),
 * checksums verified by the receivers (the router computes them whole toward the nodes and the
 * client, and the nodes and the client check what they get). Then the programs' own counters show
 * that they carried the bulk and user space only the handful of packets per connection it must see.
 */
class KernelDataPathIT extends NginxHandoffIT {
    @Override
    Spec.DataPath dataPath() {
        return Spec.DataPath.KERNEL;
    }

    @Test
    @Order(99)
    void theProgramsCarriedTheBulkOfEveryRole() {
        long toChosen = 0, toClient = 0, toClientBytes = 0, localOut = 0;
        long sentForOthers = 0;
        for (JsonNode n : bed.stats().get("nodes")) {
            JsonNode c = n.path("datapath").path("counters");
            assertThat(c.isObject()).as("the datapath counters of " + n.path("node").asText()).isTrue();
            toChosen += c.path("toChosen").asLong();
            toClient += c.path("toClient").asLong();
            toClientBytes += c.path("toClientBytes").asLong();
            localOut += c.path("localOut").asLong();
            sentForOthers += n.path("counters").path("bytesSentForOthers").asLong();
        }
        assertThat(toChosen).as("client packets an entry forwarded in the kernel").isPositive();
        assertThat(toClient).as("packets a chosen node sent the client in the kernel").isPositive();
        assertThat(localOut).as("packets of local connections passed in the kernel").isPositive();
        // the 33 MiB handed off alone: its bytes went out translated in the kernel
        assertThat(toClientBytes).as("payload bytes sent for other nodes in the kernel").isGreaterThan(33L << 20);
        assertThat(sentForOthers).as("the engine's counter includes the kernel's").isGreaterThanOrEqualTo(toClientBytes);
        // what the chosen nodes' engines still sent for others (handshakes, closes) is a sliver
        assertThat(toClientBytes).as("share of the bytes sent for others that the kernel translated")
                .isGreaterThan(sentForOthers * 95 / 100);
    }
}
